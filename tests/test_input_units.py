"""Units and plausible ranges (issue 16: wrong answers with exit code 0). A recording far outside the
manifest's plausible range is converted when its unit is recognisable (mg, m/s², counts with a declared
LSB, int16 audio) with one notice, and refused with one line otherwise; what the file declares is
used first. Checked through `predict` as a user runs it, on the apps' own demos."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.io import wavfile

from tinyml.apps import load_app
from tinyml.errors import TinymlError
from tinyml.fixtures import demo_path, write_csv
from tinyml.predict import read_input
from tinyml.readers import ReadSpec
from tinyml.recording import Recording, read_recording

from apptest import run_cli

FALL, KWS = "fall-detect", "keyword-spotting"
CH = ("ax", "ay", "az")
ACCEL = ReadSpec(CH, units={c: "g" for c in CH}, plausible_range={c: (-16.0, 16.0) for c in CH},
                 typical_magnitude=(0.5, 2.0), counts_per_unit={c: 256.0 for c in CH})


def _events(res) -> list[tuple[float, str]]:
    assert res.returncode == 0, res.stderr
    return [(d["t"], d["event"]) for d in map(json.loads, res.stdout.splitlines()) if "event" in d]


def _demo(app_id):
    app = load_app(app_id)
    return app, read_recording(demo_path(app), app.manifest.channels)


@pytest.fixture(scope="module")
def fall_events():
    app, _ = _demo(FALL)
    ev = _events(run_cli("predict", FALL, str(demo_path(app)), "--events-only"))
    assert ev and all(e == "fall" for _, e in ev)  # the demo is built to raise the fall
    return ev


@pytest.fixture(scope="module")
def kws_events():
    app, _ = _demo(KWS)
    ev = _events(run_cli("predict", KWS, str(demo_path(app)), "--events-only"))
    assert len(ev) >= 2
    return ev


@pytest.mark.parametrize("name, scale, notice", [
    ("mg", 1000.0, "values look like mg, not g"),
    ("counts", 256.0, "values look like counts (256 per g), not g"),  # [signal] counts_per_unit = 256
])
def test_fall_demo_in_other_units_gives_the_fall(tmp_path, fall_events, name, scale, notice):
    _, rec = _demo(FALL)
    rec.signal = np.round(rec.signal.astype(np.float64) * scale)
    write_csv(tmp_path / f"{name}.csv", rec)
    res = run_cli("predict", FALL, str(tmp_path / f"{name}.csv"), "--events-only")
    assert _events(res) == fall_events
    assert res.stderr.count("notice:") == 1 and notice in res.stderr, res.stderr


def test_an_unrecognisable_unit_is_refused_in_one_line(tmp_path):
    _, rec = _demo(FALL)
    rec.signal = rec.signal * np.float32(3.3e5)  # no unit of acceleration nor 256 counts per g is this
    write_csv(tmp_path / "odd.csv", rec)
    res = run_cli("predict", FALL, str(tmp_path / "odd.csv"))
    assert res.returncode == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "not plausible in g" in lines[0] and "plausible_range" in lines[0], res.stderr


def test_edge_impulse_int16_audio_gives_the_demos_commands(tmp_path, kws_events):
    """The JSON Edge Impulse's uploader writes for a WAV: one sensor `audio` in units `wav`, int16 values."""
    app, _ = _demo(KWS)
    rate, pcm = wavfile.read(demo_path(app))
    doc = {"protected": {"ver": "v1", "alg": "HS256"}, "signature": "0" * 64,
           "payload": {"device_type": "EDGE_IMPULSE_UPLOADER", "interval_ms": 1000 / rate,
                       "sensors": [{"name": "audio", "units": "wav"}], "values": pcm.tolist()}}
    p = tmp_path / "clip.json"
    p.write_text(json.dumps(doc))
    res = run_cli("predict", KWS, str(p), "--events-only")
    assert _events(res) == kws_events
    assert "converted from wav to full scale" in res.stderr


def test_int16_audio_in_a_csv_gives_the_demos_commands(tmp_path, kws_events):
    app, _ = _demo(KWS)
    rate, pcm = wavfile.read(demo_path(app))
    p = tmp_path / "audio.csv"
    p.write_text("timestamp,audio\n" + "".join(f"{i * 1000 / rate:.4f},{v}\n" for i, v in enumerate(pcm)))
    res = run_cli("predict", KWS, str(p), "--events-only")
    assert _events(res) == kws_events
    assert "values look like int16, not full scale" in res.stderr


def test_audio_range_is_checked_for_float_wav(tmp_path):
    app, rec = _demo(KWS)
    p = tmp_path / "f.wav"
    wavfile.write(p, 16000, (rec.signal[:, 0] * 32768).astype(np.float32))  # float WAV, int16-sized values
    got = read_input(app, p)
    assert np.allclose(got.signal, rec.signal, atol=1e-6)
    wavfile.write(p, 16000, (rec.signal[:, 0] * 3e12).astype(np.float32))  # no PCM size makes this audio
    with pytest.raises(TinymlError, match="not plausible in full scale"):
        read_input(app, p)


def _ei_json(path, rows, units, names=("accX", "accY", "accZ")):
    path.write_text(json.dumps({"payload": {"interval_ms": 20, "sensors": [{"name": n, "units": units} for n in names],
                                            "values": rows}}))
    return path


def test_declared_units_are_used_first_and_checked(tmp_path, capsys):
    spec = ReadSpec(CH, aliases={"ax": ("accX",), "ay": ("accY",), "az": ("accZ",)}, units=ACCEL.units,
                    plausible_range=ACCEL.plausible_range, typical_magnitude=ACCEL.typical_magnitude)
    r = read_recording(_ei_json(tmp_path / "a.json", [[0.0, 0.0, 9.80665]] * 20, "m/s2"), spec)
    assert r.signal[0, 2] == pytest.approx(1.0) and "converted from m/s2 to g" in capsys.readouterr().err
    # Edge Impulse's default label m/s2 on values that are plainly g: kept, and said so
    r = read_recording(_ei_json(tmp_path / "b.json", [[0.0, 0.0, 1.0]] * 20, "m/s2"), spec)
    assert r.signal[0, 2] == pytest.approx(1.0)
    assert "declared in m/s2, but the values fit g: kept as they are" in capsys.readouterr().err
    with pytest.raises(TinymlError, match=r"declared in deg/s \(angular rate\); the app expects g"):
        read_recording(_ei_json(tmp_path / "c.json", [[0.0, 0.0, 1.0]] * 20, "deg/s"), spec)


def test_m_s2_and_g_are_told_apart_by_the_typical_magnitude(tmp_path, capsys):
    p = tmp_path / "r.csv"
    write_csv(p, Recording(np.tile(np.float32([0.1, 0.2, 9.7]), (50, 1)), 50.0, CH))
    r = read_recording(p, ACCEL)
    assert r.signal[0, 2] == pytest.approx(9.7 / 9.80665)
    assert "values look like m/s², not g" in capsys.readouterr().err
    write_csv(p, Recording(np.tile(np.float32([0.1, 0.2, 0.97]), (50, 1)), 50.0, CH))
    assert read_recording(p, ACCEL).signal[0, 2] == pytest.approx(0.97)
    assert capsys.readouterr().err == ""


def test_every_app_declares_a_plausible_range_its_demo_meets(app, capsys):
    """So a recording in wrong units is caught in every app, and the app's own demo is read as it is."""
    assert app.manifest.signal["plausible_range"], f"{app.manifest.path}: give [signal] plausible_range"
    got = read_input(app, demo_path(app))
    assert "notice" not in capsys.readouterr().err
    np.testing.assert_array_equal(got.signal, read_recording(demo_path(app), app.manifest.channels).signal)


def test_declared_counts_come_before_a_guessed_unit(tmp_path, capsys):
    """1024 counts per g at rest look like mg too (1.024 g); the sensor's declared LSB wins."""
    p = tmp_path / "r.csv"
    write_csv(p, Recording(np.tile(np.float32([0, 0, 1024]), (50, 1)), 50.0, CH))
    spec = ReadSpec(CH, units=ACCEL.units, plausible_range=ACCEL.plausible_range,
                    typical_magnitude=ACCEL.typical_magnitude, counts_per_unit={c: 1024.0 for c in CH})
    assert read_recording(p, spec).signal[0, 2] == 1.0
    assert "look like counts (1024 per g)" in capsys.readouterr().err
