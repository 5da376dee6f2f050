"""Class activation maps.

Only the plain Grad-CAM on functional models lives here for now; it measures the
embedded default model. The full CAM family works through the inspector's graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def normalize_maps(maps: np.ndarray) -> np.ndarray:
    """ReLU then scale each map of (N, H, W) to [0, 1]; an all-zero map stays zero."""
    maps = np.maximum(np.asarray(maps, np.float32), 0)
    peak = maps.reshape(len(maps), -1).max(axis=1)
    scale = np.where(peak > 0, peak, 1.0).astype(np.float32)
    return maps / scale[:, None, None]


def grad_cam_functional(model, x: np.ndarray, class_index: Sequence[int], layer: str, *,
                        logits_layer: str | None = None, batch_size: int = 64) -> np.ndarray:
    """Grad-CAM of a functional Keras model whose layers are reachable by ``get_layer``.

    Args:
        model: a functional ``keras.Model``.
        x: preprocessed float32 batch (N, H, W, C).
        class_index: one class per image.
        layer: name of the target conv layer (4-D output).
        logits_layer: layer whose output is the pre-softmax score; the model output if None.

    Returns:
        float32 (N, H, W) heatmaps at input resolution, ReLU'd and scaled to [0, 1].
    """
    import keras
    import tensorflow as tf

    score_tensor = model.get_layer(logits_layer).output if logits_layer else model.outputs[0]
    grad_model = keras.Model(model.inputs[0], [model.get_layer(layer).output, score_tensor])

    @tf.function(reduce_retracing=True)
    def cams_of(batch, onehot):
        with tf.GradientTape() as tape:
            features, scores = grad_model(batch, training=False)
            score = tf.reduce_sum(scores * onehot, axis=-1)
        grads = tape.gradient(score, features)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))
        return tf.image.resize(cam[..., None], tf.shape(batch)[1:3], method="bilinear")[..., 0]

    x = np.asarray(x, np.float32)
    classes = np.asarray(class_index, np.int64)
    n_classes = int(score_tensor.shape[-1])
    out = []
    for start in range(0, len(x), batch_size):
        onehot = np.eye(n_classes, dtype=np.float32)[classes[start:start + batch_size]]
        out.append(cams_of(x[start:start + batch_size], onehot).numpy())
    maps = np.concatenate(out) if out else np.zeros((0,) + x.shape[1:3], np.float32)
    return normalize_maps(maps)
