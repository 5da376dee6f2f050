"""How an image of another shape is fitted to the model input: stretch (default), crop, pad."""

from __future__ import annotations

import numpy as np
import pytest

import cnnviz_widgets as cw


def wide_image() -> np.ndarray:
    """200x100 (W x H): left half red, right half blue, a green bar in the middle fifth."""
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, :100, 0] = 255
    image[:, 100:, 2] = 255
    image[:, 80:120] = (0, 255, 0)
    return image


def test_stretch_crop_and_pad_fit_a_wide_photo_as_they_say():
    inspector = cw.ModelInspector(cw.load_default_model())
    inspector.set_image(wide_image(), label="wide photo")
    stretched = inspector.image.copy()
    assert inspector.fit == "stretch" and inspector.image_label == "wide photo"
    green = (stretched[:, :, 1] > 200).mean()
    assert green == pytest.approx(0.2, abs=0.03)                 # the whole width squeezed in
    version = inspector.image_version
    inspector.fit = "crop"                                       # re-fits the current image
    assert inspector.image_version == version + 1
    cropped = inspector.image
    assert (cropped[:, :, 1] > 200).mean() == pytest.approx(0.4, abs=0.04)   # the centre half, not squeezed
    inspector.fit = "pad"
    padded = inspector.image
    assert (padded[:24].max() == 0) and (padded[-24:].max() == 0)           # black bars above and below
    assert (padded[:, :, 1] > 200).mean() == pytest.approx(0.1, abs=0.02)
    assert inspector.settings.fit == "pad" and inspector.twin().fit == "pad"
    with pytest.raises(cw.ArgumentError, match="fit must be one of stretch, crop, pad; got 'squash'"):
        inspector.fit = "squash"
    assert inspector.fit == "pad"


def test_a_path_names_itself(tmp_path):
    from PIL import Image

    path = tmp_path / "cat.png"
    Image.fromarray(wide_image()).save(path)
    inspector = cw.ModelInspector(cw.load_default_model())
    inspector.set_image(path)
    assert inspector.image_label == "cat.png"
