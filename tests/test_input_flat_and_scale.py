"""A recording that is flat, or a unit step too small for the manifest's unit, is never scored silently;
a refusal for implausible values quotes the values the file holds and where the worst one is."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.apps import load_app
from tinyml.errors import TinymlError
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording


def _spec(app_id: str) -> ReadSpec:
    return ReadSpec.from_manifest(load_app(app_id).manifest)


def _ecg_mv(rate: float = 250, seconds: float = 20) -> tuple[np.ndarray, np.ndarray]:
    """R and T waves with baseline wander and front-end noise, in mV."""
    t = np.arange(int(rate * seconds)) / rate
    beats = np.arange(0.3, seconds, 60 / 70)
    r = 1.1 * np.exp(-((t[:, None] - beats[None]) ** 2) / (2 * 0.012 ** 2)).sum(1)
    tw = 0.25 * np.exp(-((t[:, None] - beats[None] - 0.25) ** 2) / (2 * 0.04 ** 2)).sum(1)
    noise = np.random.default_rng(0).normal(0, 0.01, len(t))
    return t, r + tw + 0.03 * np.sin(2 * np.pi * 0.3 * t) + noise


def _csv(path, head: str, t, x, fmt="{:.7f}"):
    path.write_text(head + "\n" + "".join(f"{a:.4f},{fmt.format(b)}\n" for a, b in zip(t, x)))
    return path


def test_an_ecg_in_volts_without_a_unit_is_converted_with_a_notice(tmp_path, capsys):
    t, mv = _ecg_mv()
    rec = read_recording(_csv(tmp_path / "v.csv", "time_s,ecg", t, mv / 1000), _spec("heart-rate-anomaly"))
    assert "ecg: values look like V, not mV" in capsys.readouterr().err
    np.testing.assert_allclose(rec.signal[:, 0], mv, atol=1e-4)
    read_recording(_csv(tmp_path / "mv.csv", "time_s,ecg", t, mv), _spec("heart-rate-anomaly"))
    assert "values look like" not in capsys.readouterr().err  # the manifest's unit is kept as it is


def test_values_too_small_for_any_unit_are_refused_naming_the_likely_unit(tmp_path):
    t, mv = _ecg_mv()
    mv[100:200] = 50.0  # a stretch beyond the range in every unit: as V, 50 V
    with pytest.raises(TinymlError) as e:
        read_recording(_csv(tmp_path / "v.csv", "time_s,ecg", t, mv / 1000), _spec("heart-rate-anomaly"))
    msg = str(e.value)
    assert "\n" not in msg and "below typical: if the file is in V, say so in the heading, e.g. `ecg (V)`" in msg


@pytest.mark.parametrize("app,head,row", [
    ("heart-rate-anomaly", "time_s,ecg", "{t:.3f},0.0"),
    ("fall-detect", "time_s,ax,ay,az", "{t:.3f},0.1,0.2,0.97"),
    ("predictive-maintenance", "time_s,accel", "{t:.6f},0.5"),
])
def test_a_flat_required_channel_is_refused_in_one_line(tmp_path, app, head, row):
    rate = {"heart-rate-anomaly": 250, "fall-detect": 50, "predictive-maintenance": 25600}[app]
    p = tmp_path / "flat.csv"
    p.write_text(head + "\n" + "".join(row.format(t=i / rate) + "\n" for i in range(int(rate * 12))))
    with pytest.raises(TinymlError) as e:
        read_recording(p, _spec(app))
    msg = str(e.value)
    ch = head.split(",")[1]
    one = f"channel {ch!r} is flat (every value" if len(head.split(",")) == 2 else f"channels {ch!r} (every value 0.1), "
    assert "\n" not in msg and one in msg and "disconnected" in msg and "? nothing to score" in msg


def test_a_manifest_may_allow_a_flat_channel_with_a_notice(tmp_path, capsys):
    p = tmp_path / "soil.csv"
    p.write_text("time,vwc\n" + "".join(f"2024-06-01T{h:02d}:{m:02d}:00,0.25\n" for h in range(20) for m in (0, 30)))
    rec = read_recording(p, _spec("soil-monitoring"))
    assert np.allclose(rec.signal[:, 0], 0.25)
    assert "channel 'vwc' is flat (every value 0.25" in capsys.readouterr().err


def test_may_be_flat_must_name_required_channels(tmp_path):
    from tinyml.manifest import load_manifest

    src = load_app("soil-monitoring").manifest.path
    toml = tmp_path / "soil-monitoring" / "app.toml"
    toml.parent.mkdir()
    toml.write_text(src.read_text().replace('may_be_flat = ["vwc"]', 'may_be_flat = ["rain_mm"]'))
    with pytest.raises(TinymlError, match="signal.may_be_flat"):
        load_manifest(toml)


def test_a_refusal_quotes_the_extreme_value_and_its_sample(tmp_path):
    rate, n = 50, 600
    rows = [f"{i / rate:.2f},0.01,{0.02 * (i % 2)},{1 + 0.01 * (i % 3)}" for i in range(n)]
    rows[300] = f"{300 / rate:.2f},1000000000,0.02,1"
    p = tmp_path / "huge.csv"
    p.write_text("time_s,ax,ay,az\n" + "\n".join(rows) + "\n")
    with pytest.raises(TinymlError) as e:
        read_recording(p, _spec("fall-detect"))
    msg = str(e.value)
    assert "range 0 to 1e+09, farthest out ax = 1e+09 at line 302" in msg, msg


def test_a_missing_value_marker_is_named_as_such(tmp_path):
    rows = [f"2024-06-01T{i // 4:02d}:{15 * (i % 4):02d}:00,{0.25 + 0.001 * (i % 5)}" for i in range(80)]
    rows[40] = "2024-06-01T10:00:00,-9999"
    p = tmp_path / "soil.csv"
    p.write_text("time,vwc\n" + "\n".join(rows) + "\n")
    with pytest.raises(TinymlError) as e:
        read_recording(p, _spec("soil-monitoring"))
    assert "vwc = -9999 at line 42 (a logger's missing-value marker?" in str(e.value)


def test_a_column_name_matches_with_spaces_underscores_and_hyphens_alike(tmp_path):
    spec = ReadSpec(("vwc",), picks={"vwc": "Water_Content_10_CM"})  # what make's CHANNEL= can carry
    assert spec.match(["Date Time", "Water Content 30 CM", "Water Content 10 CM"], tmp_path / "f.csv") == {"vwc": 2}
    # an alias too: heart's `lead_ii` finds a column headed "Lead II"
    assert _spec("heart-rate-anomaly").match(["timestamp", "Lead II"], tmp_path / "f.csv") == {"ecg": 1}


def test_a_12_lead_file_is_read_from_the_models_lead_naming_the_column(tmp_path, capsys):
    spec = _spec("heart-rate-anomaly")
    assert spec.match(["time", "Lead I", "Lead II", "Lead III", "aVR"], tmp_path / "f.csv") == {"ecg": 2}
    err = capsys.readouterr().err
    assert "ecg: read from column 'Lead II' (also matching: 'Lead I', 'Lead III')" in err
    assert spec.match(["time", "I", "II", "III"], tmp_path / "f.csv") == {"ecg": 2}
    assert "read from column 'II'" in capsys.readouterr().err
    # one column that fits: no notice
    assert spec.match(["time", "MLII"], tmp_path / "f.csv") == {"ecg": 1}
    assert capsys.readouterr().err == ""
    # a lead-I-only file is read, but as the other lead it is
    assert spec.match(["time", "Lead I"], tmp_path / "f.csv") == {"ecg": 1}
    assert "ecg: read from column 'Lead I', a stand-in: the app expects MLII" in capsys.readouterr().err
    # the other stand-ins the file has are named, as other matches are
    assert spec.match(["time", "I", "III", "V5"], tmp_path / "f.csv") == {"ecg": 1}
    assert ("ecg: read from column 'I', a stand-in: the app expects MLII or II or lead_ii; results may differ "
            "from what it was validated on (also matching: 'III', 'V5'); pick another with --channel ecg=NAME"
            ) in capsys.readouterr().err
    # --channel still picks any column, without a notice
    assert _spec_picks("heart-rate-anomaly", ecg="Lead I").match(["Lead I", "Lead II"], tmp_path / "f.csv") == {"ecg": 0}
    assert capsys.readouterr().err == ""


def test_an_exact_alias_beats_a_loose_earlier_one_and_one_column_is_one_match(tmp_path, capsys):
    """A name the file has as written wins over an earlier name it has only spelled otherwise (`MLII` over
    `ECG_mV`); a logger's two names for one column (full and short) are one column: no 'also matching'."""
    spec = _spec("heart-rate-anomaly")
    assert spec.match(["time", "ECG_mV", "MLII"], tmp_path / "f.csv") == {"ecg": 2}
    capsys.readouterr()
    soil = _spec("soil-monitoring")
    names = ["TIMESTAMP", "VWC_Avg", "Rain_mm_Tot", "VWC", "Rain_mm"]  # the logger's short names, last
    found = soil.match(names, tmp_path / "f.dat", kind="TOA5", columns=[0, 1, 2, 1, 2])
    assert found["rain_mm"] in (2, 4) and "also matching" not in capsys.readouterr().err
    found = soil.match(names, tmp_path / "f.dat", kind="TOA5")  # taken as two columns: named, as before
    assert "also matching" in capsys.readouterr().err


def _spec_picks(app_id: str, **picks) -> ReadSpec:
    return ReadSpec.from_manifest(load_app(app_id).manifest, picks=picks)


def test_a_still_accelerometer_is_scored_with_a_notice_for_its_constant_axes(tmp_path, capsys):
    rate, n = 50, 600
    az = np.where(np.arange(n) % 3 == 0, 255 / 256, 1.0)  # a coarse ADC's last bit toggling
    rows = [f"{i / rate:.2f},0.0,0.0,{z:.8f}" for i, z in enumerate(az)]
    p = tmp_path / "still.csv"
    p.write_text("time_s,ax,ay,az\n" + "\n".join(rows) + "\n")
    rec = read_recording(p, _spec("fall-detect"))
    np.testing.assert_allclose(rec.signal[:, 0], 0.0)
    err = capsys.readouterr().err
    assert err.count("notice:") == 1, err  # one notice naming both constant axes (it was one per axis)
    assert "channels 'ax' (every value 0) and 'ay' (every value 0) are flat (600 samples), the other channels vary: " \
        "the accelerometer at rest? scored as it is" in err


def test_an_ecg_mostly_exactly_zero_is_read_with_a_notice(tmp_path, capsys):
    t, mv = _ecg_mv(seconds=30)
    mv[: int(0.6 * len(mv))] = 0.0  # leads off for the first 18 s: median |x| is 0
    rec = read_recording(_csv(tmp_path / "off.csv", "time_s,ecg", t, mv), _spec("heart-rate-anomaly"))
    np.testing.assert_allclose(rec.signal[:, 0], mv, atol=1e-6)  # read in mV, as it is
    err = capsys.readouterr().err
    assert "ecg: exactly 0 for 60% of the samples (leads off?)" in err and "values look like" not in err


def test_digital_silence_is_named_as_such_for_audio(tmp_path, capsys):
    from scipy.io import wavfile

    wavfile.write(tmp_path / "quiet.wav", 16000, np.zeros(16000, np.int16))
    read_recording(tmp_path / "quiet.wav", _spec("keyword-spotting"))
    err = capsys.readouterr().err
    assert "channel 'audio' is digital silence (every sample 0, 16000 samples)" in err
    assert "sensor" not in err


def test_a_loose_name_that_fits_several_columns_is_refused_naming_them(tmp_path):
    spec = ReadSpec(("ecg",), picks={"ecg": "lead ii"})
    with pytest.raises(TinymlError) as e:
        spec.match(["Lead_II", "LEAD-II"], tmp_path / "f.csv")
    msg = str(e.value)
    assert "\n" not in msg and "'Lead_II', 'LEAD-II' all match 'ecg'" in msg
    # an exact name still picks one of them
    assert ReadSpec(("ecg",), picks={"ecg": "LEAD-II"}).match(["Lead_II", "LEAD-II"], tmp_path / "f.csv") == {"ecg": 1}


def test_flat_channels_with_different_sample_counts_say_each_count():
    """NaNs dropped per channel: one count for all would misstate one of them."""
    from tinyml.units import _flat_channels_text

    text = _flat_channels_text({"ax": (0.0, 600), "ay": (0.0, 598)}, None)
    assert text == "channels 'ax' (every value 0, 600 samples) and 'ay' (every value 0, 598 samples) are flat"
