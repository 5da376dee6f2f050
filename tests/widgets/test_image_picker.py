"""ImagePicker: samples, uploads and paths; a bad file keeps the previous image."""

from __future__ import annotations

import datetime
import io

import numpy as np
from PIL import Image

from cnnviz_widgets.widgets import ImagePicker, LayerBrowser


def upload(picker: ImagePicker, name: str, content: bytes) -> None:
    picker.upload.value = ({"name": name, "type": "image/png", "size": len(content), "content": memoryview(content),
                            "last_modified": datetime.datetime.now()},)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_bad_upload_shows_an_error_and_keeps_the_previous_image(inspector):
    picker = ImagePicker(inspector)
    browser = LayerBrowser(inspector)
    before_image, before_png, version = inspector.image.copy(), browser.png, inspector.image_version
    upload(picker, "notes.txt", b"this is not an image")
    assert picker.errors.message.startswith("notes.txt: Cannot decode 20 bytes as an image: not a picture format")
    assert "BytesIO" not in picker.errors.message and picker.errors.layout.display is None
    np.testing.assert_array_equal(inspector.image, before_image)
    assert inspector.image_version == version and browser.png == before_png


def test_good_upload_path_and_sample_change_every_bound_widget(inspector, samples, tmp_path):
    picker = ImagePicker(inspector)
    browser = LayerBrowser(inspector)
    star = samples[3]["image"]
    upload(picker, "star.png", png_bytes(star))
    assert not picker.errors.message and "star.png" in picker.status.value
    np.testing.assert_array_equal(inspector.image, star)
    first = browser.png
    path = tmp_path / "cross.png"
    path.write_bytes(png_bytes(samples[4]["image"]))
    picker.path_box.value = str(path)
    picker.open_button.click()
    np.testing.assert_array_equal(inspector.image, samples[4]["image"])
    assert browser.png != first
    assert not picker.load_path(str(tmp_path / "missing.jpg"))
    assert "not found" in picker.errors.message
    picker.sample = samples[1]["name"]
    np.testing.assert_array_equal(inspector.image, samples[1]["image"])
    assert not picker.errors.message


def test_the_list_names_the_sample_shown_whoever_set_it(inspector, samples):
    picker = ImagePicker(inspector)
    assert picker.sample == picker.sample_dropdown.value == samples[0]["name"]   # the fixture's circle
    passes = inspector.cache_info["forward_passes"]
    inspector.set_image(samples[3]["image"])                                    # set in code, not in the list
    assert picker.sample_dropdown.value == samples[3]["name"]
    inspector.set_image(np.zeros((96, 96, 3), np.uint8))                        # not a sample
    assert picker.sample is None
    assert inspector.cache_info["forward_passes"] <= passes + 2                  # naming it loaded nothing again
