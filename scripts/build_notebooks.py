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

One call opens the dashboard: pick an image at the top (a sample, an upload or a path), click a
bar of the top predictions to choose the class to explain, and move between the tabs."""),
    ("code", """import cnnviz_widgets as cw

dashboard = cw.explore()   # the embedded default model and its first sample image
dashboard"""),
    ("markdown", """## What the tabs show
- **Feature maps**: every channel of a layer for this image; move the channel slider to see one large,
  with how active and how sparse it is.
- **Filters**: the kernels of a convolution layer, or (mode *patterns*) images grown to excite each filter.
- **Class heatmaps**: where the model looked to pick the class (Grad-CAM and seven other methods).
- **Occlusion**: hide one patch at a time and watch the probability of the class fall.

All of them read from one `ModelInspector`: one forward pass gives every layer's activation for the
image, cached, so moving a slider redraws at once."""),
    ("code", """inspector = dashboard.inspector
inspector"""),
    ("markdown", "## Each widget on its own\nThe same widgets work alone, bound to the same inspector."),
    ("code", """cams = cw.CamOverlay(inspector, compare=("grad_cam", "grad_cam_plus_plus", "score_cam", "smoothgrad"))
cams"""),
    ("code", """browser = cw.LayerBrowser(inspector, layer="block1_conv1")
browser"""),
    ("markdown", "## The layers\nEvery layer with its kind and output shape (batch axis left out)."),
    ("code", """for record in inspector.layers:
    print(f"{record.name:14s} {record.kind:13s} {str(record.output_shape):16s} kernel {record.kernel_shape}")"""),
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
