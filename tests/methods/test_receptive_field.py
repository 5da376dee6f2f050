"""Receptive fields from the gradient's support, against the closed form of plain conv stacks."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.methods import crop_field

L = keras.layers


def stack(*layers, size: int = 32) -> keras.Model:
    keras.utils.set_random_seed(0)
    inp = keras.Input((size, size, 3))
    x = inp
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, L.Dense(2)(L.GlobalAveragePooling2D()(x)))


def test_two_3x3_convs_see_5x5():
    model = stack(L.Conv2D(4, 3, padding="same", name="c1"), L.Conv2D(4, 3, padding="same", name="c2"))
    field = cw.receptive_field(model, "c2")
    assert field.size == (5, 5) and field.stride == (1.0, 1.0)
    assert field.extent == (14, 14, 19, 19) and field.centre == (16, 16)
    assert field.box(0, 0) == (0, 0, 3, 3)                     # clipped at the corner
    assert field.box(31, 31) == (29, 29, 32, 32)


def test_a_strided_stack_matches_the_closed_form():
    # r = 1 + sum (k_i - 1) * prod(strides before i): 3x3/2, 3x3/2, 3x3/1 -> 1 + 2 + 4 + 8 = 15
    model = stack(L.Conv2D(4, 3, strides=2, padding="same", name="c1"),
                  L.Conv2D(4, 3, strides=2, padding="same", name="c2"),
                  L.Conv2D(4, 3, padding="same", name="c3"), size=64)
    field = cw.receptive_field(model, "c3")
    assert field.size == (15, 15) and field.stride == (4.0, 4.0)
    top, left, bottom, right = field.box(*field.centre)
    moved = field.box(field.centre[0] + 1, field.centre[1] - 2)
    assert moved == (top + 4, left - 8, bottom + 4, right - 8)
    image = np.arange(64 * 64).reshape(64, 64)
    crop = crop_field(image, field, 2, 3)
    assert crop.shape == (15, 15) and crop[0, 0] == image[field.box(2, 3)[0], field.box(2, 3)[1]]


def test_it_is_cached_per_layer_and_refuses_flat_layers():
    model = stack(L.Conv2D(4, 3, padding="same", name="c1"))
    assert cw.receptive_field(model, "c1") is cw.receptive_field(model, "c1")
    with pytest.raises(cw.ArgumentError, match="spatial"):
        cw.receptive_field(model, model.layers[-1].name)
