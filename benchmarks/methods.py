"""Benchmark: each method against its physical bound, measured in the same process.

Bounds are hand-written compiled TensorFlow functions (no cnnviz code):

- unit: a compiled forward+backward from the class score to the input, batch 1;
- Grad-CAM bound: a compiled forward plus the backward from the class score to the target
  layer only (``tf.gradients`` prunes everything below it);
- occlusion: one compiled forward over the same number of patched images;
- Score-CAM: one compiled forward over as many images as masked channels;
- SmoothGrad(20): one compiled forward+backward over 20 images;
- filter patterns: the Keras tutorial's loop, one filter at a time (eager gradient, numpy update);
- EigenCAM: a compiled forward to the target layer plus a batched SVD;
- XGrad-CAM, HiResCAM: the Grad-CAM bound;
- Ablation-CAM: one compiled pass of the layers after the target over as many copies as channels
  (on an inspector's image, whose activations its forward pass holds), plus the forward to the
  target layer for a new batch;
- RISE(N): one compiled forward over N images;
- Guided Backprop: the unit (a forward+backward to the input).

tf-keras-vis, when installed (``pip install tf-keras-vis``), is timed as a peer.
Times are medians of ``--repeats`` runs after one warm-up; only the ratios mean anything.

Usage: python benchmarks/methods.py [--model default|vgg16|both] [--repeats 3] [--new-only] [--batch 8]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
import numpy as np
import tensorflow as tf
from timing import median_time, paired_times

from cnnviz_widgets import ModelInspector, load_default_model, methods


class Bounds:
    """Hand-written compiled reference computations on a functional model."""

    def __init__(self, model: keras.Model, layer: str):
        self.model = model
        size = tuple(model.inputs[0].shape[1:])
        spec = tf.TensorSpec((None, *size), tf.float32)
        features = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])

        @tf.function(input_signature=[spec])
        def forward(x):
            return model(x, training=False)

        @tf.function(input_signature=[spec])
        def input_gradient(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                score = model(x, training=False)[:, 0]
            return tape.gradient(score, x)

        @tf.function(input_signature=[spec])
        def layer_gradient(x):
            a, p = features(x, training=False)
            return tf.gradients(p[:, 0], a)[0]

        features_only = keras.Model(model.inputs, model.get_layer(layer).output)

        @tf.function(input_signature=[spec])
        def features_svd(x):
            a = features_only(x, training=False)
            shape = tf.shape(a)
            return tf.linalg.svd(tf.reshape(a, (shape[0], shape[1] * shape[2], shape[3])), full_matrices=False)

        target = model.get_layer(layer).output
        tail = keras.Model(target, model.outputs[0])

        @tf.function(input_signature=[tf.TensorSpec((None, *target.shape[1:]), tf.float32)])
        def after_target(a):
            return tail(a, training=False)

        self.forward, self.input_gradient, self.layer_gradient = forward, input_gradient, layer_gradient
        @tf.function(input_signature=[spec])
        def to_layer(x):
            return features_only(x, training=False)

        self.features_svd, self.after_target, self.to_layer = features_svd, after_target, to_layer


def run_new(name: str, model: keras.Model, layer: str, masks: int, repeats: int, batch: int = 1) -> list[tuple]:
    """The methods added with the registry, each timed in turn with its own bound, on a batch of
    ``batch`` images (the bound of a per-image method is its bound for each image in turn)."""
    size = model.inputs[0].shape[1]
    x = np.random.default_rng(0).random((batch, size, size, 3)).astype(np.float32)
    bounds = Bounds(model, layer)
    unit = median_time(lambda: bounds.input_gradient(x[:1]), repeats)
    rows = []
    name = f"{name}, batch {batch}"

    def row(label, ours, reference, bound, target):
        t, t_bound = paired_times(ours, bound, repeats)
        rows.append((name, label, t, reference, t_bound, target, unit * batch))

    row("EigenCAM", lambda: methods.eigen_cam(model, x, 0, layer), "forward to the layer + SVD",
        lambda: bounds.features_svd(x), 1.2)
    for label, fn in (("XGrad-CAM", methods.xgrad_cam), ("HiResCAM", methods.hires_cam)):
        row(label, lambda fn=fn: fn(model, x, 0, layer), "Grad-CAM bound", lambda: bounds.layer_gradient(x), 1.3)
    acts = bounds.to_layer(x[:1]).numpy()
    channels = acts.shape[-1]
    copies = np.repeat(acts, channels, axis=0)
    if batch == 1:      # an inspector holds one image
        inspector = ModelInspector(model)
        inspector.set_image(np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8))
        own = inspector.batch
        inspector.activations(layer)   # the forward pass a widget has already run for its image
        row(f"Ablation-CAM ({channels} channels), inspector's image",
            lambda: methods.ablation_cam(inspector, own, 0, layer),
            f"layers after the target x{channels}", lambda: bounds.after_target(copies), 1.2)
    row(f"Ablation-CAM ({channels} channels), new batch", lambda: methods.ablation_cam(model, x, 0, layer),
        f"forward to the layer + layers after it x{channels} per image",
        lambda: (bounds.to_layer(x), [bounds.after_target(copies) for _ in range(batch)]), 1.2)
    many = np.repeat(x[:1], masks, axis=0)
    row(f"RISE ({masks} masks)", lambda: methods.rise(model, x, 0, masks=masks), f"forward x{masks} per image",
        lambda: [bounds.forward(many) for _ in range(batch)], 1.2)
    row("Guided Backprop", lambda: methods.guided_backprop(model, x, 0), "unit (fwd+bwd to the input)",
        lambda: bounds.input_gradient(x), 1.3)
    return rows


def tutorial_patterns(model: keras.Model, layer: str, filters: int, size: int, steps: int) -> None:
    """The Keras tutorial's per-filter loop: eager gradient of one filter's mean, RMS-normalised, numpy update."""
    sub = keras.Model(model.inputs, model.get_layer(layer).output)
    for f in range(filters):
        img = (np.random.random((1, size, size, 3)) * 20 + 128.0).astype(np.float32)
        for _ in range(steps):
            x = tf.constant(img)
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_mean(sub(x)[..., f])
            grads = tape.gradient(loss, x).numpy()
            grads /= np.sqrt(np.mean(np.square(grads))) + 1e-5
            img += grads


def peer_tf_keras_vis(model, x, layer, repeats):
    try:
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.saliency import Saliency
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
        from tf_keras_vis.utils.scores import CategoricalScore
    except ImportError:
        return None
    gradcam = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)
    saliency = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)
    score = CategoricalScore([0])
    return {
        "gradcam": median_time(lambda: gradcam(score, x, penultimate_layer=layer), repeats),
        "smoothgrad": median_time(lambda: saliency(score, x, smooth_samples=20, smooth_noise=0.2), 1),
    }


def run(name: str, model: keras.Model, layer: str, pattern_model: keras.Model, pattern_layer: str,
        pattern_size: int, pattern_steps: int, patch: int, repeats: int) -> list[tuple]:
    size = model.inputs[0].shape[1]
    x = np.random.default_rng(0).random((1, size, size, 3)).astype(np.float32)
    bounds = Bounds(model, layer)
    rows = []
    unit = median_time(lambda: bounds.input_gradient(x), repeats)
    forward = median_time(lambda: bounds.forward(x), repeats)
    cam_bound = median_time(lambda: bounds.layer_gradient(x), repeats)
    print(f"\n## {name}: unit (forward+backward to the input, batch 1) = {unit * 1e3:.0f} ms; "
          f"forward = {forward / unit:.2f} unit; Grad-CAM bound = {cam_bound / unit:.2f} unit")

    for label, fn in (("Grad-CAM", methods.grad_cam), ("Grad-CAM++", methods.grad_cam_plus_plus),
                      ("LayerCAM", methods.layer_cam)):
        t = median_time(lambda fn=fn: fn(model, x, 0, layer), repeats)
        rows.append((name, label, t, "Grad-CAM bound", cam_bound, 1.3, unit))

    n_patches = len(methods.patch_positions(size, patch, patch)) ** 2
    many = np.repeat(x, n_patches, axis=0)
    t_bound = median_time(lambda: bounds.forward(many), repeats)
    t = median_time(lambda: methods.occlusion(model, x, 0, patch=patch, fill="mean"), repeats)
    rows.append((name, f"occlusion ({n_patches} patches)", t, f"forward x{n_patches}", t_bound, 1.2, unit))

    acts = keras.Model(model.inputs, model.get_layer(layer).output)(x).numpy()[0]
    flat = acts.reshape(-1, acts.shape[-1])
    n_masks = min(64, int((flat.max(0) > flat.min(0)).sum()))
    masked = np.repeat(x, n_masks, axis=0)
    t_bound = median_time(lambda: bounds.forward(masked), repeats)
    t = median_time(lambda: methods.score_cam(model, x, 0, layer, max_channels=64), repeats)
    rows.append((name, f"Score-CAM ({n_masks} channels)", t, f"forward x{n_masks}", t_bound, 1.2, unit))

    noisy = np.repeat(x, 20, axis=0)
    smooth_bound = median_time(lambda: bounds.input_gradient(noisy), repeats)
    t = median_time(lambda: methods.saliency(model, x, 0, smooth_samples=20), repeats)
    rows.append((name, "SmoothGrad(20)", t, "fwd+bwd x20", smooth_bound, 1.2, unit))

    peers = peer_tf_keras_vis(model, x, layer, repeats)
    if peers is not None:
        rows.append((name, "tf-keras-vis Grad-CAM (peer)", peers["gradcam"], "Grad-CAM bound", cam_bound, None, unit))
        rows.append((name, "tf-keras-vis SmoothGrad(20) (peer)", peers["smoothgrad"], "fwd+bwd x20", smooth_bound,
                     None, unit))

    t_tutorial = median_time(lambda: tutorial_patterns(pattern_model, pattern_layer, 64, pattern_size, pattern_steps),
                             1, 0)
    t = median_time(lambda: methods.filter_patterns(pattern_model, pattern_layer, range(64), size=pattern_size,
                                                    steps=pattern_steps, recipe="classic"), 1)
    rows.append((name, f"64 filter patterns, classic, {pattern_steps} steps", t, "the tutorial's loop", t_tutorial,
                 None, unit))
    t_robust = median_time(lambda: methods.filter_patterns(pattern_model, pattern_layer, range(64), size=pattern_size,
                                                           steps=pattern_steps, recipe="robust"), 1)
    rows.append((name, f"64 filter patterns, robust, {pattern_steps} steps", t_robust, "the tutorial's loop",
                 t_tutorial, None, unit))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["default", "vgg16", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--new-only", action="store_true", help="only the methods added with the registry")
    parser.add_argument("--batch", type=int, default=8,
                        help="the added methods on the default model also run on a batch this large (1: not)")
    args = parser.parse_args()
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs, "
          f"GPU: {bool(tf.config.list_physical_devices('GPU'))}")
    rows = []
    if args.model in ("default", "both"):
        model = load_default_model()
        if not args.new_only:
            rows += run("default model (96 px)", model, "block3_conv2", model, "block3_conv1", 96, 10, 12,
                        args.repeats)
        rows += run_new("default model (96 px)", model, "block3_conv2", 512, args.repeats)
        if args.batch > 1:    # a batch 1 call takes 1-3 ms, of which a fixed part is checks and dispatch
            rows += run_new("default model (96 px)", model, "block3_conv2", 512, args.repeats, args.batch)
    if args.model in ("vgg16", "both"):
        vgg = keras.applications.VGG16(weights=None)
        if not args.new_only:
            base = keras.applications.VGG16(weights=None, include_top=False)
            rows += run("VGG16 (224 px)", vgg, "block5_conv3", base, "block3_conv1", 150, 5, 32, args.repeats)
        rows += run_new("VGG16 (224 px)", vgg, "block5_conv3", 32, args.repeats)

    print("\n| model | method | ours | reference | ratio (ours / reference) | target | ours in units |")
    print("|---|---|---|---|---|---|---|")
    for model_name, label, ours, ref_name, ref, target, unit in rows:
        ratio = ours / ref
        if target is None:
            verdict = "-"
        else:
            verdict = f"<= {target} ({'met' if ratio <= target else 'MISSED'})"
        if "tutorial's loop" in ref_name:
            ratio_text = f"{ref / ours:.2f}x faster"
        else:
            ratio_text = f"{ratio:.2f}"
        print(f"| {model_name} | {label} | {ours * 1e3:,.0f} ms | {ref_name}: {ref * 1e3:,.0f} ms | {ratio_text} | "
              f"{verdict} | {ours / unit:.2f} |")


if __name__ == "__main__":
    main()
