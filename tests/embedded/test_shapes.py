"""The procedural shapes data set."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz_widgets import SHAPE_CLASS_NAMES, ArgumentError, generate_shapes


def test_batch_shapes_dtypes_and_balance():
    batch = generate_shapes(60, size=64, seed=3)
    assert batch.images.shape == (60, 64, 64, 3) and batch.images.dtype == np.uint8
    assert batch.masks.shape == (60, 64, 64) and batch.masks.dtype == bool
    assert len(batch) == 60
    assert np.bincount(batch.labels, minlength=6).tolist() == [10] * 6
    assert len(SHAPE_CLASS_NAMES) >= 6


def test_deterministic_by_seed():
    a, b, c = (generate_shapes(12, size=48, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.array_equal(a.images, c.images)


def test_masks_cover_a_plausible_fraction_and_mark_the_shape():
    batch = generate_shapes(120, size=96, seed=4)
    coverage = batch.masks.reshape(120, -1).mean(axis=1)
    # extent 20-45 % of the side: area between ~1.5 % (thin star) and ~16 % (large circle)
    assert coverage.min() > 0.01 and coverage.max() < 0.2
    # the shape's colour differs from the background right next to it
    contrasts = []
    for image, mask in zip(batch.images.astype(float), batch.masks, strict=True):
        inside = image[mask].mean(axis=0)
        ring = np.zeros_like(mask)
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = max(ys.min() - 4, 0), ys.max() + 5, max(xs.min() - 4, 0), xs.max() + 5
        ring[y0:y1, x0:x1] = True
        ring &= ~mask
        contrasts.append(np.linalg.norm(inside - image[ring].mean(axis=0)))
    assert np.median(contrasts) > 60


def test_shape_position_varies_and_stays_inside():
    batch = generate_shapes(60, size=64, seed=5)
    centres = np.array([np.argwhere(m).mean(axis=0) for m in batch.masks])
    assert centres.std(axis=0).min() > 6  # random positions
    assert not batch.masks[:, 0, :].any() and not batch.masks[:, :, -1].any()  # never cut by the border


def test_bad_arguments():
    with pytest.raises(ArgumentError, match="size must be >= 32"):
        generate_shapes(2, size=8)
    with pytest.raises(ArgumentError, match="n must be >= 0"):
        generate_shapes(-1)
    assert len(generate_shapes(0)) == 0
