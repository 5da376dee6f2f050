"""The image picker shared by the widgets: shipped samples, a file upload and a path box.

A file that cannot be read shows an error here and the inspector keeps its previous image.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from cnnviz_widgets.embedded.default_model import sample_images
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.inspector.images import ImageLike
from cnnviz_widgets.widgets._base import (
    ErrorArea,
    close_held,
    display_png,
    error_line,
    image_view,
    stop_following,
)

MAX_UPLOAD_BYTES = 20 * 2**20


class ImagePicker(widgets.VBox):
    """Choose the image every widget bound to ``inspector`` shows.

    ``sample`` names the shipped sample shown (None after an upload or a path).
    """

    sample = traitlets.Unicode(None, allow_none=True, help="Name of the shipped sample shown, or None.")

    def __init__(self, inspector: ModelInspector, **kwargs: Any) -> None:
        self.inspector = inspector
        self._samples = {s["name"]: s["image"] for s in sample_images()}
        self.sample_dropdown = widgets.Dropdown(description="sample",
                                                options=[("—", None)] + [(n, n) for n in self._samples],
                                                layout=widgets.Layout(width="240px"))
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Upload")
        self.path_box = widgets.Text(placeholder="or a path: photos/cat.jpg", continuous_update=False,
                                     layout=widgets.Layout(width="260px"))
        self.open_button = widgets.Button(description="Open", icon="folder-open", layout=widgets.Layout(width="80px"))
        self.path_box.add_class("cnnviz-path-box")
        self.open_button.add_class("cnnviz-open")
        self.thumbnail = image_view("cnnviz-input-thumb")
        self.thumbnail.layout.width = "96px"
        self.status = widgets.HTML("")
        self.errors = ErrorArea()
        widgets.link((self, "sample"), (self.sample_dropdown, "value"))
        self._syncing = False
        self.observe(self._on_sample, "sample")
        self.upload.observe(self._on_upload, "value")
        self.open_button.on_click(lambda _: self.load_path(self.path_box.value))
        self.path_box.observe(lambda change: change["new"].strip() and self.load_path(change["new"]), "value")
        inspector.observe(self._show_thumbnail, names=["image_version", "model_version"])
        super().__init__([widgets.HBox([self.thumbnail, widgets.VBox([
            widgets.HBox([self.sample_dropdown, self.upload]),
            widgets.HBox([self.path_box, self.open_button]),
            self.status])]), self.errors], **kwargs)
        self.add_class("cnnviz-image-picker")
        self._show_thumbnail()

    # ------------------------------------------------------------------ loading
    def load(self, image: ImageLike, label: str = "image") -> bool:
        """Show ``image`` (path, bytes, PIL image or array) on the inspector.

        Returns False, with the reason in the error area, when it cannot be read; the
        previous image stays.
        """
        try:
            self.inspector.set_image(image, label=label)
        except Exception as exc:  # noqa: BLE001 - shown, previous image kept
            message = error_line(exc)
            self.errors.show(message if label in message else f"{label}: {message}")   # name the file
            return False
        self.errors.clear()
        self.status.value = f"<small>showing <b>{html.escape(label)}</b></small>"
        return True

    def load_path(self, path: str) -> bool:
        """Open an image file by path (the path box)."""
        path = path.strip()
        if not path:
            self.errors.show("Type the path of an image file first.")
            return False
        if self.load(path, path):
            self.sample = None
            return True
        return False

    def _on_sample(self, change: dict) -> None:
        name = change["new"]
        if name is not None and not self._syncing:
            self.load(self._samples[name], f"sample {name}")

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        upload = files[-1]
        name = upload.get("name", "upload") if isinstance(upload, dict) else getattr(upload, "name", "upload")
        content = upload["content"] if isinstance(upload, dict) else upload.content
        data = bytes(content)
        if len(data) > MAX_UPLOAD_BYTES:
            self.errors.show(f"{name} is {len(data) / 2**20:.0f} MiB; images up to "
                             f"{MAX_UPLOAD_BYTES // 2**20} MiB are accepted.")
        elif self.load(data, name):
            self.sample = None

    def _show_thumbnail(self, *_: Any) -> None:
        if self.inspector.has_image:
            self.thumbnail.value = display_png(self.inspector.image, 96)
            self._sync_sample()

    def _sync_sample(self) -> None:
        """Name the sample in the list when the inspector shows one (set in code, say), else none."""
        image = self.inspector.image
        shown = next((name for name, pixels in self._samples.items()
                      if pixels.shape == image.shape and np.array_equal(pixels, image)), None)
        if shown != self.sample:
            self._syncing = True
            try:
                self.sample = shown
            finally:
                self._syncing = False

    def close(self) -> None:
        stop_following(self.inspector, self._show_thumbnail, ["image_version", "model_version"])
        close_held(self)
        super().close()
