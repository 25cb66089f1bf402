"""Time in a recording (issues 16 and 17): the unit of a time column (s, ms, µs, Unix times, ISO-8601
date-times) comes from its name or its step, with a notice when assumed; real sensors' timestamps
(jittered, repeated, out of order, missing) are resampled onto a steady grid with one notice, and only
a gap longer than [signal] max_gap_s is refused, naming its time. predict, run and the device link's
host side read them alike."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tinyml.apps import load_app
from tinyml.errors import TinymlError
from tinyml.fixtures import demo_path
from tinyml.predict import prepare, read_input
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording

from apptest import run_cli

FALL = "fall-detect"
CH = ("ax", "ay", "az")
SPEC = ReadSpec(CH, device_rate=50.0, accepted_rates=(20.0, 1000.0), max_gap_s=0.5)
T0 = datetime(2026, 12, 5, 14, 28, 8, tzinfo=timezone.utc)


def _write(path, header, times, values=None):
    values = np.tile([0.0, 0.0, 1.0], (len(times), 1)) if values is None else values
    path.write_text(f"{header},ax,ay,az\n" + "".join(
        f"{t}," + ",".join(f"{v:.9g}" for v in row) + "\n" for t, row in zip(times, values)))
    return path


N = 100
STEADY = [
    ("time", [f"{i * 0.02:.3f}" for i in range(N)], "read in seconds"),  # the case: seconds, not ms
    ("timestamp", [i * 20 for i in range(N)], None),  # Edge Impulse's convention: ms, silently
    ("timestamp", [f"{i * 0.02:.2f}" for i in range(N)], "'timestamp' read in seconds"),
    ("t", [i * 20 for i in range(N)], "'t' read in milliseconds"),
    ("time_ms", [i * 20 for i in range(N)], None),
    ("t_us", [i * 20000 for i in range(N)], None),
    ("micros", [123456 + i * 20000 for i in range(N)], None),
    ("Time (s)", [f"{i * 0.02:.2f}" for i in range(N)], None),
    ("timestamp", [1733400000000 + i * 20 for i in range(N)], None),  # Unix time in ms
    ("time", [f"{1733400000 + i * 0.02:.3f}" for i in range(N)], "read in seconds"),  # Unix time in s
    ("datetime", [(T0 + timedelta(milliseconds=20 * i)).isoformat() for i in range(N)], None),
    ("Date Time", [(T0 + timedelta(milliseconds=20 * i)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] for i in range(N)], None),
    ("time", [(T0 + timedelta(milliseconds=20 * i)).strftime("%H:%M:%S.%f")[:-3] for i in range(N)], None),
    ("date", [(T0 + timedelta(milliseconds=20 * i)).isoformat(sep=" ") for i in range(N)], None),
]


def test_a_date_column_gives_the_day_of_a_time_column_of_clock_times(tmp_path):
    t = [T0 + timedelta(hours=23, minutes=59, seconds=59) + timedelta(milliseconds=20 * i) for i in range(N)]
    p = tmp_path / "r.csv"  # crosses midnight: the date column tells the day
    p.write_text("date,time,ax,ay,az\n" + "".join(f"{x:%Y-%m-%d},{x:%H:%M:%S.%f},0,0,1\n" for x in t))
    r = read_recording(p, SPEC)
    assert r.rate == 50.0 and len(r.signal) == N


@pytest.mark.parametrize("header, times, notice", STEADY, ids=[f"{h}-{i}" for i, (h, _, _) in enumerate(STEADY)])
def test_time_column_units(tmp_path, capsys, header, times, notice):
    r = read_recording(_write(tmp_path / "r.csv", header, times), SPEC)
    assert r.rate == 50.0 and r.signal.shape == (N, 3)
    err = capsys.readouterr().err
    assert (notice in err) if notice else err == "", err


def test_a_csv_whose_time_is_in_seconds_gives_the_fall(tmp_path):
    app = load_app(FALL)
    base = run_cli("predict", FALL, str(demo_path(app)), "--events-only")
    rec = read_input(app, demo_path(app))
    p = _write(tmp_path / "secs.csv", "time", [f"{i / rec.rate:.4f}" for i in range(len(rec.signal))], rec.signal)
    res = run_cli("predict", FALL, str(p), "--events-only")
    assert res.returncode == 0 and res.stdout == base.stdout and '"fall"' in res.stdout, res.stderr


def test_an_implausible_time_says_how_it_was_read(tmp_path):
    p = _write(tmp_path / "slow.csv", "timestamp", [i * 1000 for i in range(N)])  # 1 Hz in ms
    with pytest.raises(TinymlError, match=r"sample rate 1 Hz \(time column 'timestamp' in milliseconds.*\) not supported"):
        read_recording(p, SPEC)


def _smooth(t):
    return np.stack([np.sin(2 * np.pi * 0.5 * t), np.cos(2 * np.pi * 0.3 * t), 1 + 0.1 * t], axis=1)


ANY_RATE = ReadSpec(CH, accepted_rates=(1.0, 2000.0))


def _written_at(t: np.ndarray, decimals: int, how: str) -> list[str]:
    """Times in seconds as a logger writes them to `decimals` places: rounded, or cut off (truncated)."""
    scaled = t * 10.0 ** decimals
    whole = np.round(scaled) if how == "rounded" else np.floor(scaled + 1e-6)
    return [f"{x / 10.0 ** decimals:.{decimals}f}" for x in whole]


@pytest.mark.parametrize("how", ["rounded", "truncated"])
@pytest.mark.parametrize("rate,decimals", [(360, 3), (400, 3), (512, 3), (800, 3), (900, 3), (40, 2), (80, 2),
                                           (85, 2)])
def test_times_written_to_a_coarse_resolution_give_the_clocks_rate(tmp_path, capsys, rate, decimals, how):
    # a step that is no whole number of the resolution (2.5 ms in ms: steps of 2 and 3 ms; 1.25 ms: 1 and 2 ms)
    # was read as the median step's rate (500 Hz, 1000 Hz with 500 missing samples) or refused as jitter
    t = np.arange(2000) / rate
    rec = read_recording(_write(tmp_path / "r.csv", "time_s", _written_at(t, decimals, how), _smooth(t)), ANY_RATE)
    assert rec.rate == rate
    assert "irregular" not in capsys.readouterr().err
    assert np.allclose(rec.signal, _smooth(t), atol=1e-6)  # the rows kept as they are


@pytest.mark.parametrize("how", ["rounded", "truncated"])
@pytest.mark.parametrize("rate,lost,said", [(360, [1000], "1 missing sample,"),
                                            (800, range(1000, 1005), "5 missing samples")])
def test_lost_samples_between_times_written_to_the_millisecond_are_still_said(tmp_path, capsys, rate, lost, said,
                                                                              how):
    t = np.delete(np.arange(3000) / rate, list(lost))
    rec = read_recording(_write(tmp_path / "r.csv", "time_s", _written_at(t, 3, how), _smooth(t)), ANY_RATE)
    assert rec.rate == rate and len(rec.signal) in (2999, 3000)  # a last time cut off ends the grid a step early
    err = capsys.readouterr().err
    assert f"irregular time column (step {1000 / rate:.3g} ms, {rate} Hz; {said}" in err, err  # not the median
    assert "jitter" not in err


def test_a_jittered_ble_tag_at_20_hz_is_resampled_with_one_notice(tmp_path, capsys):
    rng = np.random.default_rng(7)
    steps = 0.049 + rng.uniform(-0.012, 0.012, 400)  # a waist BLE tag: median step 49 ms
    t = np.concatenate([[0.0], np.cumsum(steps)])
    dropped = [50, 51, 200, 333]  # lost packets
    t = np.delete(t, dropped)
    p = _write(tmp_path / "ble.csv", "timestamp", [f"{x * 1000:.0f}" for x in t], _smooth(t))
    r = read_recording(p, SPEC)
    err = capsys.readouterr().err
    assert err.count("notice:") == 1 and "irregular time column (median step 49" in err, err
    assert "4 missing samples" in err and "jitter" in err
    assert r.rate == pytest.approx(1 / 0.049, rel=0.01)
    grid = np.arange(len(r.signal)) / r.rate
    assert np.abs(r.signal - _smooth(grid)).max() < 0.03  # linear interpolation (0.027 over the 147 ms hole)


@pytest.mark.parametrize("batch, still", [((1, 4), False), ((2, 3), False), ((1, 4), True)])
def test_rows_stamped_in_bursts_are_evenly_spaced_samples(tmp_path, capsys, batch, still):
    # a smartwatch app (SmartFallMM's) writes the time each batch of samples was delivered: 1-5 samples a few
    # ms apart, then 40 ms or more; read at the median step, 333 Hz with thousands of "missing samples" (or,
    # averaging repeated times, 28 Hz with samples merged), the samples were squeezed and smeared
    rng = np.random.default_rng(3)
    rate, n = 45.0, 540  # 12 s
    sizes = rng.integers(batch[0], batch[1] + 1, n)
    t, k, arrival = [], 0, 0.0
    for size in sizes:
        if k >= n:
            break
        size = min(int(size), n - k)
        arrival = max(arrival + 0.001, (k + size) / rate + rng.uniform(0.0, 0.004))
        t += list(np.round(arrival + np.cumsum(rng.integers(0, 3, size)) * 0.001, 3))  # 0-2 ms apart
        k += size
    truth = _smooth(np.arange(n) / rate)
    if still:  # a watch lying still: equal rows within a batch are each a sample, not one written twice
        truth = np.tile([0.0, 0.0, 1.0], (n, 1))
    p = _write(tmp_path / "watch.csv", "timestamp", [f"{x * 1000:.0f}" for x in t], truth)
    r = read_recording(p, SPEC)
    err = capsys.readouterr().err
    assert "time column in bursts" in err and "missing" not in err and "averaged" not in err, err
    assert r.rate == pytest.approx(rate, rel=0.02)
    assert np.abs(r.signal - truth[: len(r.signal)]).max() < 0.05  # each row a sample, in its place


def test_a_lossy_link_is_not_bursts(tmp_path, capsys):
    # a 50 Hz link that lost a third of its samples: its shortest steps are its own, 20 ms: missing, not bursts
    rng = np.random.default_rng(5)
    t = np.sort(rng.choice(np.arange(1000) * 0.02, 670, replace=False))
    p = _write(tmp_path / "lossy.csv", "timestamp", [f"{x * 1000:.0f}" for x in t], _smooth(t))
    r = read_recording(p, SPEC)
    err = capsys.readouterr().err
    assert r.rate == pytest.approx(50.0) and "bursts" not in err and "missing samples" in err, err


def test_every_row_written_twice_is_one_sample_not_a_burst(tmp_path, capsys):
    # a logger that writes each row twice (the same time and values): half the steps are 0, which a burst check
    # alone reads as batches of two samples, at twice the rate
    t = np.repeat(np.arange(N) * 0.02, 2)
    p = _write(tmp_path / "twice.csv", "time_s", [f"{x:.3f}" for x in t], _smooth(t))
    r = read_recording(p, SPEC)
    err = capsys.readouterr().err
    assert r.rate == 50.0 and len(r.signal) == N and "bursts" not in err, err
    np.testing.assert_allclose(r.signal, _smooth(np.arange(N) * 0.02), atol=1e-6)
    assert f"{N} repeated times, averaged" in err


def test_repeated_and_out_of_order_rows_are_sorted_and_averaged(tmp_path, capsys):
    t = np.arange(N) * 0.02
    rows = list(zip(t, _smooth(t)))
    rows[10], rows[11] = rows[11], rows[10]
    rows.insert(40, (t[40], _smooth(t[40:41])[0] + 0.5))  # the same time again, another value
    p = _write(tmp_path / "r.csv", "time_s", [f"{x:.3f}" for x, _ in rows], np.array([v for _, v in rows]))
    r = read_recording(p, SPEC)
    assert r.rate == 50.0 and len(r.signal) == N
    want = _smooth(t)
    want[40] += 0.25
    np.testing.assert_allclose(r.signal, want, atol=1e-6)
    err = capsys.readouterr().err
    assert "1 row out of order, sorted" in err and "1 repeated time, averaged" in err


def test_a_gap_longer_than_max_gap_is_refused_with_its_time(tmp_path):
    t = np.concatenate([np.arange(150) * 0.02, 3.0 + 2.0 + np.arange(100) * 0.02])  # 2 s without data after 2.98 s
    times = [(T0 + timedelta(seconds=float(x))).isoformat() for x in t]
    with pytest.raises(TinymlError) as e:
        read_recording(_write(tmp_path / "gap.csv", "datetime", times), SPEC)
    msg = str(e.value)
    assert "a gap of 2.02 s in the time column after t = 2.980 s (2026-12-05T14:28:10.980+00:00)" in msg
    assert "max_gap_s" in msg and "\n" not in msg


def test_edge_impulse_json_without_a_steady_interval(tmp_path, capsys):
    rng = np.random.default_rng(3)
    t = np.cumsum(0.02 + rng.uniform(-0.004, 0.004, 300))
    rows = [[round(x * 1000, 1), *v] for x, v in zip(t, _smooth(t))]
    doc = {"payload": {"device_type": "PHONE", "interval_ms": 0,
                       "sensors": [{"name": "timestamp", "units": "ms"}] + [{"name": c, "units": "g"} for c in CH],
                       "values": rows}}
    p = tmp_path / "phone.json"
    p.write_text(json.dumps(doc))
    r = read_recording(p, SPEC)
    assert r.rate == 50.0 and "irregular time column" in capsys.readouterr().err
    assert np.abs(r.signal - _smooth(t[0] + np.arange(len(r.signal)) / 50.0)).max() < 0.01
    doc["payload"]["sensors"][0]["name"] = "counter"
    p.write_text(json.dumps(doc))
    with pytest.raises(TinymlError, match="interval_ms must be a step in ms above 0, got 0, and no sensor axis gives time"):
        read_recording(p, ReadSpec(("counter", *CH)))


@pytest.fixture(scope="module")
def jittered_demo(tmp_path_factory):
    """The fall-detect demo as a phone logs it: jittered, a few samples lost, two rows swapped, rows repeated."""
    app = load_app(FALL)
    rec = read_input(app, demo_path(app))
    n = len(rec.signal)
    rng = np.random.default_rng(0)
    t = np.arange(n) * 20.0 + rng.normal(0, 3, n)
    keep = np.sort(np.setdiff1d(np.arange(n), rng.choice(n, n // 50, replace=False)))
    order = list(keep) + list(keep[100:105])
    order[200], order[201] = order[201], order[200]
    p = tmp_path_factory.mktemp("jit") / "phone.csv"
    _write(p, "timestamp", [f"{t[i]:.3f}" for i in order], rec.signal[order])
    return app, p


def test_predict_and_the_device_host_side_take_jittered_timestamps(jittered_demo):
    from tinyml.device.commands import _signal_for

    app, p = jittered_demo
    base = run_cli("predict", FALL, str(demo_path(app)), "--events-only")
    res = run_cli("predict", FALL, str(p), "--events-only")
    assert res.returncode == 0 and res.stdout == base.stdout and '"fall"' in res.stdout, res.stderr
    assert res.stderr.count("notice:") == 1 and "irregular time column" in res.stderr
    np.testing.assert_array_equal(_signal_for(app, str(p), None)[0], prepare(app, read_input(app, p), notice=False))


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc for the host board")
def test_run_on_the_host_board_takes_jittered_timestamps(jittered_demo):
    app, p = jittered_demo
    py = run_cli("predict", FALL, str(p), "--events-only")
    dev = run_cli("run", FALL, "--board", "host", "--input", str(p), "--events-only")
    assert dev.returncode == 0, dev.stderr
    assert dev.stdout == py.stdout and '"fall"' in dev.stdout


def test_an_empty_time_cell_is_named_by_its_line_in_the_file(tmp_path):
    times = [f"{i * 0.02:.3f}" for i in range(N)]
    times[40] = ""
    p = _write(tmp_path / "hole.csv", "time_s", times)
    with pytest.raises(TinymlError) as e:
        read_recording(p, SPEC)
    msg = str(e.value)
    # the heading is line 1: the 41st row of data is line 42
    assert "\n" not in msg and "line 42: the time cell (column 'time_s') is empty" in msg and "'0.000'" not in msg


def _headless_slashed(path, start: datetime, layout: str, n: int = 1000, rate: float = 50.0):
    """A logger's headless table: a slashed date-time (`layout`), x, y, z in g; a slow sway on x."""
    t = np.arange(n) / rate
    g = np.stack([0.1 * np.sin(2 * np.pi * 0.5 * t), 0.02 + 0 * t, 0.98 + 0 * t], 1)
    path.write_text("".join(f"{(start + timedelta(seconds=float(s))).strftime(layout)[:-3]},{x:.4f},{y:.4f},{z:.4f}\n"
                            for s, (x, y, z) in zip(t, g)))
    return g


@pytest.mark.parametrize("layout", ["%d/%m/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S.%f"])
def test_a_headless_table_with_slashed_date_times_takes_them_for_the_time(tmp_path, capsys, layout):
    """`13/04/2021 23:59:50.000` (day first) or `04/13/2021 ...` (month first): the field above 12 tells which;
    the table's first row is data, its time from the dates, across midnight."""
    p = tmp_path / "log.csv"
    g = _headless_slashed(p, datetime(2021, 4, 13, 23, 59, 50), layout)
    rec = read_recording(p, ReadSpec.from_manifest(load_app(FALL).manifest))
    assert rec.rate == 50 and len(rec.signal) == 1000 and np.allclose(rec.signal, g, atol=1e-4)
    assert "no heading row: columns 2, 3, 4 read as ax, ay, az" in capsys.readouterr().err


def test_slashed_dates_no_field_above_12_tells_one_date_read_day_first_several_refused(tmp_path, capsys):
    """`03/04/2021 00:00:00` throughout (a morning's log): day/month or month/day gives the same times, read day
    first with a notice; over several such dates the order would move days by months: refused, one line."""
    spec = ReadSpec.from_manifest(load_app(FALL).manifest)
    p = tmp_path / "log.csv"
    g = _headless_slashed(p, datetime(2021, 4, 3, 9, 0, 0), "%d/%m/%Y %H:%M:%S.%f")
    rec = read_recording(p, spec)
    assert rec.rate == 50 and np.allclose(rec.signal, g, atol=1e-4)
    err = capsys.readouterr().err
    assert ("time column 'time': the date '03/04/2021' may be day/month or month/day: read as day/month/year "
            "(one date throughout: the times are the same either way)") in err and err.count("day/month/year") == 1
    _headless_slashed(p, datetime(2021, 4, 3, 23, 59, 50), "%d/%m/%Y %H:%M:%S.%f")  # into 04/04
    with pytest.raises(TinymlError, match=r"log.csv: time column 'time': dates like '03/04/2021 23:59:50.000' may be "
                                          r"day/month or month/day and no day above 12 tells which"):
        read_recording(p, spec)
