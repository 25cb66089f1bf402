"""The generated-dataset cache (tinyml.data.cache): compact samples (int16 when exact), read lazily, every
sample back bit for bit, the old pickle format converted once."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tinyml.data import cache
from tinyml.recording import Recording


def _recs(rng, audio: bool):
    out = []
    for i in range(5):
        n = int(rng.integers(100, 400))
        if audio:  # 16-bit audio at the source: q / 32768
            x = (rng.integers(-32768, 32768, size=(n, 1)) / 32768).astype(np.float32)
        else:  # a float signal on no grid
            x = rng.normal(0, 1.3, size=(n, 1)).astype(np.float32)
        out.append(Recording(x, 16000.0, ("a",), subject=f"s{i % 2}", label="yes", activity="clip",
                             events=[(0.5 + i, "yes")], source=f"gen:{i}", split="train" if i == 4 else ""))
    return out


def test_grid_exponent_is_exact():
    assert cache.grid_exponent(np.array([0.5, -1.0, 0.25, 0], np.float32)) == 2
    assert cache.grid_exponent(np.array([-32768, 32767], np.float32) / np.float32(32768)) == 15
    assert cache.grid_exponent(np.array([3.0, -7.0], np.float32)) == 0
    assert cache.grid_exponent(np.array([40000.0], np.float32)) is None  # beyond int16
    assert cache.grid_exponent(np.array([0.1], np.float32)) is None  # 0.1 is on no short grid
    assert cache.grid_exponent(np.array([np.nan], np.float32)) is None
    assert cache.grid_exponent(np.zeros(4, np.float32)) == 0


@pytest.mark.parametrize("audio", [True, False])
def test_cache_round_trip_is_bit_exact_and_compact(tmp_path, audio):
    recs = _recs(np.random.default_rng(3), audio)
    folder = tmp_path / "gen-0123"
    cache.write_cache(folder, recs)
    stored = np.load(folder / cache.SAMPLES, mmap_mode="r")
    assert stored.dtype == (np.int16 if audio else np.float32)  # int16 only where it is exact
    assert stored.shape == (sum(len(r.signal) for r in recs), 1)
    back = cache.read_cache(folder)
    assert len(back) == len(recs)
    for a, b in zip(recs, back):
        assert b.signal.dtype == np.float32 and np.array_equal(a.signal, b.signal)
        if not audio:  # float32 is stored as it is: bit for bit
            assert np.array_equal(a.signal.view(np.int32), b.signal.view(np.int32))
        assert (b.rate, b.channels, b.subject, b.label, b.activity, b.source, b.split) == (
            a.rate, a.channels, a.subject, a.label, a.activity, a.source, a.split)
        assert b.events == a.events and isinstance(b.events[0], tuple)
        assert b.duration == a.duration


def test_cache_reads_samples_only_when_used(tmp_path, monkeypatch):
    cache.write_cache(tmp_path / "gen-1", _recs(np.random.default_rng(0), True))
    reads = []
    real = cache.CacheStore.read
    monkeypatch.setattr(cache.CacheStore, "read", lambda self, *a: reads.append(a) or real(self, *a))
    back = cache.read_cache(tmp_path / "gen-1")
    assert reads == [] and sum(r.duration for r in back) > 0  # loading and durations read no samples
    x = back[2].signal
    assert len(reads) == 1 and not x.flags.writeable  # the shared decoded copy cannot be changed by a user
    back[2].signal = x[::2].copy()  # assigning (a resampling) replaces it, as for any Recording
    assert back[2].signal.shape[0] == (len(x) + 1) // 2 and back[2].duration == back[2].signal.shape[0] / 16000


def test_old_pickle_is_converted_once(tmp_path):
    recs = _recs(np.random.default_rng(1), True)
    pkl = tmp_path / "gen-abcd.pkl"
    pkl.write_bytes(pickle.dumps(recs))
    folder = tmp_path / "gen-abcd"
    assert cache.migrate_pickle(pkl, folder) and not pkl.exists()
    back = cache.read_cache(folder)
    assert all(np.array_equal(a.signal, b.signal) for a, b in zip(recs, back))
    assert not cache.migrate_pickle(pkl, folder)


def test_missing_or_foreign_entry_reads_as_none(tmp_path):
    assert cache.read_cache(tmp_path / "nothing") is None
    cache.write_cache(tmp_path / "gen-2", _recs(np.random.default_rng(2), False))
    (tmp_path / "gen-2" / cache.INDEX).write_bytes(pickle.dumps({"format": -1, "recordings": []}))
    assert cache.read_cache(tmp_path / "gen-2") is None


def test_old_pickle_from_before_a_new_field_converts(tmp_path):
    """A pickle written before Recording gained a field (cohort, truth) unpickles without it: the field's
    default fills in."""
    r = Recording(np.zeros((4, 3), np.float32), 50.0, ("x", "y", "z"), subject="S1")
    del r.__dict__["cohort"], r.__dict__["truth"]
    pkl = tmp_path / "old.pkl"
    pkl.write_bytes(pickle.dumps([r]))
    assert cache.migrate_pickle(pkl, tmp_path / "new")
    (back,) = cache.read_cache(tmp_path / "new")
    assert back.subject == "S1" and back.cohort == "" and back.truth == {}
