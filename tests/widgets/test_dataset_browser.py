"""DatasetBrowser: confusion cells, their images, picking one for the other widgets, the Dataset tab."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

import cnnviz_widgets as cw
from cnnviz_widgets.inspector.images import resize_rgb
from cnnviz_widgets.render import decode_png
from tests.conftest import tiny_functional


@pytest.fixture(scope="module")
def scanned():
    """A random tiny model errs a lot (which classes it favours depends on the seed state)."""
    inspector = cw.ModelInspector(tiny_functional(size=32, classes=3), class_names=["a", "b", "c"])
    rng = np.random.default_rng(3)
    images, labels = rng.integers(0, 256, (90, 32, 32, 3), dtype=np.uint8), rng.integers(0, 3, 90)
    return inspector, (images, labels), cw.scan(inspector, (images, labels), batch_size=16)


def test_a_click_on_a_cell_lists_its_images_and_a_pick_explains_one(scanned):
    inspector, data, result = scanned
    browser = cw.DatasetBrowser(inspector, result, data=data)
    cam = cw.CamOverlay(inspector)
    assert browser.wait(30) and not browser.errors.message
    np.testing.assert_array_equal(browser.matrix.color, result.confusion)
    assert list(browser.matrix.row) == ["a", "b", "c"]
    row, column = map(int, np.argwhere((result.confusion > 0) & ~np.eye(3, dtype=bool))[0])   # an error cell
    browser.matrix.selected = [[row, column]]                     # what a click does
    assert (browser.true_class, browser.predicted_class) == (row, column)
    cell = result.images_in_cell(row, column)
    assert [value for _, value in browser.image_dropdown.options][1:] == cell
    assert "wrong" in browser.cell_caption.value and f"{len(cell)} images" in browser.cell_caption.value
    grid = decode_png(browser.png)
    assert grid.shape[1] >= 8 * 64 and grid.std() > 5
    before_cam = cam.png
    browser.image_dropdown.value = cell[0]                        # what picking in the list does
    assert browser.image_index == cell[0]
    np.testing.assert_array_equal(inspector.image, resize_rgb(data[0][cell[0]], inspector.input_size))
    assert cam.wait(30) and cam.png != before_cam
    for widget in (browser, cam):
        widget.close()


def test_a_click_on_a_thumbnail_explains_that_image(scanned):
    """The bqplot image mark's click message, in the picture's pixels, picks the image under it."""
    inspector, data, result = scanned
    first_errors = [i for i, *_ in result.confident_errors(24)]
    inspector.set_image(data[0][next(i for i in range(90) if i not in first_errors)])   # not the one clicked
    browser = cw.DatasetBrowser(inspector, result, data=data)
    cam = cw.CamOverlay(inspector)
    assert browser.wait(30) and cam.wait(30)
    assert browser.shown_images == first_errors                   # no cell yet: the most confident mistakes
    width, height = decode_png(browser.png).shape[1::-1]
    assert (browser.cell_mark.x.tolist(), browser.cell_mark.y.tolist()) == ([0, width], [height, 0])
    assert browser.cell_chart.layout.width == f"{width}px"
    before_cam = bytes(cam.png)
    second = 3 + (64 + 3) + 30                                    # inside the second thumbnail
    browser.cell_mark._handle_custom_msgs(browser.cell_mark, {"event": "element_click",
                                                              "data": {"click_x": second, "click_y": 20.0}})
    picked = first_errors[1]
    assert browser.image_index == picked
    assert (browser.true_class, browser.predicted_class) == (result.labels[picked], result.predictions[picked])
    np.testing.assert_array_equal(inspector.image, resize_rgb(data[0][picked], inspector.input_size))
    assert cam.wait(30) and bytes(cam.png) != before_cam
    assert browser.click_thumbnail(1.0, 1.0) is None and browser.image_index == picked   # a margin: nothing
    right = int(np.argmax(np.diag(result.confusion)))      # the random model's weights depend on the seed state
    cell = browser.show_cell(right, right)
    assert browser.shown_images == cell[:24]
    assert browser.click_thumbnail(10.0, 10.0) == cell[0] == browser.image_index
    for widget in (browser, cam):
        widget.close()


def test_refused_cells_and_images_do_not_stick(scanned):
    inspector, data, result = scanned
    browser = cw.DatasetBrowser(inspector, result, data=data)
    with pytest.raises(traitlets.TraitError, match="choose a confusion cell first"):
        browser.image_index = 0
    right = int(np.argmax(np.diag(result.confusion)))      # a cell with images, whatever the random weights
    cell = browser.show_cell(right, right)
    with pytest.raises(traitlets.TraitError, match=rf"image of this cell \({len(cell)} images\); got 999"):
        browser.image_index = 999
    assert browser.image_index is None and browser.image_dropdown.value is None
    with pytest.raises(traitlets.TraitError, match="true_class must be in 0..2; got 3"):
        browser.true_class = 3
    assert browser.true_class == right
    empty = cw.DatasetBrowser(inspector)
    with pytest.raises(traitlets.TraitError, match="no scan yet"):
        empty.true_class = 0
    with pytest.raises(cw.ArgumentError, match="Expected a Scan"):
        empty.set_scan("not a scan")
    other = cw.ModelInspector()
    with pytest.raises(cw.ArgumentError, match="scan this model"):
        cw.DatasetBrowser(other, result)
    browser.close()
    empty.close()


def test_a_background_scan_fills_the_browser(scanned):
    inspector, data, result = scanned
    browser = cw.DatasetBrowser(inspector, data=data)
    browser.start_scan(data, batch_size=16)
    assert browser.wait(120) and browser.scan is not None
    np.testing.assert_array_equal(browser.scan.confusion, result.confusion)
    assert "90 images" in browser.summary.value
    browser.close()


def test_the_dashboard_gets_a_dataset_tab_from_a_store(scanned, tmp_path):
    inspector, data, _ = scanned
    store = tmp_path / "scan"
    cw.scan(inspector, data, batch_size=16, store=store)
    dashboard = cw.Dashboard(inspector, dataset=store)
    assert dashboard.tab_titles[-1] == "Dataset" and dashboard.dataset.scan is not None
    dashboard.show("Dataset")
    assert dashboard.dataset.active and not dashboard.cams.active
    assert dashboard.wait(60)
    assert "90 images" in dashboard.dataset.summary.value
    dashboard.close()
    plain = cw.explore()
    assert "Dataset" not in plain.tab_titles and plain.dataset is None
    plain.close()


@pytest.mark.slow
def test_explore_scans_a_dataset_in_the_background():
    data = cw.shapes_dataset(120, seed=2)
    dashboard = cw.explore(dataset=data)
    assert dashboard.dataset.wait(120)
    assert dashboard.dataset.scan.confusion.sum() == 120
    dashboard.close()


def test_layer_browser_shows_a_channels_dataset_examples(scanned):
    from cnnviz_widgets.widgets._channel_examples import PATCH, example_patches

    inspector, data, result = scanned
    browser = cw.LayerBrowser(inspector, layer="relu2", channel=2)
    assert browser.examples.layout.display == "none"            # no scan: nothing shown
    browser.attach_scan(result, data)
    assert browser.examples.layout.display is None
    top = decode_png(browser.examples.top_view.value)
    assert top.shape[1] >= 9 * PATCH and top.std() > 5
    np.testing.assert_allclose(browser.examples.selectivity_bars.y, result.class_selectivity("relu2", 2), atol=1e-6)
    # each patch is the receptive field of the unit at the example's maximum, cropped from that image
    tiles, labels = example_patches(inspector, result, browser.examples.lookup, "relu2", 2)
    index, _value, (y, x) = result.top_examples("relu2", 2)[0]
    field = cw.receptive_field(inspector, "relu2")
    top_, left, bottom, right = field.box(y, x)
    expected = resize_rgb(np.ascontiguousarray(data[0][index][top_:bottom, left:right]), (PATCH, PATCH))
    np.testing.assert_array_equal(tiles[0], expected)
    assert labels[0].startswith(f"#{index} ")
    browser.channel = 3
    np.testing.assert_allclose(browser.examples.selectivity_bars.y, result.class_selectivity("relu2", 3), atol=1e-6)
    browser.close()


def test_the_dashboard_shares_its_scan_with_the_feature_maps(scanned):
    inspector, data, result = scanned
    dashboard = cw.Dashboard(inspector, dataset=data, scan=result)
    assert dashboard.layers.scan is result and dashboard.layers.examples.layout.display is None
    dashboard.close()


def test_the_message_a_cell_click_sends_chooses_the_cell(scanned):
    inspector, data, result = scanned
    browser = cw.DatasetBrowser(inspector, result, data=data)
    # what bqplot sends to the kernel for a click on the cell of row 1, column 2
    browser.matrix._handle_custom_msgs(browser.matrix, {"event": "element_click",
                                                        "data": {"color": 4, "rowNum": 1, "columnNum": 2}}, [])
    assert (browser.true_class, browser.predicted_class) == (1, 2)
    assert f"{len(result.images_in_cell(1, 2))} images" in browser.cell_caption.value
    browser.close()


def test_filter_gallery_shows_a_filters_dataset_examples(scanned):
    inspector, data, result = scanned
    gallery = cw.FilterGallery(inspector, layer="conv2")
    assert [value for _, value in gallery.example_dropdown.options] == [None]        # no scan yet
    gallery.attach_scan(result, data)
    assert [value for _, value in gallery.example_dropdown.options] == [None, *gallery.page_filters()]
    gallery.example_dropdown.value = 4
    assert gallery.example_filter == 4 and gallery.examples.layout.display is None
    np.testing.assert_allclose(gallery.examples.selectivity_bars.y, result.class_selectivity("conv2", 4), atol=1e-6)
    with pytest.raises(traitlets.TraitError, match=r"example_filter must be one of None, 0, 1, 2, 3, 4, 5; got 6"):
        gallery.example_filter = 6
    empty = cw.FilterGallery(inspector)
    with pytest.raises(traitlets.TraitError, match=r"must be one of None; got 0"):
        empty.example_filter = 0                                                # no scan: nothing to show
    empty.close()
    gallery.example_filter = None
    assert gallery.examples.layout.display == "none"
    gallery.close()
