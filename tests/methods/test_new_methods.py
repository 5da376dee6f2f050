"""The methods added with the registry, each against an independent reference or a closed form,
and every declared method on every model kind."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnviz_widgets import ArgumentError
from cnnviz_widgets.methods import (
    HEATMAP_METHODS,
    ablation_cam,
    eigen_cam,
    gradient_x_input,
    guided_backprop,
    guided_grad_cam,
    guided_gradients,
    heatmap,
    hires_cam,
    rise,
    rise_masks,
    squaregrad,
    vargrad,
    xgrad_cam,
)
from tests.conftest import tiny_functional, tutorial_sequential, weights_snapshot
from tests.inspector.test_model_kinds import TracedNet
from tests.methods.tiny_models import images, linear_pixel_model, nested_transfer_model
from tests.tensorflow_only import tf

L = keras.layers


def _normalised(maps: np.ndarray) -> np.ndarray:
    maps = np.maximum(maps, 0)
    peak = maps.reshape(len(maps), -1).max(1)
    return (maps / np.where(peak > 0, peak, 1)[:, None, None]).astype(np.float32)


def _upsampled(maps: np.ndarray, size: int) -> np.ndarray:
    return np.array(tf.image.resize(maps[..., None], (size, size), method="bilinear"))[..., 0]


def _features_and_gradients(model, layer, logits_of, x, classes):
    """A, dS/dA by an eager GradientTape on a two-output model (the reference)."""
    sub = keras.Model(model.input, [model.get_layer(layer).output, model.output])
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        features, out = sub(x)
        tape.watch(features)
        score = tf.reduce_sum(logits_of(features) * tf.one_hot(classes, 3), axis=1)
    return np.array(features), np.array(tape.gradient(score, features))


def _tiny_logits(model):
    """tiny_functional's logits from relu2's output: GAP then the head's kernel and bias."""
    kernel, bias = model.get_layer("head").get_weights()
    return lambda a: tf.reduce_mean(a, axis=(1, 2)) @ kernel + bias


@pytest.fixture(scope="module")
def tiny():
    return tiny_functional(), images(3, 32, seed=5), np.array([0, 2, 1])


@pytest.mark.tensorflow
def test_xgrad_cam_and_hires_cam_match_their_formulas_on_a_direct_tape(tiny):
    model, x, classes = tiny
    a, g = _features_and_gradients(model, "relu2", _tiny_logits(model), x, classes)
    total = a.sum(axis=(1, 2), keepdims=True)
    xgrad = ((g * a).sum(axis=(1, 2), keepdims=True) / np.where(total != 0, total, 1) * a).sum(-1)
    hires = (g * a).sum(-1)
    for method, small in ((xgrad_cam, xgrad), (hires_cam, hires)):
        expected = _normalised(_upsampled(np.maximum(small, 0), 32))
        np.testing.assert_allclose(method(model, x, classes, "relu2"), expected, atol=1e-5)


def _wide_model() -> keras.Model:
    """A 6x6 layer with 48 channels: more channels than positions (EigenCAM's other branch)."""
    keras.utils.set_random_seed(4)
    inp = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(48, 3, strides=2, padding="same", activation="relu", name="wide")(inp)
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inp, out)


def _centred_first_component(features: np.ndarray) -> np.ndarray:
    """pytorch-grad-cam's get_2d_projection on (h, w, K): centre each channel, project on the first
    right singular vector; then our sign rule (the direction points where the channels are active on
    average) and ReLU."""
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    centred = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=True)
    projection = centred @ vt[0]
    projection *= -1 if flat.mean(axis=0) @ vt[0] < 0 else 1
    return np.maximum(projection.reshape(features.shape[:2]), 0)


@pytest.mark.tensorflow
@pytest.mark.parametrize("case", ["channels_fewer_than_positions", "channels_more_than_positions"])
def test_eigen_cam_is_the_first_principal_component_of_centred_activations(tiny, case):
    if case == "channels_fewer_than_positions":
        (model, x, _), layer = tiny, "relu2"          # 16x16 positions, 6 channels
    else:
        model, x, layer = _wide_model(), images(3, 12, seed=6), "wide"   # 6x6 positions, 48 channels
    a = np.array(keras.Model(model.input, model.get_layer(layer).output)(x))
    expected = _normalised(_upsampled(np.stack([_centred_first_component(f) for f in a]).astype(np.float32),
                                      x.shape[1]))
    got = eigen_cam(model, x, None, layer)
    for g, e in zip(got, expected, strict=True):
        assert np.corrcoef(g.ravel(), e.ravel())[0, 1] > 0.999
    np.testing.assert_allclose(got, expected, atol=1e-3)
    # the uncentred projection is a different map: this test would fail on it
    flat = a[0].reshape(-1, a.shape[-1])
    uncentred = np.abs(flat @ np.linalg.svd(flat, full_matrices=False)[2][0]).reshape(a.shape[1:3])
    assert np.corrcoef(_upsampled(uncentred[None], x.shape[1])[0].ravel(), expected[0].ravel())[0, 1] < 0.99
    np.testing.assert_array_equal(eigen_cam(model, x, 2, layer), got)      # the same for every class
    with pytest.raises(ArgumentError, match="out of range"):
        eigen_cam(model, x, 7, layer)


@pytest.mark.tensorflow
def test_ablation_cam_matches_zeroing_each_channel_in_numpy(tiny):
    model, x, classes = tiny
    a = np.array(keras.Model(model.input, model.get_layer("relu2").output)(x))
    kernel, bias = model.get_layer("head").get_weights()
    expected = []
    for features, c in zip(a, classes, strict=True):
        base = features.mean(axis=(0, 1)) @ kernel[:, c] + bias[c]
        weights = []
        for k in range(features.shape[-1]):
            ablated = features.copy()
            ablated[..., k] = 0
            weights.append((base - (ablated.mean(axis=(0, 1)) @ kernel[:, c] + bias[c])) / abs(base))
        expected.append(np.maximum(features @ np.array(weights, np.float32), 0))
    expected = _normalised(_upsampled(np.stack(expected), 32))
    seen = []
    got = ablation_cam(model, x, classes, "relu2", batch_size=4, progress=lambda d, t: seen.append((d, t)))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert seen[-1][0] == seen[-1][1] and len(seen) >= 3 * 2           # chunks of 4 of the 6 channels


def test_ablation_cam_refuses_a_layer_that_a_skip_connection_bypasses():
    inp = keras.Input((16, 16, 3))
    a = L.Conv2D(4, 3, padding="same", activation="relu", name="a")(inp)
    b = L.Conv2D(4, 3, padding="same", activation="relu", name="b")(a)
    out = L.Dense(2)(L.GlobalAveragePooling2D()(L.Add(name="skip")([a, b])))
    with pytest.raises(ArgumentError, match="skip connection"):
        ablation_cam(keras.Model(inp, out), images(1, 16), 0, "b")


def _guided_reference(model, x, classes):
    """Guided Backprop of tiny_functional written out: each ReLU replaced by a custom-gradient
    ReLU in a hand-written forward pass from the layers' weights."""
    @tf.custom_gradient
    def guided_relu(z):
        y = tf.nn.relu(z)
        return y, lambda dy: tf.where(y > 0, tf.nn.relu(dy), 0.0)

    k1, b1 = model.get_layer("conv1").get_weights()
    k2, b2 = model.get_layer("conv2").get_weights()
    gamma, beta, mean, var = model.get_layer("bn2").get_weights()
    eps = model.get_layer("bn2").epsilon
    kernel, bias = model.get_layer("head").get_weights()
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = guided_relu(tf.nn.conv2d(x, k1, 1, "SAME") + b1)
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        h = tf.nn.conv2d(h, k2, 1, "SAME") + b2
        h = guided_relu(gamma * (h - mean) / tf.sqrt(var + eps) + beta)
        logits = tf.reduce_mean(h, axis=(1, 2)) @ kernel + bias
        score = tf.reduce_sum(logits * tf.one_hot(classes, 3), axis=1)
    return np.array(tape.gradient(score, x))


@pytest.mark.tensorflow
def test_guided_backprop_matches_a_custom_gradient_relu_and_leaves_other_gradients_alone(tiny):
    model, x, classes = tiny
    before = weights_snapshot(model)
    expected = _guided_reference(model, x, classes)
    np.testing.assert_allclose(guided_gradients(model, x, classes), expected, atol=1e-5)
    np.testing.assert_allclose(guided_backprop(model, x, classes), _normalised(np.abs(expected).max(-1)), atol=1e-5)
    # the override lives in its own compiled function: plain saliency still has negative gradients
    plain = heatmap(model, x, "saliency", classes)
    assert not np.allclose(plain, guided_backprop(model, x, classes), atol=1e-3)
    for kept, now in zip(before, weights_snapshot(model), strict=True):
        np.testing.assert_array_equal(kept, now)


@pytest.mark.tensorflow
def test_guided_backprop_through_relu6_passes_only_where_the_unit_is_between_0_and_6():
    """MobileNet's ReLU6: the guided gradient passes where 0 < output < 6 and is positive."""
    keras.utils.set_random_seed(5)
    inp = keras.Input((8, 8, 1))
    conv = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    out = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.ReLU(max_value=6.0)(conv)))
    model = keras.Model(inp, out)
    x = (np.random.default_rng(0).standard_normal((2, 8, 8, 1)) * 8).astype(np.float32)

    @tf.custom_gradient
    def guided_relu6(z):
        y = tf.nn.relu6(z)
        return y, lambda dy: tf.where((y > 0) & (y < 6), tf.nn.relu(dy), 0.0)

    kernel, bias = model.get_layer("conv").get_weights()
    dense_kernel, dense_bias = model.layers[-1].get_weights()
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        h = guided_relu6(tf.nn.conv2d(xt, kernel, 1, "SAME") + bias)
        score = (tf.reshape(h, (2, -1)) @ dense_kernel + dense_bias)[:, 1]
    expected = np.array(tape.gradient(score, xt))
    assert np.mean(np.asarray(tf.nn.conv2d(x, kernel, 1, "SAME") + bias) > 6) > 0.05   # it reaches the upper cut
    np.testing.assert_allclose(guided_gradients(model, x, 1), expected, atol=1e-5)


@pytest.mark.tensorflow
def test_guided_grad_cam_is_guided_backprop_times_grad_cam(tiny):
    model, x, classes = tiny
    cam = heatmap(model, x, "grad_cam", classes, "relu2")
    expected = _normalised(np.abs(_guided_reference(model, x, classes) * cam[..., None]).max(-1))
    np.testing.assert_allclose(guided_grad_cam(model, x, classes, "relu2"), expected, atol=1e-5)


def test_gradient_x_input_vargrad_and_squaregrad_on_a_linear_model_are_closed_forms():
    model, weights = linear_pixel_model(size=4, classes=2, seed=3)
    x = images(2, 4, seed=2)
    w = weights[:, 1].reshape(4, 4, 3)                                    # the gradient, everywhere
    np.testing.assert_allclose(gradient_x_input(model, x, 1), _normalised(np.abs(x * w).max(-1)), atol=1e-5)
    np.testing.assert_allclose(squaregrad(model, x, 1, smooth_samples=7), _normalised(np.square(w).max(-1)[None]
                                                                                     .repeat(2, 0)), atol=1e-5)
    # a constant gradient has no variance: what is left is float32 rounding, 1e-12 of the gradient's square
    from cnnviz_widgets.methods._models import prepare
    from cnnviz_widgets.methods.saliency import _noisy_gradient_moments

    graph, x32 = prepare(model, x)
    mean, variance = _noisy_gradient_moments(graph, x32, np.array([1, 1], np.int32), 7, 0.2, 0, 3, None)
    np.testing.assert_allclose(mean, np.broadcast_to(w, mean.shape), rtol=1e-5)
    assert variance.max() <= 1e-10 * np.square(w).max()


@pytest.mark.tensorflow
def test_vargrad_and_squaregrad_match_per_copy_gradients_of_the_same_noise(tiny):
    model, x, classes = tiny
    logits = keras.Model(model.input, model.get_layer("head").output)   # softmax: gradients start at the logit
    kernel, bias = model.get_layer("head").get_weights()
    features = keras.Model(model.input, model.get_layer("gap").output)
    samples, noise = 6, 0.3
    var_expected, square_expected = [], []
    for i in range(len(x)):
        sigma = noise * (x[i].max() - x[i].min())
        # the noise as vargrad draws it
        noise_i = np.random.default_rng([0, i]).standard_normal((samples, 32, 32, 3), dtype=np.float32)
        batch = tf.constant(x[i] + sigma * noise_i)
        with tf.GradientTape() as tape:
            tape.watch(batch)
            score = tf.reduce_sum((features(batch) @ kernel + bias)[:, classes[i]])
        grads = np.array(tape.gradient(score, batch)).astype(np.float64)
        var_expected.append(grads.var(axis=0).max(-1))
        square_expected.append(np.square(grads).mean(axis=0).max(-1))
    del logits
    np.testing.assert_allclose(vargrad(model, x, classes, smooth_samples=samples, smooth_noise=noise, batch_size=4),
                               _normalised(np.stack(var_expected)), atol=2e-4)
    np.testing.assert_allclose(squaregrad(model, x, classes, smooth_samples=samples, smooth_noise=noise),
                               _normalised(np.stack(square_expected)), atol=2e-4)


def test_rise_matches_its_formula_over_the_same_masks(tiny):
    model, x, classes = tiny
    masks = rise_masks(40, (32, 32), cells=4, keep=0.5, seed=3)
    np.testing.assert_array_equal(rise_masks(15, (32, 32), cells=4, keep=0.5, seed=3, start=25), masks[25:])
    assert masks.min() >= 0 and masks.max() <= 1 and 0.3 < masks.mean() < 0.7
    fill = x.mean(axis=(1, 2), keepdims=True)
    expected = []
    for i in range(len(x)):
        shown = x[i] * masks[..., None] + fill[i] * (1 - masks[..., None])
        p = np.array(model(shown))[:, classes[i]].astype(np.float64)
        seen = np.tensordot(p, masks, axes=1) / masks.sum(0)
        hidden = np.tensordot(p, 1 - masks, axes=1) / (1 - masks).sum(0)
        expected.append(seen - hidden)
    expected = np.stack(expected).astype(np.float32)
    raw = rise(model, x, classes, masks=40, cells=4, seed=3, batch_size=16, raw=True)
    np.testing.assert_allclose(raw, expected, atol=1e-5)
    np.testing.assert_allclose(rise(model, x, classes, masks=40, cells=4, seed=3), _normalised(expected), atol=1e-3)
    with pytest.raises(ArgumentError, match="keep must be in"):
        rise(model, x, classes, keep=1.0)


@pytest.mark.tensorflow
@pytest.mark.parametrize("size, cells", [((32, 32), 4), ((30, 45), 7), ((96, 96), 7), ((17, 9), 3)])
def test_rise_masks_are_the_grid_upsampled_whole_then_cropped(size, cells):
    """The paper's recipe done literally: each grid resized (half-pixel bilinear) to (cells + 1)
    cell sizes, then cropped at its shift; the compiled masks must equal it."""
    from cnnviz_widgets.methods.occlusion import _rise_draws

    h, w = size
    grids, shifts = _rise_draws(25, size, cells, 0.5, 11)
    ch, cw = -(-h // cells), -(-w // cells)
    big = np.array(tf.image.resize(grids[..., None], ((cells + 1) * ch, (cells + 1) * cw), method="bilinear"))[..., 0]
    expected = np.stack([b[dy:dy + h, dx:dx + w] for b, (dy, dx) in zip(big, shifts, strict=True)])
    np.testing.assert_allclose(rise_masks(25, size, cells=cells, keep=0.5, seed=11), expected, atol=1e-6)


def _traced_net():
    keras.utils.set_random_seed(7)
    model = TracedNet()
    model(np.zeros((1, 24, 24, 3), np.float32))
    return model


MODEL_KINDS = {
    "functional": (tiny_functional, 32),
    "sequential without Input": (tutorial_sequential, 48),
    "nested base model": (nested_transfer_model, 32),
    "subclassed": (_traced_net, 24),
}


@pytest.mark.parametrize("kind", list(MODEL_KINDS))
def test_every_declared_method_on_every_model_kind(kind):
    """Each method: (N, H, W) float32 in [0, 1] peaking at 1, finite, the model untouched."""
    factory, size = MODEL_KINDS[kind]
    model = factory()
    before = weights_snapshot(model)
    x = images(2, size, seed=11)
    for name, method in HEATMAP_METHODS.items():
        small = {o.name: o.low for o in method.options if o.name in ("masks", "smooth_samples", "steps")}
        maps = heatmap(model, x, name, **small)
        assert maps.shape == (2, size, size) and maps.dtype == np.float32, name
        assert np.isfinite(maps).all() and maps.min() >= 0, name
        assert np.allclose(maps.reshape(2, -1).max(1), 1.0) or not maps.any(), (name, maps.max())
    for kept, now in zip(before, weights_snapshot(model), strict=True):
        np.testing.assert_array_equal(kept, now)


def test_declared_options_are_checked_and_reach_the_method(tiny):
    model, x, classes = tiny
    few = heatmap(model, x[:1], "smoothgrad", classes[:1], smooth_samples=3)
    many = heatmap(model, x[:1], "smoothgrad", classes[:1], smooth_samples=40)
    assert not np.allclose(few, many)
    with pytest.raises(ArgumentError, match=r"smooth_samples of SmoothGrad must be an int in 1..2000; got 0"):
        heatmap(model, x, "smoothgrad", smooth_samples=0)
    with pytest.raises(ArgumentError, match=r"Grad-CAM has no option 'steps'; its options: none"):
        heatmap(model, x, "grad_cam", steps=3)
    with pytest.raises(ArgumentError, match=r"batch_size must be a positive int"):
        heatmap(model, x, "grad_cam", batch_size=0)
    with pytest.raises(ArgumentError, match="Unknown method 'gradcam'"):
        heatmap(model, x, "gradcam")


def test_every_gradient_method_explains_a_callable_target_and_the_others_refuse_it():
    """A margin between two classes on a linear model: the gradient is W[:, 0] - W[:, 1] everywhere."""
    model, weights = linear_pixel_model(size=4, classes=2, seed=5)
    x = images(2, 4, seed=6)
    margin = weights[:, 0] - weights[:, 1]
    w = margin.reshape(4, 4, 3)
    target = lambda s: s[:, 0] - s[:, 1]  # noqa: E731
    np.testing.assert_allclose(heatmap(model, x, "saliency", target), _normalised(np.abs(w).max(-1)[None]
                                                                                 .repeat(2, 0)), atol=1e-5)
    np.testing.assert_allclose(heatmap(model, x, "gradient_x_input", target), _normalised(np.abs(x * w).max(-1)),
                               atol=1e-5)
    np.testing.assert_allclose(heatmap(model, x, "integrated_gradients", target),
                               _normalised(np.abs((x * w).sum(-1))), atol=1e-5)   # exact for a linear model
    np.testing.assert_allclose(heatmap(model, x, "smoothgrad", target, smooth_samples=3),
                               _normalised(np.abs(w).max(-1)[None].repeat(2, 0)), atol=1e-5)
    for name, spec in HEATMAP_METHODS.items():
        if spec.uses_gradients:
            small = {o.name: o.low for o in spec.options if o.name in ("smooth_samples", "steps")}
            maps = heatmap(model, x, name, target, layer="ident", **small)
            assert maps.shape == (2, 4, 4) and np.isfinite(maps).all(), name
        else:
            with pytest.raises(ArgumentError, match="callable target .* works with the gradient methods"):
                heatmap(model, x, name, target, layer="ident")
    with pytest.raises(ArgumentError, match=r"one score per image: \(N,\) from scores \(N, K\); .* \(2, 2\)"):
        heatmap(model, x, "saliency", lambda s: s)


@pytest.mark.tensorflow
def test_a_target_on_a_cam_matches_the_sum_of_two_class_gradients(tiny):
    model, x, _ = tiny
    both = lambda s: s[:, 0] + s[:, 2]  # noqa: E731
    a, g0 = _features_and_gradients(model, "relu2", _tiny_logits(model), x, np.zeros(3, int))
    _, g2 = _features_and_gradients(model, "relu2", _tiny_logits(model), x, np.full(3, 2))
    g = g0 + g2
    expected = _normalised(_upsampled(np.maximum((g.mean(axis=(1, 2), keepdims=True) * a).sum(-1), 0), 32))
    np.testing.assert_allclose(heatmap(model, x, "grad_cam", both, "relu2"), expected, atol=1e-5)


@pytest.mark.parametrize("name", list(HEATMAP_METHODS))
def test_raw_maps_are_the_signed_values_behind_the_map(name, tiny):
    """raw=True: no ReLU, no scaling; the [0, 1] map is what the raw values become."""
    model, x, classes = tiny
    spec = HEATMAP_METHODS[name]
    small = {o.name: o.low for o in spec.options if o.name in ("masks", "smooth_samples", "steps")}
    small = {**small, "masks": 64} if name == "rise" else small
    raw = heatmap(model, x, name, classes, "relu2", raw=True, **small)
    shown = heatmap(model, x, name, classes, "relu2", **small)
    assert raw.dtype == np.float32 and np.isfinite(raw).all()
    if raw.ndim == 4:                                             # input-space: signed per channel
        assert raw.shape == x.shape
        expected = np.abs(raw.sum(-1)) if name == "integrated_gradients" else np.abs(raw).max(-1)
    else:
        assert raw.shape == shown.shape
        expected = np.maximum(raw, 0)
    if spec.family == "cam":
        # the map takes its ReLU at the layer's resolution, before the (linear, positive) upsampling:
        # upsample(ReLU(s)) = upsample(s) + upsample(ReLU(-s)) >= max(upsample(s), 0), equal where s > 0 around
        unscaled = heatmap(model, x, name, classes, "relu2", raw="unscaled", **small)
        assert (unscaled >= expected - 1e-5 * np.abs(raw).max()).all()
        np.testing.assert_allclose(shown, _normalised(unscaled), atol=1e-6)
        peaks = shown.reshape(len(x), -1).argmax(1)
        assert (raw.reshape(len(x), -1)[np.arange(len(x)), peaks] > 0).all()   # the hottest pixel is evidence
    else:
        np.testing.assert_allclose(shown, _normalised(expected), atol=1e-4)
    if name in ("grad_cam", "hires_cam", "saliency", "gradient_x_input", "rise", "guided_backprop"):
        assert raw.min() < 0                                      # these are signed


def test_the_new_functions_refuse_bad_input_with_clear_errors(tiny):
    model, x, _ = tiny
    for method in (vargrad, squaregrad):
        with pytest.raises(ArgumentError, match=r"smooth_samples must be a positive int; got 0"):
            method(model, x, smooth_samples=0)
        with pytest.raises(ArgumentError, match=r"smooth_noise must be > 0; got -0.1"):
            method(model, x, smooth_noise=-0.1)
    for method in (gradient_x_input, guided_backprop, eigen_cam, xgrad_cam, hires_cam, ablation_cam, rise):
        with pytest.raises(ArgumentError, match=r"pass x\[None\]"):
            method(model, x[0])
        with pytest.raises(ArgumentError, match="out of range: the model has 3 classes"):
            method(model, x, 3)
    with pytest.raises(ArgumentError, match="masks must be an int >= 1; got 0"):
        rise(model, x, masks=0)
