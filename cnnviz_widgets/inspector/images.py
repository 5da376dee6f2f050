"""Turning user images (paths, PIL images, arrays) into uint8 RGB arrays of a given size."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnviz_widgets.errors import ArgumentError, ChannelCountError, ImageFileNotFoundError, ImageReadError

ImageLike = str | os.PathLike | Image.Image | np.ndarray | bytes

MAX_IMAGE_PIXELS: int | None = 100_000_000
"""Largest image (width x height) that is decoded; larger files are refused with an
:class:`~cnnviz_widgets.errors.ImageReadError` before their pixels are decoded, which stops
decompression bombs (a small file that decodes to gigabytes). Change it with
:func:`set_max_image_pixels`."""


def set_max_image_pixels(limit: int | None) -> None:
    """Set :data:`MAX_IMAGE_PIXELS` (None: no limit; take care with untrusted files)."""
    global MAX_IMAGE_PIXELS
    if limit is not None and (not isinstance(limit, (int, np.integer)) or isinstance(limit, bool) or limit < 1):
        raise ImageReadError(f"The pixel limit must be a positive int or None; got {limit!r}")
    MAX_IMAGE_PIXELS = None if limit is None else int(limit)


def _open(source, what: str, verb: str = "read") -> Image.Image:
    """Open, check the size against :data:`MAX_IMAGE_PIXELS`, decode and convert to RGB."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own check below says more
            opened = Image.open(source)
        with opened:
            _check_size(opened.size, what)
            opened.load()
            return _rgb(opened)
    except ImageReadError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow refuses at twice its own limit, before we see the size
        raise ImageReadError(
            f"{what} is over the limit of {MAX_IMAGE_PIXELS or 0:,} pixels (cnnviz_widgets.set_max_image_pixels "
            f"changes it; Pillow's Image.MAX_IMAGE_PIXELS also applies); refused without decoding it ({exc})") from exc
    except UnidentifiedImageError as exc:   # Pillow's message names the file object (<_io.BytesIO ...>): say it plainly
        raise ImageReadError(f"Cannot {verb} {what} as an image: not a picture format Pillow knows; "
                             "expected PNG, JPEG, BMP, GIF...") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"Cannot {verb} {what} as an image ({exc}); expected PNG, JPEG, BMP, GIF...") from exc


def _check_size(size: tuple[int, int], what: str) -> None:
    width, height = size
    if MAX_IMAGE_PIXELS is not None and width * height > MAX_IMAGE_PIXELS:
        raise ImageReadError(
            f"{what} is {width}x{height} = {width * height:,} pixels, over the limit of {MAX_IMAGE_PIXELS:,} "
            "(cnnviz_widgets.set_max_image_pixels changes it); refused without decoding it")


def to_pil(image: ImageLike) -> Image.Image:
    """Open or convert ``image`` to an RGB ``PIL.Image``.

    Accepts a file path, encoded image bytes (PNG, JPEG...), a ``PIL.Image`` or a numpy
    array (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) of dtype uint8, bool, int or float.
    Float arrays whose maximum is at most 1 are taken as [0, 1]; others as [0, 255].
    """
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.exists():
            raise ImageFileNotFoundError(f"Image file not found: {str(path)!r}")
        if path.is_dir():
            raise ImageReadError(f"Expected an image file, got a directory: {str(path)!r}")
        return _open(path, repr(str(path)))
    if isinstance(image, (bytes, bytearray, memoryview)):
        import io

        return _open(io.BytesIO(bytes(image)), f"{len(image)} bytes", "decode")
    if isinstance(image, Image.Image):
        _check_size(image.size, "The PIL image")
        return _rgb(image)
    if isinstance(image, np.ndarray) or hasattr(image, "__array__"):
        return Image.fromarray(_array_to_uint8_rgb(np.asarray(image)))
    raise ImageReadError(
        f"Expected an image as a file path, bytes, PIL.Image or numpy array; got {type(image).__name__}")


def _rgb(image: Image.Image) -> Image.Image:
    """RGB copy of ``image``: EXIF rotation applied, transparency on white, 16-bit/float scaled."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        return Image.fromarray(_array_to_uint8_rgb(_scaled_to_unit(np.asarray(image, np.float64))))
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return image.convert("RGB")


def _scaled_to_unit(values: np.ndarray) -> np.ndarray:
    """Integer or float pixels of a high bit depth, scaled to [0, 1] by their type's range or maximum."""
    top = 65535.0 if float(np.max(values, initial=0.0)) > 255 else 255.0
    return np.clip(values / top, 0, 1)


def _array_to_uint8_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and array.shape[0] == 1 and array.shape[-1] in (1, 3, 4) and array.shape[1] > 4:
        array = array[0]  # a batch of one
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ChannelCountError(
            f"Expected an image array of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageReadError(f"The image array is empty: shape {array.shape}")
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
            raise ImageReadError(f"Expected an image array of real numbers (int or float); got dtype {array.dtype}")
        values = array.astype(np.float64)
        if not np.isfinite(values).all():
            raise ImageReadError("The image array contains NaN or infinite values")
        if np.issubdtype(array.dtype, np.floating) and float(np.max(values, initial=0.0)) <= 1.0:
            values = values * 255.0
        elif array.dtype == np.uint16:
            values = _scaled_to_unit(values) * 255.0
        array = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    if array.shape[-1] == 4:
        alpha = array[..., 3:4].astype(np.float32) / 255.0
        array = np.rint(array[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array)


def load_rgb(image: ImageLike, size: tuple[int, int] | None = None) -> np.ndarray:
    """``image`` as uint8 (H, W, 3), resized to ``size = (H, W)`` when given."""
    rgb = np.asarray(to_pil(image), np.uint8).copy()
    return rgb if size is None else resize_rgb(rgb, size)


FITS = {"stretch": "stretched to the model's input, as Keras's load_img does (the default)",
        "crop": "the centre cropped to the input's shape, then resized (nothing stretched)",
        "pad": "resized whole and padded with black to the input's shape (nothing cut or stretched)"}
"""How an image whose shape differs from the model input's is fitted to it."""


def fit_rgb(rgb: np.ndarray, size: tuple[int, int], fit: str = "stretch") -> np.ndarray:
    """uint8 (H, W, 3) brought to ``size = (H, W)`` as ``fit`` says (a key of :data:`FITS`)."""
    if fit == "stretch" or rgb.shape[:2] == tuple(size):
        return resize_rgb(rgb, size)
    target = (size[1], size[0])
    if fit == "crop":
        return np.asarray(ImageOps.fit(Image.fromarray(rgb), target, Image.Resampling.BILINEAR), np.uint8).copy()
    if fit == "pad":
        return np.asarray(ImageOps.pad(Image.fromarray(rgb), target, Image.Resampling.BILINEAR, color=(0, 0, 0)),
                          np.uint8).copy()
    raise ArgumentError(f"fit must be one of {', '.join(FITS)}; got {fit!r}")


def resize_rgb(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 (H, W, 3) to ``size = (H, W)`` with Pillow's bilinear filter (a copy)."""
    if rgb.shape[:2] == tuple(size):
        return rgb.copy()
    return np.asarray(Image.fromarray(rgb).resize((size[1], size[0]), Image.Resampling.BILINEAR), np.uint8).copy()


def to_model_pixels(rgb: np.ndarray, channels: int) -> np.ndarray:
    """uint8 (H, W, 3) to float32 (H, W, channels) pixels in [0, 255] (luminance for 1 channel)."""
    if channels == 3:
        return rgb.astype(np.float32)
    if channels == 1:
        gray = np.asarray(Image.fromarray(rgb).convert("L"), np.float32)
        return gray[..., None]
    raise ChannelCountError(f"The model expects {channels} input channels; only 1 (grayscale) or 3 (RGB) are supported")
