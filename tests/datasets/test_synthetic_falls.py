"""The synthetic fall generator: contract, determinism and physics sanity (kept small and fast)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.errors import TinymlError
from tinyml.paths import datasets_dir
from tinyml.recording import Recording

CH = ["ax", "ay", "az"]


@pytest.fixture(scope="module")
def gen():
    return load_module(datasets_dir() / "synthetic-falls" / "dataset.py", "tinyml_datasets.synthetic_falls")


@pytest.fixture(scope="module")
def hi(gen):
    """200 Hz, every activity once for three subjects, no streams: for the physics checks."""
    return gen.generate(rate=200, channels=CH, seed=3, subjects=3, trials_per_activity=1, stream_hours=0, workers=1)


@pytest.fixture(scope="module")
def smoke(gen):
    """The smoke configuration at the device rate (50 Hz)."""
    return gen.generate(rate=50, channels=CH, seed=0, subjects=6, trials_per_activity=1, stream_hours=0.5, workers=2)


def _mag(r: Recording) -> np.ndarray:
    return np.linalg.norm(r.signal.astype(np.float64), axis=1)


def _impact(r: Recording) -> int:
    return int(round(r.events[0][0] * r.rate))


def test_contract_shapes_rates_labels(gen, smoke):
    codes = set(gen.ADL_CODES + gen.FALL_CODES)
    subjects = sorted({r.subject for r in smoke})
    assert subjects == [f"syn-S{i:02d}" for i in range(1, 7)]
    for r in smoke:
        assert isinstance(r, Recording)
        assert r.signal.dtype == np.float32 and r.signal.ndim == 2 and r.signal.shape[1] == 3
        assert r.rate == 50 and r.channels == tuple(CH)
        assert np.all(np.isfinite(r.signal)) and np.abs(r.signal).max() <= 16.0
        if r.activity == "stream":
            assert r.label == "adl" and r.events == []
        else:
            assert r.activity in codes
            assert r.label == ("fall" if r.activity.startswith("F") else "adl")
            if r.label == "fall":
                assert len(r.events) == 1 and r.events[0][1] == "fall"
                assert 1.0 < r.events[0][0] < r.duration - 3.0
            else:
                assert r.events == []
        assert r.subject in r.source and r.activity in r.source
    for s in subjects:
        assert {r.activity for r in smoke if r.subject == s} == codes | {"stream"}


def test_streams_have_the_requested_length(smoke):
    streams = [r for r in smoke if r.activity == "stream"]
    assert len({r.subject for r in streams}) == 6
    assert sum(r.duration for r in streams) == pytest.approx(0.5 * 3600, abs=1.0)


def test_long_streams_are_cut_into_pieces(gen):
    recs = gen.generate(rate=25, channels=CH, seed=1, subjects=1, trials_per_activity=0, stream_hours=1.0,
                        stream_minutes=(10.0, 20.0), workers=1)
    assert all(r.activity == "stream" for r in recs) and len(recs) == 3
    assert sum(r.duration for r in recs) == pytest.approx(3600, abs=1.0)
    assert all(r.duration <= 20 * 60 + 1 for r in recs)


def test_deterministic_from_seed_and_independent_of_workers(gen):
    kw = dict(rate=50, channels=CH, subjects=3, trials_per_activity=1, stream_hours=0.05, activities=["F01", "D19"])
    a = gen.generate(seed=7, workers=1, **kw)
    b = gen.generate(seed=7, workers=2, **kw)
    c = gen.generate(seed=8, workers=1, **kw)
    assert [r.source for r in a] == [r.source for r in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.signal, y.signal)
        assert x.events == y.events
    assert any(x.signal.shape != z.signal.shape or not np.array_equal(x.signal, z.signal) for x, z in zip(a, c))


def test_subjects_differ(gen, hi):
    cfg = dict(elderly_fraction=0.4, orientation="random")
    rngs = [np.random.default_rng(np.random.SeedSequence([3, i]).spawn(3)[0]) for i in range(3)]
    subs = [gen.make_subject(rng, i, cfg) for i, rng in enumerate(rngs)]
    assert len({round(s.cadence, 3) for s in subs}) == 3
    assert len({round(float(s.mount[0, 0]), 3) for s in subs}) == 3
    # ... and it shows in the data: gravity sits differently, and walking has a different rhythm
    walks = {r.subject: r for r in hi if r.activity == "D01"}
    grav = [w.signal[: int(0.5 * w.rate)].mean(0) for w in walks.values()]
    assert max(np.linalg.norm(grav[i] - grav[j]) for i in range(3) for j in range(i)) > 0.2
    peaks = []
    for w in walks.values():
        m = _mag(w)[int(5 * w.rate) : int(35 * w.rate)]
        spec = np.abs(np.fft.rfft(m - m.mean()))
        f = np.fft.rfftfreq(len(m), 1 / w.rate)
        band = (f > 1.0) & (f < 3.0)
        peaks.append(f[band][np.argmax(spec[band])])
    assert all(1.2 < p < 2.5 for p in peaks)  # step frequency
    assert max(peaks) - min(peaks) > 0.02


def test_rest_reads_one_g(hi):
    for r in hi:
        if r.activity in ("D07", "D12", "D14", "D16"):
            still = _mag(r)[: int(0.6 * r.rate)]
            assert abs(float(np.median(still)) - 1.0) < 0.08, r.source


def test_falls_free_fall_impact_orientation_inactivity(gen, hi):
    falls = [r for r in hi if r.label == "fall"]
    assert len(falls) == 3 * 15
    for r in falls:
        m, R, i = _mag(r), r.rate, _impact(r)
        syncope = r.activity in gen.SYNCOPE_CODES
        before = m[max(0, i - int(R)) : i]
        assert before.min() < (0.85 if syncope else 0.6), (r.source, before.min())
        if syncope:
            assert 1.3 < m[i] < 3.2, (r.source, m[i])
        else:
            assert m[i] > 2.0, (r.source, m[i])
        assert m[i] == pytest.approx(m[max(0, i - int(0.2 * R)) : i + int(0.2 * R)].max())
        # the body ends somewhere else: gravity moved to another axis
        pre = r.signal[max(0, i - int(4 * R)) : i - int(2.5 * R)].mean(0)
        post = r.signal[i + int(2 * R) : i + int(4 * R)].mean(0)
        cos = float(pre @ post / np.linalg.norm(pre) / np.linalg.norm(post))
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))) > 30, r.source
        # lying nearly still afterwards, at 1 g
        after = m[i + int(2 * R) : i + int(4 * R)]
        assert abs(float(np.median(after)) - 1.0) < 0.1 and after.std() < 0.08, r.source


def test_jumps_are_hard_negatives(hi):
    for r in hi:
        if r.activity in ("D19", "D21", "D22"):
            m = _mag(r)
            assert r.label == "adl"
            assert m.min() < 0.35, (r.source, m.min())  # flight: near 0 g
            assert m.max() > (2.0 if r.activity == "D19" else 3.0), (r.source, m.max())  # landing
            # and no lasting orientation change: standing at the start and at the end
            a, b = r.signal[: int(0.5 * r.rate)].mean(0), r.signal[-int(0.5 * r.rate) :].mean(0)
            assert np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))) < 30


def test_sitting_hard_is_an_impact_without_free_fall_or_lying(hi):
    for r in hi:
        if r.activity == "D10":
            m = _mag(r)
            assert 1.8 < m.max() < 4.5 and m.min() > 0.15


def test_options_are_checked(gen):
    with pytest.raises(TinymlError, match="3 accelerometer channels"):
        gen.generate(rate=50, channels=["ax", "ay"], seed=0, subjects=1, trials_per_activity=0, stream_hours=0)
    with pytest.raises(TinymlError, match="unknown activity"):
        gen.generate(rate=50, channels=CH, seed=0, subjects=1, activities=["X99"])
    with pytest.raises(TinymlError, match="orientation"):
        gen.generate(rate=50, channels=CH, seed=0, subjects=1, orientation="sideways")


def test_progress_bar(gen, capsys):
    gen.generate(rate=50, channels=CH, seed=0, progress=True, subjects=1, trials_per_activity=1,
                 stream_hours=0, activities=["D07"], workers=1)
    assert "synthetic-falls" in capsys.readouterr().err


def test_sisfall_mounting_puts_gravity_on_minus_y(gen):
    recs = gen.generate(rate=50, channels=CH, seed=0, subjects=4, trials_per_activity=1, stream_hours=0,
                        activities=["D07"], orientation="sisfall", workers=1)
    for r in recs:
        g = r.signal[: int(0.5 * r.rate)].mean(0)
        assert g[1] < -0.85 and abs(g[0]) < 0.4 and abs(g[2]) < 0.4, (r.source, g)
