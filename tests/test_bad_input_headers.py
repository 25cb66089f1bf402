"""Corrupt headers and fields found by fuzzing the readers: each is refused in one line that names the file and
the problem (or read with a notice where the file stays usable), never a traceback or a silent wrong answer."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tinyml.apps import load_app
from tinyml.errors import TinymlError
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording


def _spec(app_id: str) -> ReadSpec:
    return ReadSpec.from_manifest(load_app(app_id).manifest)


def _wav(samples: bytes, *, channels=1, rate=16000, bits=16, data_size=None) -> bytes:
    block = max(channels, 1) * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    size = len(samples) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + samples
    return b"RIFF" + struct.pack("<I", len(body)) + body


PCM = (0.1 * np.sin(np.arange(16000) * 0.05) * 32767).astype("<i2").tobytes()


@pytest.mark.parametrize("name, content, message", [
    ("riff_only", b"RIFF\x00\x00\x00\x00WAVE", "not a readable WAV file"),
    ("zero_channels", _wav(PCM, channels=0), "not a readable WAV file"),
    ("data_too_big", _wav(PCM, data_size=10_000_000), r"WAV file is truncated .*10000000 bytes of samples announced, "
                                                       r"32000 held"),
])
def test_a_broken_wav_header_is_refused_in_one_line(tmp_path, name, content, message):
    f = tmp_path / f"{name}.wav"
    f.write_bytes(content)
    with pytest.raises(TinymlError, match=f"{name}.wav: {message}"):
        read_recording(f, _spec("keyword-spotting"))


def _edf(head_bytes: str) -> bytes:
    """One ECG signal, 2 records of 1 s at 250 Hz; the header-bytes field as given."""
    fixed = (f"{'0':<8}{'x':<80}{'x':<80}{'01.01.20':<8}{'00.00.00':<8}{head_bytes:<8}{'':<44}{'2':<8}{'1':<8}"
             f"{'1':<4}")
    sig = f"{'ECG':<16}{'':<80}{'mV':<8}{'-5':<8}{'5':<8}{'-32768':<8}{'32767':<8}{'':<80}{'250':<8}{'':<32}"
    ecg = (3000 * np.sin(2 * np.pi * 1.2 * np.arange(500) / 250)).astype("<i2")
    return (fixed + sig).encode() + ecg.tobytes()


def test_an_edf_header_with_impossible_sizes_is_refused_in_one_line(tmp_path):
    f = tmp_path / "r.edf"
    f.write_bytes(_edf("512"))
    assert read_recording(f, _spec("heart-rate-anomaly")).signal.shape[0] == 500  # the well-formed one reads
    f.write_bytes(_edf("-100"))
    with pytest.raises(TinymlError, match=r"r.edf: the EDF header is inconsistent: -100 header bytes for 1 signals"):
        read_recording(f, _spec("heart-rate-anomaly"))


def _lvm(rows: list[str]) -> str:
    head = ["LabVIEW Measurement", "Separator\tTab", "X_Columns\tOne", "***End_of_Header***", "",
            "Channels\t1", "Samples\t4", "Y_Unit_Label\tg", "Delta_X\t3.906250E-5", "***End_of_Header***"]
    return "\n".join(head + rows) + "\n"


def test_an_lvm_without_data_or_with_a_word_for_an_x_value_is_refused(tmp_path):
    f = tmp_path / "m.lvm"
    f.write_text(_lvm([]))
    with pytest.raises(TinymlError, match="m.lvm: a LabVIEW measurement file with no data"):
        read_recording(f, _spec("predictive-maintenance"))
    rows = [f"{k * 3.90625e-5:.7f}\t{0.01 * np.sin(k):.5f}" for k in range(8000)]
    rows[4000] = "abc\t0.1"  # was: the rows after it dropped without a word
    f.write_text(_lvm(["X_Value\tAcceleration"] + rows))
    with pytest.raises(TinymlError, match=r"m.lvm: line 4012: 'abc' where the X value, a number, belongs"):
        read_recording(f, _spec("predictive-maintenance"))


def test_a_cwru_speed_that_is_no_speed_is_said_and_left_out(tmp_path, capsys):
    from scipy.io import savemat

    d = tmp_path / "12k_DE"
    d.mkdir()
    x = 0.1 * np.random.default_rng(0).standard_normal((7000, 1))
    for value in ("fast", 1e308):
        savemat(d / "105.mat", {"X105_DE_time": x, "X105RPM": value})
        r = read_recording(d / "105.mat", _spec("predictive-maintenance"))
        assert "shaft_hz" not in r.deployment.get("machine", {})  # the manifest's speed stands
        assert "X105RPM is no motor speed" in capsys.readouterr().err


def test_a_field_a_reader_did_not_foresee_still_gets_one_line(tmp_path):
    """The core's net under every reader: an ISMN header whose latitude is a word."""
    name = "DEMO_DEMO_Field-A_sm_0.050000_0.050000_ThetaProbe-ML2X_20200101_20200110.stm"
    head = "DEMO       DEMO            Field-A           abc        16.25000  210.00    0.0500    0.0500  ThetaProbe-ML2X"
    rows = [f"2020/01/{1 + h // 24:02d} {h % 24:02d}:00 0.2500 G M" for h in range(150)]
    (tmp_path / name).write_text("\n".join([head, *rows]) + "\n")
    with pytest.raises(TinymlError, match=r"not readable as a ismn file: ValueError: could not convert string to "
                                          r"float: 'abc'") as e:
        read_recording(tmp_path / name, _spec("soil-monitoring"))
    assert "\n" not in str(e.value)


def test_a_unit_no_table_knows_is_said_not_taken_silently(tmp_path, capsys):
    t = np.arange(1000) / 50.0
    rows = "".join(f"{1000 * s:.0f},{0.1 * np.sin(s):.4f},{-1 + 0.05 * np.cos(s):.4f},{0.02:.4f}\n" for s in t)
    (tmp_path / "walk.csv").write_text("timestamp,ax (furlong),ay (furlong),az (furlong)\n" + rows)
    r = read_recording(tmp_path / "walk.csv", _spec("fall-detect"))
    assert r.signal.shape == (1000, 3)
    assert "ax, ay, az: the file's unit 'furlong' is none this reads" in capsys.readouterr().err


def _hobo(rows: list[str], zone: str = "GMT-07:00") -> str:
    head = ['"Plot Title: CM2SM"', f'"#","Date Time, {zone}","Water Content, m³/m³ (LGR S/N: 20418942, SEN S/N: '
                                   '20684002, LBL: 30 CM)"']
    return "\n".join(head + rows) + "\n"


def test_hobo_overflow_and_an_impossible_time_zone_are_refused(tmp_path):
    from datetime import datetime, timedelta

    t0 = datetime(2021, 5, 1)
    rows = [f"{i + 1},{t0 + timedelta(minutes=15 * i):%m/%d/%y %I:%M:%S %p},{0.25 - 0.0002 * i:.4f}" for i in range(200)]
    f = tmp_path / "hobo.csv"
    f.write_text(_hobo(rows))
    assert read_recording(f, _spec("soil-monitoring")).signal.shape[0] == 200
    bad = list(rows)
    bad[100] = bad[100].rsplit(",", 1)[0] + ",inf"  # was: dropped as an event-only row
    f.write_text(_hobo(bad))
    with pytest.raises(TinymlError, match=r"hobo.csv: line 103: infinite value in 'Water Content"):
        read_recording(f, _spec("soil-monitoring"))
    f.write_text(_hobo(rows, "GMT+25:00"))
    with pytest.raises(TinymlError, match=r"hobo.csv: the 'Date Time' heading's time zone 'GMT\+25:00' is no offset"):
        read_recording(f, _spec("soil-monitoring"))


def test_an_ismn_infinite_value_is_an_overflow_not_a_missing_sample(tmp_path):
    name = "DEMO_DEMO_Field-A_sm_0.050000_0.050000_ThetaProbe-ML2X_20200101_20200110.stm"
    head = "DEMO       DEMO            Field-A           48.50000   16.25000  210.00    0.0500    0.0500  ThetaProbe-ML2X"
    rows = [f"2020/01/{1 + h // 24:02d} {h % 24:02d}:00 {0.25 - 0.0002 * h:.4f} G M" for h in range(150)]
    (tmp_path / name).write_text("\n".join([head, *rows]) + "\n")
    assert read_recording(tmp_path / name, _spec("soil-monitoring")).signal.shape[0] >= 150
    rows[75] = rows[75].replace(f"{0.25 - 0.0002 * 75:.4f}", "inf")  # was: dropped as a missing sample
    (tmp_path / name).write_text("\n".join([head, *rows]) + "\n")
    with pytest.raises(TinymlError, match=r"infinite value at sample 75 \(an overflow, not a missing value"):
        read_recording(tmp_path / name, _spec("soil-monitoring"))
