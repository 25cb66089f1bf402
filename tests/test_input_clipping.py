"""A recording cut at its sensor's rail (a phone's accelerometer at +-2 g, a WAV at full scale) is scored with
ONE notice naming the channels, the rail and the share at it; a quantized signal that is not cut gets none."""

from __future__ import annotations

import numpy as np
from scipy.io import wavfile

from tinyml.apps import load_app
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording


def _spec(app_id: str) -> ReadSpec:
    return ReadSpec.from_manifest(load_app(app_id).manifest)


def _accel_csv(path, ax, ay, az, rate=50.0):
    t = np.arange(len(ax)) / rate
    path.write_text("time_s,ax,ay,az\n" + "".join(f"{a:.3f},{x:.4f},{y:.4f},{z:.4f}\n"
                                                   for a, x, y, z in zip(t, ax, ay, az)))
    return path


def _walk_and_fall(n=1500, seed=0):
    """A phone in a pocket walking (g on az), then an impact far beyond 2 g."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 50
    ax = 0.3 * np.sin(2 * np.pi * 1.8 * t) + rng.normal(0, 0.05, n)
    ay = 0.2 * np.sin(2 * np.pi * 0.9 * t) + rng.normal(0, 0.05, n)
    az = 1.0 + 0.25 * np.sin(2 * np.pi * 1.8 * t) + rng.normal(0, 0.05, n)
    impact = 6.0 * np.exp(-((t - 20) ** 2) / (2 * 0.06 ** 2))
    return ax - 0.5 * impact, ay, az + impact


def test_an_accelerometer_cut_at_2_g_gets_one_notice(tmp_path, capsys):
    ax, ay, az = _walk_and_fall()
    ax, az = np.clip(ax, -2, 2), np.clip(az, -2, 2)  # the phone's +-2 g range
    read_recording(_accel_csv(tmp_path / "fall.csv", ax, ay, az), _spec("fall-detect"))
    lines = [ln for ln in capsys.readouterr().err.splitlines() if "clipped" in ln]
    assert len(lines) == 1, lines
    assert "'ax' at -2 g" in lines[0] and "'az' at 2 g" in lines[0] and "'ay'" not in lines[0]
    assert "the recording is clipped" in lines[0] and "peaks (an impact's)" in lines[0]
    assert "% of its samples" in lines[0] and "results may differ" in lines[0]


def test_the_same_fall_not_cut_gets_no_notice(tmp_path, capsys):
    read_recording(_accel_csv(tmp_path / "fall.csv", *_walk_and_fall()), _spec("fall-detect"))
    assert "clipped" not in capsys.readouterr().err


def test_a_wav_clipped_at_full_scale_gets_the_notice(tmp_path, capsys):
    t = np.arange(16000) / 16000
    loud = 3 * 32767 * np.sin(2 * np.pi * 440 * t) * np.exp(-((t - 0.5) ** 2) / 0.02)
    wavfile.write(tmp_path / "shout.wav", 16000, np.clip(loud, -32768, 32767).astype(np.int16))
    read_recording(tmp_path / "shout.wav", _spec("keyword-spotting"))
    err = capsys.readouterr().err
    assert err.count("clipped") == 1 and "'audio' at +-1 full scale" in err


def test_a_12_bit_ecg_is_quantized_not_clipped(tmp_path, capsys):
    rate, n = 360, 360 * 60
    t = np.arange(n) / rate
    beats = np.arange(0.3, 60, 60 / 72)
    mv = 1.2 * np.exp(-((t[:, None] - beats[None]) ** 2) / (2 * 0.012 ** 2)).sum(1)
    mv += 0.05 * np.sin(2 * np.pi * 0.3 * t) + np.random.default_rng(1).normal(0, 0.01, n)
    codes = np.round(mv / 0.005)  # 200 codes per mV, as an 11-12 bit front end stores it
    p = tmp_path / "ecg.csv"
    p.write_text("time_s,ecg\n" + "".join(f"{a:.5f},{c * 0.005:.3f}\n" for a, c in zip(t, codes)))
    read_recording(p, _spec("heart-rate-anomaly"))
    assert "clipped" not in capsys.readouterr().err


def test_quantized_noise_at_rest_is_not_clipped(tmp_path, capsys):
    """An axis at rest on a coarse sensor steps between a few codes: its max is hit often, and in runs."""
    rng = np.random.default_rng(2)
    n = 1500
    codes = lambda mid: np.round(mid + rng.normal(0, 0.012, n), 2)  # 0.01 g steps
    read_recording(_accel_csv(tmp_path / "rest.csv", codes(0.02), codes(-0.01), codes(1.0)), _spec("fall-detect"))
    assert "clipped" not in capsys.readouterr().err


def test_a_stuck_soil_probe_is_flat_not_clipped(tmp_path, capsys):
    p = tmp_path / "soil.csv"
    p.write_text("time_s,vwc\n" + "".join(f"{i * 900},31.5\n" for i in range(400)))
    read_recording(p, _spec("soil-monitoring"))
    err = capsys.readouterr().err
    assert "flat" in err and "clipped" not in err



def test_a_channel_at_its_rail_for_most_of_the_file_is_still_clipped():
    """Its plain median sits at the rail: the sides are judged from the median of the values off both extremes."""
    from tinyml.units import _at_rail

    rng = np.random.default_rng(1)
    x = np.round(rng.normal(0, 300, 20000)).clip(-2048, 2047)
    x[:12000] = 2047  # a 12-bit converter pinned at its top for 60 % of the file
    at = _at_rail(x)
    assert at is not None and at[:12000].all()
