"""LayerBrowser: the shown pixels are the activations, and cached re-renders never call the model."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

import cnnviz_widgets as cw
from cnnviz_widgets.render import colorize, decode_png, normalize
from cnnviz_widgets.widgets import LayerBrowser


def shown_channel(browser: LayerBrowser) -> np.ndarray:
    """The large channel view, decoded and brought back to the map's own size."""
    pixels = decode_png(browser.png)[:256, :256]       # the map; its colour bar is on the right
    h, w = browser.inspector.activations(browser.layer).shape[:2]
    rows, cols = (((np.arange(n) + 0.5) * 256 / n).astype(int) for n in (h, w))
    return pixels[rows][:, cols]


def test_channel_view_shows_the_normalised_activation(inspector):
    browser = LayerBrowser(inspector, layer="block2_conv1")
    browser.channel = 7
    maps = inspector.activations("block2_conv1")
    np.testing.assert_array_equal(shown_channel(browser), colorize(normalize(maps[..., 7]), "viridis"))
    browser.normalization = "shared"
    expected = colorize(normalize(maps[..., 7], low=float(maps.min()), high=float(maps.max())), "viridis")
    np.testing.assert_array_equal(shown_channel(browser), expected)
    assert not browser.errors.message


def test_changes_re_render_from_cache_without_a_model_call(inspector):
    browser = LayerBrowser(inspector)
    passes = inspector.forward_passes
    assert passes == 1
    seen = {browser.png}
    browser.channel = 3
    seen.add(browser.png)
    browser.colormap = "magma"
    seen.add(browser.png)
    grid_before = browser.grid_png
    browser.layer = "stem_conv"
    assert browser.grid_png != grid_before
    browser.normalization = "shared"
    browser.layer = "block3_conv2"
    seen.add(browser.png)
    assert len(seen) == 4                           # every change showed a new picture
    assert inspector.forward_passes == passes       # ... and none ran the model


def test_grid_holds_every_channel_images_per_row_like_the_seeds(inspector):
    browser = LayerBrowser(inspector, layer="block3_conv2")  # 12x12x96
    grid = decode_png(browser.grid_png)
    # 96 channels, 16 per row: 6 rows of 12-pixel tiles with 1-pixel margins, enlarged by a whole factor
    width, height = 16 * 13 + 1, 6 * 13 + 1
    assert grid.shape[1] % width == 0 and grid.shape[0] / height == grid.shape[1] / width
    browser.images_per_row = 8                               # 8 rows of 8 on a page: 2 pages
    grid = decode_png(browser.grid_png)
    assert grid.shape[0] / (8 * 13 + 1) == grid.shape[1] / (8 * 13 + 1) and browser.n_pages == 2
    browser.grid_page = 1
    grid = decode_png(browser.grid_png)                       # the last 32 channels: 4 rows
    assert grid.shape[0] / (4 * 13 + 1) == grid.shape[1] / (8 * 13 + 1)


def test_statistics_and_sparsity_chart_match_channel_statistics(inspector):
    browser = LayerBrowser(inspector, layer="block1_conv1")
    browser.channel = 2
    stats = cw.channel_statistics(inspector.activations("block1_conv1"))
    assert f"mean {stats.mean[2]:.3g}" in browser.stats.value
    expected = [cw.channel_statistics(inspector.activations(n)).blank_fraction for n in inspector.conv_layer_names]
    np.testing.assert_allclose(browser._sparsity_bars.y[0], expected)
    zeros = [cw.channel_statistics(inspector.activations(n)).sparsity.mean() for n in inspector.conv_layer_names]
    np.testing.assert_allclose(browser._sparsity_bars.y[1], zeros, rtol=1e-6)
    assert 0.3 < min(zeros) and max(zeros) < 0.8     # the default model is about half zeros in every layer
    assert list(browser._sparsity_bars.x) == inspector.conv_layer_names
    browser._sparsity_bars.selected = [0]              # clicking a bar opens that layer
    assert browser.layer == "stem_conv"


def test_follows_the_inspector_and_validates_its_traits(inspector, samples):
    browser = LayerBrowser(inspector)
    before = browser.png
    inspector.set_image(samples[3]["image"])
    assert browser.png != before
    with pytest.raises(cw.LayerNotFoundError, match="Did you mean 'block2_conv2'"):
        browser.layer = "block2_conv"
    with pytest.raises(traitlets.TraitError, match="no spatial output"):
        browser.layer = "logits"
    with pytest.raises(traitlets.TraitError, match=r"channel must be in 0\.\.95 for layer"):
        browser.channel = 96
    assert browser.layer == "block3_conv2"  # unchanged after the bad values
    for css in ("cnnviz-map", "cnnviz-channel"):
        assert css in browser.channel_view._dom_classes
