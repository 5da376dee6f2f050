"""The embedded default model: ships offline, small, accurate, and its Grad-CAM points at the shape."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.embedded.shapes import CLASS_NAMES
from cnnviz_widgets.methods import grad_cam, pointing_game

HELD_OUT_SEED = 777_777  # never used for training (training uses seeds 0, 1000, 2000)


def test_model_file_is_package_data_and_small():
    path = resources.files("cnnviz_widgets.embedded").joinpath("default_model.keras")
    assert path.is_file()
    assert path.stat().st_size <= 2 * 2**20


def test_architecture_has_named_layers_and_a_softmax_head():
    model = cw.load_default_model()
    names = [layer.name for layer in model.layers]
    for name in ["stem_conv", "block1_conv1", "block2_conv2", "block3_conv2", "global_pool", "logits", "predictions"]:
        assert name in names
    assert model.inputs[0].shape[1:] == (96, 96, 3)
    assert model.get_layer("predictions").get_config()["activation"] == "softmax"
    report = cw.default_model_report()
    assert report["heldout_accuracy"] >= 0.95 and report["gradcam_pointing"] >= 0.90


def test_inspector_defaults_to_the_embedded_model(default_inspector):
    inspector = default_inspector
    assert inspector.class_names == CLASS_NAMES
    assert inspector.preprocessing == "scale_0_1"
    assert inspector.has_image  # the first sample is preloaded
    assert "block3_conv2" in inspector.conv_layer_names


def test_sample_images_one_per_class_and_predicted_correctly(default_inspector):
    samples = cw.sample_images()
    assert [s["label"] for s in samples] == list(CLASS_NAMES)
    for sample in samples:
        assert sample["image"].shape == (96, 96, 3) and sample["image"].dtype == np.uint8
        assert sample["mask"].shape == (96, 96) and sample["mask"].dtype == bool and sample["mask"].any()
        default_inspector.set_image(sample["image"])
        assert default_inspector.top_k(1)[0].name == sample["label"]
    samples[0]["image"][:] = 0  # callers get copies
    assert cw.sample_images()[0]["image"].any()


@pytest.mark.slow
def test_heldout_accuracy_and_gradcam_pointing_on_fresh_images():
    batch = cw.generate_shapes(600, size=96, seed=HELD_OUT_SEED)
    model = cw.load_default_model()
    x = batch.images.astype("float32") / 255.0
    pred = model.predict(x, batch_size=100, verbose=0).argmax(axis=1)
    correct = pred == batch.labels
    accuracy = correct.mean()
    assert accuracy >= 0.95, f"held-out accuracy {accuracy:.3f}"
    cams = grad_cam(model, x[correct], batch.labels[correct], "block3_conv2")
    assert cams.shape == (correct.sum(), 96, 96) and cams.min() >= 0 and cams.max() <= 1
    pointing = pointing_game(cams, batch.masks[correct]).mean()
    assert pointing >= 0.90, f"Grad-CAM pointing {pointing:.3f}"
