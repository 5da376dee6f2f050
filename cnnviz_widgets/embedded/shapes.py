"""Procedural "shapes on clutter" data set: the training data of the embedded default model.

Each sample is an RGB image (uint8, ``size x size x 3``) showing one shape of one of
:data:`CLASS_NAMES` at a random position, scale (its extent is about 20-45 % of the
side), rotation and colour, on a cluttered background (gradients, low-frequency colour
noise, flat colour or low-contrast checkerboards, plus faint lines, dots and pixel noise).
The ground-truth mask of the shape (bool, ``size x size``) comes with every image, so
that heatmap methods can be checked against where the object really is.

Generation is deterministic for a given ``seed`` and numpy version (numpy does not
promise identical random streams across versions: compare against thresholds, not
exact pixels). Shapes are drawn with Pillow at 4x resolution and box-filtered down, so
edges are anti-aliased and the mask is ``alpha > 0.5``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from cnnviz_widgets.errors import ArgumentError

CLASS_NAMES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "stripes")
"""The class names of the shapes data set, in label order."""

_SUPERSAMPLE = 4


@dataclass(frozen=True)
class ShapesBatch:
    """A batch of generated samples.

    Attributes:
        images: uint8 array (N, S, S, 3).
        labels: int64 array (N,), indices into :data:`CLASS_NAMES`.
        masks: bool array (N, S, S), True on the shape.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


DIFFICULTIES = ("easy", "hard")
"""``easy``: the data the default model was trained on. ``hard``: smaller shapes with a part
hidden, stronger clutter lines and more noise, so that the model errs."""


def generate_shapes(n: int, *, size: int = 96, seed: int = 0, difficulty: str = "easy") -> ShapesBatch:
    """Generate ``n`` labelled shape images with their masks.

    Args:
        n: number of samples (>= 0).
        size: side of the square images in pixels (>= 32).
        seed: seed of the random generator; the same seed gives the same batch.
        difficulty: one of :data:`DIFFICULTIES`.

    Returns:
        A :class:`ShapesBatch`; classes are balanced (label ``i % 6`` before shuffling).
    """
    if n < 0:
        raise ArgumentError(f"n must be >= 0, got {n}")
    if size < 32:
        raise ArgumentError(f"size must be >= 32 pixels, got {size}")
    if difficulty not in DIFFICULTIES:
        raise ArgumentError(f"difficulty must be one of {list(DIFFICULTIES)}; got {difficulty!r}")
    render = render_sample if difficulty == "easy" else render_hard_sample
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(CLASS_NAMES)).astype(np.int64)
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.empty((n, size, size), bool)
    for i, label in enumerate(labels):
        images[i], masks[i] = render(rng, int(label), size)
    return ShapesBatch(images, labels, masks)


@dataclass(frozen=True)
class _Placed:
    """One shape drawn at random over a random background (float arrays, not yet blended)."""

    background: np.ndarray
    alpha: np.ndarray
    fill: np.ndarray
    cx: float
    cy: float
    radius: float


def _place_shape(rng: np.random.Generator, label: int, size: int, radius_range: tuple[float, float]) -> _Placed:
    """Background, shape coverage and shape colours for one sample; the radius is a fraction of ``size``."""
    background = _background(rng, size)
    radius = rng.uniform(*radius_range) * size
    margin = radius + 1
    cx, cy = rng.uniform(margin, size - margin, size=2)
    angle = rng.uniform(0, 2 * math.pi)
    alpha = _shape_alpha(CLASS_NAMES[label], cx, cy, radius, angle, size)
    mask = alpha > 0.5
    under = background[mask].mean(axis=0) if mask.any() else background.mean(axis=(0, 1))
    colour = _contrasting_colour(rng, under)
    if CLASS_NAMES[label] == "stripes":
        fill = _stripes_fill(rng, colour, cx, cy, radius, angle, size)
    else:
        fill = np.broadcast_to(colour, background.shape)
    return _Placed(background, alpha, fill, cx, cy, radius)


def _blend(image: np.ndarray, overlay: Image.Image) -> np.ndarray:
    """``image`` (S, S, 3) float with an RGBA ``overlay`` drawn over it."""
    layer = np.asarray(overlay, np.float64)
    a = layer[..., 3:4] / 255.0
    return image * (1 - a) + layer[..., :3] * a


def render_sample(rng: np.random.Generator, label: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Render one sample of class ``label``: returns (uint8 (S, S, 3) image, bool (S, S) mask)."""
    placed = _place_shape(rng, label, size, (0.10, 0.225))
    alpha = placed.alpha
    image = placed.background * (1 - alpha[..., None]) + placed.fill * alpha[..., None]
    image += rng.normal(0, 5.0, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), alpha > 0.5


def render_hard_sample(rng: np.random.Generator, label: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A harder sample: a smaller shape with a square part of it hidden (background shows there),
    strong clutter lines over everything and more noise. The mask is the visible part of the shape."""
    placed = _place_shape(rng, label, size, (0.10, 0.19))
    cx, cy, radius = placed.cx, placed.cy, placed.radius
    # a square part of the shape (a sixth to a third of its diameter) lies behind the background
    side = rng.uniform(0.3, 0.6) * radius
    px, py = cx + rng.uniform(-radius, radius) * 0.8, cy + rng.uniform(-radius, radius) * 0.8
    yy, xx = np.mgrid[0:size, 0:size]
    hidden = (np.abs(yy - py) < side / 2) & (np.abs(xx - px) < side / 2)
    alpha = np.where(hidden, 0.0, placed.alpha)
    image = placed.background * (1 - alpha[..., None]) + placed.fill * alpha[..., None]
    overlay = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(int(rng.integers(1, 5))):  # strong clutter lines over everything
        x0, y0, x1, y1 = rng.uniform(0, size, 4)
        draw.line([(x0, y0), (x1, y1)], fill=tuple(int(c) for c in rng.integers(0, 256, 3)) + (140,),
                  width=int(rng.integers(1, 3)))
    image = _blend(image, overlay)
    image += rng.normal(0, 6.0, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), alpha > 0.5


def _polygon(label: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    """Vertices of the polygonal shapes, in pixels of the full-size image."""
    if label == "square":
        radii, count = [r], 4
    elif label == "triangle":
        radii, count = [r * 1.1], 3
    elif label == "star":
        radii, count = [r * 1.1, r * 0.45], 5
    elif label == "cross":
        # A plus sign: 12 vertices, arms of half-width w and half-length r.
        w = r * 0.34
        local = [(w, r), (w, w), (r, w), (r, -w), (w, -w), (w, -r),
                 (-w, -r), (-w, -w), (-r, -w), (-r, w), (-w, w), (-w, r)]
        c, s = math.cos(angle), math.sin(angle)
        return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in local]
    else:  # pragma: no cover - guarded by caller
        raise ValueError(label)
    points = []
    for k in range(count * len(radii)):
        rad = radii[k % len(radii)]
        theta = angle + 2 * math.pi * k / (count * len(radii))
        points.append((cx + rad * math.cos(theta), cy + rad * math.sin(theta)))
    return points


def _shape_alpha(label: str, cx: float, cy: float, r: float, angle: float, size: int) -> np.ndarray:
    """Anti-aliased coverage of the shape, float (S, S) in [0, 1]."""
    k = _SUPERSAMPLE
    canvas = Image.new("L", (size * k, size * k), 0)
    draw = ImageDraw.Draw(canvas)
    if label in ("circle", "stripes"):
        draw.ellipse([(cx - r) * k, (cy - r) * k, (cx + r) * k, (cy + r) * k], fill=255)
    else:
        draw.polygon([(x * k, y * k) for x, y in _polygon(label, cx, cy, r, angle)], fill=255)
    small = canvas.resize((size, size), Image.Resampling.BOX)
    return np.asarray(small, np.float64) / 255.0


def _stripes_fill(rng, colour, cx, cy, r, angle, size) -> np.ndarray:
    """Sine stripes between ``colour`` and a darker or lighter twin, float (S, S, 3)."""
    period = r * rng.uniform(0.45, 0.7)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    phase = ((xx - cx) * math.cos(angle) + (yy - cy) * math.sin(angle)) * 2 * math.pi / period
    t = (0.5 + 0.5 * np.sin(phase))[..., None]
    other = np.where(colour > 127, colour - 110, colour + 110)
    return colour * t + other * (1 - t)


def _contrasting_colour(rng: np.random.Generator, under: np.ndarray) -> np.ndarray:
    """A random colour far enough (RGB distance > 120) from the background under the shape."""
    for _ in range(20):
        colour = rng.uniform(0, 255, 3)
        if np.linalg.norm(colour - under) > 120:
            return colour
    return np.where(under > 127, 20.0, 235.0)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A cluttered background, float (S, S, 3) in [0, 255]."""
    kind = rng.integers(4)
    if kind == 0:  # linear gradient between two colours
        a, b = rng.uniform(0, 255, (2, 3))
        theta = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:size, 0:size] / size
        t = (xx * math.cos(theta) + yy * math.sin(theta))
        t = (t - t.min()) / (np.ptp(t) + 1e-9)
        img = a * (1 - t[..., None]) + b * t[..., None]
    elif kind == 1:  # low-frequency colour noise
        cells = int(rng.integers(2, 6))
        coarse = rng.uniform(0, 255, (cells, cells, 3)).astype(np.uint8)
        img = np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC), np.float64)
    elif kind == 2:  # flat colour
        img = np.broadcast_to(rng.uniform(0, 255, 3), (size, size, 3)).copy()
    else:  # low-contrast checkerboard
        base = rng.uniform(40, 215, 3)
        delta = rng.uniform(-35, 35, 3)
        step = int(rng.integers(6, 17))
        yy, xx = np.mgrid[0:size, 0:size] // step
        img = base + delta * ((yy + xx) % 2)[..., None]
    return _add_lines_and_dots(rng, img, size)


def _add_lines_and_dots(rng: np.random.Generator, img: np.ndarray, size: int) -> np.ndarray:
    """Blend a few faint lines and dots over the background."""
    overlay = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(int(rng.integers(0, 4))):
        x0, y0, x1, y1 = rng.uniform(0, size, 4)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.line([(x0, y0), (x1, y1)], fill=colour + (80,), width=int(rng.integers(1, 3)))
    for _ in range(int(rng.integers(0, 9))):
        x, y = rng.uniform(0, size, 2)
        rad = rng.uniform(1, 2.5)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse([x - rad, y - rad, x + rad, y + rad], fill=colour + (110,))
    return _blend(img, overlay)
