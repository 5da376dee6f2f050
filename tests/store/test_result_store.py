"""The result store on its own: keys, atomic entries, corrupt entries, the size limit, and two
processes writing one store at once."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.store import ResultStore, canonical, read_npz, write_npz


def test_an_entry_comes_back_as_it_was_written(tmp_path):
    store = ResultStore(tmp_path / "store")
    key = store.key(model="abc", kind="pattern", index=3, size=[64, 64, 3])
    assert store.get(key) is None and store.misses == 1
    image = np.arange(64 * 64 * 3, dtype=np.uint8).reshape(64, 64, 3)
    store.put(key, {"result": image}, kind="pattern")
    found = store.get(key)
    np.testing.assert_array_equal(found["result"], image)
    assert found["result"].dtype == np.uint8 and store.hits == 1 and len(store) == 1
    assert store.path(key).parent.name == key[:2]
    arrays, meta = read_npz(store.path(key))
    assert meta == {"format": "cnnviz-store/1", "kind": "pattern"}


def test_keys_change_with_every_part_and_not_with_their_order():
    base = ResultStore.key(model="m", kind="score_cam", image="d", params={"layer": "b3", "max_channels": None})
    assert base == ResultStore.key(params={"max_channels": None, "layer": "b3"}, image="d", kind="score_cam", model="m")
    for changed in ({"model": "m2"}, {"kind": "ablation_cam"}, {"image": "e"},
                    {"params": {"layer": "b3", "max_channels": 16}}):
        parts = {"model": "m", "kind": "score_cam", "image": "d", "params": {"layer": "b3", "max_channels": None},
                 **changed}
        assert ResultStore.key(**parts) != base, changed
    assert canonical((1, np.int64(2), np.float32(0.5))) == [1, 2, 0.5]
    with pytest.raises(TypeError, match="function has no stable description"):
        canonical(lambda scores: scores[:, 0])


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "other format"])
def test_a_corrupt_entry_is_logged_removed_and_computed_again(tmp_path, caplog, damage):
    store = ResultStore(tmp_path)
    key = store.key(kind="x", index=damage)
    store.put(key, {"result": np.ones((32, 32), np.float32)})
    path = store.path(key)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00not a zip file" * 20)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        write_npz(path, {"result": np.zeros(3)}, {"format_note": "x"})
        import json
        import zipfile

        with zipfile.ZipFile(path, "w") as z:      # a meta block of another format
            with z.open("__meta__.npy", "w") as f:
                np.save(f, np.array(json.dumps({"format": "cnnviz-store/0"})))
            with z.open("result.npy", "w") as f:
                np.save(f, np.zeros(3))
    with caplog.at_level(logging.WARNING, logger="cnnviz_widgets"):
        assert store.get(key) is None
    assert "ignoring the corrupt store entry" in caplog.text and str(path) in caplog.text
    assert not path.exists() and store.corrupt == 1
    again = store.get_or_compute(key, lambda: {"result": np.full((32, 32), 2.0, np.float32)})
    assert again["result"][0, 0] == 2.0 and store.get(key)["result"][5, 5] == 2.0


def test_the_least_recently_used_entries_go_first_when_the_limit_is_passed(tmp_path):
    one = np.zeros(25_000, np.uint8)                          # about 25 kB per entry
    store = ResultStore(tmp_path, max_bytes=80_000)
    keys = [store.key(index=i) for i in range(3)]
    for age, key in zip((300, 200, 100), keys, strict=True):   # written 300, 200 and 100 s ago
        store.put(key, {"result": one})
        os.utime(store.path(key), (1e9 - age, 1e9 - age))
    assert store.get(keys[0]) is not None                      # reading it makes it the most recent
    store.put(store.key(index=3), {"result": one})             # the fourth passes the limit
    assert store.size_bytes() <= 80_000
    assert store.get(keys[1]) is None                          # the oldest unread one went
    assert all(store.get(k) is not None for k in (keys[0], keys[2], store.key(index=3)))


def test_bad_arguments_are_refused_with_what_was_received(tmp_path):
    with pytest.raises(ArgumentError, match="max_bytes must be a positive int; got 0"):
        ResultStore(tmp_path, max_bytes=0)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArgumentError, match="is a file, not a folder"):
        ResultStore(tmp_path / "file")


def test_a_read_only_store_still_serves_and_does_not_crash_on_writes(tmp_path, caplog, monkeypatch):
    """A course folder shipped read-only: reads work (the last-use time cannot be updated), a
    write logs a warning and the result is still returned."""
    import cnnviz_widgets.store as store_module

    store = ResultStore(tmp_path)
    key = store.key(index=0)
    store.put(key, {"result": np.ones(4)})

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store_module.os, "utime", refuse)
    monkeypatch.setattr(store_module, "write_npz", refuse)
    assert store.get(key)["result"].sum() == 4
    with caplog.at_level(logging.WARNING, logger="cnnviz_widgets"):
        found = store.get_or_compute(store.key(index=1), lambda: {"result": np.full(4, 7.0)})
    assert found["result"][0] == 7.0 and "could not write to the store" in caplog.text
    assert store.get(store.key(index=1)) is None


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from cnnviz_widgets.store import ResultStore
    store = ResultStore(sys.argv[1])
    for round in range(4):
        for i in range(40):
            key = store.key(index=i)
            value = np.full(20_000, i, np.int32)            # the same bytes from either process
            store.put(key, {"result": value})
            found = store.get(key)
            assert found is not None and (found["result"] == i).all(), (i, found)
    print("ok", store.corrupt)
""")


def test_two_processes_writing_the_same_entries_at_once_lose_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outputs = [w.communicate(timeout=300) for w in writers]
    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err[-2000:]
        assert out.split() == ["ok", "0"]                        # never saw a half-written entry
    store = ResultStore(tmp_path)
    assert len(store) == 40
    for i in range(40):
        assert (store.get(store.key(index=i))["result"] == i).all()
    assert not list(tmp_path.rglob("*.tmp"))                     # no temporary file left behind


def test_the_model_fingerprint_follows_every_weight_and_the_architecture():
    from cnnviz_widgets.store import model_fingerprint
    from tests.conftest import sequential_with_input, tiny_functional

    a, b = tiny_functional(), tiny_functional()            # seeded: the same weights
    assert model_fingerprint(a) == model_fingerprint(b) and len(model_fingerprint(a)) == 40
    weights = b.get_weights()
    weights[3] = weights[3].copy()
    weights[3].flat[-1] += 1e-7                            # one value of one weight, barely
    b.set_weights(weights)
    assert model_fingerprint(b) != model_fingerprint(a)
    assert model_fingerprint(sequential_with_input()) != model_fingerprint(a)
