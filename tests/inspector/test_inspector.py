"""ModelInspector API: images, preprocessing, class names, predictions, cache, errors, traits."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

import cnnviz_widgets as cw
from cnnviz_widgets import ModelInspector
from tests.conftest import L, random_image, tiny_functional


@pytest.fixture
def inspector():
    return ModelInspector(tiny_functional(), class_names=["cat", "dog", "bird"])


# ---------------------------------------------------------------- images
def test_set_image_from_path_pil_and_arrays_resizes_to_model(inspector, tmp_path):
    rgb = random_image(64)
    path = tmp_path / "img.png"
    Image.fromarray(rgb).save(path)
    expected = np.asarray(Image.fromarray(rgb).resize((32, 32), Image.Resampling.BILINEAR))
    for source in (path, str(path), Image.fromarray(rgb), rgb, path.read_bytes()):
        inspector.set_image(source)
        assert inspector.image.shape == (32, 32, 3) and inspector.image.dtype == np.uint8
        np.testing.assert_array_equal(inspector.image, expected)
    assert inspector.batch.shape == (1, 32, 32, 3) and inspector.batch.dtype == np.float32
    np.testing.assert_allclose(inspector.batch[0], expected / 255.0, atol=1e-6)  # scale_0_1


def test_float_gray_and_rgba_arrays_are_converted(inspector):
    inspector.set_image(np.full((32, 32), 0.5))  # float in [0, 1], grayscale
    assert inspector.image.shape == (32, 32, 3)
    np.testing.assert_array_equal(inspector.image, 128)
    inspector.set_image(np.full((32, 32, 3), 200.0))  # float in [0, 255]
    np.testing.assert_array_equal(inspector.image, 200)
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 255
    rgba[:16, :, 3] = 0  # top half transparent -> white
    inspector.set_image(rgba)
    np.testing.assert_array_equal(inspector.image[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(inspector.image[-1, 0], [255, 0, 0])


def test_grayscale_model_gets_one_channel():
    inp = keras.Input((28, 28, 1))
    x = L.Conv2D(3, 3, activation="relu", name="c")(inp)
    out = L.Dense(10, activation="softmax", name="d")(L.Flatten()(x))
    inspector = ModelInspector(keras.Model(inp, out))
    rgb = np.zeros((28, 28, 3), np.uint8)
    rgb[..., 1] = 255  # pure green
    inspector.set_image(rgb)
    assert inspector.batch.shape == (1, 28, 28, 1)
    luminance = np.asarray(Image.fromarray(rgb).convert("L"), np.float32)[0, 0] / 255
    np.testing.assert_allclose(inspector.batch[0, 0, 0, 0], luminance, atol=1e-6)
    assert inspector.image.shape == (28, 28, 3)


# ---------------------------------------------------------------- preprocessing
def test_named_callable_and_auto_preprocessing():
    model = tiny_functional()
    img = random_image()
    for name, expected in [("none", img.astype(np.float32)), ("scale_0_1", img / 255.0),
                           ("resnet_v2", img / 127.5 - 1), ("mobilenet_v2", img / 127.5 - 1)]:
        inspector = ModelInspector(model, preprocess=name)
        inspector.set_image(img)
        np.testing.assert_allclose(inspector.batch[0], expected, atol=1e-5)
    vgg = ModelInspector(model, preprocess="vgg16")
    vgg.set_image(img)
    mean_bgr = np.array([103.939, 116.779, 123.68])
    np.testing.assert_allclose(vgg.batch[0], img[..., ::-1] - mean_bgr, atol=1e-4)

    custom = ModelInspector(model, preprocess=lambda x: x / 10.0)
    custom.set_image(img)
    np.testing.assert_allclose(custom.batch[0], img / 10.0, atol=1e-5)

    auto = ModelInspector(model)
    assert auto.preprocessing == "scale_0_1"
    assert "not a known" in auto.preprocessing_reason
    with pytest.raises(cw.PreprocessingError, match="Unknown preprocessing 'caffe2'.*scale_0_1"):
        ModelInspector(model, preprocess="caffe2")


def test_failing_or_reshaping_preprocessing_is_reported_and_image_kept(inspector):
    inspector.set_image(random_image(seed=1))
    before = inspector.image.copy()
    bad = ModelInspector(tiny_functional(), preprocess=lambda x: x[..., :1])
    with pytest.raises(cw.PreprocessingError, match=r"returned shape \(1, 32, 32, 1\); expected \(1, 32, 32, 3\)"):
        bad.set_image(random_image())
    assert not bad.has_image
    np.testing.assert_array_equal(inspector.image, before)


# ---------------------------------------------------------------- classes and predictions
def test_class_names_list_default_and_imagenet():
    model = tiny_functional()
    assert ModelInspector(model).class_names == ("class 0", "class 1", "class 2")
    assert ModelInspector(model, class_names=["a", "b", "c"]).class_names == ("a", "b", "c")
    with pytest.raises(cw.ArgumentError, match="3 output classes but 2 class names"):
        ModelInspector(model, class_names=["a", "b"])
    from cnnviz_widgets.embedded.class_names import imagenet_class_names

    names = imagenet_class_names()
    assert len(names) == 1000 and names[0] == "tench" and names[281] == "tabby cat"


def test_top_k_and_probabilities(inspector):
    inspector.set_image(random_image())
    probs = inspector.probabilities
    assert probs.shape == (3,) and abs(probs.sum() - 1) < 1e-5
    top = inspector.top_k(3)
    assert [p.probability for p in top] == sorted(probs.tolist(), reverse=True)
    assert top[0].index == int(probs.argmax()) and top[0].name == ["cat", "dog", "bird"][top[0].index]
    assert isinstance(top[0], tuple) and len(top[0]) == 3
    assert len(inspector.top_k(5)) == 3
    with pytest.raises(cw.ArgumentError, match="k must be >= 1"):
        inspector.top_k(0)


@pytest.mark.parametrize("separate", [False, True])
def test_logits_are_the_pre_softmax_scores(separate):
    model = tiny_functional(separate_softmax=separate)
    inspector = ModelInspector(model)
    inspector.set_image(random_image(seed=3))
    head = model.get_layer("logits" if separate else "head")
    kernel, bias = head.get_weights()
    expected = inspector.activations("gap") @ kernel + bias
    np.testing.assert_allclose(inspector.logits, expected, atol=1e-5)
    assert inspector.output_activation == "softmax"
    assert head.get_config()["activation"] == ("linear" if separate else "softmax")  # user's layer untouched


def test_model_without_final_activation_treats_outputs_as_logits():
    inp = keras.Input((16, 16, 3))
    out = L.Dense(4, name="scores")(L.GlobalAveragePooling2D()(L.Conv2D(2, 3, name="c")(inp)))
    inspector = ModelInspector(keras.Model(inp, out))
    inspector.set_image(random_image(16))
    assert inspector.output_activation == "none"
    np.testing.assert_allclose(inspector.logits, inspector.outputs)
    e = np.exp(inspector.outputs - inspector.outputs.max())
    np.testing.assert_allclose(inspector.probabilities, e / e.sum(), rtol=1e-5)


# ---------------------------------------------------------------- cache
def test_one_forward_pass_serves_every_layer_and_prediction(inspector):
    inspector.set_image(random_image(seed=1))
    for name in inspector.layer_names:
        inspector.activations(name)
    inspector.top_k()
    _ = inspector.logits
    assert inspector.forward_passes == 1
    inspector.set_image(random_image(seed=2))
    first = inspector.activations("conv1").copy()
    assert inspector.forward_passes == 2
    inspector.set_image(random_image(seed=1))  # back to a cached image: no new pass
    inspector.activations("conv2")
    assert inspector.forward_passes == 2
    inspector.set_image(random_image(seed=2))
    np.testing.assert_array_equal(inspector.activations("conv1"), first)
    assert inspector.forward_passes == 2
    assert inspector.cache_info["hits"] >= 2


def test_cache_is_bounded_in_bytes():
    model = tiny_functional()
    probe = ModelInspector(model)
    probe.set_image(random_image())
    probe.activations("conv1")
    per_image = probe.cache_info["bytes"]
    inspector = ModelInspector(model, cache_bytes=int(per_image * 2.5))
    for seed in range(5):
        inspector.set_image(random_image(seed=seed))
        inspector.activations("conv1")
    info = inspector.cache_info
    assert info["entries"] == 2 and info["bytes"] <= info["max_bytes"]
    inspector.set_image(random_image(seed=0))  # evicted long ago: recomputed
    inspector.activations("conv1")
    assert inspector.forward_passes == 6


# ---------------------------------------------------------------- errors
def test_unknown_layer_suggests_close_matches(inspector):
    inspector.set_image(random_image())
    with pytest.raises(cw.LayerNotFoundError, match=r"No layer named 'conv3'.*Did you mean 'conv2', 'conv1'") as info:
        inspector.activations("conv3")
    assert isinstance(info.value, LookupError) and isinstance(info.value, cw.CnnvizError)


def test_image_errors_keep_the_previous_image(inspector, tmp_path):
    inspector.set_image(random_image(seed=5))
    before, version = inspector.image.copy(), inspector.image_version
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    cases = [
        (tmp_path / "missing.jpg", cw.ImageFileNotFoundError, "Image file not found: '.*missing.jpg'"),
        (not_an_image, cw.ImageReadError, "Cannot read '.*notes.png' as an image"),
        (np.zeros((8, 8, 5)), cw.ChannelCountError, r"got shape \(8, 8, 5\)"),
        (np.full((8, 8, 3), np.nan), cw.ImageReadError, "NaN"),
        (42, cw.ImageReadError, "got int"),
        (b"garbage", cw.ImageReadError, "Cannot decode 7 bytes"),
    ]
    for source, error, message in cases:
        with pytest.raises(error, match=message):
            inspector.set_image(source)
        np.testing.assert_array_equal(inspector.image, before)
        assert inspector.image_version == version
    assert isinstance(cw.ImageFileNotFoundError("x"), FileNotFoundError)


def test_no_image_yet(inspector):
    with pytest.raises(cw.NoImageError, match="call inspector.set_image"):
        inspector.activations("conv1")


def test_model_errors(tmp_path):
    dense_only = keras.Sequential([keras.Input((10,)), L.Dense(3, activation="softmax")])
    with pytest.raises(cw.NotAnImageModelError, match=r"inputs of shape \(10,\); expected an image input"):
        ModelInspector(dense_only)
    inp = keras.Input((8, 8, 3))
    flat_only = keras.Model(inp, L.Dense(2)(L.Flatten()(inp)))
    with pytest.raises(cw.NotAnImageModelError, match="no layer with a spatial"):
        ModelInspector(flat_only)
    with pytest.raises(cw.ModelFileNotFoundError, match="Model file not found: '.*nope.keras'"):
        ModelInspector(tmp_path / "nope.keras")
    with pytest.raises(cw.UnsupportedModelError, match="got int"):
        ModelInspector(3)
    inp2 = keras.Input((8, 8, 2))
    with pytest.raises(cw.ChannelCountError, match="expects 2 input channels"):
        ModelInspector(keras.Model(inp2, L.Conv2D(1, 3)(inp2)))


def test_unsafe_files_are_refused_unless_asked(tmp_path):
    inp = keras.Input((16, 16, 3))
    x = L.Lambda(lambda t: t * 2.0, name="double")(L.Conv2D(2, 3, name="c")(inp))
    model = keras.Model(inp, L.Dense(2, activation="softmax")(L.GlobalAveragePooling2D()(x)))
    for suffix in (".keras", ".h5"):
        path = tmp_path / f"lambda{suffix}"
        model.save(path)
        with pytest.raises(cw.UnsafeModelFileError, match="Lambda layer.*safe_mode=False"):
            ModelInspector(path)
        inspector = ModelInspector(path, safe_mode=False)
        inspector.set_image(random_image(16))
        np.testing.assert_allclose(inspector.activations("double"), 2 * inspector.activations("c"), rtol=1e-6)


def test_broken_model_file_says_what_failed(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"not a zip")
    with pytest.raises(cw.ModelLoadError, match="Could not load the model file"):
        ModelInspector(path)
    with pytest.raises(cw.ModelLoadError, match="is a directory"):
        ModelInspector(tmp_path)


# ---------------------------------------------------------------- observability and model swaps
def test_traits_notify_image_and_model_changes(inspector):
    seen = []
    inspector.observe(lambda change: seen.append(change["name"]), names=["image_version", "model_version"])
    inspector.set_image(random_image())
    with pytest.raises(cw.ImageReadError):
        inspector.set_image(b"bad")
    inspector.set_model(tiny_functional(separate_softmax=True))
    assert seen == ["image_version", "model_version"]
    assert inspector.has_image and "logits" in inspector.layer_names


def test_failed_model_change_keeps_the_working_model(inspector):
    inspector.set_image(random_image())
    names = inspector.layer_names
    with pytest.raises(cw.ModelFileNotFoundError):
        inspector.set_model("/nonexistent/model.keras")
    assert inspector.layer_names == names
    assert inspector.top_k(1)[0].name in ("cat", "dog", "bird")


def test_repr_is_informative(inspector):
    text = repr(inspector)
    assert "tiny_functional" in text and "7 layers" in text and "no image" in text


def test_model_change_keeps_the_image_at_the_new_size(inspector):
    inspector.set_image(random_image(64, seed=9))
    inspector.activations("conv1")
    inspector.set_model(tiny_functional(size=48))
    assert inspector.image.shape == (48, 48, 3) and inspector.batch.shape == (1, 48, 48, 3)
    assert inspector.activations("conv1").shape == (48, 48, 4)
    assert inspector.cache_info["entries"] == 1
    # resized from the original 64 px image, not from the 32 px copy
    expected = np.asarray(Image.fromarray(random_image(64, seed=9)).resize((48, 48), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(inspector.image, expected)


def test_cached_activations_cannot_be_corrupted_in_place(inspector):
    """The tutorials normalise channels in place (``channel -= channel.mean()``): that must not touch the cache."""
    inspector.set_image(random_image())
    channel = inspector.activations("conv1")[..., 0]
    original = channel.copy()
    with pytest.raises(ValueError, match="read-only"):
        channel -= channel.mean()
    np.testing.assert_array_equal(inspector.activations("conv1")[..., 0], original)
    copy = inspector.activations("conv1")[..., 0].copy()
    copy -= copy.mean()  # a copy is free to change
    assert abs(copy.mean()) < 1e-5


def test_exif_rotation_and_16_bit_images(inspector, tmp_path):
    # a 32x16 landscape image stored with EXIF "rotate 90" (orientation 6) is shown upright (16x32)
    wide = np.zeros((16, 32, 3), np.uint8)
    wide[:, :16] = [255, 0, 0]  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    Image.fromarray(wide).save(path, exif=exif, quality=95)
    from cnnviz_widgets.inspector.images import load_rgb

    upright = load_rgb(path)
    assert upright.shape == (32, 16, 3)
    assert upright[2, 8, 0] > 200 and upright[-3, 8, 0] < 60  # red now on top
    # 16-bit grayscale PNG: full range maps to 0..255, not clipped to white
    gray16 = (np.linspace(0, 65535, 32 * 32).reshape(32, 32)).astype(np.uint16)
    path16 = tmp_path / "depth.png"
    Image.fromarray(gray16).save(path16)
    inspector.set_image(path16)
    assert inspector.image[0, 0, 0] == 0 and inspector.image[-1, -1, 0] == 255
    assert 100 < inspector.image[16, 0, 0] < 155
    inspector.set_image(gray16)  # the same as an array
    assert inspector.image[-1, -1, 0] == 255 and inspector.image[0, 0, 0] == 0
