"""The inspector's time axis (run=, snapshot) and the TrainingTimeline widget."""

from __future__ import annotations

import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.render import decode_png
from tests.conftest import random_image
from tests.training.conftest import CLASSES, compiled, data


@pytest.fixture
def timed(recorded):
    model, folder, recorder = recorded
    inspector = cw.ModelInspector(model, run=folder, class_names=CLASSES)
    inspector.set_image(data(1, seed=9)[0][0] * 255)
    return model, inspector


def test_each_snapshot_shows_its_weights_and_the_users_model_keeps_its_own(timed):
    model, inspector = timed
    run = inspector.run
    own = [w.copy() for w in model.get_weights()]
    assert inspector.snapshot == -1 and inspector.snapshot_shown.index == len(run) - 1
    for index in (0, 3, len(run) - 1):
        inspector.snapshot = index
        for shown, stored in zip(inspector.model.get_weights(), run.weights(index), strict=True):
            np.testing.assert_array_equal(shown, stored)
        reference = cw.ModelInspector(inspector.model.__class__.from_config(inspector.model.get_config()),
                                      class_names=CLASSES)
        reference.model.set_weights(run.weights(index))
        reference.set_image(inspector.image)
        np.testing.assert_allclose(inspector.probabilities, reference.probabilities, atol=1e-6)
        np.testing.assert_allclose(inspector.activations("conv1"), reference.activations("conv1"), atol=1e-5)
    for kept, now in zip(own, model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)
    assert inspector.model is not model


def test_caches_are_keyed_by_snapshot(timed):
    _, inspector = timed
    inspector.snapshot = 0
    first = inspector.probabilities.copy()
    version_0, passes = inspector.model_version, inspector.forward_passes
    inspector.snapshot = 4
    assert inspector.model_version != version_0 and not np.allclose(inspector.probabilities, first)
    inspector.snapshot = 0                                      # back: the same version, from cache
    assert inspector.model_version == version_0
    np.testing.assert_array_equal(inspector.probabilities, first)
    assert inspector.forward_passes == passes + 1               # only snapshot 4 ran the model
    fingerprints = set()
    for index in (0, 4):
        inspector.snapshot = index
        fingerprints.add(inspector.fingerprint)
    assert len(fingerprints) == 2                               # the store tells snapshots apart


def test_an_out_of_range_snapshot_is_refused_and_the_last_good_one_kept(timed):
    _, inspector = timed
    inspector.snapshot = 2
    with pytest.raises(cw.RunError, match=r"Snapshot 9 does not exist: the run has 6 snapshots, 0..5"):
        inspector.snapshot = 9
    assert inspector.snapshot == 2
    plain = cw.ModelInspector(compiled())
    with pytest.raises(cw.RunError, match="No training run is attached"):
        plain.snapshot = 1
    assert plain.snapshot == -1


def test_a_corrupt_snapshot_file_is_refused_when_picked(timed):
    _, inspector = timed
    path = inspector.run.folder / f"snapshot-{inspector.run.snapshots[1].number:06d}.npz"
    path.write_bytes(path.read_bytes()[:-300])
    with pytest.raises(cw.RunError, match="Snapshot 1 of the run .* cannot be read"):
        inspector.snapshot = 1
    assert inspector.snapshot == -1


def test_widgets_follow_the_snapshot(timed):
    _, inspector = timed
    inspector.snapshot = 0
    strongest = int(inspector.activations("conv1").reshape(-1, 4).max(0).argmax())   # not a dead channel
    browser = cw.LayerBrowser(inspector, layer="conv1", channel=strongest)
    browser.wait()
    pictures = {}
    for index in (0, 5):
        inspector.snapshot = index
        browser.wait()
        pictures[index] = browser.channel_view.value
        np.testing.assert_allclose(browser.inspector.activations("conv1"),
                                   inspector.activations("conv1"))
    assert pictures[0] != pictures[5]
    cam = cw.CamOverlay(inspector, method="grad_cam")
    cam.wait()
    expected = cw.heatmap(inspector.twin(weights=inspector.run.weights(5)), inspector.batch, "grad_cam",
                          cam.classes.resolved(), cam.layer, raw="unscaled")[0]
    np.testing.assert_allclose(cam.units, expected, atol=1e-5)
    browser.close()
    cam.close()


def test_a_recorder_is_followed_live(tmp_path):
    model = compiled()
    x, y = data()
    recorder = cw.TrainingRecorder(tmp_path / "run")
    inspector = cw.ModelInspector(model, run=recorder)
    inspector.set_image(random_image(32))
    assert inspector.has_run and inspector.run is None           # nothing recorded yet: the model itself
    versions = []
    inspector.observe(lambda change: versions.append(change["new"]), "model_version")
    model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[recorder])
    assert len(inspector.run) == 4 and inspector.snapshot_shown.epoch == 3
    assert len(versions) == 4                                    # one redraw per new snapshot
    for shown, final in zip(inspector.model.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(shown, final)


def test_the_timeline_draws_the_run_and_moves_the_snapshot(timed):
    _, inspector = timed
    timeline = cw.TrainingTimeline(inspector)
    assert timeline.wait(120)
    run = inspector.run
    assert timeline.snapshot_slider.max == len(run) - 1 and timeline.snapshot_slider.value == len(run) - 1
    losses = [s.logs.get("loss", np.nan) for s in run.snapshots]
    np.testing.assert_allclose(np.asarray(timeline._loss_lines.y).ravel(), losses)
    timeline.snapshot_slider.value = 2
    assert inspector.snapshot == 2 and "snapshot 2 of 5" in timeline.snapshot_caption.value
    assert list(timeline._marker.x) == [run.snapshots[2].progress] * 2
    confusion = np.asarray(timeline._confusion.color)
    labels = run.probe[1]
    assert confusion.sum() == len(labels) and np.trace(confusion) == int((run.probe_predictions(2) == labels).sum())
    timeline._dot_clicked(None, {"data": {"index": 4}})          # a click on a snapshot dot
    assert inspector.snapshot == 4
    kernels, cams = decode_png(timeline.kernel_view.value), decode_png(timeline.cam_view.value)
    assert kernels.shape[0] > 6 * 40 and kernels.std() > 10       # one row per snapshot shown (6 here)
    assert cams.shape[1] > 3 * 96
    changes = np.asarray(timeline._changes.color)
    assert changes.shape == (len(timeline._changes.row), len(run) - 1) and (changes > 0).all()
    dead = np.asarray(timeline._dead.color)
    assert dead.shape[1] == len(run) and ((dead >= 0) & (dead <= 1)).all()
    timeline.follow_checkbox.value = True
    assert inspector.snapshot == -1
    timeline.x_axis = "steps"
    assert timeline._x_axis.label.startswith("training steps") and type(timeline._x).__name__ == "LogScale"
    with pytest.raises(Exception, match="x_axis"):
        timeline.x_axis = "hours"
    timeline.close()


def test_the_dashboard_gets_a_training_tab(timed):
    _, inspector = timed
    dashboard = cw.Dashboard(inspector)
    assert dashboard.tab_titles[-1] == "Training" and dashboard.training is not None
    inspector.snapshot = 1
    assert "snapshot 1</b> of its training run" in dashboard.title.value
    dashboard.close()
    assert "Training" not in cw.Dashboard(cw.ModelInspector(compiled())).tab_titles


def test_the_dataset_browser_shows_the_probes_confusion_at_the_snapshot(timed):
    _, inspector = timed
    browser = cw.DatasetBrowser(inspector)
    browser.wait()
    assert browser.probe_box.layout.display == "flex"
    probe_images, probe_labels = inspector.run.probe
    for index in (0, len(inspector.run) - 1):
        inspector.snapshot = index
        browser.wait()
        predicted = inspector.run.probe_predictions(index)
        expected = np.zeros((len(CLASSES), len(CLASSES)))
        np.add.at(expected, (probe_labels, predicted), 1)
        np.testing.assert_array_equal(browser.probe_matrix.color, expected)
        assert f"snapshot {index}</b>" in browser.probe_caption.value
        assert f"accuracy {np.trace(expected) / len(probe_labels):.0%}" in browser.probe_caption.value
    plain = cw.DatasetBrowser(cw.ModelInspector(inspector.model, class_names=CLASSES))
    assert plain.probe_confusion is None and plain.probe_box.layout.display == "none"
    browser.close()
    plain.close()
