"""Tiny models with weights set by hand, so that the methods' results can be worked out exactly."""

from __future__ import annotations

import keras
import numpy as np

L = keras.layers


def identity_cam_model(size: int = 8) -> keras.Model:
    """1x1 conv (no bias) with channels (x, -x) -> GAP -> Dense(identity, linear).

    For a one-channel input x >= 0, the score of class 0 is mean(x) and of class 1 is
    mean(relu(-x)) = 0; every CAM of class 0 is x / max(x).
    """
    inp = keras.Input((size, size, 1), name="img")
    a = L.Conv2D(2, 1, use_bias=False, activation="relu", name="conv")(inp)
    pooled = L.GlobalAveragePooling2D(name="gap")(a)
    out = L.Dense(2, use_bias=False, name="scores")(pooled)
    model = keras.Model(inp, out, name="identity_cam")
    model.get_layer("conv").set_weights([np.array([1.0, -1.0], np.float32).reshape(1, 1, 1, 2)])
    model.get_layer("scores").set_weights([np.eye(2, dtype=np.float32)])
    return model


def linear_pixel_model(size: int = 4, classes: int = 2, seed: int = 0) -> tuple[keras.Model, np.ndarray]:
    """Identity 1x1 conv -> Flatten -> Dense(linear): score_c = x . W[:, c]. Returns (model, W)."""
    rng = np.random.default_rng(seed)
    inp = keras.Input((size, size, 3), name="img")
    a = L.Conv2D(3, 1, use_bias=False, name="ident")(inp)
    flat = L.Flatten(name="flat")(a)
    out = L.Dense(classes, name="scores")(flat)
    model = keras.Model(inp, out, name="linear_pixels")
    model.get_layer("ident").set_weights([np.eye(3, dtype=np.float32).reshape(1, 1, 3, 3)])
    weights = rng.normal(size=(size * size * 3, classes)).astype(np.float32)
    model.get_layer("scores").set_weights([weights, np.zeros(classes, np.float32)])
    return model, weights


def nested_transfer_model(size: int = 32, classes: int = 3) -> keras.Model:
    """A transfer-learning model: a functional conv base used as a layer of an outer Sequential."""
    keras.utils.set_random_seed(7)
    base_in = keras.Input((size, size, 3))
    x = L.Conv2D(6, 3, padding="same", activation="relu", name="b_conv1")(base_in)
    x = L.MaxPooling2D(name="b_pool1")(x)
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="b_conv2")(x)
    x = L.MaxPooling2D(name="b_pool2")(x)
    base = keras.Model(base_in, x, name="base")
    return keras.Sequential([keras.Input((size, size, 3)), base, L.GlobalAveragePooling2D(name="gap"),
                             L.Dense(classes, activation="softmax", name="head")], name="transfer")


def images(n: int, size: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, size, size, channels)).astype(np.float32)
