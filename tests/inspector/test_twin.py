"""An inspector's settings as a frozen object, and its twin: another model read exactly the same way."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.inspector.settings import copy_model
from tests.conftest import random_image, tiny_functional, weights_snapshot
from tests.inspector.test_subclassed_multihead import three_heads

PACKAGE = Path(cw.__file__).parent


def halve_input(pixels):
    return pixels / 510.0


@pytest.fixture
def inspector():
    inspector = cw.ModelInspector(tiny_functional(), preprocess=halve_input, class_names=["cat", "dog", "fox"])
    inspector.set_image(random_image(32, seed=4))
    return inspector


def test_settings_are_what_the_inspector_reads_with_and_frozen(inspector):
    settings = inspector.settings
    assert settings == cw.InspectorSettings(preprocess=halve_input, class_names=("cat", "dog", "fox"),
                                            head="softmax", output=inspector.output_name, input_shape=(32, 32, 3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.head = "binary"
    named = cw.ModelInspector(tiny_functional()).settings
    assert named.preprocess == "scale_0_1" and named.class_names == ("class 0", "class 1", "class 2")
    assert cw.ModelInspector(tiny_functional(), **named.options()).settings == named


def test_a_twin_reads_a_copy_exactly_as_the_inspector_and_leaves_the_model_alone(inspector):
    before = weights_snapshot(inspector.model)
    twin = inspector.twin()
    assert twin.model is not inspector.model and twin.settings == inspector.settings
    twin.set_image(random_image(32, seed=4))
    np.testing.assert_array_equal(twin.batch, inspector.batch)           # the same preprocessing
    np.testing.assert_allclose(twin.probabilities, inspector.probabilities, atol=1e-6)
    assert [p.name for p in twin.top_k(3)] == [p.name for p in inspector.top_k(3)]
    twin.model.set_weights([w * 0 for w in twin.model.get_weights()])
    for kept, now in zip(before, weights_snapshot(inspector.model), strict=True):
        np.testing.assert_array_equal(kept, now)


def test_a_twin_with_other_weights_computes_with_them(inspector):
    other = tiny_functional()
    other.set_weights([w + 0.1 for w in other.get_weights()])
    twin = inspector.twin(weights=other.get_weights())
    twin.set_image(random_image(32, seed=4))
    expected = np.array(other(inspector.batch))[0]
    np.testing.assert_allclose(twin.probabilities, expected, atol=1e-6)
    assert np.abs(twin.probabilities - inspector.probabilities).max() > 1e-3
    assert twin.fingerprint != inspector.fingerprint
    with pytest.raises(cw.ArgumentError, match=r"do not fit the model 'tiny_functional' \(\d+ arrays\)"):
        inspector.twin(weights=other.get_weights()[:-1])
    with pytest.raises(cw.ArgumentError, match="not both"):
        inspector.twin(other, weights=other.get_weights())


def test_a_twin_of_another_model_keeps_head_output_and_names():
    model = three_heads("build_records_no_shape")
    inspector = cw.ModelInspector(model, output=2, input_shape=(32, 32, 3), class_names=["cat", "dog"],
                                  head="softmax")
    other = three_heads("called_once")
    twin = inspector.twin(other)
    assert (twin.output_name, twin.head, twin.class_names, twin.input_shape) == \
        ("output_2", "softmax", ("cat", "dog"), (32, 32, 3))
    copy = inspector.twin()                    # the copy is built on the inspector's input shape
    copy.set_image(random_image(32, seed=1))
    inspector.set_image(random_image(32, seed=1))
    np.testing.assert_allclose(copy.probabilities, inspector.probabilities, atol=1e-6)


def test_copy_model_copies_weights_and_names():
    model = tiny_functional()
    copy = copy_model(model)
    assert copy is not model and [layer.name for layer in copy.layers] == [layer.name for layer in model.layers]
    for a, b in zip(weights_snapshot(model), weights_snapshot(copy), strict=True):
        np.testing.assert_array_equal(a, b)


def test_nothing_outside_the_inspector_package_reads_its_private_state():
    readers = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
               if path.parent.name != "inspector" and re.search(r"\._state\b", path.read_text())]
    assert readers == []
