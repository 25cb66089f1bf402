"""Input readers: CSV (time in ms or --rate), Edge Impulse JSON, WAV; bad input gets one clear line."""

import json

import numpy as np
import pytest
from scipy.io import wavfile

from tinyml.errors import TinymlError
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording

CH = ["ax", "ay", "az"]


def _csv(tmp_path, rows, header="timestamp,ax,ay,az"):
    p = tmp_path / "r.csv"
    p.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return p


def test_csv_with_ms_time_column(tmp_path):
    rows = [(i * 20, 0.1 * i, 0, 1) for i in range(100)]
    r = read_recording(_csv(tmp_path, rows), CH)
    assert r.rate == pytest.approx(50.0)
    assert r.signal.shape == (100, 3) and r.signal[10, 0] == pytest.approx(1.0)


def test_csv_column_order_follows_manifest(tmp_path):
    rows = [(i * 10, 3, 1, 2) for i in range(10)]
    r = read_recording(_csv(tmp_path, rows, "time_ms,az,ax,ay"), CH)
    assert r.signal[0].tolist() == [1, 2, 3]


def test_csv_rate_flag_without_time(tmp_path):
    r = read_recording(_csv(tmp_path, [(0, 0, 1)] * 5, "ax,ay,az"), CH, rate=100)
    assert r.rate == 100


def test_edge_impulse_json(tmp_path):
    doc = {"protected": {"ver": "v1", "alg": "none"}, "signature": "0",
           "payload": {"device_type": "X", "interval_ms": 10, "sensors": [
               {"name": "accX", "units": "m/s2"}, {"name": "ax", "units": "g"}, {"name": "ay", "units": "g"},
               {"name": "az", "units": "g"}], "values": [[9, 0.1, 0.2, 1.0]] * 30}}
    p = tmp_path / "r.json"
    p.write_text(json.dumps(doc))
    r = read_recording(p, CH)
    assert r.rate == 100 and r.signal.shape == (30, 3) and r.signal[0, 2] == pytest.approx(1.0)


def test_wav_stereo_mixdown(tmp_path, capsys):
    p = tmp_path / "a.wav"
    wavfile.write(p, 16000, (np.ones((1600, 2)) * [1000, 3000]).astype(np.int16))
    r = read_recording(p, ["audio"])
    assert r.signal.shape == (1600, 1) and r.signal[0, 0] == pytest.approx(2000 / 32768)
    assert "mixed down" in capsys.readouterr().err


@pytest.mark.parametrize(
    "make, expect",
    [
        (lambda t: t / "missing.csv", "file not found"),
        (lambda t: _csv(t, [(0, 1, 2)], "timestamp,ax,ay"), "lacks column"),
        (lambda t: _csv(t, [(0, 0, 0, 1), (20, "nan", 0, 1)]), "non-finite value"),
        (lambda t: _csv(t, [(0, 0, "x", 1), (20, 0, 0, 1)]), "line 2: expected numbers"),
        (lambda t: _csv(t, [(0, 0, 0, 1), (0, 0, 0, 1)]), "every sample has the same time"),
        (lambda t: _csv(t, [(0, 0, 1)], "ax,ay,az"), "no time column"),
        (lambda t: _csv(t, [], "timestamp,ax,ay,az"), "no samples"),
        (lambda t: (t / "b.json").write_text("{nope") and t / "b.json", "not valid JSON"),
        (lambda t: (t / "c.json").write_text('{"payload": {}}') and t / "c.json", "not Edge Impulse"),
        (lambda t: (t / "d.wav").write_bytes(b"RIFF1234WAVEjunk") and t / "d.wav", "not a readable WAV"),
    ],
)
def test_bad_input_one_line(tmp_path, make, expect):
    with pytest.raises(TinymlError, match=expect) as e:
        read_recording(make(tmp_path), CH if "wav" not in expect else ["audio"])
    assert "\n" not in str(e.value)


def test_aliases_case_insensitive(tmp_path):
    p = _csv(tmp_path, [(i * 20, 0.1, 0.2, 1.0) for i in range(10)], "timestamp,AccX,accY,acc_z")
    r = read_recording(p, ReadSpec(tuple(CH), aliases={"ax": ("accX",), "ay": ("accy",), "az": ("acc_z",)}))
    assert r.signal[0].tolist() == pytest.approx([0.1, 0.2, 1.0])


def test_edge_impulse_declared_units_converted(tmp_path, capsys):
    doc = {"payload": {"interval_ms": 20, "sensors": [{"name": n, "units": "m/s2"} for n in ("accX", "accY", "accZ")],
                       "values": [[0.0, 0.0, 9.80665]] * 10}}
    p = tmp_path / "ms2.json"
    p.write_text(json.dumps(doc))
    spec = ReadSpec(tuple(CH), aliases={"ax": ("accX",), "ay": ("accY",), "az": ("accZ",)},
                    units={c: "g" for c in CH})
    r = read_recording(p, spec)
    assert r.signal[0, 2] == pytest.approx(1.0)
    assert "converted from m/s2 to g" in capsys.readouterr().err
