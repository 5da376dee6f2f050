"""Colour scales with real units: what a colour means, a colour bar that says it, and a map
drawn with its bar and caption as one picture (the view a student reads, and the PNG saved).

A :class:`ColorScale` maps values in real units (a probability drop, a raw Grad-CAM value, an
activation) to [0, 1] with fixed ends, so a weak map looks weak: nothing is stretched to its own
peak unless the caller chooses that scale and says so in :attr:`ColorScale.note`.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.render.color import colorize, normalize

BAR_WIDTH = 14
"""Width in pixels of the colour strip of :func:`colorbar`."""


@dataclass(frozen=True)
class ColorScale:
    """Values ``low``..``high`` (real units) drawn from the colormap's first to its last colour.

    Attributes:
        low, high: the values at the two ends (values outside are clipped).
        unit: what the values are, in words ("drop in probability", "activation").
        factor: tick labels show ``value * factor`` (100 for percentage points).
        suffix: written after each tick label (" pp", "").
        note: how the scale was chosen, for the caption ("shared with the top class").
    """

    low: float
    high: float
    unit: str
    factor: float = 1.0
    suffix: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.high < self.low:
            raise ArgumentError(f"A colour scale needs finite low <= high; got {self.low!r}..{self.high!r}")

    def to01(self, values: np.ndarray) -> np.ndarray:
        """``values`` (any shape, real units) as float32 in [0, 1] on this scale (clipped)."""
        return normalize(values, low=self.low, high=self.high)

    def label(self, value: float) -> str:
        """One tick label: ``value`` in display units with 3 significant digits."""
        shown = value * self.factor
        return f"{0.0 if shown == 0 else shown:.3g}{self.suffix}"

    def ticks(self) -> list[float]:
        """The tick values of the bar: the two ends and the middle."""
        return [self.high, (self.low + self.high) / 2.0, self.low]

    def describe(self) -> str:
        """One line: ``"drop in probability, 0 to 1 pp"`` (and the note in brackets)."""
        low = self.label(self.low)
        low = low[:-len(self.suffix)] if self.suffix and low.endswith(self.suffix) else low
        text = f"{self.unit}, {low} to {self.label(self.high)}"
        return f"{text} ({self.note})" if self.note else text


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _text_width(text: str, size: int) -> int:
    left, _, right, _ = _font(size).getbbox(text)
    return int(math.ceil(right - left))


def colorbar(scale: ColorScale, colormap: str, height: int, *, font_size: int = 11) -> np.ndarray:
    """A vertical colour bar for ``scale``: the strip (high at the top), three tick labels beside
    it and the unit written along its side.

    Returns:
        uint8 RGB (height, width, 3) on white; the width fits the labels.
    """
    if height < 3 * font_size:
        raise ArgumentError(f"A colour bar needs a height of at least {3 * font_size} pixels; got {height}")
    labels = [scale.label(v) for v in scale.ticks()]
    pad = font_size // 2 + 1
    strip_h = height - 2 * pad
    label_w = max(_text_width(t, font_size) for t in labels) + 4
    unit_w = font_size + 4
    width = BAR_WIDTH + 4 + label_w + unit_w
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    ramp = colorize(np.linspace(1.0, 0.0, strip_h, dtype=np.float32)[:, None].repeat(BAR_WIDTH, axis=1), colormap)
    canvas.paste(Image.fromarray(ramp), (0, pad))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, pad, BAR_WIDTH - 1, pad + strip_h - 1), outline=(0, 0, 0))
    font = _font(font_size)
    for text, y in zip(labels, (pad, pad + strip_h // 2, pad + strip_h - 1), strict=True):
        draw.line((BAR_WIDTH, y, BAR_WIDTH + 3, y), fill=(0, 0, 0))
        draw.text((BAR_WIDTH + 5, y), text, fill=(0, 0, 0), font=font, anchor="lm")
    unit = _fit_text(scale.unit, strip_h, font_size)
    side = Image.new("RGB", (strip_h, unit_w), (255, 255, 255))
    ImageDraw.Draw(side).text((strip_h // 2, unit_w // 2), unit, fill=(60, 60, 60), font=font, anchor="mm")
    canvas.paste(side.rotate(90, expand=True), (width - unit_w, pad))
    return np.asarray(canvas)


def _fit_text(text: str, width: int, font_size: int) -> str:
    """``text`` shortened with an ellipsis until it fits ``width`` pixels."""
    while text and _text_width(text, font_size) > width:
        text = text[:-2].rstrip() + "…" if len(text) > 2 else ""
    return text


def caption_strip(text: str, width: int, *, font_size: int = 13) -> np.ndarray:
    """``text`` wrapped to ``width`` pixels on white: uint8 RGB (h, width, 3)."""
    per_line = max(10, int(width / (0.55 * font_size)))
    lines = [line for paragraph in text.splitlines() for line in (textwrap.wrap(paragraph, per_line) or [""])]
    line_h = font_size + 4
    canvas = Image.new("RGB", (width, line_h * len(lines) + 6), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        draw.text((4, 3 + i * line_h), line, fill=(0, 0, 0), font=_font(font_size))
    return np.asarray(canvas)


def with_colorbar(picture: np.ndarray, scale: ColorScale, colormap: str, *, caption: str | None = None,
                  font_size: int = 11) -> np.ndarray:
    """``picture`` (uint8 H, W, 3) with its colour bar on the right, and ``caption`` below when given.

    Returns:
        uint8 RGB (H [+ caption], W + bar width, 3) on white.
    """
    picture = np.asarray(picture)
    if picture.dtype != np.uint8 or picture.ndim != 3 or picture.shape[-1] != 3:
        raise ArgumentError(f"Expected a uint8 RGB picture (H, W, 3); got {picture.dtype} {picture.shape}")
    height = max(picture.shape[0], 3 * font_size)
    bar = colorbar(scale, colormap, height, font_size=font_size)
    gap = 6
    figure = np.full((height, picture.shape[1] + gap + bar.shape[1], 3), 255, np.uint8)
    figure[:picture.shape[0], :picture.shape[1]] = picture
    figure[:, picture.shape[1] + gap:] = bar
    if caption:
        figure = np.concatenate([figure, caption_strip(caption, figure.shape[1], font_size=font_size + 2)])
    return figure


def class_scale(peak: float, top_peak: float | None, unit: str, *, factor: float = 1.0, suffix: str = "",
                own: bool = False) -> ColorScale:
    """The colour scale of one class's map whose largest value is ``peak`` (real units).

    By default the map shares the scale of the top class's map (peak ``top_peak``) for the same
    image and method, so a class the model does not see, with a tiny map, renders dim; the top
    of the scale is the larger of the two peaks. ``own=True`` (or no ``top_peak``) stretches the
    map to its own peak, and the note says so.
    """
    peak = max(float(peak), 0.0)
    if own or top_peak is None:
        return ColorScale(0.0, peak, unit, factor, suffix, "stretched to this map's own peak")
    high = max(peak, float(top_peak), 0.0)
    if high <= 0.0:
        return ColorScale(0.0, 0.0, unit, factor, suffix, "no positive values")
    if peak >= high:
        return ColorScale(0.0, high, unit, factor, suffix, "the scale of the top class's map")
    return ColorScale(0.0, high, unit, factor, suffix,
                      f"the top class's scale: this map's peak is {peak / high:.2g}x the top")


def floor_scale(peak: float, floor: float, unit: str, *, factor: float = 1.0, suffix: str = "") -> ColorScale:
    """An absolute scale from 0 to ``peak``, but never below ``floor``: a map whose largest value
    is under the floor draws no hot colour (its note says so)."""
    peak = max(float(peak), 0.0)
    if peak < floor:
        note = f"every value is below {ColorScale(0, floor, unit, factor, suffix).label(floor)}: no real effect"
        return ColorScale(0.0, float(floor), unit, factor, suffix, note)
    return ColorScale(0.0, peak, unit, factor, suffix)
