"""Everything the backend equivalence test compares, computed under whatever backend runs this script.

    KERAS_BACKEND=jax .venv-jax/bin/python tests/backends/backend_outputs.py out.npz

writes one .npz of named arrays: the default model's predictions and activations, every declared
heatmap method (seeded as the methods seed themselves), the occlusion sweep, classic and robust
patterns, a scan's confusion matrix and top examples, the sanity check's table, and the same
methods on a residual network with a nested block, ReLU6 and batch normalisation whose weights
come from numpy (so that both backends hold the very same weights). The script imports only the
package, keras and numpy, so it runs where TensorFlow is not installed.
"""

from __future__ import annotations

import sys

import keras
import numpy as np

import cnnviz_widgets as cw
from cnnviz_widgets.methods._compiled import activation_fn


def residual_model() -> keras.Model:
    """A small residual network: a nested block, ReLU6, batch normalisation, a skip connection."""
    L = keras.layers
    inner_in = keras.Input((16, 16, 8))
    inner = L.Conv2D(8, 3, padding="same", name="inner_conv")(inner_in)
    inner = L.BatchNormalization(name="inner_bn")(inner)
    block = keras.Model(inner_in, L.ReLU(6.0, name="inner_relu6")(inner), name="block")
    inp = keras.Input((32, 32, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inp)
    x = L.MaxPooling2D(2, name="pool")(x)
    x = L.Add(name="skip")([x, block(x)])
    x = L.Conv2D(12, 3, padding="same", activation="relu", name="top_conv")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inp, L.Dense(4, activation="softmax", name="head")(x), name="residual")
    rng = np.random.default_rng(5)
    weights = []
    for w in model.get_weights():
        if w.ndim == 1 and np.all(w == 1):          # batch-norm scale and variance: near 1, positive
            weights.append((1 + 0.2 * rng.random(w.shape)).astype(np.float32))
        else:
            weights.append((0.3 * rng.standard_normal(w.shape)).astype(np.float32))
    model.set_weights(weights)
    return model


def outputs() -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    inspector = cw.ModelInspector()
    samples = cw.sample_images()
    batch = []
    for k in (0, 3):
        inspector.set_image(samples[k]["image"])
        batch.append(inspector.batch[0])
    x = np.stack(batch)
    found["probabilities"] = inspector.probabilities
    for record in inspector.layers:
        found[f"activation/{record.name}"] = np.asarray(inspector.activations(record.name))
    for name in cw.HEATMAP_METHODS:
        found[f"method/{name}"] = cw.heatmap(inspector, x, method=name)
    sweep = cw.methods.occlusion_sweep(inspector, x, patch=16)
    found["occlusion/grid"] = sweep.grid
    found["patterns/classic"] = cw.methods.filter_patterns(inspector, "block2_conv1", [0, 5], recipe="classic",
                                                           steps=8)
    robust = cw.methods.filter_patterns(inspector, "block2_conv1", [0, 5], steps=8)
    acts = activation_fn(inspector.graph, "block2_conv1")(inspector.preprocess(robust.astype(np.float32)))
    found["patterns/robust_pixels"] = robust
    found["patterns/robust_objective"] = acts[[0, 1], 2:-2, 2:-2, [0, 5]].mean(axis=(1, 2))
    scan = cw.scan(inspector, cw.shapes_dataset(96, seed=4, difficulty="hard"), layers=["block3_conv2"], top_k=4,
                   batch_size=32)
    found["scan/confusion"] = scan.confusion
    found["scan/top"] = np.array([[i for i, _, _ in scan.top_examples("block3_conv2", c)] for c in range(8)])
    report = cw.methods.sanity_check(inspector, x, ["grad_cam", "saliency"])
    for method, values in report.correlations.items():
        found[f"sanity/{method}"] = values

    residual = residual_model()
    xr = np.random.default_rng(1).random((2, 32, 32, 3)).astype(np.float32)
    found["residual/probabilities"] = keras.ops.convert_to_numpy(residual(xr))
    for name in ("grad_cam", "hires_cam", "ablation_cam", "saliency", "guided_backprop", "eigen_cam"):
        found[f"residual/{name}"] = cw.heatmap(residual, xr, method=name, layer="top_conv")
    found["residual/grad_cam_inner"] = cw.heatmap(residual, xr, method="grad_cam", layer="block/inner_relu6")
    return found


if __name__ == "__main__":
    np.savez(sys.argv[1], backend=np.array(cw.backend.NAME), **outputs())
