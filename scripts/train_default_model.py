"""Train the embedded default model of cnnviz-widgets on the procedural shapes data set.

Usage (from the repository root, inside the project's virtual environment)::

    python scripts/train_default_model.py            # writes cnnviz_widgets/embedded/default_model.keras
    python scripts/train_default_model.py --quick    # a short smoke run into /tmp

The network is trained with BatchNorm after every convolution; the BatchNorm layers are
then folded into the convolution kernels, so that the shipped model is a clean stack of
named ``Conv2D(relu)`` and pooling layers (identical predictions within float error).
The class score is a linear ``logits`` Dense layer followed by a separate softmax
``predictions`` layer, so that CAM methods can reach the pre-softmax score.

Training is deterministic for a given seed and thread count (Keras seeds plus TensorFlow
op determinism). Held-out accuracy and the Grad-CAM pointing game are measured on
freshly generated images and written, with the training time, beside the model as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from cnnviz_widgets.embedded.shapes import CLASS_NAMES, generate_shapes  # noqa: E402

SIZE = 96
# (name, filters, kernel, stride) of each convolution, then an optional pool after it.
CONVS = [
    ("stem_conv", 16, 5, 2, None),
    ("block1_conv1", 32, 3, 1, "block1_pool"),
    ("block2_conv1", 64, 3, 1, None),
    ("block2_conv2", 64, 3, 1, "block2_pool"),
    ("block3_conv1", 96, 3, 1, None),
    ("block3_conv2", 96, 3, 1, None),
]
LAST_CONV = CONVS[-1][0]


def build_model(pooling: str, *, with_bn: bool) -> keras.Model:
    """The default architecture; ``with_bn`` adds BatchNorm (training form)."""
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    x = inputs
    for name, filters, kernel, stride, pool in CONVS:
        if with_bn:
            x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                                    name=name)(x)
            x = keras.layers.BatchNormalization(name=name + "_bn")(x)
            x = keras.layers.Activation("relu", name=name + "_relu")(x)
        else:
            x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same",
                                    activation="relu", name=name)(x)
        if pool:
            x = keras.layers.MaxPooling2D(2, name=pool)(x)
    if pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name="global_pool")(x)
    else:
        x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    x = keras.layers.Dense(len(CLASS_NAMES), name="logits")(x)
    outputs = keras.layers.Activation("softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="cnnviz_shapes")


def fold_batchnorm(trained: keras.Model, pooling: str) -> keras.Model:
    """Copy ``trained`` into the BN-free architecture, folding each BN into its conv."""
    clean = build_model(pooling, with_bn=False)
    for name, *_ in CONVS:
        kernel = trained.get_layer(name).get_weights()[0]
        gamma, beta, mean, var = trained.get_layer(name + "_bn").get_weights()
        eps = trained.get_layer(name + "_bn").epsilon
        scale = gamma / np.sqrt(var + eps)
        clean.get_layer(name).set_weights([kernel * scale, beta - mean * scale])
    clean.get_layer("logits").set_weights(trained.get_layer("logits").get_weights())
    return clean


def augment(images: np.ndarray, masks: np.ndarray, rng: np.random.Generator):
    """Random flips and quarter turns (the classes are invariant to both)."""
    k = rng.integers(4)
    images, masks = np.rot90(images, k, axes=(1, 2)), np.rot90(masks, k, axes=(1, 2))
    if rng.integers(2):
        images, masks = images[:, :, ::-1], masks[:, :, ::-1]
    return np.ascontiguousarray(images), np.ascontiguousarray(masks)


def grad_cam_pointing(model: keras.Model, images: np.ndarray, labels: np.ndarray,
                      masks: np.ndarray, layer: str = LAST_CONV) -> tuple[float, float]:
    """Held-out accuracy and Grad-CAM pointing rate (peak inside the mask, among correct)."""
    from cnnviz_widgets.methods.cams import grad_cam
    from cnnviz_widgets.methods.metrics import pointing_game

    x = images.astype("float32") / 255.0
    probs = model.predict(x, batch_size=128, verbose=0)
    pred = probs.argmax(1)
    correct = pred == labels
    cams = grad_cam(model, x[correct], labels[correct], layer)  # from the logits, via the traced graph
    hits = pointing_game(cams, masks[correct])
    return float(correct.mean()), float(hits.mean())


def train(pooling: str = "max", train_size: int = 10000, epochs: int = 6, seed: int = 0,
          log=print) -> tuple[keras.Model, keras.Model, float, float]:
    """Train with BatchNorm, deterministically.

    Returns (trained model, BN-folded clean model, training seconds, largest probability
    difference between the two on the validation images).
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    start = time.perf_counter()
    data = generate_shapes(train_size, size=SIZE, seed=seed)
    val = generate_shapes(600, size=SIZE, seed=seed + 1000)
    log(f"generated {len(data)} training images in {time.perf_counter() - start:.1f} s")

    model = build_model(pooling, with_bn=True)
    batch = 64
    steps = max(1, epochs * (train_size // batch))
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, steps)
    model.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(seed)
    x_val = val.images.astype("float32") / 255.0
    for epoch in range(epochs):
        images, _ = augment(data.images, data.masks, rng)
        order = rng.permutation(len(images))
        model.fit(images[order].astype("float32") / 255.0, data.labels[order], batch_size=batch,
                  epochs=1, verbose=0, shuffle=False)
        loss, acc = model.evaluate(x_val, val.labels, verbose=0)
        log(f"epoch {epoch + 1}/{epochs}: val loss {loss:.3f} acc {acc:.4f} ({time.perf_counter() - start:.0f} s)")
    seconds = time.perf_counter() - start
    clean = fold_batchnorm(model, pooling)
    fold_diff = float(np.abs(clean.predict(x_val, verbose=0) - model.predict(x_val, verbose=0)).max())
    return model, clean, seconds, fold_diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pooling", choices=["avg", "max"], default="max")
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny run into /tmp")
    parser.add_argument("--out", type=Path, default=ROOT / "cnnviz_widgets" / "data" / "default_model.keras")
    args = parser.parse_args()
    if args.quick:
        args.train_size, args.epochs, args.out = 1200, 1, Path("/tmp/default_model_quick.keras")

    _, clean, train_seconds, diff = train(args.pooling, args.train_size, args.epochs, args.seed,
                                          log=lambda text: print(text, flush=True))
    held_out = generate_shapes(1200, size=SIZE, seed=args.seed + 2000)
    accuracy, pointing = grad_cam_pointing(clean, held_out.images, held_out.labels, held_out.masks)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    clean.save(args.out)
    report = {
        "pooling": args.pooling,
        "input_size": SIZE,
        "train_images": args.train_size,
        "epochs": args.epochs,
        "train_seconds": round(train_seconds, 1),
        "heldout_images": len(held_out),
        "heldout_accuracy": round(accuracy, 4),
        "gradcam_pointing": round(pointing, 4),
        "gradcam_layer": LAST_CONV,
        "bn_fold_max_prob_diff": diff,
        "parameters": int(clean.count_params()),
        "file_bytes": args.out.stat().st_size,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
