"""What the peer libraries do on Keras 3, measured: tf-keras-vis, tf-explain, keract, Captum Insights.

Run it in a separate environment that has the peers (they are not dependencies of cnnviz-widgets):

    python -m venv /tmp/peers && /tmp/peers/bin/pip install tensorflow tf-keras-vis tf-explain keract
    /tmp/peers/bin/pip install torch captum          # optional: Captum Insights
    /tmp/peers/bin/python benchmarks/peers.py [ours] [tf-keras-vis] [tf-explain] [keract] [captum]
    .venv/bin/python benchmarks/peers.py ours       # cnnviz-widgets itself, same models and units

It does not import cnnviz_widgets: it loads the embedded default model file and the sample images
directly, so every peer sees exactly the model and images our own tests and benchmarks use.
For each peer feature and model kind it prints "ok" (with the Grad-CAM pointing game on the six
samples where it applies, and the time per call in units of one compiled forward+backward pass
measured in the same process) or the first line of the error.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from timing import median_time, unit_seconds

DATA = Path(__file__).resolve().parents[1] / "cnnviz_widgets" / "data"
CLASSES = ["circle", "square", "triangle", "star", "cross", "stripes"]


def samples() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x (6, 96, 96, 3) in [0, 1], masks (6, 96, 96), labels (6,)."""
    files = sorted(p for p in (DATA / "samples").glob("*.png") if not p.stem.endswith("_mask"))
    x = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) / 255 for p in files])
    masks = np.stack([np.asarray(Image.open(p.with_name(p.stem + "_mask.png")).convert("L")) > 127 for p in files])
    return x, masks, np.arange(len(files))


def models() -> dict[str, tuple[keras.Model, str]]:
    """Model kind -> (model, name of the Grad-CAM layer as the peer must be told)."""
    functional = keras.models.load_model(DATA / "default_model.keras")
    sequential = keras.Sequential([layer for layer in functional.layers
                                   if not isinstance(layer, keras.layers.InputLayer)])
    sequential.build((None, 96, 96, 3))   # the tutorials' Sequential without Input
    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(96, 96, 3))
    inputs = keras.Input((96, 96, 3))
    nested = keras.Model(inputs, keras.layers.Dense(6, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(base(inputs))), name="transfer")
    return {"functional (default model)": (functional, "block3_conv2"),
            "Sequential without Input": (sequential, "block3_conv2"),
            "nested base (transfer)": (nested, "block5_conv3")}


def pointing(heatmaps: np.ndarray, masks: np.ndarray) -> float:
    heat = np.asarray(heatmaps, np.float32)
    if heat.ndim == 4:
        heat = heat.mean(-1)
    hits = []
    for h, m in zip(heat, masks, strict=True):
        if h.shape != m.shape:
            h = np.asarray(Image.fromarray(h.astype(np.float32)).resize(m.shape[::-1], Image.BILINEAR))
        r, c = np.unravel_index(np.argmax(h), h.shape)
        hits.append(bool(m[r, c]))
    return float(np.mean(hits))


def attempt(label: str, fn, *, masks=None, unit=None, timed=None) -> None:
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - the point is to record it
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"  FAIL {label}: {type(exc).__name__}: {line[:150]}")
        if os.environ.get("PEERS_TRACEBACK"):
            traceback.print_exc()
        return
    extra = ""
    if unit is not None:
        result = None
    if masks is not None and result is not None:
        extra += f" pointing {pointing(result, masks):.0%}"
    if unit is not None and timed is not None:
        extra += f", {median_time(timed) / unit:.1f} units per image"
    print(f"  ok   {label}{extra}")


def tf_keras_vis(kinds, x, masks, labels) -> None:
    import tf_keras_vis
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.layercam import Layercam
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.scorecam import Scorecam
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    print(f"tf-keras-vis {tf_keras_vis.__version__}")
    score = CategoricalScore(list(labels))
    for kind, (model, layer) in kinds.items():
        print(f" {kind}")
        unit = unit_seconds(model, x[:1])
        for name, cls in (("Gradcam", Gradcam), ("GradcamPlusPlus", GradcamPlusPlus), ("Layercam", Layercam)):
            attempt(name, lambda cls=cls: cls(model, model_modifier=ReplaceToLinear())(
                score, x, penultimate_layer=layer), masks=masks)
        attempt("Scorecam (max_N=16)", lambda: Scorecam(model)(score, x, penultimate_layer=layer, max_N=16),
                masks=masks)
        attempt("Saliency + SmoothGrad(20)", lambda: Saliency(model, model_modifier=ReplaceToLinear())(
            score, x, smooth_samples=20, smooth_noise=0.2), masks=masks)
        attempt("ActivationMaximization (10 steps)", lambda: ActivationMaximization(
            model, model_modifier=ReplaceToLinear())(CategoricalScore([3]), steps=10))
        made = {}

        def gradcam_once():
            made.setdefault("gradcam", Gradcam(model, model_modifier=ReplaceToLinear()))
            return made["gradcam"](CategoricalScore([0]), x[:1], penultimate_layer=layer)

        attempt("Gradcam, time per image (object made once)", gradcam_once, unit=unit, timed=gradcam_once)


def tf_explain(kinds, x, masks, labels) -> None:
    import tf_explain
    from tf_explain.core.activations import ExtractActivations
    from tf_explain.core.grad_cam import GradCAM
    from tf_explain.core.integrated_gradients import IntegratedGradients
    from tf_explain.core.occlusion_sensitivity import OcclusionSensitivity
    from tf_explain.core.smoothgrad import SmoothGrad

    print(f"tf-explain {tf_explain.__version__}")
    for kind, (model, layer) in kinds.items():
        print(f" {kind}")
        unit = unit_seconds(model, x[:1])

        def per_image(explainer, **kw):
            # tf-explain explains one class for a whole batch and returns a picture (a grid)
            return np.stack([explainer.explain((x[i:i + 1], None), model, class_index=int(labels[i]), **kw)
                             for i in range(len(x))])

        attempt("GradCAM", lambda: per_image(GradCAM(), layer_name=layer))
        attempt("OcclusionSensitivity (patch 12)", lambda: per_image(OcclusionSensitivity(), patch_size=12))
        attempt("SmoothGrad(20)", lambda: per_image(SmoothGrad(), num_samples=20, noise=0.2))
        attempt("IntegratedGradients(32)", lambda: per_image(IntegratedGradients(), n_steps=32))
        attempt("ExtractActivations", lambda: ExtractActivations().explain((x[:1], None), model, layers_name=[layer]))
        explainer = GradCAM()

        def gradcam_once():
            return explainer.explain((x[:1], None), model, class_index=0, layer_name=layer)

        attempt("GradCAM, time per image", gradcam_once, unit=unit, timed=gradcam_once)


def keract_peer(kinds, x, masks, labels) -> None:
    import keract

    print(f"keract {getattr(keract, '__version__', '?')}")
    for kind, (model, layer) in kinds.items():
        print(f" {kind}")
        attempt("get_activations, model not compiled", lambda: keract.get_activations(model, x[:1]))
        model.compile(loss="categorical_crossentropy")   # keract reads compiled-model attributes
        attempt("get_activations (all layers)", lambda: keract.get_activations(model, x[:1]))
        attempt(f"get_activations ({layer})", lambda: keract.get_activations(model, x[:1], layer_names=layer))
        attempt("get_gradients_of_activations", lambda: keract.get_gradients_of_activations(
            model, x[:1], np.eye(6)[:1], layer_names=layer))


def captum_insights(kinds, x, masks, labels) -> None:
    try:
        import captum
    except ImportError:
        print("Captum Insights: captum is not installed here")
        return
    try:
        from captum.insights import AttributionVisualizer, Batch
        from captum.insights.attr_vis.features import ImageFeature
    except ImportError as exc:
        print(f"captum {captum.__version__}: no Insights ({exc}); Insights was removed after captum 0.7")
        return
    print(f"captum {captum.__version__} (Insights)")
    model, _ = kinds["functional (default model)"]

    def visualise():
        import torch

        visualizer = AttributionVisualizer(
            models=[model], score_func=lambda o: torch.nn.functional.softmax(o, 1), classes=CLASSES,
            features=[ImageFeature("image", baseline_transforms=[], input_transforms=[])],
            dataset=iter([Batch(inputs=torch.tensor(x[:1]).permute(0, 3, 1, 2), labels=torch.tensor([0]))]))
        return visualizer.visualize()   # what the Insights widget and web app call to compute

    attempt("AttributionVisualizer on a Keras model", visualise)


def ours(kinds, x, masks, labels) -> None:
    """The same checks on cnnviz-widgets (run this script in the project's own environment)."""
    import cnnviz_widgets as cw
    from cnnviz_widgets import methods

    print(f"cnnviz-widgets {cw.__version__}")
    for kind, (model, _) in kinds.items():
        print(f" {kind}")
        unit = unit_seconds(model, x[:1])
        inspector = cw.ModelInspector(model, preprocess="none")
        for name in ("grad_cam", "grad_cam_plus_plus", "layer_cam", "faster_score_cam", "smoothgrad",
                     "integrated_gradients"):
            attempt(name, lambda name=name: methods.heatmap(inspector, x, name, list(labels)), masks=masks)
        attempt("occlusion (patch 12)", lambda: methods.occlusion(inspector, x, list(labels), patch=12, stride=6),
                masks=masks)
        attempt("activations (every layer, one pass)", lambda: inspector.set_image(x[0] * 255))
        attempt("class_pattern (10 steps)", lambda: methods.class_pattern(inspector, 3, steps=10))

        def gradcam_once():
            return methods.grad_cam(inspector, x[:1], 0)

        attempt("grad_cam, time per image", gradcam_once, unit=unit, timed=gradcam_once)


def main() -> None:
    import warnings

    warnings.simplefilter("ignore")          # Keras' input-structure warnings, deprecations
    keras.utils.disable_interactive_logging()  # progress bars of predict() inside the peers
    print(f"Python {sys.version.split()[0]}, TensorFlow {tf.__version__}, Keras {keras.__version__}")
    x, masks, labels = samples()
    kinds = models()
    peers = {"ours": ours, "tf-keras-vis": tf_keras_vis, "tf-explain": tf_explain, "keract": keract_peer,
             "captum": captum_insights}
    for name, peer in peers.items():
        if len(sys.argv) > 1 and name not in sys.argv[1:]:
            continue
        try:
            peer(kinds, x, masks, labels)
        except ImportError as exc:
            print(f"{peer.__name__}: cannot be imported on this stack: {exc}")


if __name__ == "__main__":
    main()
