"""The automatic CAM layer: last spatial output larger than 1x1, inside nested models too."""

from __future__ import annotations

import keras
import pytest

from cnnviz_widgets import ModelInspector, NotAnImageModelError
from cnnviz_widgets.methods import default_cam_layer
from tests.conftest import tiny_functional, tutorial_sequential
from tests.methods.tiny_models import nested_transfer_model

L = keras.layers


def test_last_activation_of_a_simple_functional_model():
    name, reason = default_cam_layer(tiny_functional())
    assert name == "relu2"
    assert "16x16x6" in reason


def test_a_final_pooling_layer_gives_way_to_the_layer_it_pools_inside_a_nested_base():
    name, reason = default_cam_layer(nested_transfer_model())
    assert name == "base/b_conv2"
    assert "'base/b_pool2'" in reason and "downsamples" in reason


def test_sequential_without_input_and_the_inspector_agree():
    model = tutorial_sequential()
    name, _ = default_cam_layer(model)
    assert name == model.layers[2].name
    assert default_cam_layer(ModelInspector(model)) == default_cam_layer(model)


def test_a_1x1_logits_conv_after_global_pooling_is_not_a_target_like_mobilenet_v3():
    inp = keras.Input((32, 32, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="features")(inp)
    x = L.GlobalAveragePooling2D(keepdims=True, name="gap")(x)
    x = L.Conv2D(5, 1, name="logits")(x)
    x = L.Flatten(name="flatten")(x)
    out = L.Activation("softmax", name="predictions")(x)
    name, reason = default_cam_layer(keras.Model(inp, out))
    assert name == "features" and "16x16x8" in reason


def test_a_model_without_a_feature_map_larger_than_1x1_is_refused():
    inp = keras.Input((1, 1, 3))
    out = L.Flatten()(L.Conv2D(2, 1)(inp))
    with pytest.raises(NotAnImageModelError, match="larger than 1x1"):
        default_cam_layer(keras.Model(inp, out))


@pytest.mark.slow
def test_mobilenet_v3_small_skips_its_1x1_logits_conv():
    model = keras.applications.MobileNetV3Small(weights=None, input_shape=(224, 224, 3))
    inspector = ModelInspector(model)
    name, _ = default_cam_layer(inspector)
    record = inspector.layer(name)
    assert record.output_shape[:2] == (7, 7)
    logits = [r for r in inspector.layers if r.name.endswith("logits")]
    assert logits and logits[0].output_shape[:2] == (1, 1)
