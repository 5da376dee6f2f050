"""Arrays to pixels: normalise, colour, overlay, tile and encode as PNG (numpy, matplotlib, Pillow).

Nothing here computes attributions or touches a model or a widget. Values between the
methods and this layer are float32 in [0, 1] (or raw activations to normalise); uint8 RGB
appears only at the end, and bytes only in :mod:`~cnnviz_widgets.render.png`.
"""

from cnnviz_widgets.render.color import (
    COLORMAPS,
    colorize,
    colormap_lut,
    mask_view,
    near_blank_channels,
    normalize,
    normalize_channels,
    overlay,
)
from cnnviz_widgets.render.colorbar import (
    ColorScale,
    caption_strip,
    class_scale,
    colorbar,
    floor_scale,
    with_colorbar,
)
from cnnviz_widgets.render.grid import channel_grid, enlarge, tile_at, tile_box, tile_grid
from cnnviz_widgets.render.png import decode_png, draw_box, resize, to_png

__all__ = [
    "COLORMAPS",
    "ColorScale",
    "caption_strip",
    "class_scale",
    "colorbar",
    "floor_scale",
    "with_colorbar",
    "channel_grid",
    "colorize",
    "colormap_lut",
    "decode_png",
    "draw_box",
    "enlarge",
    "mask_view",
    "near_blank_channels",
    "normalize",
    "normalize_channels",
    "overlay",
    "resize",
    "tile_at",
    "tile_box",
    "tile_grid",
    "to_png",
]
