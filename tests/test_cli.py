"""Bad input gets exit code 2 and one line that names the problem; never a traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyml.fixtures import demo_path, write_csv
from tinyml.recording import Recording, read_recording

from apptest import APPS, ROOT, run_cli

APP = APPS[0]


def _one_line_error(res, expect):
    assert res.returncode == 2, (res.returncode, res.stderr)
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr
    assert expect in err[0], err[0]


def _demo():
    from tinyml.apps import load_app

    app = load_app(APP)
    return app, read_recording(demo_path(app), app.manifest.channels)


def test_unknown_app():
    _one_line_error(run_cli("predict", "no-such-app", "x.csv"), "unknown app 'no-such-app'")


def test_missing_file():
    _one_line_error(run_cli("predict", APP, "/nonexistent/rec.csv"), "file not found")


def test_csv_without_needed_columns(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("timestamp,foo\n0,1\n10,2\n")
    _one_line_error(run_cli("predict", APP, str(p)), "lacks column")


def test_nan_values(tmp_path):
    app, rec = _demo()
    rec.signal = rec.signal.copy()
    rec.signal[5, 0] = np.nan  # with a time column: a missing sample, left out and interpolated (one notice)
    write_csv(tmp_path / "nan.csv", rec)
    res = run_cli("predict", APP, str(tmp_path / "nan.csv"))
    assert res.returncode == 0 and '"scores"' in res.stdout and "1 sample with no value" in res.stderr, res.stderr
    rec.signal[5, 0] = np.inf  # an overflow, not a missing value
    write_csv(tmp_path / "inf.csv", rec)
    _one_line_error(run_cli("predict", APP, str(tmp_path / "inf.csv")), "infinite value")


def test_shorter_than_one_window(tmp_path):
    app, rec = _demo()
    rec.signal = rec.signal[: app.manifest.features["window"] - 1]
    write_csv(tmp_path / "short.csv", rec)
    _one_line_error(run_cli("predict", APP, str(tmp_path / "short.csv")), "shorter than one window")


def test_unsupported_rate(tmp_path):
    app, rec = _demo()
    rec.rate = 1.0
    write_csv(tmp_path / "slow.csv", rec)
    _one_line_error(run_cli("predict", APP, str(tmp_path / "slow.csv")), "not supported")


def test_other_rate_is_resampled_with_notice(tmp_path):
    from tinyml.dsp.resample import resample

    app, rec = _demo()
    fast = Recording(resample(rec.signal, rec.rate, rec.rate * 2), rec.rate * 2, rec.channels)
    write_csv(tmp_path / "fast.csv", fast)
    res = run_cli("predict", APP, str(tmp_path / "fast.csv"), "--events-only")
    assert res.returncode == 0 and "resampled" in res.stderr


def test_broken_manifest(tmp_path):
    import shutil

    root = tmp_path / "repo"
    shutil.copytree(ROOT / "apps", root / "apps", ignore=shutil.ignore_patterns("model", "fixtures", "__pycache__"))
    (root / "pyproject.toml").write_text("")
    (root / "datasets").symlink_to(ROOT / "datasets")
    toml = root / "apps" / APP / "app.toml"
    toml.write_text(toml.read_text().replace("[signal]", "[signal]\nwobble = 3"))
    res = run_cli("train", APP, "--smoke", env={"TINYML_ROOT": str(root)})
    _one_line_error(res, "[signal.wobble] unknown key")


def test_broken_model(tmp_path):
    p = tmp_path / "bad.tflite"
    p.write_bytes(b"\x00" * 64)
    _, rec = _demo()
    res = run_cli("predict", APP, str(demo_path(_demo()[0])), "--model", str(p))
    _one_line_error(res, "model")


def test_accelerometer_in_ms2_is_converted_with_notice(tmp_path):

    app, rec = _demo()
    if app.manifest.signal["sensor"] != "accelerometer" or app.manifest.signal["units"] != "g":
        pytest.skip("the first app is not an accelerometer in g")
    base = run_cli("predict", APP, str(demo_path(app)), "--events-only")
    rec.signal = rec.signal * np.float32(9.80665)
    write_csv(tmp_path / "ms2.csv", rec)
    res = run_cli("predict", APP, str(tmp_path / "ms2.csv"), "--events-only")
    assert res.returncode == 0 and "look like m/s²" in res.stderr, res.stderr
    assert [json.loads(x)["event"] for x in res.stdout.splitlines()] == [json.loads(x)["event"] for x in base.stdout.splitlines()]
