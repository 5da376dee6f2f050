"""Classifier heads (binary, multi-label, softmax, score) and multi-output models."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.render import decode_png
from tests.conftest import random_image
from tests.tensorflow_only import tf

L = keras.layers


def conv_net(head: keras.layers.Layer, size: int = 24, seed: int = 4) -> keras.Model:
    """conv (same padding, so Grad-CAM needs no upsampling) -> GAP -> head."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((size, size, 3))
    x = L.Conv2D(5, 3, padding="same", activation="relu", name="conv")(inp)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, head(x), name="heads_net")


def logit_of(model: keras.Model, batch: np.ndarray) -> float:
    """z of a one-unit head, computed independently: the Dense layer without its activation."""
    features = keras.Model(model.inputs[0], model.layers[-2].output)(batch)
    dense = model.layers[-1]
    kernel, bias = dense.get_weights()
    return float((np.asarray(features) @ kernel + bias)[0, 0])


def reference_grad_cam_raw(model: keras.Model, batch: np.ndarray, sign: float) -> np.ndarray:
    """sum_c mean(d(sign * z)/dA_c) A_c with a plain GradientTape (before ReLU and scaling)."""
    conv = model.get_layer("conv")
    to_conv = keras.Model(model.inputs[0], conv.output)
    dense = model.layers[-1]
    kernel, bias = (tf.constant(w) for w in dense.get_weights())
    with tf.GradientTape() as tape:
        acts = to_conv(batch)
        tape.watch(acts)
        z = tf.reduce_mean(acts, axis=(1, 2)) @ kernel + bias
        score = sign * z[:, 0]
    grads = tape.gradient(score, acts)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    return np.asarray(tf.reduce_sum(weights * acts, axis=-1))[0]


def normalised(raw: np.ndarray) -> np.ndarray:
    relu = np.maximum(raw, 0)
    return relu / relu.max() if relu.max() > 0 else relu


@pytest.mark.tensorflow
@pytest.mark.parametrize("activation", ["sigmoid", None], ids=["sigmoid", "logit"])
def test_binary_heads_give_two_classes(activation):
    model = conv_net(L.Dense(1, activation=activation))
    inspector = cw.ModelInspector(model, class_names=["cat", "dog"])
    inspector.set_image(random_image(24, seed=1))
    z = logit_of(model, inspector.batch)
    p1 = 1 / (1 + np.exp(-z))
    assert inspector.head == "binary" and inspector.n_classes == 2
    assert inspector.class_names == ("cat", "dog")
    np.testing.assert_allclose(inspector.probabilities, [1 - p1, p1], atol=1e-6)
    np.testing.assert_allclose(inspector.scores, [-z, z], atol=1e-5)
    top = inspector.top_k(2)
    assert [t.name for t in top] == (["dog", "cat"] if p1 > 0.5 else ["cat", "dog"])
    assert top[0].probability + top[1].probability == pytest.approx(1.0, abs=1e-6)
    assert "head 'binary'" in repr(inspector) and "1 output unit" in repr(inspector)

    # Grad-CAM for each class against a plain GradientTape on +z and -z
    for cls, sign in ((1, 1.0), (0, -1.0)):
        expected = normalised(reference_grad_cam_raw(model, inspector.batch, sign))
        got = cw.grad_cam(inspector, inspector.batch, cls, layer="conv")[0]
        np.testing.assert_allclose(got, expected, atol=1e-5)
    # the input gradient of -z is the mirror of z's: the same saliency for both classes
    np.testing.assert_allclose(cw.saliency(inspector, inspector.batch, 0), cw.saliency(inspector, inspector.batch, 1),
                               atol=1e-6)
    # occlusion: p(0) + p(1) = 1 at every patch position
    sweeps = [cw.occlusion_sweep(inspector, inspector.batch, c, patch=8, stride=8) for c in (0, 1)]
    np.testing.assert_allclose(sweeps[0].probabilities + sweeps[1].probabilities, 1.0, atol=1e-5)
    np.testing.assert_allclose(sweeps[0].intact, 1 - p1, atol=1e-5)


def test_binary_widgets_explain_either_class():
    model = conv_net(L.Dense(1, activation="sigmoid"), seed=7)
    inspector = cw.ModelInspector(model, class_names=["cat", "dog"])
    inspector.set_image(random_image(24, seed=2))
    cam = cw.CamOverlay(inspector, layer="conv")
    assert list(cam.classes.bars.x) == [t.name for t in inspector.top_k(2)]
    assert "p(0) = 1 - p(1)" in cam.classes.figure.title
    pictures = {}
    for cls in (0, 1):
        cam.class_index = cls
        assert cam.wait(60) and not cam.errors.message
        assert inspector.class_names[cls] in cam.caption.value
        pictures[cls] = decode_png(cam.png)
    assert (pictures[0] != pictures[1]).any()
    sweeper = cw.OcclusionSweeper(inspector, patch=8, stride=8, class_index=0)
    assert sweeper.wait(60) and not sweeper.errors.message
    assert decode_png(sweeper.png).std() > 0


def test_two_class_names_are_refused_for_a_softmax_of_three():
    with pytest.raises(cw.ArgumentError, match="3 output classes but 2 class names"):
        cw.ModelInspector(conv_net(L.Dense(3, activation="softmax")), class_names=["a", "b"])


def test_multilabel_sigmoid_head_is_not_renormalised():
    model = conv_net(L.Dense(4, activation="sigmoid"))
    inspector = cw.ModelInspector(model)
    inspector.set_image(random_image(24, seed=3))
    raw = np.asarray(model(inspector.batch))[0]
    assert inspector.head == "multilabel" and inspector.n_classes == 4
    np.testing.assert_allclose(inspector.probabilities, raw, atol=1e-6)
    assert abs(inspector.probabilities.sum() - 1) > 1e-3
    np.testing.assert_allclose(1 / (1 + np.exp(-inspector.scores)), raw, atol=1e-5)
    picker = cw.ClassPicker(inspector)
    assert "do not sum to 1" in picker.figure.title


def test_softmax_head_and_forced_heads():
    model = conv_net(L.Dense(3, activation="softmax"))
    softmax = cw.ModelInspector(model)
    assert softmax.head == "softmax" and "auto" in softmax.head_reason
    forced = cw.ModelInspector(model, head="multilabel")
    forced.set_image(random_image(24))
    # a multi-label reading of a softmax layer: sigmoid of its logits, independent per class
    np.testing.assert_allclose(forced.probabilities, 1 / (1 + np.exp(-forced.scores)), atol=1e-6)
    assert forced.head_reason == "given by the caller"
    with pytest.raises(cw.ArgumentError, match=r"head='binary' needs one output unit; this output has 3"):
        cw.ModelInspector(model, head="binary")
    with pytest.raises(cw.ArgumentError, match=r"head must be 'auto' or one of \['softmax', 'binary'"):
        cw.ModelInspector(model, head="nope")


@pytest.mark.tensorflow
def test_score_head_explains_a_regression_output_as_is():
    model = conv_net(L.Dense(1, name="age"))
    inspector = cw.ModelInspector(model, head="score")
    inspector.set_image(random_image(24, seed=5))
    raw = float(np.asarray(model(inspector.batch))[0, 0])
    assert inspector.n_classes == 1
    np.testing.assert_allclose(inspector.probabilities, [raw], atol=1e-6)
    np.testing.assert_allclose(inspector.scores, [raw], atol=1e-6)
    expected = normalised(reference_grad_cam_raw(model, inspector.batch, 1.0))
    np.testing.assert_allclose(cw.grad_cam(inspector, inspector.batch, 0, layer="conv")[0], expected, atol=1e-5)
    picker = cw.ClassPicker(inspector)
    assert "raw outputs" in picker.figure.title and "output =" in picker.caption.value


def two_output_model() -> keras.Model:
    keras.utils.set_random_seed(8)
    inp = keras.Input((24, 24, 3))
    x = L.GlobalAveragePooling2D()(L.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inp))
    return keras.Model(inp, [L.Dense(1, name="age")(x), L.Dense(3, activation="softmax", name="kind")(x)])


def test_multi_output_models_choose_an_output_and_say_so():
    model = two_output_model()
    first = cw.ModelInspector(model)
    assert first.output_names == ("age", "kind") and first.output_name == "age"
    assert "output 'age' (1 of 2)" in repr(first)
    by_name = cw.ModelInspector(model, output="kind")
    by_name.set_image(random_image(24, seed=6))
    np.testing.assert_allclose(by_name.probabilities, np.asarray(model(by_name.batch)[1])[0], atol=1e-6)
    assert by_name.head == "softmax" and "output 'kind' (2 of 2)" in repr(by_name)
    assert cw.ModelInspector(model, output=1).output_name == "kind"
    with pytest.raises(cw.ArgumentError, match=r"output='size' is not an output of this model; its outputs are "
                                                r"\['age', 'kind'\]"):
        cw.ModelInspector(model, output="size")
    with pytest.raises(cw.ArgumentError, match=r"output=5 is out of range: the model has 2 output"):
        cw.ModelInspector(model, output=5)
    dashboard = cw.Dashboard(by_name)
    assert "output &#x27;kind&#x27; (2 of 2)" in dashboard.title.value
    dashboard.close()


def test_a_feature_extractor_output_is_explained_by_its_channel_means():
    keras.utils.set_random_seed(9)
    inp = keras.Input((16, 16, 3))
    out = L.Conv2D(3, 3, padding="same", name="conv")(inp)
    inspector = cw.ModelInspector(keras.Model(inp, out))
    inspector.set_image(random_image(16, seed=7))
    assert inspector.head == "score" and "feature map" in inspector.head_reason
    np.testing.assert_allclose(inspector.scores, inspector.activations("conv").mean(axis=(0, 1)), atol=1e-5)


@pytest.mark.parametrize("method", list(cw.methods.HEATMAP_METHODS))
def test_every_heatmap_method_explains_both_classes_of_a_binary_head(method):
    model = conv_net(L.Dense(1, activation="sigmoid"), seed=11)
    inspector = cw.ModelInspector(model)
    inspector.set_image(random_image(24, seed=9))
    maps = [cw.heatmap(inspector, inspector.batch, method, cls, "conv")[0] for cls in (0, 1)]
    for heat in maps:
        assert heat.shape == (24, 24) and np.isfinite(heat).all()
        assert 0.0 <= heat.min() and heat.max() <= 1.0
    assert max(float(m.max()) for m in maps) == pytest.approx(1.0)


def test_class_patterns_for_both_binary_classes_differ():
    model = conv_net(L.Dense(1, activation="sigmoid"), seed=12)
    patterns = cw.class_pattern(model, [0, 1], steps=4, seed=0)
    assert patterns.shape == (2, 24, 24, 3)
    assert (patterns[0] != patterns[1]).any()
    with pytest.raises(cw.ArgumentError, match="has 2 classes"):
        cw.class_pattern(model, 2, steps=1)


def test_a_binary_classifier_reloaded_from_h5_has_two_classes(tmp_path):
    model = conv_net(L.Dense(1, activation="sigmoid"), seed=13)
    path = tmp_path / "cats_vs_dogs.h5"
    model.save(path)
    inspector = cw.ModelInspector(str(path), class_names=["cat", "dog"])
    inspector.set_image(random_image(24, seed=4))
    p1 = float(np.asarray(model(inspector.batch))[0, 0])
    assert inspector.head == "binary"
    np.testing.assert_allclose(inspector.probabilities, [1 - p1, p1], atol=1e-6)
