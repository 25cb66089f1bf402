"""The synthetic vibration generator: its physics shows where it should (defect lines at the machine's own
orders, shaft harmonics for imbalance and misalignment, a failing history), it is reproducible, and
machines differ so that a split by machine means something."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.data import assert_disjoint, split_recordings
from tinyml.dsp.spectrum import power_spectrum
from tinyml.paths import datasets_dir

RATE = 25600.0
N = 6400


@pytest.fixture(scope="module")
def gen():
    return load_module(datasets_dir() / "synthetic-vibration" / "dataset.py", "tinyml_datasets.synthetic_vibration_t")


@pytest.fixture(scope="module")
def recs(gen):
    return gen.generate(rate=RATE, channels=["accel"], seed=11, machines=4, captures=3, baseline_captures=6,
                        history_fraction=1.0, history_captures=12)


def _envelope_spectrum(x):
    """Envelope analysis: the most impulsive band, |.| low-passed by decimation, spectrum at 3200 Hz (3.125 Hz
    bins)."""
    from tinyml.dsp.kurtosis_band import band_filters, kurtosis_band

    bands = band_filters([[1000, 2500], [2500, 4500], [4500, 7500], [7500, 11500]], RATE, 2)
    y = kurtosis_band(x, bands)[0]
    env = np.abs(y).reshape(-1, 8).mean(1)
    return power_spectrum(env - env.mean(), "hann", 1024)


def _line(P, f, df=3.125, tol=0.03):
    k0, k1 = int(np.floor(f * (1 - tol) / df)), int(np.ceil(f * (1 + tol) / df))
    bg = np.median(P[1 : int(4 * f / df)])  # inner-race sidebands crowd a local background at low speeds
    return P[k0 : k1 + 1].max() / bg


def test_layout_and_machine_values(gen, recs):
    subjects = sorted({r.subject for r in recs})
    assert subjects == [f"sim-m{i:03d}" for i in range(4)]
    for s in subjects:
        mine = [r for r in recs if r.subject == s]
        assert {r.label for r in mine if r.activity == "captures"} == set(gen.LABELS)
        assert sum(r.activity == "baseline" for r in mine) == 1 and sum(r.activity == "history" for r in mine) == 1
        dep = {repr(r.deployment) for r in mine}
        assert len(dep) == 1  # one machine, one configuration
        m = mine[0].deployment["machine"]
        assert 12 <= m["shaft_hz"] <= 60 and m["bpfi"] > m["bpfo"] > 1 and 0.3 < m["ftf"] < 0.5
    for r in recs:
        assert r.rate == RATE and r.signal.dtype == np.float32 and r.signal.shape[0] % N == 0
        assert np.isfinite(r.signal).all()
    assert len({r.deployment["machine"]["shaft_hz"] for r in recs}) == 4  # machines differ


def test_reproducible(gen):
    a = gen.generate(rate=RATE, channels=["accel"], seed=5, machines=1, captures=1, baseline_captures=0,
                     history_captures=0)
    b = gen.generate(rate=RATE, channels=["accel"], seed=5, machines=1, captures=1, baseline_captures=0,
                     history_captures=0)
    c = gen.generate(rate=RATE, channels=["accel"], seed=6, machines=1, captures=1, baseline_captures=0,
                     history_captures=0)
    assert all(np.array_equal(x.signal, y.signal) for x, y in zip(a, b))
    assert not np.array_equal(a[0].signal, c[0].signal)


@pytest.mark.parametrize("kind, order", [("outer_race", "bpfo"), ("inner_race", "bpfi")])
def test_bearing_defects_show_at_their_orders(gen, kind, order):
    rng = np.random.default_rng(3)
    mach = gen.Machine(rng, RATE)
    m = mach.config()
    x = mach.capture(rng, N, kind, 0.9)
    h = mach.capture(rng, N, "normal", 0.0)
    f = m[order] * m["shaft_hz"] * (1 - mach.slip[0])
    faulty, healthy = _line(_envelope_spectrum(x), f, tol=0.05), _line(_envelope_spectrum(h), f, tol=0.05)
    assert faulty > 12 and faulty > 2 * healthy, (faulty, healthy)
    assert np.mean(((x - x.mean()) / x.std()) ** 4) > np.mean(((h - h.mean()) / h.std()) ** 4) + 1  # impulsive


def test_shaft_faults_show_at_shaft_harmonics(gen):
    rng = np.random.default_rng(4)
    mach = gen.Machine(rng, RATE)
    fr = mach.config()["shaft_hz"]
    df = RATE / 8192

    def amp(x, h):
        P = power_spectrum(x - x.mean(), "hann", 8192)
        k = int(round(h * fr * (1 - mach.slip[0]) / df))
        return np.sqrt(P[k - 4 : k + 5].max())

    normal = [mach.capture(rng, N, "normal", 0, load=1.0) for _ in range(4)]
    imb = [mach.capture(rng, N, "imbalance", 0.8, load=1.0) for _ in range(4)]
    mis = [mach.capture(rng, N, "misalignment", 0.8, load=1.0) for _ in range(4)]
    assert np.median([amp(x, 1) for x in imb]) > 4 * np.median([amp(x, 1) for x in normal])
    assert np.median([amp(x, 2) / amp(x, 1) for x in mis]) > 1.0  # 2x above 1x
    assert np.median([amp(x, 2) for x in mis]) > 3 * np.median([amp(x, 2) for x in normal])


def test_history_fails_at_its_end(recs):
    for r in (r for r in recs if r.activity == "history"):
        (t_on, lab), = r.events
        assert lab == r.label and lab in ("outer_race", "inner_race", "rolling_element")
        caps = r.signal[:, 0].reshape(-1, N)
        on = int(round(t_on * RATE / N))
        assert 0.5 * len(caps) <= on < len(caps)
        k = [np.mean(((c - c.mean()) / c.std()) ** 4) for c in caps]
        assert k[-1] > max(k[:on]) + 0.5  # the last capture, at failure, is clearly impulsive


def test_split_by_machine_never_leaks(recs):
    train, val, test = split_recordings(recs, test_fraction=0.25, val_fraction=0.25, seed=1)
    assert_disjoint(train, val, test)
    windows = [{(r.subject, i) for r in s for i in range(len(r.signal) // N)} for s in (train, val, test)]
    machines = [{s for s, _ in w} for w in windows]
    assert not (machines[0] & machines[2]) and not (machines[1] & machines[2]) and machines[2]


def test_healthy_machines_often_have_non_periodic_impacts(gen):
    """Real healthy rigs are impulsive with no bearing order to explain it (NASA IMS test 1): most generated
    machines carry sparse random impacts, some of them dense (tens a second) and well above the rolling noise."""
    machines = [gen.Machine(np.random.default_rng(seed), RATE) for seed in range(300)]
    ticks = [m.ticks for m in machines if m.ticks is not None]
    assert 0.5 <= len(ticks) / len(machines) <= 0.7
    assert max(rate for rate, _ in ticks) > 40 and max(amp for _, amp in ticks) > 10
    assert min(rate for rate, _ in ticks) >= 0.5 and min(amp for _, amp in ticks) >= 1.0
