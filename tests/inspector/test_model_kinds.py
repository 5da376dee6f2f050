"""ModelInspector on every kind of Keras model (issue: foundation, section 2, cases a-g)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnviz_widgets import ModelInspector, UnsupportedModelError
from cnnviz_widgets.inspector.graph import trace_model
from tests.conftest import (
    L,
    random_image,
    sequential_with_input,
    tiny_functional,
    tutorial_sequential,
    weights_snapshot,
)


def direct_activation(model: keras.Model, layer_name: str, x: np.ndarray) -> np.ndarray:
    """The tutorials' way: a sub-model from model.inputs to one layer's output."""
    sub = keras.Model(model.inputs[0], model.get_layer(layer_name).output)
    return np.asarray(sub(x))[0]


def assert_same_predictions(inspector: ModelInspector, model: keras.Model, atol: float = 1e-5) -> None:
    expected = np.asarray(model(inspector.batch, training=False))[0]
    np.testing.assert_allclose(inspector.outputs, expected, atol=atol)


def test_a_functional_model_activations_match_direct_submodels():
    model = tiny_functional()
    before = weights_snapshot(model)
    inspector = ModelInspector(model)
    inspector.set_image(random_image())
    assert inspector.layer_names == ["conv1", "pool1", "conv2", "bn2", "relu2", "gap", "head"]
    assert inspector.conv_layer_names == ["conv1", "pool1", "conv2", "bn2", "relu2"]
    for name in ["conv1", "pool1", "conv2", "bn2", "relu2", "gap"]:
        np.testing.assert_allclose(inspector.activations(name), direct_activation(model, name, inspector.batch),
                                   atol=1e-5)
    assert_same_predictions(inspector, model)
    kinds = {r.name: r.kind for r in inspector.layers}
    assert kinds == {"conv1": "conv", "pool1": "pool", "conv2": "conv", "bn2": "normalization",
                     "relu2": "activation", "gap": "pool", "head": "dense"}
    assert inspector.layer("conv1").kernel_shape == (3, 3, 3, 4)
    assert inspector.layer("pool1").kernel_shape is None
    assert inspector.layer("head").kernel_shape is None  # dense: no conv kernel
    assert inspector.layer("conv2").output_shape == (16, 16, 6)
    for a, b in zip(before, weights_snapshot(model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_b_sequential_with_input():
    model = sequential_with_input()
    inspector = ModelInspector(model)
    inspector.set_image(random_image())
    assert inspector.layer_names == ["c1", "p1", "c2", "gmp", "out"]
    np.testing.assert_allclose(inspector.activations("c2"), direct_activation(model, "c2", inspector.batch), atol=1e-5)
    assert_same_predictions(inspector, model)


def test_c_sequential_built_without_input_like_seed_001():
    model = tutorial_sequential()
    with pytest.raises((AttributeError, ValueError)):
        _ = model.output  # Keras 3 leaves it undefined: the reason this case needs care
    inspector = ModelInspector(model)
    inspector.set_image(random_image(70))
    assert inspector.input_shape == (48, 48, 3)
    assert [r.output_shape for r in inspector.layers][:3] == [(42, 42, 8), (38, 38, 8), (36, 36, 8)]
    first = model.layers[0].name
    np.testing.assert_allclose(inspector.activations(first), direct_activation(model, first, inspector.batch),
                               atol=1e-5)
    assert_same_predictions(inspector, model)
    with pytest.raises((AttributeError, ValueError)):
        _ = model.output  # still undefined: the inspector did not "fix" the user's model


@pytest.fixture(scope="module")
def small_vgg_base():
    keras.utils.set_random_seed(4)
    return keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))


@pytest.mark.parametrize("style", ["sequential", "functional"])
def test_d_nested_base_model_has_qualified_inner_layers(small_vgg_base, style):
    base = small_vgg_base
    if style == "sequential":
        clf = keras.Sequential([keras.Input((32, 32, 3)), base, L.GlobalAveragePooling2D(name="gap"),
                                L.Dense(5, activation="softmax", name="cls")])
    else:
        inp = keras.Input((32, 32, 3))
        x = L.Flatten(name="flat")(base(inp, training=False))  # the transfer-learning idiom
        out = L.Dense(5, activation="softmax", name="cls")(x)
        clf = keras.Model(inp, out)
    # the naive route fails: the reason this case needs care
    with pytest.raises(ValueError):
        clf.get_layer("block5_conv3")
    inspector = ModelInspector(clf)
    assert "vgg16/block5_conv3" in inspector.conv_layer_names
    assert "vgg16" in inspector.layer_names
    assert inspector.preprocessing == "vgg16"
    inspector.set_image(random_image(40))
    inner = keras.Model(base.inputs[0], base.get_layer("block5_conv3").output)
    np.testing.assert_allclose(inspector.activations("vgg16/block5_conv3"), np.asarray(inner(inspector.batch))[0],
                               rtol=1e-4, atol=1e-4)
    # an unambiguous unqualified name resolves to the qualified one
    assert inspector.layer("block5_conv3").name == "vgg16/block5_conv3"
    assert_same_predictions(inspector, clf)


def test_d_nested_dag_base_with_residual_adds():
    keras.utils.set_random_seed(5)
    base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(64, 64, 3), alpha=0.35)
    inp = keras.Input((64, 64, 3))
    x = L.Rescaling(1 / 127.5, offset=-1, name="scale")(inp)
    x = L.GlobalAveragePooling2D(name="gap")(base(x))
    clf = keras.Model(inp, L.Dense(3, activation="softmax", name="cls")(x))
    inspector = ModelInspector(clf)
    assert inspector.preprocessing == "none"  # the model rescales by itself
    inspector.set_image(random_image(64))
    add_layers = [n for n in inspector.layer_names if n.endswith("_add")]
    assert add_layers and all(n.startswith(base.name + "/") for n in add_layers)
    name = add_layers[-1]
    inner = keras.Model(base.inputs[0], base.get_layer(name.split("/", 1)[1]).output)
    scaled = inspector.batch / 127.5 - 1
    np.testing.assert_allclose(inspector.activations(name), np.asarray(inner(scaled))[0], rtol=1e-4, atol=1e-4)
    assert_same_predictions(inspector, clf)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_e_models_reloaded_from_files(tmp_path, suffix):
    model = tiny_functional(separate_softmax=True)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    inspector = ModelInspector(path)
    assert inspector.layer_names == ["conv1", "pool1", "conv2", "bn2", "relu2", "gap", "logits", "probs"]
    inspector.set_image(random_image())
    np.testing.assert_allclose(inspector.outputs, np.asarray(model(inspector.batch))[0], atol=1e-5)


def test_e_sequential_without_input_round_trips_through_h5(tmp_path):
    model = tutorial_sequential()
    path = tmp_path / "tutorial_sequential.h5"
    model.save(path)
    inspector = ModelInspector(str(path))
    inspector.set_image(random_image(48))
    np.testing.assert_allclose(inspector.outputs, np.asarray(model(inspector.batch))[0], atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize(
    "factory, preprocess, last_conv",
    [
        (keras.applications.VGG16, "vgg16", "block5_pool"),
        (keras.applications.ResNet50V2, "resnet_v2", "post_relu"),
        (keras.applications.MobileNetV2, "mobilenet_v2", "out_relu"),
    ],
)
def test_f_keras_applications_without_weights(factory, preprocess, last_conv):
    keras.utils.set_random_seed(6)
    model = factory(weights=None)
    inspector = ModelInspector(model, class_names="imagenet")
    assert inspector.input_shape == (224, 224, 3)
    assert inspector.preprocessing == preprocess
    assert inspector.conv_layer_names[-1] == last_conv
    assert inspector.output_activation == "softmax"
    inspector.set_image(random_image(300))
    assert inspector.activations(last_conv).shape == (7, 7, model.get_layer(last_conv).output.shape[-1])
    conv_kind = [r.name for r in inspector.layers if r.kind == "conv"]
    assert conv_kind and inspector.layer(conv_kind[-1]).kernel_shape[:2] in ((1, 1), (3, 3))
    assert_same_predictions(inspector, model, atol=1e-6)
    # logits are the pre-softmax scores: softmax(logits) == probabilities
    logits = inspector.logits.astype(np.float64)
    soft = np.exp(logits - logits.max())
    np.testing.assert_allclose(soft / soft.sum(), inspector.probabilities, rtol=1e-4, atol=1e-7)
    assert len(inspector.top_k(5)) == 5 and inspector.top_k(1)[0].name in inspector.class_names


def test_f_include_top_false_open_size_uses_224():
    model = keras.applications.VGG16(weights=None, include_top=False)
    inspector = ModelInspector(model, input_shape=None)
    assert inspector.input_shape == (224, 224, 3)
    assert inspector.layer("block5_conv3").output_shape == (14, 14, 512)


class TracedNet(keras.Model):
    """A subclassed model written with Keras layers only: traceable."""

    def __init__(self):
        super().__init__(name="traced_net")
        self.conv = L.Conv2D(4, 3, activation="relu", name="conv")
        self.pool = L.GlobalMaxPooling2D(name="pool")
        self.head = L.Dense(3, activation="softmax", name="head")

    def call(self, x):
        return self.head(self.pool(self.conv(x)))


class EagerOnlyNet(TracedNet):
    """Uses a raw TensorFlow op on the tensor: cannot be traced symbolically."""

    def call(self, x):
        import tensorflow as tf

        return self.head(self.pool(tf.nn.relu(self.conv(x))))


def test_g_subclassed_model_layers_are_reached_by_tracing():
    keras.utils.set_random_seed(7)
    model = TracedNet()
    model(np.zeros((1, 24, 24, 3), np.float32))
    inspector = ModelInspector(model)
    assert inspector.layer_names == ["conv", "pool", "head"]
    inspector.set_image(random_image(24))
    expected = np.asarray(model.conv(inspector.batch))[0]
    np.testing.assert_allclose(inspector.activations("conv"), expected, atol=1e-6)
    assert_same_predictions(inspector, model)
    assert keras.layers.Layer.__call__.__name__ == "__call__"  # the temporary routing was undone


def test_sequential_never_built_asks_for_build_or_input_shape():
    model = keras.Sequential([L.Conv2D(2, 3), L.GlobalAveragePooling2D(), L.Dense(2)])
    with pytest.raises(UnsupportedModelError, match=r"never built or called.*model.build\(\(None, H, W, C\)\)"):
        ModelInspector(model)
    assert ModelInspector(model, input_shape=(16, 16, 3)).layer_names[0].startswith("conv2d")


def test_g_subclassed_model_never_built_asks_for_input_shape():
    with pytest.raises(UnsupportedModelError, match="never built or called.*input_shape"):
        ModelInspector(TracedNet())
    inspector = ModelInspector(TracedNet(), input_shape=(20, 20, 3))
    assert inspector.layer("conv").output_shape == (18, 18, 4)


@pytest.mark.tensorflow
def test_g_untraceable_subclassed_model_says_why():
    model = EagerOnlyNet()
    model(np.zeros((1, 24, 24, 3), np.float32))
    with pytest.raises(UnsupportedModelError, match="subclassed model 'traced_net' could not be traced") as info:
        ModelInspector(model)
    assert "keras.ops" in str(info.value) and "functional" in str(info.value)
    assert keras.layers.Layer.__call__.__name__ == "__call__"


def test_graph_runner_private_api_is_still_there():
    """trace_model relies on Function._run_through_graph(call_fn=...): pin it."""
    import inspect

    from keras.src.ops.function import Function

    params = inspect.signature(Function._run_through_graph).parameters
    assert "call_fn" in params and "operation_fn" in params


def test_model_is_not_mutated_by_tracing():
    model = tiny_functional()
    n_layers, names, outputs = len(model.layers), [la.name for la in model.layers], list(model.outputs)
    conv_output = model.get_layer("conv1").output
    before = weights_snapshot(model)
    graph = trace_model(model, (32, 32, 3))
    assert len(model.layers) == n_layers and [la.name for la in model.layers] == names
    assert model.outputs == outputs
    assert model.get_layer("conv1").output is conv_output  # layer.output still the first call's tensor
    assert model.get_layer("head").output is model.outputs[0]
    for a, b in zip(before, weights_snapshot(model), strict=True):
        np.testing.assert_array_equal(a, b)
    assert graph.feature_model is not model


@pytest.mark.tensorflow
def test_traced_graph_gives_gradients_from_logits_to_a_nested_inner_layer(small_vgg_base):
    """What the CAM methods build on: one graph from the input to an inner layer and the logits."""
    import tensorflow as tf

    inp = keras.Input((32, 32, 3))
    x = L.GlobalAveragePooling2D(name="gap")(small_vgg_base(inp, training=False))
    clf = keras.Model(inp, L.Dense(4, activation="softmax", name="cls")(x))
    inspector = ModelInspector(clf)
    inspector.set_image(random_image(32, seed=11))
    graph = inspector.graph
    grad_model = keras.Model(graph.input, [graph.tensors["vgg16/block5_conv3"], graph.logits])
    with tf.GradientTape() as tape:
        features, logits = grad_model(inspector.batch)
        score = logits[:, 2]
    grads = tape.gradient(score, features)
    assert grads.shape == (1, 2, 2, 512) and float(tf.reduce_max(tf.abs(grads))) > 0
    np.testing.assert_allclose(np.asarray(logits)[0], inspector.logits, rtol=1e-4, atol=1e-5)
    # block5_pool (2x2 -> 1x1) routes d logit_c / d pooled = W[:, c] to one position of each channel
    kernel = clf.get_layer("cls").get_weights()[0]
    np.testing.assert_allclose(np.asarray(grads)[0].sum(axis=(0, 1)), kernel[:, 2], rtol=1e-4, atol=1e-7)
    assert ((np.asarray(grads)[0] != 0).sum(axis=(0, 1)) <= 1).all()
