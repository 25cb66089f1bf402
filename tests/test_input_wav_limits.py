"""WAV files at the edges: float samples beyond full scale, and fewer channels than the app needs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import wavfile

from tinyml.apps import load_app
from tinyml.errors import TinymlError
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording


def _spec(app_id: str, **kw) -> ReadSpec:
    return ReadSpec.from_manifest(load_app(app_id).manifest, **kw)


def _tone(peak: float, n: int = 16000) -> np.ndarray:
    t = np.arange(n) / 16000
    return (peak * np.sin(2 * np.pi * 440 * t) * np.exp(-((t - 0.5) ** 2) / 0.02)).astype(np.float32)


def test_a_float_wav_beyond_full_scale_is_clipped_with_a_notice(tmp_path, capsys):
    p = tmp_path / "hot.wav"
    wavfile.write(p, 16000, _tone(3.0))
    rec = read_recording(p, _spec("keyword-spotting"))
    err = capsys.readouterr().err
    assert np.abs(rec.signal).max() <= 1.0
    assert "audio: float samples peak at 3, beyond full scale (+-1):" in err and "clipped to +-1" in err
    assert len(err.strip().splitlines()) == 1


def test_a_float_wav_within_full_scale_or_holding_int16_sizes_is_not_clipped(tmp_path, capsys):
    wavfile.write(tmp_path / "ok.wav", 16000, _tone(0.7))
    rec = read_recording(tmp_path / "ok.wav", _spec("keyword-spotting"))
    assert "clipped" not in capsys.readouterr().err and np.isclose(np.abs(rec.signal).max(), 0.7, atol=1e-3)
    wavfile.write(tmp_path / "big.wav", 16000, _tone(20000.0))  # int16 sample values written as float
    rec = read_recording(tmp_path / "big.wav", _spec("keyword-spotting"))
    err = capsys.readouterr().err
    assert "clipped" not in err and "values look like int16" in err
    assert np.isclose(np.abs(rec.signal).max(), 20000 / 32768, atol=1e-3)


def test_a_float_wav_of_another_quantity_is_not_clipped(tmp_path, capsys):
    x = np.random.default_rng(0).normal(0, 1.5, 48000).astype(np.float32)  # vibration in g
    wavfile.write(tmp_path / "vib.wav", 48000, x)
    rec = read_recording(tmp_path / "vib.wav", _spec("predictive-maintenance"))
    assert "clipped" not in capsys.readouterr().err and np.abs(rec.signal).max() > 3


@pytest.mark.parametrize("picks", [None, {"ax": "1"}])
def test_a_mono_wav_for_a_three_axis_app_says_it_needs_three_channels(tmp_path, picks):
    wavfile.write(tmp_path / "mono.wav", 50, (np.ones(500) * 1000).astype(np.int16))
    with pytest.raises(TinymlError) as e:
        read_recording(tmp_path / "mono.wav", _spec("fall-detect", picks=picks))
    msg = str(e.value)
    assert "\n" not in msg and "the app needs 3 channels (ax, ay, az) and this WAV has 1 channel:" in msg
    assert "--channel ax=1" not in msg and "record all 3 axes" in msg


def test_too_few_wav_channels_are_called_channels_unless_the_sensor_has_axes(tmp_path):
    from tinyml.readers.wav import _channel_count

    msg = _channel_count(tmp_path / "m.wav", 1, ReadSpec(("left", "right"), sensor="microphone"))
    assert "record all 2 channels," in msg and "axes" not in msg
    assert "record all 3 axes," in _channel_count(tmp_path / "m.wav", 1, ReadSpec(("x", "y", "z"), sensor="IMU"))


def test_a_wav_with_more_channels_says_how_to_pick_each(tmp_path, monkeypatch):
    wavfile.write(tmp_path / "four.wav", 50, (np.random.default_rng(0).normal(0, 300, (500, 4))).astype(np.int16))
    with pytest.raises(TinymlError) as e:
        read_recording(tmp_path / "four.wav", _spec("fall-detect"))
    assert "this WAV has 4 channels; say which is which: --channel ax=1 --channel ay=2 --channel az=3" in str(e.value)
    monkeypatch.setenv("TINYML_MAKE", "1")  # make keeps the last of several CHANNEL= (ay and az went unpicked)
    with pytest.raises(TinymlError, match=r"say which is which: CHANNEL='ax=1;ay=2;az=3'$"):
        read_recording(tmp_path / "four.wav", _spec("fall-detect"))
