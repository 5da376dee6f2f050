"""Keeping a picture: save what a widget shows as a PNG file, and a button that does it.

The button writes the file next to the notebook (the kernel's working directory) and shows a
download link that carries the PNG itself (a data URI), so it also works on Binder and Voila
where the student cannot reach the server's files.
"""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Callable
from pathlib import Path

import ipywidgets as widgets

from cnnviz_widgets.errors import ArgumentError


def default_png_path(stem: str, folder: str | os.PathLike = ".") -> Path:
    """The first free ``<stem>_NNN.png`` in ``folder`` (existing files are never overwritten)."""
    folder = Path(folder)
    for n in range(1, 10_000):
        candidate = folder / f"{stem}_{n:03d}.png"
        if not candidate.exists():
            return candidate
    raise ArgumentError(f"No free file name {stem}_NNN.png left in {folder}")


def write_png(png: bytes, path: str | os.PathLike) -> Path:
    """Write PNG bytes to ``path`` (must end in .png; its folder must exist) and return the path."""
    path = Path(path).expanduser()
    if path.suffix.lower() != ".png":
        raise ArgumentError(f"Pictures are saved as PNG; give a path ending in .png, not {path.name!r}")
    if not path.parent.is_dir():
        raise ArgumentError(f"Cannot save {path.name!r}: the folder {str(path.parent)!r} does not exist")
    path.write_bytes(png)
    return path


def widget_stem(widget: object) -> str:
    """``cnnviz_cam_overlay`` for a ``CamOverlay``: the default file name stem of a widget."""
    return "cnnviz_" + re.sub(r"(?<!^)(?=[A-Z])", "_", type(widget).__name__).lower()


class SaveArea(widgets.HBox):
    """A "Save PNG" button and, after a click, the saved file's name with a download link.

    ``save`` is called with no argument and returns the saved path; its errors go to
    ``on_error`` (the widget's error area).
    """

    def __init__(self, save: Callable[[], Path], on_error: Callable[[BaseException], None]) -> None:
        self.button = widgets.Button(description="Save PNG", icon="download", tooltip="Save the picture as PNG",
                                     layout=widgets.Layout(width="110px"))
        self.link = widgets.HTML("")
        self._save, self._on_error = save, on_error
        self.button.on_click(self._clicked)
        super().__init__([self.button, self.link])
        self.add_class("cnnviz-save")

    def _clicked(self, _: object = None) -> None:
        try:
            path = self._save()
        except Exception as exc:  # noqa: BLE001 - shown in the widget
            self.link.value = ""
            self._on_error(exc)
            return
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        name = html.escape(path.name)
        self.link.value = (f"<small>saved <code>{html.escape(str(path))}</code> · "
                           f'<a download="{name}" href="data:image/png;base64,{data}">download</a></small>')
