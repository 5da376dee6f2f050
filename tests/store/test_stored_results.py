"""Slow results through an inspector with a store: methods, occlusion sweeps, patterns (any
size, live frames), dataset scans, another model, a fresh process, and the precompute command."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.precompute import main as precompute_main
from cnnviz_widgets.precompute import precompute
from tests.conftest import tiny_functional

patterns_module = importlib.import_module("cnnviz_widgets.methods.patterns")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shapes_model():
    return cw.load_default_model()


def stored_inspector(model, folder, image=None) -> cw.ModelInspector:
    inspector = cw.ModelInspector(model, store=folder)
    inspector.set_image(cw.sample_images()[0]["image"] if image is None else image)
    return inspector


@pytest.fixture
def count_maximize(monkeypatch):
    """Counts the filters actually optimised (not read from the store)."""
    optimised = []
    original = patterns_module._maximize

    def counting(graph, target, indices, *args, **kwargs):
        optimised.extend(int(i) for i in indices)
        return original(graph, target, indices, *args, **kwargs)

    monkeypatch.setattr(patterns_module, "_maximize", counting)
    return optimised


@pytest.mark.parametrize("name, options", [("faster_score_cam", {"max_channels": 8}), ("ablation_cam", {}),
                                           ("rise", {"masks": 16})])
def test_a_slow_map_is_computed_once_and_read_back_by_a_new_inspector(shapes_model, tmp_path, name, options):
    first = stored_inspector(shapes_model, tmp_path)
    computed = cw.heatmap(first, first.batch, name, **options)
    assert first.store.misses == 1 and len(first.store) == 1
    again = stored_inspector(shapes_model, tmp_path)                 # another kernel, the same folder
    read = cw.heatmap(again, again.batch, name, **options)
    np.testing.assert_array_equal(read, computed)
    assert again.store.hits == 1 and again.store.misses == 0
    np.testing.assert_allclose(read, cw.heatmap(shapes_model, first.batch, name, **options), atol=1e-5)
    other_class = cw.heatmap(again, again.batch, name, class_index=4, **options)   # another parameter: computed
    assert again.store.misses == 1 and len(again.store) == 2 and not np.array_equal(other_class, read)


def test_an_occlusion_sweep_comes_back_whole(shapes_model, tmp_path):
    inspector = stored_inspector(shapes_model, tmp_path)
    sweep = cw.occlusion_sweep(inspector, inspector.batch, patch=24)
    again = cw.occlusion_sweep(stored_inspector(shapes_model, tmp_path).__class__(shapes_model, store=tmp_path),
                               inspector.batch, patch=24)
    for field in ("heatmap", "grid", "probabilities", "intact", "rows", "cols", "classes"):
        np.testing.assert_array_equal(getattr(again, field), getattr(sweep, field))
    assert again.patch == sweep.patch == (24, 24) and isinstance(again.patch[0], int)
    assert inspector.store.hits == 0 and len(inspector.store) == 1


def test_a_store_made_with_another_model_is_never_used(tmp_path):
    """Same architecture and names, other weights: another fingerprint, so nothing is shared."""
    a, b = tiny_functional(), tiny_functional()
    b.set_weights([w * 1.5 + 0.01 for w in b.get_weights()])
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    with_a, with_b = stored_inspector(a, tmp_path, image), stored_inspector(b, tmp_path, image)
    assert with_a.fingerprint != with_b.fingerprint
    map_a = cw.score_cam(with_a, with_a.batch, 0)
    map_b = cw.score_cam(with_b, with_b.batch, 0)
    assert with_b.store.hits == 0 and len(with_b.store) == 2
    np.testing.assert_allclose(map_b, cw.score_cam(b, with_b.batch, 0), atol=1e-6)
    assert not np.allclose(map_a, map_b)
    head = cw.ModelInspector(a, head="score", store=tmp_path)        # the same model read another way
    head.set_image(image)
    cw.score_cam(head, head.batch, 0)
    assert head.store.hits == 0 and len(head.store) == 3


def test_patterns_are_stored_one_by_one_and_shared_between_pages(shapes_model, tmp_path, count_maximize):
    inspector = stored_inspector(shapes_model, tmp_path)
    first = cw.filter_patterns(inspector, "block1_conv1", [0, 1, 2], steps=3)
    assert count_maximize == [0, 1, 2]
    second = cw.filter_patterns(inspector, "block1_conv1", [1, 2, 3], steps=3)
    assert count_maximize == [0, 1, 2, 3]                            # only filter 3 was optimised
    np.testing.assert_array_equal(second[:2], first[1:])
    np.testing.assert_array_equal(second, cw.filter_patterns(shapes_model, "block1_conv1", [1, 2, 3], steps=3))
    cw.filter_patterns(inspector, "block1_conv1", [0], steps=4)      # other settings: computed
    cw.class_pattern(inspector, [1], steps=2)
    cw.class_pattern(inspector, [1], steps=2)
    assert count_maximize == [0, 1, 2, 3, 1, 2, 3, 0, 1] and len(inspector.store) == 6   # 1, 2, 3: the bare model


def test_patterns_stored_in_one_process_are_read_by_a_fresh_one(shapes_model, tmp_path):
    inspector = stored_inspector(shapes_model, tmp_path)
    made = cw.filter_patterns(inspector, "block2_conv1", range(4), steps=3)
    script = textwrap.dedent(f"""
        import numpy as np, cnnviz_widgets as cw
        inspector = cw.ModelInspector(store={str(tmp_path)!r})
        images = cw.filter_patterns(inspector, "block2_conv1", range(4), steps=3)
        np.save({str(tmp_path / "read.npy")!r}, images)
        print(inspector.store.hits, inspector.store.misses)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["4", "0"]
    np.testing.assert_array_equal(np.load(tmp_path / "read.npy"), made)


def test_live_frames_start_from_noise_and_end_at_the_pattern(shapes_model, monkeypatch):
    monkeypatch.setattr(patterns_module, "FRAME_SECONDS", 0.0)        # a frame after every step
    frames = []
    for recipe in ("robust", "classic"):
        frames.clear()
        final = cw.filter_patterns(shapes_model, "block2_conv1", [3, 5], steps=6, recipe=recipe,
                                   frames=lambda i, images, k, n: frames.append((list(i), images.copy(), k, n)))
        assert [f[2] for f in frames] == list(range(7)) and {f[3] for f in frames} == {6}
        assert all(f[0] == [3, 5] and f[1].dtype == np.uint8 and f[1].shape == final.shape for f in frames)
        np.testing.assert_array_equal(frames[-1][1], final)           # the last frame is the pattern
        assert not np.array_equal(frames[0][1], final)                # the first is the starting image


def test_patterns_at_any_size_on_a_model_with_a_fixed_size_head():
    vgg = keras.applications.VGG16(weights=None, input_shape=(64, 64, 3), classes=3)
    images = cw.filter_patterns(vgg, "block2_conv1", [0, 7], size=40, steps=2)
    assert images.shape == (2, 40, 40, 3) and images.std() > 0
    again = cw.filter_patterns(vgg, "block2_conv1", [0, 7], size=40, steps=2)
    np.testing.assert_array_equal(images, again)                     # the prefix trace is reused, same seed
    L = keras.layers
    fixed = keras.Sequential([keras.Input((16, 16, 3)), L.Flatten(), L.Dense(16 * 16 * 3), L.Reshape((16, 16, 3)),
                              L.Conv2D(4, 3, name="late_conv"), L.GlobalAveragePooling2D(), L.Dense(2)])
    with pytest.raises(ArgumentError, match=r"The layers up to 'late_conv' take only 16x16 images .* size=24"):
        cw.filter_patterns(fixed, "late_conv", [0], size=24, steps=1)


def test_a_scan_on_an_inspector_with_a_store_is_kept_in_it(shapes_model, tmp_path):
    inspector = stored_inspector(shapes_model, tmp_path)
    data = cw.shapes_dataset(24, seed=5)
    scan = cw.scan(inspector, data, batch_size=8)
    assert scan.complete and Path(scan.store).parent == tmp_path / "scans"
    again = cw.scan(stored_inspector(shapes_model, tmp_path), data, batch_size=8)
    assert again.store == scan.store
    np.testing.assert_array_equal(again.confusion, scan.confusion)
    other = cw.scan(inspector, cw.shapes_dataset(24, seed=6), batch_size=8)
    assert other.store != scan.store and len(list((tmp_path / "scans").iterdir())) == 2


def test_precompute_fills_a_store_the_gallery_opens_without_optimising(shapes_model, tmp_path, count_maximize,
                                                                        capsys):
    code = precompute_main(["default", "--store", str(tmp_path), "--patterns", "block1_conv1", "block2_conv1",
                            "--filters", "4", "--steps", "3"])
    assert code == 0 and "8 patterns of 2 layers" in capsys.readouterr().out
    assert sorted(count_maximize) == [0, 0, 1, 1, 2, 2, 3, 3]
    gallery = cw.FilterGallery(cw.ModelInspector(store=tmp_path), layer="block2_conv1", mode="patterns",
                               page_size=4, steps=3)
    assert gallery.wait(60) and not gallery.errors.message
    assert len(count_maximize) == 8                                   # nothing optimised: read from the store
    tiles = gallery.pattern_tiles([0, 1, 2, 3])
    np.testing.assert_array_equal(tiles, cw.filter_patterns(shapes_model, "block2_conv1", range(4), steps=3))
    gallery.close()
    assert precompute_main(["no_such_model", "--store", str(tmp_path), "--all-conv"]) == 2


def test_an_interrupted_precompute_resumes_where_it_stopped(shapes_model, tmp_path, count_maximize):
    inspector = cw.ModelInspector(store=tmp_path)

    def stop_after_first_batch(done: int, total: int) -> None:
        if len(inspector.store) >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        precompute(inspector, ["block2_conv1"], filters=6, steps=2, batch_size=2, progress=stop_after_first_batch)
    kept = len(inspector.store)
    assert kept == 2 and count_maximize[:2] == [0, 1]
    count_maximize.clear()
    assert precompute(inspector, ["block2_conv1"], filters=6, steps=2, batch_size=2) == {"block2_conv1": 6}
    assert count_maximize == [2, 3, 4, 5] and len(inspector.store) == 6


def test_a_corrupt_pattern_entry_is_computed_again_and_only_that_one(shapes_model, tmp_path, count_maximize, caplog):
    inspector = stored_inspector(shapes_model, tmp_path)
    made = cw.filter_patterns(inspector, "block1_conv1", range(3), steps=2)
    victim = next(path for path, _, _ in inspector.store.entries())
    victim.write_bytes(victim.read_bytes()[:100])                    # a kernel killed mid-copy, say
    count_maximize.clear()
    with caplog.at_level("WARNING", logger="cnnviz_widgets"):
        again = cw.filter_patterns(stored_inspector(shapes_model, tmp_path), "block1_conv1", range(3), steps=2)
    assert len(count_maximize) == 1 and "corrupt store entry" in caplog.text
    np.testing.assert_array_equal(again, made)
    assert len(inspector.store) == 3


def test_class_patterns_have_live_frames_too(shapes_model, monkeypatch):
    monkeypatch.setattr(patterns_module, "FRAME_SECONDS", 0.0)
    frames = []
    final = cw.class_pattern(shapes_model, [2], steps=3, frames=lambda i, images, k, n: frames.append((k, images)))
    assert [k for k, _ in frames] == [0, 1, 2, 3]
    np.testing.assert_array_equal(frames[-1][1], final)


def test_explore_passes_the_store_to_its_inspector(tmp_path):
    dashboard = cw.explore(store=tmp_path)
    assert dashboard.inspector.store.folder == tmp_path
    cw.heatmap(dashboard.inspector, dashboard.inspector.batch, "ablation_cam")
    assert len(dashboard.inspector.store) == 1 and "store" in repr(dashboard.inspector)
    dashboard.close()


def test_bad_store_and_precompute_arguments_are_refused_with_what_was_received(shapes_model, tmp_path):
    with pytest.raises(ArgumentError, match="store must be a folder path, a ResultStore or None; got int"):
        cw.ModelInspector(shapes_model, store=3)
    with pytest.raises(ArgumentError, match="precompute needs an inspector with a store"):
        precompute(cw.ModelInspector(shapes_model), ["block1_conv1"])
    inspector = cw.ModelInspector(shapes_model, store=tmp_path)
    for refused in (0, -2, True, 2.5):
        with pytest.raises(ArgumentError, match=f"filters must be a positive int or None .*got {refused!r}"):
            precompute(inspector, ["block1_conv1"], filters=refused)
    with pytest.raises(ArgumentError, match="no layers to precompute"):
        precompute(inspector, [])
    assert len(inspector.store) == 0                                   # nothing was computed or written
    assert precompute_main(["default", "--store", str(tmp_path), "--patterns", "no_such_layer", "--steps", "1"]) == 2
