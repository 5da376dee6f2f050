"""Write the shipped sample images of the default model (one per class) as PNG files.

Usage: python scripts/make_sample_images.py   (after scripts/train_default_model.py)

Samples are drawn from a fixed seed; for each class the first image that the default
model classifies correctly with confidence > 0.9 is kept, with its mask, so that the
tour shows sensible predictions. PNGs keep the exact pixels stable across numpy versions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnviz_widgets.embedded.default_model import load_default_model  # noqa: E402
from cnnviz_widgets.embedded.shapes import CLASS_NAMES, generate_shapes  # noqa: E402

OUT = ROOT / "cnnviz_widgets" / "data" / "samples"


def main() -> None:
    model = load_default_model()
    batch = generate_shapes(120, size=96, seed=2024)
    probs = model.predict(batch.images.astype("float32") / 255.0, verbose=0)
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    for label, name in enumerate(CLASS_NAMES):
        candidates = [i for i in range(len(batch)) if batch.labels[i] == label and probs[i].argmax() == label
                      and probs[i, label] > 0.9 and batch.masks[i].mean() > 0.05]
        i = candidates[0]
        Image.fromarray(batch.images[i]).save(OUT / f"{label:02d}_{name}.png", optimize=True)
        Image.fromarray(batch.masks[i].astype(np.uint8) * 255).save(OUT / f"{label:02d}_{name}_mask.png", optimize=True)
        print(f"{name}: sample {i}, p={probs[i, label]:.3f}")


if __name__ == "__main__":
    main()
