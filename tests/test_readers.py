"""The readers package: formats are found by discovery and chosen by the file (content over suffix);
columns by name, alias, a unit in brackets or a --channel pick; one line for what is missing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.io import wavfile

from tinyml import readers
from tinyml.errors import TinymlError
from tinyml.readers import ReadSpec, parse_picks
from tinyml.recording import read_recording

CH = ("ax", "ay", "az")


def test_a_new_reader_module_is_found_without_editing_anything(tmp_path, monkeypatch):
    pkg = tmp_path / "more_readers"
    pkg.mkdir()
    (pkg / "tabfmt.py").write_text(
        "import numpy as np\n"
        "from tinyml.readers import FileSignal\n"
        "def claim(path, head):\n"
        "    return 70 if head.startswith(b'TAB1') else 0\n"
        "def read(path, spec):\n"
        "    rows = [list(map(float, ln.split())) for ln in path.read_text().splitlines()[1:]]\n"
        "    a = np.asarray(rows)\n"
        "    found = spec.match(['ax', 'ay', 'az'], path, 'TAB1', 'column')\n"
        "    return FileSignal({c: a[:, i] for c, i in found.items()}, rate=25.0)\n")
    monkeypatch.setattr(readers, "__path__", [*readers.__path__, str(pkg)])
    p = tmp_path / "r.csv"  # the content decides, not the suffix
    p.write_text("TAB1\n" + "\n".join("0 0 1" for _ in range(10)) + "\n")
    assert readers.reader_for(p).__name__.endswith(".tabfmt")
    r = read_recording(p, CH)
    assert r.rate == 25.0 and r.signal.shape == (10, 3) and r.signal[0, 2] == 1.0


def test_content_decides_over_the_suffix(tmp_path):
    w = tmp_path / "clip.dat"
    wavfile.write(w, 16000, np.zeros(160, np.int16))
    assert readers.reader_for(w).__name__.endswith(".wav")
    j = tmp_path / "export.txt"
    j.write_text(json.dumps({"payload": {"interval_ms": 20, "sensors": [{"name": c, "units": "g"} for c in CH],
                                         "values": [[0, 0, 1]] * 5}}))
    assert readers.reader_for(j).__name__.endswith(".ei_json")
    c = tmp_path / "log.dat"
    c.write_text("timestamp,ax,ay,az\n0,0,0,1\n20,0,0,1\n")
    assert readers.reader_for(c).__name__.endswith(".csv")


def test_a_file_no_reader_claims_is_refused_in_one_line(tmp_path):
    p = tmp_path / "blob.bin"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(TinymlError, match="no reader for this file") as e:
        read_recording(p, CH)
    assert "\n" not in str(e.value)


def test_unit_in_brackets_is_matched_and_declared(tmp_path, capsys):
    p = tmp_path / "r.csv"
    p.write_text("time (ms),ax (mg),ay (mg),az (mg)\n" + "".join(f"{i * 20},0,0,1000\n" for i in range(10)))
    r = read_recording(p, ReadSpec(CH, units={c: "g" for c in CH}))
    assert r.rate == 50 and r.signal[0].tolist() == [0, 0, 1]
    assert "converted from mg to g" in capsys.readouterr().err


def test_channel_picks_choose_the_files_columns(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("timestamp,a1,a2,a3,b3\n" + "".join(f"{i * 20},1,2,3,4\n" for i in range(10)))
    spec = ReadSpec(CH, picks=parse_picks(["ax=a1", "ay=A2", "az=b3"], CH))
    assert read_recording(p, spec).signal[0].tolist() == [1, 2, 4]
    with pytest.raises(TinymlError, match=r"lacks column\(s\) az \(--channel az=zz names no column\)"):
        read_recording(p, ReadSpec(CH, picks={"az": "zz", "ax": "a1", "ay": "a2"}))


@pytest.mark.parametrize("given, expect", [
    (["V5"], "the app has channels ax, ay, az; say which one: --channel ax=V5"),
    (["ecg=V5"], "'ecg' is not one of the app's channels"),
    (["ax="], "give the file's column"),
])
def test_channel_pick_errors_are_one_line(given, expect):
    with pytest.raises(TinymlError, match=expect):
        parse_picks(given, CH)
    assert parse_picks(["V5"], ("ecg",)) == {"ecg": "V5"}


def test_picks_that_name_no_column_are_named_as_given(tmp_path, monkeypatch):
    """Two of them under make were named `CHANNEL=ax=zz ay=yy`, a value make now reads as one mapping."""
    p = tmp_path / "r.csv"
    p.write_text("timestamp,a1,a2,a3\n" + "".join(f"{i * 20},1,2,3\n" for i in range(10)))
    monkeypatch.setenv("TINYML_MAKE", "1")
    with pytest.raises(TinymlError, match=r"lacks column\(s\) ax, ay \(CHANNEL='ax=zz;ay=y y' name no column\)"):
        read_recording(p, ReadSpec(CH, picks={"ax": "zz", "ay": "y y", "az": "a3"}))


@pytest.mark.parametrize("make, expect", [
    ("0", "--channel ax=a1 ay=a 2: several mappings in one; give them as --channel ax=a1 --channel 'ay=a 2'"),
    ("1", "CHANNEL=ax=a1 ay=a 2: several mappings in one; give them as CHANNEL='ax=a1;ay=a 2'"),
])
def test_two_mappings_in_one_channel_value_are_one_line(monkeypatch, make, expect):
    """make's CHANNEL= splits at ';' only (a column name may have spaces): "ax=a1 ay=a 2" would look for a
    column 'a1 ay=a 2'."""
    monkeypatch.setenv("TINYML_MAKE", make)
    with pytest.raises(TinymlError) as e:
        parse_picks(["ax=a1 ay=a 2"], CH)
    assert str(e.value) == expect
    assert parse_picks(["ax=a = b"], CH) == {"ax": "a = b"}  # an '=' in a column name is no mapping


def test_wav_channel_pick_and_stereo_mixdown(tmp_path, capsys):
    p = tmp_path / "s.wav"
    wavfile.write(p, 16000, (np.ones((1600, 2)) * [1000, 3000]).astype(np.int16))
    right = read_recording(p, ReadSpec(("audio",), picks=parse_picks(["2"], ("audio",))))
    assert right.signal[0, 0] == pytest.approx(3000 / 32768)
    left = read_recording(p, ReadSpec(("audio",), picks=parse_picks(["left"], ("audio",))))
    assert left.signal[0, 0] == pytest.approx(1000 / 32768)
    mixed = read_recording(p, ("audio",))
    assert mixed.signal[0, 0] == pytest.approx(2000 / 32768) and "mixed down" in capsys.readouterr().err


def test_rate_option_overrides_the_files_time_with_a_notice(tmp_path, capsys):
    p = tmp_path / "r.wav"
    wavfile.write(p, 8000, np.zeros(800, np.int16))
    assert read_recording(p, ("audio",), rate=16000).rate == 16000
    assert "the file's rate 8000 Hz replaced by --rate 16000" in capsys.readouterr().err
    c = tmp_path / "r.csv"
    c.write_text("timestamp,ax,ay,az\n" + "".join(f"{i * 20},0,0,1\n" for i in range(10)))
    assert read_recording(c, CH, rate=100).rate == 100
    assert "time column 'timestamp' ignored: --rate 100 given" in capsys.readouterr().err
