"""TrainingRecorder and load_run: exact snapshots, numbered as Keras counts, resumable, never
breaking training, and readable (whole snapshots only) from another reader."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.training.recorder import log_steps
from tests.conftest import tiny_functional
from tests.training.conftest import compiled, data


def test_snapshots_hold_the_exact_weights_at_keras_epoch_numbers(recorded, tmp_path):
    model, folder, recorder = recorded
    run = cw.load_run(folder)
    # snapshot 0 before training, log steps 1, 2, 4 of the first epoch (6 steps), then each epoch
    assert [(s.kind, s.epoch, s.step) for s in run.snapshots] == [
        ("start", 0, 0), ("step", 0, 1), ("step", 0, 2), ("step", 0, 4), ("epoch", 1, 6), ("epoch", 2, 12)]
    assert [s.index for s in run.snapshots] == list(range(6)) and len(run) == 6
    assert run.snapshots[2].progress == pytest.approx(2 / 6, abs=1e-6)
    for now, stored in zip(model.get_weights(), run.weights(-1), strict=True):
        assert stored.dtype == now.dtype and np.array_equal(stored, now)   # bit-exact
    assert not all(np.array_equal(a, b) for a, b in zip(run.weights(0), run.weights(-1), strict=True))
    assert set(run.history) == {"accuracy", "loss"} and len(run.history["loss"]) == 2
    assert recorder.snapshots_written == 6 and recorder.stopped is None


def test_epoch_weights_equal_model_checkpoint(tmp_path):
    """An independent reference: ModelCheckpoint's .weights.h5 of each epoch."""
    model = compiled()
    x, y = data()
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "ck-{epoch}.weights.h5"), save_weights_only=True)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[cw.TrainingRecorder(tmp_path / "run"), checkpoint])
    run = cw.load_run(tmp_path / "run")
    reference = tiny_functional()                 # no optimizer: the files' optimizer state is not read
    for snapshot in run.snapshots[1:]:
        reference.load_weights(str(tmp_path / f"ck-{snapshot.epoch}.weights.h5"))
        for a, b in zip(reference.get_weights(), run.weights(snapshot.index), strict=True):
            np.testing.assert_array_equal(a, b)


def test_probe_predictions_and_history_follow_the_run(recorded):
    model, folder, _ = recorded
    run = cw.load_run(folder)
    images, labels = run.probe
    assert images.shape == (24, 32, 32, 3) and labels.shape == (24,)
    expected = np.asarray(model(images, training=False)).argmax(-1)
    np.testing.assert_array_equal(run.probe_predictions(-1), expected)
    assert run.probe_outputs(0).shape == (24, 3)


def test_a_later_fit_continues_the_run_and_numbers_epochs_on(recorded):
    model, folder, recorder = recorded
    x, y = data(seed=3)
    model.fit(x, y, epochs=1, batch_size=16, callbacks=[cw.TrainingRecorder(folder)], verbose=0)
    run = cw.load_run(folder)
    assert [(s.epoch, s.step) for s in run.snapshots[-2:]] == [(2, 12), (3, 18)]
    assert [s.kind for s in run.snapshots].count("start") == 1


def test_float16_halves_the_size_and_casts_back(tmp_path):
    sizes = {}
    for dtype in ("float32", "float16"):
        model = compiled()
        x, y = data()
        model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[cw.TrainingRecorder(tmp_path / dtype,
                                                                                           dtype=dtype)])
        with np.load(tmp_path / dtype / "snapshot-000001.npz") as stored:   # the weights' bytes in the file
            sizes[dtype] = sum(stored[name].nbytes for name in stored.files if name.startswith("w"))
        run = cw.load_run(tmp_path / dtype)
        assert all(w.dtype == m.dtype for w, m in zip(run.weights(-1), model.get_weights(), strict=True))
        np.testing.assert_allclose(run.weights(-1)[0], model.get_weights()[0], atol=1e-3 if dtype == "float16" else 0)
    assert sizes["float16"] * 2 == sizes["float32"]


def test_another_architecture_is_refused_and_nothing_is_lost(recorded):
    _, folder, _ = recorded
    other = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    other.compile("adam", "sparse_categorical_crossentropy")
    x, y = data()
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(cw.RunError, match="another architecture.*weight arrays recorded"):
        other.fit(x, y, epochs=1, verbose=0, callbacks=[cw.TrainingRecorder(folder)])
    assert sorted(p.name for p in folder.iterdir()) == before
    with pytest.raises(cw.RunError, match="another architecture"):
        cw.ModelInspector(other, run=folder)


def test_an_unbuilt_model_is_refused_clearly(tmp_path):
    recorder = cw.TrainingRecorder(tmp_path / "run")
    recorder.set_model(keras.Sequential([keras.layers.Dense(2)]))
    with pytest.raises(cw.RunError, match="needs a built model"):
        recorder.on_train_begin()


def test_a_failed_write_warns_stops_recording_and_training_goes_on(tmp_path, monkeypatch):
    from cnnviz_widgets.training import recorder as module

    model = compiled()
    x, y = data()
    recorder = cw.TrainingRecorder(tmp_path / "run")
    real = module.atomic_write
    calls = {"n": 0}

    def failing(path, write):
        if path.name.startswith("snapshot-"):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(28, "No space left on device")
        return real(path, write)

    monkeypatch.setattr(module, "atomic_write", failing)
    with pytest.warns(RuntimeWarning, match="stopped recording.*No space left on device.*Training goes on"):
        history = model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[recorder])
    assert len(history.history["loss"]) == 3                       # fit finished
    assert "No space left" in recorder.stopped
    run = cw.load_run(tmp_path / "run")
    assert len(run) == 1 and run.snapshots[0].kind == "start"        # what was written stays readable


def test_max_bytes_stops_with_advice(tmp_path):
    model = compiled()
    x, y = data()
    size = sum(w.nbytes for w in model.get_weights())
    recorder = cw.TrainingRecorder(tmp_path / "run", max_bytes=3 * size + 2000)
    with pytest.warns(RuntimeWarning, match="max_bytes.*float16"):
        model.fit(x, y, epochs=5, batch_size=32, verbose=0, callbacks=[recorder])
    assert 1 <= len(cw.load_run(tmp_path / "run")) <= 3


def test_an_interrupted_fit_keeps_every_completed_snapshot_and_resumes(tmp_path):
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    model = compiled()
    x, y = data()
    recorder = cw.TrainingRecorder(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=5, batch_size=32, verbose=0, callbacks=[recorder, Interrupt()])
    assert recorder.flush(30)
    run = cw.load_run(tmp_path / "run")
    assert [s.epoch for s in run.snapshots] == [0, 1, 2]
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[cw.TrainingRecorder(tmp_path / "run")])
    assert [s.epoch for s in cw.load_run(tmp_path / "run").snapshots] == [0, 1, 2, 3]


def test_a_corrupt_snapshot_is_skipped_with_a_warning(recorded):
    _, folder, _ = recorded
    victim = folder / "snapshot-000002.npz"
    victim.write_bytes(victim.read_bytes()[:100])          # truncated
    (folder / ".snapshot-000009.npz.1234.tmp").write_bytes(b"partial")   # a write in progress elsewhere
    with pytest.warns(RuntimeWarning, match="skipped the unreadable snapshot snapshot-000002.npz"):
        run = cw.load_run(folder)
    assert len(run) == 5 and [s.step for s in run.snapshots] == [0, 1, 4, 6, 12]
    assert run.weights(2)[0].shape == (3, 3, 3, 4)


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    with pytest.raises(cw.RunError, match="does not exist"):
        cw.load_run(tmp_path / "nothing")
    with pytest.raises(cw.RunError, match="is not a training run: it has no run.json"):
        cw.load_run(tmp_path)
    (tmp_path / "run.json").write_text('{"format": "something else"}')
    with pytest.raises(cw.RunError, match="not a cnnviz run manifest"):
        cw.load_run(tmp_path)


def test_a_reader_sees_whole_snapshots_while_the_run_grows(tmp_path):
    model = compiled()
    x, y = data()
    recorder = cw.TrainingRecorder(tmp_path / "run")
    seen = []

    class Reader(keras.callbacks.Callback):     # reads the run between epochs, while fit runs
        def on_epoch_end(self, epoch, logs=None):
            recorder.flush()
            run = cw.load_run(tmp_path / "run")
            seen.append(len(run))
            for i in range(len(run)):
                assert len(run.weights(i)) == len(model.get_weights())

    model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[recorder, Reader()])
    assert seen == [2, 3, 4]


def test_bad_arguments_say_what_was_received(tmp_path):
    with pytest.raises(cw.ArgumentError, match="dtype must be one of float32, float16; got 'int8'"):
        cw.TrainingRecorder(tmp_path, dtype="int8")
    with pytest.raises(cw.ArgumentError, match="steps must be None, 'log' or a list"):
        cw.TrainingRecorder(tmp_path, steps="often")
    with pytest.raises(cw.ArgumentError, match=r"probe must be images \(N, H, W, C\) and N labels"):
        cw.TrainingRecorder(tmp_path, probe=(np.zeros((4, 8, 8, 3)), [0, 1]))
    assert log_steps(20) == [1, 2, 4, 8, 16] and log_steps(1) == []


def test_a_read_only_folder_warns_and_training_goes_on(tmp_path, monkeypatch):
    from cnnviz_widgets.training import recorder as module

    def read_only(path, write):
        raise PermissionError(13, "Read-only file system", str(path))

    monkeypatch.setattr(module, "atomic_write", read_only)    # as a read-only mount answers (root ignores chmod)
    model = compiled()
    x, y = data()
    recorder = cw.TrainingRecorder(tmp_path / "run")
    with pytest.warns(RuntimeWarning, match="cannot be written.*Read-only file system.*Training goes on"):
        history = model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[recorder])
    assert len(history.history["loss"]) == 2 and recorder.snapshots_written == 0


def test_without_steps_the_recorder_has_no_batch_hook_and_still_counts_steps(tmp_path):
    """Keras may dispatch batch ends asynchronously only when no callback hooks them (JAX)."""
    from keras.src.utils.python_utils import is_default

    assert is_default(cw.TrainingRecorder(tmp_path / "a").on_train_batch_end)
    assert not is_default(cw.TrainingRecorder(tmp_path / "b", steps=[3]).on_train_batch_end)
    model = compiled()
    x, y = data()                                  # 96 images, batch 16: 6 steps per epoch
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[cw.TrainingRecorder(tmp_path / "a")])
    assert [s.step for s in cw.load_run(tmp_path / "a").snapshots] == [0, 6, 12]
