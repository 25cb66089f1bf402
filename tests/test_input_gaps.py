"""Recordings with long gaps and missing values, as predict and run score them: a gap in the time column
longer than [signal] max_gap_s cuts the recording into segments, each scored on its own from a fresh start
(as a device powered off over the gap), its lines in the file's time base; a segment shorter than one
window is skipped; one notice says so. With a time column, an empty or NaN cell in a required channel is
a missing sample (left out, the gap interpolated); without one it is refused, naming the sample; +-inf is
refused. Training's reader (read_recording) keeps refusing both."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tinyml.apps import load_app
from tinyml.errors import TinymlError
from tinyml.fixtures import demo_path
from tinyml.predict import predict_file, read_input_parts
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording

from apptest import run_cli


def _rows(path):
    lines = path.read_text().splitlines()
    return lines[0], lines[1:]


def _write(path, header, rows):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def _cut(app_id, tmp_path, short, long1, b, long2, c_end):
    """The app's demo (timestamp in ms) with a short gap (rows `short` left out, interpolated), a long gap
    (rows long1), a segment B (rows b, shorter than one window), a second long gap (rows long2) and segment C
    (to row c_end); and segment C alone in its own file, its times as they are."""
    header, rows = _rows(demo_path(load_app(app_id)))
    drop = set(short) | set(long1) | set(long2)
    keep = [r for i, r in enumerate(rows[:c_end]) if i not in drop]
    whole = _write(tmp_path / "gaps.csv", header, keep)
    alone = _write(tmp_path / "c.csv", header, rows[long2.stop:c_end])
    return whole, alone, float(rows[long2.stop].split(",")[0]) / 1000.0  # C's start in the file, s


CASES = {
    # soil-monitoring: 15 min samples, max_gap_s 6 h, a window of 20.5 h: a 2 h gap interpolated, 10 h and
    # 24 h gaps cut, B (10 h) skipped
    "soil-monitoring": dict(short=range(300, 307), long1=range(1200, 1240), b=range(1240, 1280),
                            long2=range(1280, 1376), c_end=2600),
    # fall-detect: 50 Hz, max_gap_s 0.5 s, a window of 4 s: a 0.2 s gap interpolated, two 1 s gaps cut,
    # B (2 s) skipped; C (from 24 s) holds the demo's fall (33.4 s)
    "fall-detect": dict(short=range(500, 510), long1=range(1000, 1050), b=range(1050, 1150),
                        long2=range(1150, 1200), c_end=3961),
}


@pytest.mark.parametrize("which", sorted(CASES))
def test_long_gaps_cut_the_recording_into_segments_scored_fresh_in_the_file_time_base(which, tmp_path, capsys):
    app = load_app(which)
    whole, alone, c0 = _cut(which, tmp_path, **CASES[which])
    got = list(predict_file(app, whole))
    err = capsys.readouterr().err
    assert "cut at 2 gaps longer than" in err and "3 segments" in err and "1 shorter than one window" in err, err
    assert "refused" not in err and err.count("cut at") == 1
    ts = [line["t"] for line in got]
    assert ts == sorted(ts)
    # segment C scored on its own (a fresh post-processor and window history) = C's own file, its times moved
    # to where C lies in the file (not restarted at 0)
    c = [line for line in got if line["t"] > c0]
    ref = list(predict_file(app, alone))
    capsys.readouterr()
    assert len(c) == len(ref) > 0
    for a, b in zip(c, ref):
        assert a["t"] == pytest.approx(b["t"] + c0, abs=1e-3)
        assert {k: v for k, v in a.items() if k != "t"} == {k: v for k, v in b.items() if k != "t"}
    # segment A: before the first long gap, from the file's first sample; B (shorter than a window): no lines
    b_start = CASES[which]["b"].start * (900.0 if which == "soil-monitoring" else 0.02)
    assert all(line["t"] <= b_start for line in got if line["t"] <= c0)
    assert ts[0] == pytest.approx(int(app.manifest.features["window"]) / app.manifest.rate, abs=1e-3)


def test_the_cli_prints_one_cut_notice_and_every_segment_lines(tmp_path):
    whole, _, c0 = _cut("fall-detect", tmp_path, **CASES["fall-detect"])
    res = run_cli("predict", "fall-detect", str(whole), "--events-only")
    assert res.returncode == 0, res.stderr
    events = [json.loads(x) for x in res.stdout.splitlines()]
    assert events and all(e["t"] > c0 for e in events if e["event"] == "fall")
    assert res.stderr.count("notice:") == 2, res.stderr  # the interpolated short gap, and the cut
    assert "cut at 2 gaps longer than 500 ms ([signal] max_gap_s; the longest 1.02 s): 3 segments" in res.stderr


def test_every_segment_shorter_than_a_window_is_refused_in_one_line(tmp_path):
    header, rows = _rows(demo_path(load_app("fall-detect")))
    p = _write(tmp_path / "bits.csv", header, rows[:100] + rows[200:300])
    res = run_cli("predict", "fall-detect", str(p))
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip().count("\n") == 0 and "every one of its 2 segments is shorter than one window" in res.stderr


def test_training_reads_keep_refusing_a_long_gap(tmp_path):
    whole, _, _ = _cut("fall-detect", tmp_path, **CASES["fall-detect"])
    with pytest.raises(TinymlError, match="a gap of 1.02 s in the time column after t = 19.980 s"):
        read_recording(whole, ReadSpec.from_manifest(load_app("fall-detect").manifest))


def test_an_ismn_file_with_a_day_missing_is_scored_in_two_segments(tmp_path, capsys):
    app = load_app("soil-monitoring")
    p = tmp_path / "DEMO_DEMO_Gap_sm_0.050000_0.050000_S_20200101_20200110.stm"
    rows = ["DEMO DEMO Gap 47.6 7.6 300.0 0.05 0.05 S"]
    for h in range(24 * 6):
        if 48 <= h < 72:  # a day the logger did not deliver (-9999, flag M) : cut
            rows.append(f"2020/01/{1 + h // 24:02d} {h % 24:02d}:00 -9999.0 M M")
        elif h != 10:  # one hour left out: interpolated
            rows.append(f"2020/01/{1 + h // 24:02d} {h % 24:02d}:00 {0.25 + 0.01 * np.sin(h / 5):.4f} G M")
    p.write_text("\n".join(rows) + "\n")
    got = list(predict_file(app, p))
    err = capsys.readouterr().err
    assert "cut at 1 gap longer than 6 h ([signal] max_gap_s; the longest 25 h): 2 segments" in err, err
    ts = [line["t"] for line in got]
    assert ts == sorted(ts) and ts[0] == pytest.approx(20.5 * 3600)
    second = [t for t in ts if t > 48 * 3600]  # the second segment's first window ends 20.5 h after 72 h
    assert second and second[0] == pytest.approx((72 + 20.5) * 3600)


# ---- missing values in a required channel ----


def test_an_empty_cell_in_a_required_channel_is_a_missing_sample_with_a_time_column(tmp_path, capsys):
    app = load_app("soil-monitoring")
    header, rows = _rows(demo_path(app))
    rows = [r for r in rows[:400]]
    base = _write(tmp_path / "base.csv", header, [r for i, r in enumerate(rows) if i != 300])
    cells = rows[300].split(",")
    rows[300] = ",".join([cells[0], "", *cells[2:]])
    holed = _write(tmp_path / "holed.csv", header, rows)
    ref = list(predict_file(app, base))
    capsys.readouterr()
    got = list(predict_file(app, holed))
    err = capsys.readouterr().err
    assert got == ref  # the empty cell is the same as the row left out
    assert "1 sample with no value (empty or NaN) in 'vwc', the first at t = 270000.000 s" in err, err
    assert read_input_parts(app, holed)[0][0].start_s == 0.0


def test_a_nan_row_in_fall_detect_is_interpolated_and_inf_is_refused(tmp_path):
    header, rows = _rows(demo_path(load_app("fall-detect")))
    rows = rows[:600]
    rows[300] = rows[300].split(",")[0] + ",NaN,NaN,NaN"
    res = run_cli("predict", "fall-detect", str(_write(tmp_path / "nan.csv", header, rows)))
    assert res.returncode == 0 and res.stdout.count('"scores"') > 0, res.stderr
    assert "1 sample with no value (empty or NaN) in 'ax', 'ay', 'az', the first at t = 6.000 s" in res.stderr
    rows[300] = rows[300].split(",")[0] + ",0.1,inf,1.0"
    res = run_cli("predict", "fall-detect", str(_write(tmp_path / "inf.csv", header, rows)))
    assert res.returncode == 2 and res.stdout == "" and res.stderr.count("\n") == 1
    assert "infinite value in channel 'ay' at sample 300 (an overflow, not a missing value)" in res.stderr


def test_nan_over_more_than_max_gap_cuts_the_recording(tmp_path, capsys):
    app = load_app("fall-detect")
    header, rows = _rows(demo_path(app))
    rows = [r if not 1000 <= i < 1100 else r.split(",")[0] + ",,," for i, r in enumerate(rows[:2400])]
    got = list(predict_file(app, _write(tmp_path / "holes.csv", header, rows)))
    err = capsys.readouterr().err
    assert "100 samples with no value" in err and "2 segments" in err and got, err


def test_nan_without_a_time_column_stays_refused_naming_the_sample(tmp_path):
    header, rows = _rows(demo_path(load_app("fall-detect")))
    rows = [",".join(r.split(",")[1:]) for r in rows[:600]]
    rows[300] = "0.1,,1.0"
    p = _write(tmp_path / "norate.csv", header.split(",", 1)[1], rows)
    res = run_cli("predict", "fall-detect", str(p), "--rate", "50")
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "non-finite value (NaN/inf, or empty) in channel 'ay' at sample 300" in res.stderr


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc for the host board")
def test_run_on_the_host_board_scores_the_segments_like_predict(tmp_path):
    whole, _, _ = _cut("fall-detect", tmp_path, **CASES["fall-detect"])
    py = run_cli("predict", "fall-detect", str(whole))
    dev = run_cli("run", "fall-detect", "--board", "host", "--input", str(whole))
    assert dev.returncode == 0, dev.stderr
    assert dev.stdout == py.stdout and '"fall"' in dev.stdout


def test_run_refuses_to_publish_a_cut_recording_as_one_mqtt_session(tmp_path):
    whole, _, _ = _cut("fall-detect", tmp_path, **CASES["fall-detect"])
    res = run_cli("run", "fall-detect", "--board", "host", "--input", str(whole), "--mqtt", "mqtt://localhost:1883")
    assert res.returncode == 2 and res.stdout == "" and res.stderr.count("\n") == 1, res.stderr
    assert "2 segments to score, cut at gaps longer than [signal] max_gap_s" in res.stderr  # B skipped


def test_a_gap_of_months_reads_in_days():
    from tinyml.regularize import duration_words

    assert [duration_words(s) for s in (3680 * 3600, 47 * 3600, 900)] == ["153 days", "47 h", "15 min"]


# ---- a gap far longer than the recording: one row a year late ----


def _epoch_ms(app_id, tmp_path, name, late_ms=None, drop=()):
    """The app's demo with epoch-ms timestamps (as a phone or a gateway logs them), rows `drop` left out,
    and (late_ms) one more row that long after the last: a clock error."""
    header, rows = _rows(demo_path(load_app(app_id)))
    t0 = 1_764_000_000_000
    out = [f"{t0 + round(float(r.split(',')[0]))},{r.split(',', 1)[1]}" for i, r in enumerate(rows) if i not in drop]
    if late_ms:
        out.append(f"{int(out[-1].split(',')[0]) + late_ms},{rows[-1].split(',', 1)[1]}")
    return _write(tmp_path / name, header, out)


def test_one_row_a_year_late_is_cut_off_in_bounded_memory_and_named_a_likely_clock_error(tmp_path, capsys):
    import time
    import tracemalloc

    app = load_app("fall-detect")
    late = _epoch_ms("fall-detect", tmp_path, "late.csv", late_ms=365 * 86_400_000)
    ref = list(predict_file(app, _epoch_ms("fall-detect", tmp_path, "clean.csv")))
    capsys.readouterr()
    tracemalloc.start()
    t = time.perf_counter()
    try:
        got = list(predict_file(app, late))  # it built a 50 Hz grid across the year: 11.7 GiB
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t < 30 and peak < 200e6, peak
    err = capsys.readouterr().err
    assert got == ref  # the late row: a segment of one sample, shorter than a window, skipped
    assert err.count("notice:") == 1, err
    assert ("cut at 1 gap longer than 500 ms ([signal] max_gap_s; the longest 365 days, over 100 times the 79.2 s "
            "the samples cover: a clock error in the time column?): 2 segments") in err, err
    assert "1 shorter than one window (4 s) skipped" in err


def test_each_part_is_gridded_on_its_own_at_16_khz():
    from types import SimpleNamespace

    from tinyml.regularize import steady_parts

    spec = SimpleNamespace(max_gap_s=0.5, device_rate=16000.0)
    t = np.concatenate([np.arange(16000) / 16000.0, [86_400.0 * 365], 86_400.0 * 365 + np.arange(1, 8000) / 16000.0])
    t = 1.7e9 + t  # epoch seconds: their float rounding is ~0.2 us, not jitter
    t[5000:5010] += 1e-5  # a few rows jittered, so the rows are interpolated onto the grid
    g = steady_parts(t, {"x": np.sin(np.arange(len(t)) * 0.01)}, spec, "kws.csv")
    assert g.rate == 16000.0 and g.parts == [(0, 16000), (16000, 24000)] and len(g.cols["x"]) == 24000
    assert g.starts == [0.0, 86_400.0 * 365] and g.gaps == [pytest.approx(86_400.0 * 365 - 15999 / 16000)]


def test_a_cut_alone_prints_no_irregular_time_notice(tmp_path):
    # epoch-ms times read as float seconds differ from the 20 ms step by float rounding (~1e-7 ms): no jitter
    p = _epoch_ms("fall-detect", tmp_path, "cut.csv", drop=range(1000, 1100))
    res = run_cli("predict", "fall-detect", str(p), "--events-only")
    assert res.returncode == 0 and '"fall"' in res.stdout, res.stderr
    assert "irregular time column" not in res.stderr and "jitter" not in res.stderr, res.stderr
    assert res.stderr.count("notice:") == 1 and "cut at 1 gap longer than 500 ms" in res.stderr, res.stderr


def test_real_jitter_and_a_missing_sample_beside_a_cut_are_still_said(tmp_path, capsys):
    app = load_app("fall-detect")
    header, rows = _rows(demo_path(app))
    rows = [r for i, r in enumerate(rows) if not 1000 <= i < 1100 and i != 500]  # a cut, and one sample lost
    list(predict_file(app, _write(tmp_path / "lost.csv", header, rows)))
    err = capsys.readouterr().err
    assert "irregular time column" in err and "1 missing sample" in err and "cut at 1 gap" in err, err
    assert "jitter" not in err  # the demo's times are steady
    rows = [f"{float(r.split(',')[0]) + (2.0 if i % 3 == 0 else 0.0):.3f},{r.split(',', 1)[1]}" for i, r in enumerate(rows)]
    list(predict_file(app, _write(tmp_path / "jittered.csv", header, rows)))
    err = capsys.readouterr().err
    assert "jitter 2 ms (95th percentile); 1 missing sample" in err and "cut at 1 gap" in err, err
