"""CAM methods against hand-worked results and direct GradientTape references."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from cnnviz_widgets import ArgumentError, LayerNotFoundError, ModelInspector
from cnnviz_widgets.methods import HEATMAP_METHODS, grad_cam, grad_cam_plus_plus, layer_cam, score_cam
from tests.conftest import tiny_functional, tutorial_sequential, weights_snapshot
from tests.methods.tiny_models import identity_cam_model, images, nested_transfer_model
from tests.tensorflow_only import tf

ALL_CAMS = [m.function for m in HEATMAP_METHODS.values() if m.family == "cam" and not m.fixed]
"""Every declared class activation map (the variants share their function)."""


def reference_grad_cam(features_and_logits, x, classes, size):
    """Grad-CAM written out with an eager GradientTape: features_and_logits(x) -> (A, logits)."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        features, logits = features_and_logits(x, tape)
        score = tf.reduce_sum(logits * tf.one_hot(classes, logits.shape[-1]), axis=1)
    grads = np.array(tape.gradient(score, features))
    features = np.array(features)
    cam = np.maximum((grads.mean(axis=(1, 2), keepdims=True) * features).sum(-1), 0)
    cam = np.array(tf.image.resize(cam[..., None], (size, size)))[..., 0]
    peak = cam.reshape(len(cam), -1).max(1)
    return cam / np.where(peak > 0, peak, 1)[:, None, None]


@pytest.mark.parametrize("method", ALL_CAMS, ids=lambda f: f.__name__)
def test_every_cam_of_the_hand_model_is_the_normalised_input(method):
    """One channel equal to the input: every CAM is the input, scaled; EigenCAM, which centres the
    channel first (a principal component), is the part above its mean."""
    x = np.arange(64, dtype=np.float32).reshape(1, 8, 8, 1) / 63.0
    cam = method(identity_cam_model(), x, 0, "conv")
    shown = x[0, ..., 0] - x.mean() if method.__name__ == "eigen_cam" else x[0, ..., 0]
    np.testing.assert_allclose(cam[0], np.maximum(shown, 0) / shown.max(), atol=1e-6)
    assert cam.dtype == np.float32 and cam.shape == (1, 8, 8)


@pytest.mark.tensorflow
def test_grad_cam_matches_a_direct_gradient_tape_from_the_logits_layer():
    model = tiny_functional(separate_softmax=True)
    x, classes = images(3, 32), np.array([0, 2, 1])
    sub = keras.Model(model.input, [model.get_layer("relu2").output, model.get_layer("logits").output])

    def run(batch, tape):
        features, logits = sub(batch)
        return features, logits

    expected = reference_grad_cam(run, x, classes, 32)
    np.testing.assert_allclose(grad_cam(model, x, classes, "relu2"), expected, atol=1e-5)


@pytest.mark.tensorflow
def test_grad_cam_uses_the_logit_of_a_dense_softmax_head_without_changing_the_model():
    model = tiny_functional()  # Dense(3, activation="softmax") named "head"
    before = weights_snapshot(model)
    x, classes = images(2, 32, seed=1), np.array([1, 2])
    features_model = keras.Model(model.input, model.get_layer("relu2").output)
    kernel, bias = model.get_layer("head").get_weights()

    def run(batch, tape):
        features = features_model(batch)
        tape.watch(features)
        logits = tf.reduce_mean(features, axis=(1, 2)) @ kernel + bias  # GAP then the linear head
        return features, logits

    expected = reference_grad_cam(run, x, classes, 32)
    np.testing.assert_allclose(grad_cam(model, x, classes, "relu2"), expected, atol=1e-5)
    assert model.get_layer("head").activation.__name__ == "softmax"
    for a, b in zip(before, weights_snapshot(model), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.tensorflow
def test_grad_cam_through_a_nested_base_model():
    model = nested_transfer_model()
    base = model.layers[0]
    x, classes = images(2, 32, seed=2), np.array([0, 1])
    conv_model = keras.Model(base.input, base.get_layer("b_conv2").output)
    kernel, bias = model.get_layer("head").get_weights()

    def run(batch, tape):
        features = conv_model(batch)
        tape.watch(features)
        pooled = tf.nn.max_pool2d(features, 2, 2, "VALID")
        return features, tf.reduce_mean(pooled, axis=(1, 2)) @ kernel + bias

    expected = reference_grad_cam(run, x, classes, 32)
    np.testing.assert_allclose(grad_cam(model, x, classes, "base/b_conv2"), expected, atol=1e-5)
    # the same through an inspector, and with the automatic layer choice
    inspector = ModelInspector(model)
    np.testing.assert_allclose(grad_cam(inspector, x, classes), expected, atol=1e-5)


@pytest.mark.tensorflow
def test_grad_cam_on_a_sequential_built_without_input_like_seed_001():
    model = tutorial_sequential()
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    x, classes = images(2, 48, seed=3), np.array([2, 0])
    flatten, hidden, head = model.layers[3:]
    kernel, bias = head.get_weights()

    def run(batch, tape):
        features = convs[2](convs[1](convs[0](batch)))
        tape.watch(features)
        return features, hidden(flatten(features)) @ kernel + bias

    expected = reference_grad_cam(run, x, classes, 48)
    np.testing.assert_allclose(grad_cam(model, x, classes, convs[2].name), expected, atol=1e-5)


@pytest.mark.tensorflow
def test_grad_cam_plus_plus_and_layer_cam_closed_forms():
    model = tiny_functional(separate_softmax=True)
    x, classes = images(2, 32, seed=4), np.array([1, 0])
    sub = keras.Model(model.input, [model.get_layer("relu2").output, model.get_layer("logits").output])
    with tf.GradientTape() as tape:
        features, logits = sub(tf.constant(x))
        score = tf.gather(logits, classes, axis=1, batch_dims=1)
    g, a = np.array(tape.gradient(score, features)), np.array(features)
    alpha = g**2 / np.where(2 * g**2 + a.sum((1, 2), keepdims=True) * g**3 != 0,
                            2 * g**2 + a.sum((1, 2), keepdims=True) * g**3, 1)
    plus = np.maximum(((alpha * np.maximum(g, 0)).sum((1, 2), keepdims=True) * a).sum(-1), 0)
    layer = np.maximum((np.maximum(g, 0) * a).sum(-1), 0)
    for method, small in ((grad_cam_plus_plus, plus), (layer_cam, layer)):
        expected = np.array(tf.image.resize(small[..., None], (32, 32)))[..., 0]
        expected /= expected.reshape(2, -1).max(1)[:, None, None]
        np.testing.assert_allclose(method(model, x, classes, "relu2"), expected, atol=1e-5)


@pytest.mark.tensorflow
def test_score_cam_matches_a_one_mask_at_a_time_loop():
    model = tiny_functional()
    x, classes = images(2, 32, seed=5), np.array([0, 2])
    conv = keras.Model(model.input, model.get_layer("relu2").output)
    expected = []
    for i in range(2):
        acts = np.array(conv(x[i:i + 1]))[0]
        cam = np.zeros(acts.shape[:2], np.float32)
        for k in range(acts.shape[-1]):
            mask = np.array(tf.image.resize(acts[None, ..., k:k + 1], (32, 32)))[0]
            if mask.max() == mask.min():
                continue
            mask = (mask - mask.min()) / (mask.max() - mask.min())
            prob = np.array(model(x[i:i + 1] * mask))[0, classes[i]]
            cam += prob * acts[..., k]
        expected.append(np.array(tf.image.resize(np.maximum(cam, 0)[None, ..., None], (32, 32)))[0, ..., 0])
    expected = np.stack(expected)
    expected /= expected.reshape(2, -1).max(1)[:, None, None]
    steps = []
    got = score_cam(model, x, classes, "relu2", batch_size=4, progress=lambda done, total: steps.append((done, total)))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert steps[-1][0] == steps[-1][1] and len(steps) >= 2


@pytest.mark.tensorflow
def test_faster_score_cam_keeps_the_channels_of_highest_variance():
    model = tiny_functional()
    x = images(1, 32, seed=6)
    acts = np.array(keras.Model(model.input, model.get_layer("relu2").output)(x))[0]
    top = int(acts.reshape(-1, acts.shape[-1]).var(0).argmax())
    got = score_cam(model, x, 0, "relu2", max_channels=1)
    expected = np.array(tf.image.resize(acts[None, ..., top:top + 1], (32, 32)))[0, ..., 0]
    np.testing.assert_allclose(got[0], expected / expected.max(), atol=1e-5)
    with pytest.raises(ArgumentError, match="max_channels"):
        score_cam(model, x, 0, "relu2", max_channels=0)


@pytest.mark.parametrize("method", [f for f in ALL_CAMS if f.__name__ != "eigen_cam"], ids=lambda f: f.__name__)
def test_an_all_zero_map_stays_zero_without_warnings(method):
    """Class 0's channel is zero everywhere (EigenCAM, which ignores the class, shows channel 1)."""
    model = identity_cam_model()
    x = -np.ones((1, 8, 8, 1), np.float32)  # channel 0 = relu(x) = 0 everywhere
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cam = method(model, x, 0, "conv")
    assert not cam.any() and np.isfinite(cam).all()


def test_class_index_none_explains_each_images_top_class():
    model = tiny_functional()
    x = images(4, 32, seed=7)
    top = np.array(model(x)).argmax(1)
    np.testing.assert_array_equal(grad_cam(model, x, None, "relu2"), grad_cam(model, x, top, "relu2"))


def test_bad_arguments_get_clear_errors():
    model = tiny_functional()
    x = images(2, 32)
    with pytest.raises(ArgumentError, match=r"out of range: the model has 3 classes"):
        grad_cam(model, x, 3, "relu2")
    with pytest.raises(ArgumentError, match=r"one int per image \(2\)"):
        grad_cam(model, x, [0, 1, 2], "relu2")
    with pytest.raises(ArgumentError, match=r"pass x\[None\]"):
        grad_cam(model, x[0], 0, "relu2")
    with pytest.raises(ArgumentError, match=r"spatial .* 'gap' outputs \(6,\)"):
        grad_cam(model, x, 0, "gap")
    with pytest.raises(LayerNotFoundError, match="relu2"):
        grad_cam(model, x, 0, "relu_2")
    with pytest.raises(ArgumentError, match="cannot take images of size 16x16"):
        grad_cam(tutorial_sequential(), images(1, 16), 0)
