"""Filter weights as the TensorFlow tutorial displays them."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnviz_widgets import ArgumentError, ModelInspector
from cnnviz_widgets.methods import filter_weights, filter_weights_rgb, first_conv_layer
from tests.conftest import tiny_functional, tutorial_sequential
from tests.methods.tiny_models import nested_transfer_model


def test_weights_are_min_max_normalised_over_the_layer_like_seed_001():
    model = tutorial_sequential()
    layer = model.layers[1]
    kernel = layer.get_weights()[0]
    got = filter_weights(model, layer.name)
    np.testing.assert_allclose(got, (kernel - kernel.min()) / (kernel.max() - kernel.min()), rtol=1e-6)
    assert got.shape == (5, 5, 8, 8) and got.min() == 0 and got.max() == 1


def test_rgb_tiles_normalise_each_filter_and_find_the_first_conv_in_a_nested_base():
    model = nested_transfer_model()
    assert first_conv_layer(model) == "base/b_conv1"
    kernel = model.layers[0].get_layer("b_conv1").get_weights()[0]
    tiles = filter_weights_rgb(model)
    assert tiles.shape == (6, 3, 3, 3)
    f = kernel[..., 4]
    np.testing.assert_allclose(tiles[4], (f - f.min()) / (f.max() - f.min()), rtol=1e-6)


def test_bgr_models_get_their_kernels_flipped_to_rgb():
    model = tiny_functional()
    kernel = model.get_layer("conv1").get_weights()[0]
    rgb = filter_weights_rgb(ModelInspector(model, preprocess="scale_0_1"))
    bgr = filter_weights_rgb(ModelInspector(model, preprocess="vgg16"))
    np.testing.assert_allclose(bgr, rgb[..., ::-1])
    f = kernel[..., 0]
    np.testing.assert_allclose(rgb[0], (f - f.min()) / (f.max() - f.min()), rtol=1e-6)


def test_layers_without_a_kernel_are_refused():
    model = tiny_functional()
    with pytest.raises(ArgumentError, match="'pool1' .*no 2-D convolution kernel"):
        filter_weights(model, "pool1")
    with pytest.raises(ArgumentError, match="4 input channels"):
        filter_weights_rgb(model, "conv2")
    constant = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 1, kernel_initializer="ones")])
    assert (filter_weights(constant, constant.layers[0].name) == 0.5).all()
