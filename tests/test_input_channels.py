"""Optional channels (a core feature any app may use) and `--channel`: present optional channels are
read by name or alias; missing ones reach the pipeline as NaN columns named in Recording.missing and
travel over the device link as float32 NaN; NaN inside an optional channel stays NaN (resampled and
interpolated as a hole); the non-finite check covers required channels only. (The manifest keys'
errors are checked in test_manifest.py.)"""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest

from tinyml.apps import load_app
from tinyml.device import link as L
from tinyml.dsp.resample import resample
from tinyml.errors import TinymlError
from tinyml.fixtures import demo_path
from tinyml.predict import read_input
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording

from apptest import run_cli, template_repo

SOIL = ReadSpec(("vwc",), optional=("temp", "ec"), aliases={"temp": ("soil_temp",), "ec": ("bulk_ec",)})


def _csv(path, header, rows):
    path.write_text(header + "\n" + "".join(",".join(str(v) for v in r) + "\n" for r in rows))
    return path


def test_present_optional_channels_are_read_by_alias_and_missing_ones_are_nan(tmp_path, capsys):
    p = _csv(tmp_path / "r.csv", "time_s,vwc,soil_temp", [(i * 60, 0.30, 12.5) for i in range(10)])
    r = read_recording(p, SOIL)
    assert r.channels == ("vwc", "temp", "ec") and r.missing == ("ec",)
    assert r.signal.dtype == np.float32 and r.signal.shape == (10, 3)
    assert np.all(r.signal[:, 1] == np.float32(12.5)) and np.all(np.isnan(r.signal[:, 2]))
    assert "optional channel ec not in the file" in capsys.readouterr().err


def test_nan_is_refused_in_a_required_channel_and_kept_in_an_optional_one(tmp_path):
    p = _csv(tmp_path / "r.csv", "time_s,vwc,temp,ec", [(i * 60, 0.3, "" if i == 3 else 12, "NaN" if i > 6 else 1.1)
                                                        for i in range(10)])
    r = read_recording(p, SOIL)
    assert r.missing == () and np.isnan(r.signal[3, 1]) and np.isnan(r.signal[7:, 2]).all()
    assert np.isfinite(r.signal[:3]).all()
    p = _csv(tmp_path / "s.csv", "time_s,vwc,temp", [(i * 60, "" if i == 4 else 0.3, 12) for i in range(10)])
    with pytest.raises(TinymlError, match="non-finite value .* in channel 'vwc' at sample 4"):
        read_recording(p, SOIL)


def test_holes_in_an_optional_channel_survive_resampling_and_jitter(tmp_path):
    x = np.stack([np.linspace(0, 1, 400), np.sin(np.arange(400) / 9.0)], axis=1)
    x[100:140, 1] = np.nan
    y = resample(x, 200.0, 50.0)
    hole = np.isnan(y[:, 1])
    assert np.isfinite(y[:, 0]).all() and hole[26:34].all() and not hole[:24].any() and not hole[36:].any()
    assert np.abs(y[40:, 1] - np.sin(np.arange(40, 100) * 4 / 9.0)).max() < 0.05
    t = np.arange(60) * 60.0 + np.random.default_rng(1).uniform(-5, 5, 60)  # a logger every minute, jittered
    rows = [(round(ti, 1), 0.3, "" if 20 <= i < 25 else 12.0) for i, ti in enumerate(t)]
    r = read_recording(_csv(tmp_path / "j.csv", "time_s,vwc,temp", rows), SOIL)
    holes = np.nonzero(np.isnan(r.signal[:, 1]))[0]
    assert 19 <= holes.min() and holes.max() <= 25 and len(holes) >= 4 and np.isfinite(r.signal[:, 0]).all()


def test_missing_values_travel_over_the_device_link_as_float32_nan():
    block = np.array([[0.3, np.nan, 1.0], [0.31, 12.0, np.nan]], np.float32)
    frames = L.Decoder().feed(L.samples_frame(7, block))
    assert len(frames) == 1 and frames[0].type == L.T.SAMPLES
    seq, = struct.unpack("<I", frames[0].payload[:4])
    got = np.frombuffer(frames[0].payload[4:], "<f4").reshape(2, 3)
    assert seq == 7 and np.array_equal(np.isnan(got), np.isnan(block))
    assert np.array_equal(got[np.isfinite(got)], block[np.isfinite(block)])
    assert struct.unpack("<I", frames[0].payload[8:12])[0] & 0x7FC00000 == 0x7FC00000  # a quiet NaN


def test_an_app_with_an_optional_channel_gets_nan_columns_on_its_way_to_the_device(tmp_path, monkeypatch):
    from tinyml.device.commands import _signal_for

    root = template_repo(tmp_path, "probe")
    toml = root / "apps" / "probe" / "app.toml"
    toml.write_text(re.sub(r'(?m)^id = ".*"', 'id = "probe"', toml.read_text()).replace(
        'channels = ["vib"]', 'channels = ["vib"]\noptional_channels = ["temp"]'))
    monkeypatch.setenv("TINYML_ROOT", str(root))
    app = load_app("probe", root=root / "apps")
    assert app.manifest.channels == ["vib", "temp"] and app.manifest.signal["channels"] == ["vib"]
    p = _csv(tmp_path / "r.csv", "timestamp,vib", [(i * 10, 0.01 * (i % 7)) for i in range(300)])
    sig, _ = _signal_for(app, str(p), None)  # (the signal, the app built with the file's deployment values)
    assert sig.dtype == np.float32 and sig.shape == (300, 2)
    assert np.isfinite(sig[:, 0]).all() and np.isnan(sig[:, 1]).all()
    assert read_input(app, p).missing == ("temp",)


def test_channel_option_picks_the_files_columns(tmp_path):
    app = load_app("fall-detect")
    rec = read_input(app, demo_path(app))
    p = tmp_path / "lab.csv"
    p.write_text("timestamp,X1,Y1,Z1,X2\n" + "".join(
        f"{i * 20},{a:.9g},{b:.9g},{c:.9g},0\n" for i, (a, b, c) in enumerate(rec.signal)))
    res = run_cli("predict", "fall-detect", str(p), "--events-only")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "lacks column(s) ax, ay, az" in res.stderr and "--channel ax=NAME" in res.stderr
    res = run_cli("predict", "fall-detect", str(p), "--events-only",
                  "--channel", "ax=X1", "--channel", "ay=Y1", "--channel", "az=z1")
    base = run_cli("predict", "fall-detect", str(demo_path(app)), "--events-only")
    assert res.returncode == 0 and res.stdout == base.stdout and '"fall"' in res.stdout, res.stderr


def test_a_table_of_one_heartbeat_per_row_is_refused_in_one_line(tmp_path):
    """Kaggle's MIT-BIH heartbeat CSV: no heading, each row 187 samples of a beat at 125 Hz and its label."""
    rng = np.random.default_rng(3)
    rows = [list(np.round(rng.uniform(0, 1, 187), 6)) + [float(k % 5)] for k in range(40)]
    p = tmp_path / "mitbih_train.csv"
    p.write_text("".join(",".join(f"{v:.6e}" for v in r) + "\n" for r in rows))
    with pytest.raises(TinymlError) as e:
        read_recording(p, ReadSpec.from_manifest(load_app("heart-rate-anomaly").manifest))
    msg = str(e.value)
    assert "\n" not in msg and "188 columns" in msg and "one example per row" in msg
    assert "one row per sample" in msg and "--rate" in msg
    # pandas' to_csv writes its index and a heading of numbers over the same rows: the same refusal
    q = tmp_path / "pandas.csv"
    q.write_text("," + ",".join(map(str, range(188))) + "\n"
                 + "".join(f"{k}," + ",".join(f"{v:.6e}" for v in r) + "\n" for k, r in enumerate(rows)))
    with pytest.raises(TinymlError, match="one example per row"):
        read_recording(q, ReadSpec.from_manifest(load_app("heart-rate-anomaly").manifest))


def test_a_headerless_table_of_a_few_channels_still_gets_the_column_hint(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("".join(f"{i * 0.02:.2f},0.1,0.2,{1 + 0.01 * (i % 7):.2f}\n" for i in range(200)))
    with pytest.raises(TinymlError, match="pick each channel's column by its number"):
        read_recording(p, ReadSpec.from_manifest(load_app("fall-detect").manifest))


def test_a_wide_table_named_in_a_comment_line_is_read_not_refused_as_one_example_per_row(tmp_path):
    """The column names in a '#' comment above the data (MobiFall's layout) are names: 20 named columns are a
    recording of many channels, not a data set's examples."""
    import numpy as np

    from tinyml.apps import load_app
    from tinyml.readers import ReadSpec
    from tinyml.recording import read_recording

    t = np.arange(2000) / 250
    ecg = 1.2 * np.exp(-((t[:, None] - np.arange(0.3, 8, 0.8)[None]) ** 2) / (2 * 0.012 ** 2)).sum(1) + 0.03 * np.sin(t)
    heading = "#time," + ",".join(["ecg"] + [f"ch{i}" for i in range(3, 21)])
    rows = "".join(f"{a:.4f},{v:.4f}," + ",".join("0.1" for _ in range(18)) + "\n" for a, v in zip(t, ecg))
    (tmp_path / "wide.csv").write_text(heading + "\n" + rows)
    rec = read_recording(tmp_path / "wide.csv", ReadSpec.from_manifest(load_app("heart-rate-anomaly").manifest))
    assert rec.signal.shape[1] == 1 and len(rec.signal) >= 1900
