"""Write the notebooks in notebooks/ from the cell sources below (keeps them reviewable, output-free).

Usage: python scripts/build_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

TOUR = [
    ("markdown", """# cnnviz-widgets: a tour

This notebook runs offline on the **embedded default model**: a small convnet trained by this
package to recognise six shapes (circle, square, triangle, star, cross, stripes) on cluttered
backgrounds. Every cell works without a network connection.

`ModelInspector` wraps a Keras model: one forward pass gives every layer's activation for the
current image, cached, and the widgets (coming in later releases) all read from it."""),
    ("code", """import cnnviz_widgets as cw

inspector = cw.ModelInspector()   # the embedded default model, first sample image preloaded
inspector"""),
    ("markdown", "## The layers\nEvery layer with its kind and output shape (batch axis left out)."),
    ("code", """for record in inspector.layers:
    print(f"{record.name:14s} {record.kind:13s} {str(record.output_shape):16s} kernel {record.kernel_shape}")"""),
    ("markdown", "## The sample images and what the model predicts"),
    ("code", """import io
import ipywidgets as widgets
from PIL import Image

def png(array, scale=2):
    image = Image.fromarray(array)
    image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()

cards = []
for sample in cw.sample_images():
    inspector.set_image(sample["image"])
    best = inspector.top_k(1)[0]
    caption = widgets.HTML(f"true: <b>{sample['label']}</b><br>predicted: <b>{best.name}</b> ({best.probability:.0%})")
    cards.append(widgets.VBox([widgets.Image(value=png(inspector.image), format="png"), caption]))
widgets.HBox(cards)"""),
    ("markdown", "## One layer's feature maps\nThe channels of the last convolution for the current image."),
    ("code", """import numpy as np
from matplotlib import colormaps

maps = inspector.activations("block3_conv2")          # float32 (h, w, channels)
tiles = []
for c in range(16):
    channel = maps[..., c]
    channel = (channel - channel.min()) / (np.ptp(channel) + 1e-6)
    tiles.append((colormaps["viridis"](channel)[..., :3] * 255).astype("uint8"))
grid = np.concatenate([np.concatenate(tiles[r * 8:(r + 1) * 8], axis=1) for r in range(2)], axis=0)
widgets.Image(value=png(grid, scale=4), format="png")"""),
    ("code", """print(inspector.top_k(3))
print(inspector.cache_info)"""),
]


def build(cells, path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell(source) if kind == "markdown"
                        else nbformat.v4.new_code_cell(source))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n")
    print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    build(TOUR, ROOT / "notebooks" / "00_tour.ipynb")
