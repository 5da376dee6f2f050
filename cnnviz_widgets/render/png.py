"""PNG encoding, decoding and resizing with Pillow."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from cnnviz_widgets.errors import ArgumentError

_RESAMPLE = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
             "box": Image.Resampling.BOX, "lanczos": Image.Resampling.LANCZOS}


def _as_uint8(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ArgumentError(f"Expected uint8 pixels; got {array.dtype} (colour or scale the array first)")
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ArgumentError(f"Expected an image (H, W), (H, W, 3) or (H, W, 4); got shape {array.shape}")
    return np.ascontiguousarray(array)


def resize(array: np.ndarray, size: tuple[int, int], resample: str = "bilinear") -> np.ndarray:
    """Resize a uint8 image to ``size`` = (height, width)."""
    array = _as_uint8(array)
    height, width = int(size[0]), int(size[1])
    if (height, width) == array.shape[:2]:
        return array
    if height < 1 or width < 1:
        raise ArgumentError(f"size must be positive; got {size}")
    return np.asarray(Image.fromarray(array).resize((width, height), _RESAMPLE[resample]))


def to_png(array: np.ndarray, *, scale: float = 1.0, max_side: int | None = None, resample: str = "nearest",
           compress_level: int = 1) -> bytes:
    """Encode a uint8 image (H, W[, 3|4]) as PNG bytes.

    Args:
        scale: enlarge (or shrink) by this factor first; small maps use nearest neighbour so
            that each activation stays a crisp square.
        max_side: shrink so that neither side exceeds this (after ``scale``).
        compress_level: zlib level; 1 is fast and the files stay small for these images.
    """
    array = _as_uint8(array)
    height, width = array.shape[:2]
    factor = float(scale)
    if max_side is not None and max(height, width) * factor > max_side:
        factor = max_side / max(height, width)
    if factor != 1.0:
        array = resize(array, (max(1, round(height * factor)), max(1, round(width * factor))),
                       resample if factor > 1 else "box")
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """PNG (or any Pillow-readable) bytes to uint8 RGB (H, W, 3)."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def draw_box(image: np.ndarray, top: int, left: int, height: int, width: int, *,
             color: tuple[int, int, int] = (255, 255, 255), fill: np.ndarray | None = None,
             line: int = 1) -> np.ndarray:
    """A copy of ``image`` (uint8 H, W, 3) with a rectangle outline, optionally filled by ``fill``
    (uint8 pixels of the same image size, copied inside the rectangle)."""
    out = _as_uint8(image).copy()
    if fill is not None:
        out[top:top + height, left:left + width] = fill[top:top + height, left:left + width]
    pil = Image.fromarray(out)
    ImageDraw.Draw(pil).rectangle((left, top, left + width - 1, top + height - 1), outline=color, width=line)
    return np.asarray(pil)
