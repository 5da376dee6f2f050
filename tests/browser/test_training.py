"""The Training tab in JupyterLab, in headless Chromium: it draws a recorded run; a click on a
snapshot's dot changes the Filters tab's picture; Play advances the snapshot in the kernel too.

The notebook is written by the test: a small network trained for 12 steps with a recorder (a few
seconds), then ``cw.explore(model, run=...)`` on the Training tab.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import nbformat
import pytest

from tests.browser.harness import (
    DASHBOARD,
    LAB_RUN_DONE_JS,
    BrowserSession,
    NotebookServer,
    run_all_in_lab,
    wait_for_drawn_images,
)

pytestmark = pytest.mark.browser

NOTEBOOK = "training_check.ipynb"
SETUP = '''import cnnviz_widgets as cw
import keras

keras.utils.set_random_seed(0)
data = cw.generate_shapes(192, size=64, seed=0)
layers = keras.layers
model = keras.Sequential([keras.Input((64, 64, 3)), layers.Rescaling(1 / 255, name="scale"),
                          layers.Conv2D(8, 3, activation="relu", name="conv1"), layers.MaxPooling2D(2, name="pool1"),
                          layers.Conv2D(16, 3, activation="relu", name="conv2"), layers.GlobalMaxPooling2D(name="gmp"),
                          layers.Dense(6, activation="softmax", name="classes")], name="check")
model.compile(keras.optimizers.Adam(3e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
recorder = cw.TrainingRecorder("run", steps=[1, 2, 4], probe=(data.images[:48], data.labels[:48]))
model.fit(data.images.astype("float32"), data.labels, epochs=2, batch_size=32, verbose=0, callbacks=[recorder])
dashboard = cw.explore(model, data.images[0], run="run", class_names=cw.SHAPE_CLASS_NAMES)
dashboard.show("Training")
dashboard'''
SNAPSHOTS = 1 + 3 + 2
TRAINING = f"{DASHBOARD} .cnnviz-training"


@pytest.fixture(scope="module")
def training(browser_page, artifacts) -> Iterator[BrowserSession]:
    with NotebookServer("lab", notebook=NOTEBOOK) as server:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, server.root / NOTEBOOK)
        session = BrowserSession(server, browser_page, artifacts, label="lab, training")
        with session.expect("JupyterLab to run the training notebook"):
            run_all_in_lab(browser_page, server)
            browser_page.wait_for_function(LAB_RUN_DONE_JS, timeout=240_000, polling=250)
        with session.expect("the Training tab's filmstrips"):
            wait_for_drawn_images(browser_page, f"{TRAINING} img.cnnviz-kernel-film", 1)
            wait_for_drawn_images(browser_page, f"{TRAINING} img.cnnviz-cam-film", 1)
        browser_page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
        yield session


def slider_value(session: BrowserSession) -> int:
    return int(session.page.locator(f"{TRAINING} .cnnviz-snapshot-slider .widget-readout").first.inner_text())


def caption_snapshot(session: BrowserSession) -> int:
    text = session.page.locator(f"{TRAINING} .cnnviz-snapshot-caption").first.inner_text()
    return int(re.search(r"snapshot (\d+) of", text).group(1))


def test_the_training_tab_draws_the_run(training):
    page = training.page
    dots = page.locator(f"{TRAINING} .cnnviz-training-curves .dot")
    assert dots.count() == SNAPSHOTS
    assert page.locator(f"{TRAINING} .cnnviz-training-curves path.line").count() >= 2   # loss and accuracy
    assert slider_value(training) == SNAPSHOTS - 1 and caption_snapshot(training) == SNAPSHOTS - 1
    assert training.stats(f"{TRAINING} img.cnnviz-kernel-film")["std"] > 10
    training.assert_no_errors()
    training.screenshot("training_timeline", DASHBOARD)


def test_a_click_on_a_snapshot_changes_the_filters_tab(training):
    page = training.page
    latest = training.open_tab("Filters")
    page.locator(f"{DASHBOARD} .lm-TabBar-tab", has_text="Training").first.click()
    with training.expect("the first snapshot's dot to be clicked and followed"):
        page.locator(f"{TRAINING} .cnnviz-training-curves .dot").first.click(force=True)
        page.wait_for_function(f"""() => /snapshot 0 of/.test(
            document.querySelector('{TRAINING} .cnnviz-snapshot-caption').innerText)""", timeout=30_000)
    assert slider_value(training) == 0
    page.locator(f"{DASHBOARD} .lm-TabBar-tab", has_text="Filters").first.click()
    first = training.wait_for_change(f"{DASHBOARD} img.cnnviz-filters", latest, "the filters of snapshot 0")
    assert first["digest"] != latest["digest"], "the filters did not change with the snapshot"
    training.assert_no_errors()


def test_play_advances_the_snapshot(training):
    page = training.page
    page.locator(f"{DASHBOARD} .lm-TabBar-tab", has_text="Training").first.click()
    start = slider_value(training)
    assert start < SNAPSHOTS - 1
    with training.expect("Play to advance the snapshot, in the page and in the kernel"):
        page.locator(f"{TRAINING} .widget-play button").first.click()
        page.wait_for_function(f"""() => {{
            const caption = document.querySelector('{TRAINING} .cnnviz-snapshot-caption').innerText;
            const shown = parseInt(caption.match(/snapshot (\\d+) of/)[1]);
            return shown > {start};
        }}""", timeout=30_000)
    assert caption_snapshot(training) > start and slider_value(training) > start
    training.assert_no_errors()
