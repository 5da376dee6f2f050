"""OcclusionSweeper: the map is occlusion_sweep's, the step-through reads the cached sweep, and
rapid patch changes end on the last one."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

import cnnviz_widgets as cw
from cnnviz_widgets.render import decode_png
from cnnviz_widgets.widgets import OcclusionSweeper, occlusion_sweeper


def test_sensitivity_map_is_occlusion_sweep_and_peaks_on_the_shape(inspector, samples):
    sweeper = OcclusionSweeper(inspector)
    assert sweeper.wait(60) and not sweeper.errors.message
    assert (sweeper.patch, sweeper.stride) == (12, 12)          # 1/8 of 96 pixels
    direct = cw.occlusion_sweep(inspector, inspector.batch, patch=12, stride=12, fill="mean")
    np.testing.assert_allclose(sweeper.sweep.heatmap, direct.heatmap, atol=1e-6)
    row, col = np.unravel_index(np.argmax(sweeper.heatmap), sweeper.heatmap.shape)
    assert samples[0]["mask"][row, col]
    shown = decode_png(sweeper.png)
    assert shown.shape[0] == 256 and shown.shape[1] > 256 + 30      # the map at 256 px, then its colour bar
    mask = decode_png(sweeper.mask_view.value)
    factor = 2
    # the mask view keeps the most sensitive pixel and blacks out the insensitive ones
    assert mask[row * factor, col * factor].sum() > 0
    dark = np.argwhere(sweeper.heatmap == 0)[0]
    assert mask[dark[0] * factor, dark[1] * factor].sum() == 0


def test_step_through_reads_the_cached_sweep(inspector, count_calls):
    counter = count_calls(occlusion_sweeper, "occlusion_sweep")
    sweeper = OcclusionSweeper(inspector, patch=24, stride=24)
    sweeper.wait(60)
    assert counter.calls == 1
    sweep = sweeper.sweep
    probabilities = sweep.probabilities[0].reshape(-1)
    assert len(sweeper._line.y) == 16 and sweeper.step_slider.max == 15
    pictures = set()
    for step in (0, 5, 15):
        sweeper.step = step
        pictures.add(sweeper.step_view.value)
        assert sweeper._marker.y[0] == pytest.approx(probabilities[step])
        assert f"{probabilities[step]:.1%}" in sweeper.curve.title
    sweeper.alpha = 0.2
    sweeper.colormap = "magma"
    assert len(pictures) == 3 and counter.calls == 1 and not sweeper.busy
    # the patch at step 5 (row 1, column 1) is drawn over the image at (24, 24)
    step_image = decode_png(sweeper.step_view.value)   # enlarged 2x
    sweeper.step = 5
    step_image = decode_png(sweeper.step_view.value)
    np.testing.assert_array_equal(step_image[48, 48 + 10], [255, 255, 0])   # the yellow outline


def test_fill_choices_reach_the_model_in_its_own_value_space(inspector):
    sweeper = OcclusionSweeper(inspector, patch=24, stride=24)
    sweeper.fill = "grey"
    sweeper.wait(60)
    grey = inspector.preprocess(np.full((1, 1, 1, 3), 127.5, np.float32)).reshape(-1)
    np.testing.assert_allclose(grey, 0.5, atol=1e-6)        # the default model scales to [0, 1]
    direct = cw.occlusion_sweep(inspector, inspector.batch, patch=24, stride=24, fill=grey)
    np.testing.assert_allclose(sweeper.sweep.grid, direct.grid, atol=1e-6)
    sweeper.fill = "colour"
    sweeper.fill_color = "#ff0000"
    sweeper.wait(60)
    direct = cw.occlusion_sweep(inspector, inspector.batch, patch=24, stride=24, fill=[1.0, 0.0, 0.0])
    np.testing.assert_allclose(sweeper.sweep.grid, direct.grid, atol=1e-6)
    with pytest.raises(traitlets.TraitError, match="fill must be one of mean, grey, blur, colour; got .noise."):
        sweeper.fill = "noise"
    with pytest.raises(traitlets.TraitError, match=r"patch must be in 1\.\.96"):
        sweeper.patch = 200


def test_fifty_rapid_patch_changes_end_on_the_last(inspector, count_calls):
    counter = count_calls(occlusion_sweeper, "occlusion_sweep")
    sweeper = OcclusionSweeper(inspector)
    sweeper.wait(60)
    for patch in range(4, 54):
        sweeper.stride = patch
        sweeper.patch = patch
    assert sweeper.wait(120)
    assert counter.calls < 12                              # stale sweeps were dropped, not queued
    assert sweeper.sweep.patch == (53, 53)
    assert "patches of 53x53 px" in sweeper.caption.value
    assert not sweeper.errors.message


def test_class_picker_drives_the_sweep(inspector):
    sweeper = OcclusionSweeper(inspector, patch=24, stride=24)
    sweeper.wait(60)
    sweeper.classes.dropdown.value = inspector.top_k(2)[1].index
    sweeper.wait(60)
    assert list(sweeper.sweep.classes) == [inspector.top_k(2)[1].index]
