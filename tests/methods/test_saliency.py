"""Saliency, SmoothGrad and integrated gradients against worked-out gradients."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnviz_widgets import ArgumentError
from cnnviz_widgets.methods import integrated_gradients, integrated_gradients_attributions, saliency
from tests.conftest import tiny_functional, tutorial_sequential
from tests.methods.tiny_models import images, linear_pixel_model, nested_transfer_model
from tests.tensorflow_only import tf


def test_saliency_of_a_linear_model_is_its_weights():
    model, weights = linear_pixel_model()
    x = images(2, 4, seed=1)
    got = saliency(model, x, [0, 1])
    for i, c in enumerate([0, 1]):
        expected = np.abs(weights[:, c].reshape(4, 4, 3)).max(-1)
        np.testing.assert_allclose(got[i], expected / expected.max(), rtol=1e-5)


@pytest.mark.tensorflow
@pytest.mark.parametrize("factory", [tiny_functional, nested_transfer_model, tutorial_sequential],
                         ids=["functional", "nested", "sequential_without_input"])
def test_saliency_matches_a_direct_tape_from_the_logits(factory):
    model = factory()
    size = model.inputs[0].shape[1] if model.inputs else 48
    x = images(2, size, seed=2)
    head = model.layers[-1]
    kernel, bias = head.get_weights()
    body = keras.Model(model.inputs[0], head.input) if model.inputs else None
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        if body is None:  # Sequential without Input: run its layers by hand
            h = xt
            for layer in model.layers[:-1]:
                h = layer(h)
        else:
            h = body(xt)
        logits = h @ kernel + bias
        score = logits[:, 1]
    grads = np.abs(np.array(tape.gradient(score, xt))).max(-1)
    expected = grads / grads.reshape(2, -1).max(1)[:, None, None]
    np.testing.assert_allclose(saliency(model, x, 1), expected, atol=1e-5)


def test_smoothgrad_is_seeded_and_tends_to_the_gradient_for_tiny_noise():
    model = tiny_functional()
    x = images(2, 32, seed=3)
    a = saliency(model, x, 0, smooth_samples=6, smooth_noise=0.2, seed=11)
    b = saliency(model, x, 0, smooth_samples=6, smooth_noise=0.2, seed=11, batch_size=4)
    c = saliency(model, x, 0, smooth_samples=6, smooth_noise=0.2, seed=12)
    np.testing.assert_allclose(a, b, atol=1e-6)  # same seed, different chunking
    assert np.abs(a - c).max() > 0.01
    tiny = saliency(model, x, 0, smooth_samples=3, smooth_noise=1e-6)
    np.testing.assert_allclose(tiny, saliency(model, x, 0), atol=1e-3)


def test_smoothgrad_averages_noisy_gradients_of_a_model_written_out():
    model, weights = linear_pixel_model()
    # a linear model has the same gradient everywhere: SmoothGrad equals the vanilla map
    x = images(1, 4, seed=4)
    np.testing.assert_allclose(saliency(model, x, 0, smooth_samples=5), saliency(model, x, 0), atol=1e-6)


def test_integrated_gradients_complete_to_the_score_difference():
    model = tiny_functional(separate_softmax=True)
    logits = keras.Model(model.input, model.get_layer("logits").output)
    x = images(2, 32, seed=5)
    attributions = integrated_gradients_attributions(model, x, [0, 2], steps=128, baseline=0.0)
    scores = np.array(logits(x))[[0, 1], [0, 2]] - np.array(logits(np.zeros_like(x)))[[0, 1], [0, 2]]
    np.testing.assert_allclose(attributions.sum(axis=(1, 2, 3)), scores, rtol=0.02, atol=1e-3)


def test_integrated_gradients_of_a_linear_model_are_exact():
    model, weights = linear_pixel_model()
    x = images(1, 4, seed=6)
    attributions = integrated_gradients_attributions(model, x, 1, steps=4, baseline=0.25)
    np.testing.assert_allclose(attributions[0], (x[0] - 0.25) * weights[:, 1].reshape(4, 4, 3), rtol=1e-4, atol=1e-6)
    heat = integrated_gradients(model, x, 1, steps=4, baseline=0.25)
    expected = np.abs(attributions[0].sum(-1))
    np.testing.assert_allclose(heat[0], expected / expected.max(), rtol=1e-5)


def test_saliency_arguments_are_checked():
    model = tiny_functional()
    x = images(1, 32)
    with pytest.raises(ArgumentError, match="smooth_samples"):
        saliency(model, x, smooth_samples=-1)
    with pytest.raises(ArgumentError, match="smooth_noise"):
        saliency(model, x, smooth_samples=2, smooth_noise=0)
    with pytest.raises(ArgumentError, match="baseline"):
        integrated_gradients(model, x, baseline=np.zeros((5, 5)))
    with pytest.raises(ArgumentError, match="NaN"):
        saliency(model, np.full_like(x, np.nan))
