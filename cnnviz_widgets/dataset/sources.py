"""What a scan reads: a folder, a list of paths, arrays, a ``tf.data.Dataset`` or the shapes data,
each as a stream of items (where it came from, the raw image, the true label or -1)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from cnnviz_widgets.errors import ArgumentError, BackendError
from cnnviz_widgets.store import array_digest

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
"""File endings a folder scan reads; other files in the folder are left alone."""

UNLABELLED = -1


class LabelledImages(NamedTuple):
    """Images with their labels, as :func:`shapes_dataset` returns them."""

    images: np.ndarray
    """uint8 (N, H, W, 3)."""
    labels: np.ndarray
    """int (N,), indices into ``class_names``."""
    class_names: tuple[str, ...]


def shapes_dataset(n: int, *, seed: int = 0, difficulty: str = "easy", size: int = 96) -> LabelledImages:
    """``n`` images of the embedded default model's shapes data (offline), with their labels.

    ``difficulty="easy"`` is the data the model was trained on (it is about 99.8 % accurate on
    it); ``"hard"`` has smaller, partly hidden shapes in heavier clutter, so that the model makes
    errors worth exploring.
    """
    from cnnviz_widgets.embedded.shapes import CLASS_NAMES, generate_shapes

    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ArgumentError(f"n must be a positive int; got {n!r}")
    batch = generate_shapes(int(n), size=size, seed=seed, difficulty=difficulty)
    return LabelledImages(batch.images, np.asarray(batch.labels, np.int64), tuple(CLASS_NAMES))


@dataclass
class Item:
    """One image to scan: ``source`` names it; ``image`` is anything ``load_rgb`` takes."""

    source: str
    image: Any
    label: int


class DataSource:
    """A scan's input as a restartable stream: ``items(start)`` yields from position ``start``.

    Attributes:
        length: number of items, or None when unknown (a ``tf.data.Dataset`` of unknown size).
        class_names: names of the labels found in the data (folder names), or None.
        labelled: whether the items carry true labels.
    """

    def __init__(self, items: Sequence[Item] | None = None, *, stream: Any = None, length: int | None = None,
                 class_names: Sequence[str] | None = None, labelled: bool = False, kind: str = "") -> None:
        self._items = list(items) if items is not None else None
        self._stream = stream
        self.length = len(self._items) if self._items is not None else length
        self.class_names = tuple(class_names) if class_names is not None else None
        self.labelled = labelled
        self.kind = kind

    def identity(self) -> str | None:
        """SHA-1 of what the items are (each one's name and label, an array's bytes, a file's size
        and modification time), or None for a stream, whose items are not known in advance."""
        if self._items is None:
            return None
        digest = hashlib.sha1(self.kind.encode())
        for item in self._items:
            if isinstance(item.image, np.ndarray):
                what = array_digest(item.image)
            elif isinstance(item.image, (str, os.PathLike)) and os.path.exists(item.image):
                stat = os.stat(item.image)
                what = f"{stat.st_size}:{stat.st_mtime_ns}"
            else:
                what = repr(type(item.image))
            digest.update(f"{item.source}|{item.label}|{what}\n".encode())
        return digest.hexdigest()

    def items(self, start: int = 0) -> Iterator[Item]:
        if self._items is not None:
            yield from self._items[start:]
            return
        for position, item in enumerate(self._stream()):
            if position >= start:
                yield item


def _folder(path: Path) -> DataSource:
    subfolders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))

    def images_in(folder: Path) -> list[Path]:
        return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)

    if subfolders:   # keras.utils.image_dataset_from_directory: one sub-folder per class, sorted
        items = [Item(str(file), file, label) for label, folder in enumerate(subfolders) for file in images_in(folder)]
        return DataSource(items, class_names=[p.name for p in subfolders], labelled=True, kind="folder")
    return DataSource([Item(str(file), file, UNLABELLED) for file in images_in(path)], kind="folder")


def _tf_dataset(dataset: Any) -> DataSource:
    import keras

    if keras.backend.backend() != "tensorflow":
        raise BackendError(
            f"A tf.data.Dataset is read by TensorFlow, and Keras's backend here is {keras.backend.backend()!r}. "
            "Scan it with KERAS_BACKEND=tensorflow, or pass its images as arrays, (images, labels), a folder or "
            "a list of paths, which every backend reads.")
    import tensorflow as tf

    def stream() -> Iterator[Item]:
        index = 0
        for element in dataset.as_numpy_iterator():
            images, labels = (element[0], element[1]) if isinstance(element, tuple) else (element, None)
            images = np.asarray(images)
            batched = images.ndim == 4
            images = images if batched else images[None]
            labels = None if labels is None else np.atleast_1d(np.asarray(labels))
            for i, image in enumerate(images):
                label = UNLABELLED if labels is None else int(labels[i] if batched else labels[0])
                yield Item(f"dataset[{index}]", image, label)
                index += 1

    spec = dataset.element_spec
    labelled = isinstance(spec, tuple) and len(spec) >= 2
    size = int(dataset.cardinality())
    batched = (spec[0] if isinstance(spec, tuple) else spec).shape.rank == 4
    length = None if size < 0 or batched else size
    if size == tf.data.INFINITE_CARDINALITY:
        raise ArgumentError("The tf.data.Dataset is infinite (a repeat()?); a scan needs a finite dataset")
    return DataSource(stream=stream, length=length, labelled=labelled, kind="tf.data")


def as_source(data: Any) -> DataSource:
    """Turn a scan's ``data`` argument into a :class:`DataSource`.

    Accepts a folder (class sub-folders give the labels; a flat folder is unlabelled), a list of
    image paths, an array of images (N, H, W[, C]), a tuple ``(images, labels)``, what
    :func:`shapes_dataset` returns, or a ``tf.data.Dataset`` of images or (image, label) pairs,
    batched or not.
    """
    if isinstance(data, LabelledImages):
        return DataSource([Item(f"array[{i}]", image, int(label)) for i, (image, label)
                           in enumerate(zip(data.images, data.labels, strict=True))],
                          class_names=data.class_names, labelled=True, kind="array")
    if isinstance(data, (str, os.PathLike)):
        path = Path(data).expanduser()
        if not path.exists():
            raise ArgumentError(f"The data folder {str(path)!r} does not exist")
        if not path.is_dir():
            raise ArgumentError(f"data must be a folder, a list of paths, arrays or a tf.data.Dataset; "
                                f"{str(path)!r} is a file (pass [path] to scan one image)")
        return _folder(path)
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], np.ndarray):
        images, labels = data
        labels = np.asarray(labels)
        if len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
            raise ArgumentError(f"labels must be one int per image ({len(images)}); got {labels.dtype} of shape "
                                f"{labels.shape}")
        return DataSource([Item(f"array[{i}]", image, int(label)) for i, (image, label)
                           in enumerate(zip(images, labels, strict=True))], labelled=True, kind="array")
    if isinstance(data, np.ndarray):
        if data.ndim not in (3, 4):
            raise ArgumentError(f"An image array must be (N, H, W) or (N, H, W, C); got shape {data.shape}")
        return DataSource([Item(f"array[{i}]", image, UNLABELLED) for i, image in enumerate(data)], kind="array")
    if type(data).__module__.startswith("tensorflow") and hasattr(data, "element_spec"):
        return _tf_dataset(data)
    if isinstance(data, (list, tuple)):
        if not all(isinstance(p, (str, os.PathLike)) for p in data):
            raise ArgumentError("A list given as data must hold image paths")
        return DataSource([Item(str(p), p, UNLABELLED) for p in data], kind="paths")
    raise ArgumentError(
        "data must be a folder, a list of image paths, an array of images, (images, labels), "
        f"cw.shapes_dataset(...) or a tf.data.Dataset; got {type(data).__name__}")


class ImageLookup:
    """The image behind each of a scan's sources: a path is read from disk, ``array[i]`` and
    ``dataset[i]`` are taken from ``data`` (the same data that was scanned)."""

    def __init__(self, data: Any = None) -> None:
        self._data = data
        self._by_source: dict[str, Any] | None = None

    def __call__(self, source: str) -> Any:
        """Anything ``load_rgb`` takes, for ``source``."""
        if not source.startswith(("array[", "dataset[")):
            return source
        if self._data is None:
            raise ArgumentError(f"The image {source!r} came from in-memory data: pass data=... to show it")
        if self._by_source is None:
            self._by_source = {item.source: item.image for item in as_source(self._data).items()}
        if source not in self._by_source:
            raise ArgumentError(f"{source!r} is not in the data given ({len(self._by_source)} items)")
        return self._by_source[source]
