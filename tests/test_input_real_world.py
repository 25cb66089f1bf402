"""Files as users really have them (a new user's audit of `predict`): phone-app accelerometer exports,
European spreadsheets, Windows encodings, ADC dumps, WAVs and ECG records as tools write them. Each
fixture is written here, small, in the layout the tool writes (synthetic values, never real data)."""

from __future__ import annotations

import numpy as np
import pytest

from apptest import synthetic_ecg

from tinyml.apps import load_app
from tinyml.errors import TinymlError
from tinyml.predict import prepare
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording

G = 9.80665


def _spec(app_id: str, **kw) -> ReadSpec:
    return ReadSpec.from_manifest(load_app(app_id).manifest, **kw)


def _accel(n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n) / rate
    a = np.stack([0.1 * np.sin(2 * np.pi * 1.3 * t), -1 + 0.05 * np.sin(2 * np.pi * 0.7 * t),
                  0.2 * np.cos(2 * np.pi * 0.5 * t)], 1)
    return t, a


def test_semicolon_csv_with_decimal_commas_is_read_with_a_notice(tmp_path, capsys):
    # phyphox "Excel" export and German spreadsheets: `;` between cells, `,` before decimals
    t, a = _accel(400, 100)
    p = tmp_path / "Raw Data.csv"
    p.write_text('"Time (s)";"Acceleration x (m/s^2)";"Acceleration y (m/s^2)";"Acceleration z (m/s^2)"\n'
                 + "".join(f"{tt:.9E};{x * G:.9E};{y * G:.9E};{z * G:.9E}\n".replace(".", ",")
                           for tt, (x, y, z) in zip(t, a)))
    rec = read_recording(p, _spec("fall-detect"))
    err = capsys.readouterr().err
    assert "decimal commas read as decimal points" in err and "converted from m/s^2 to g" in err
    assert rec.rate == 100 and np.allclose(rec.signal[:, 1].mean(), -1.0, atol=0.01)


def test_comma_separated_csv_keeps_commas_as_separators(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("time_ms,ax,ay,az\n" + "".join(f"{i * 20},{0.01 * (i % 2)},{-1 + 0.01 * (i % 3)},{0.02 * (i % 4)}\n" for i in range(300)))
    rec = read_recording(p, _spec("fall-detect"))
    assert rec.signal.shape == (300, 3) and rec.rate == 50


def test_windows_1252_and_utf16_text_are_read_and_binary_is_refused(tmp_path, capsys):
    t, a = _accel(300, 50)
    body = "".join(f"{tt * 1000:.0f}\t{x * G:.4f}\t{y * G:.4f}\t{z * G:.4f}\n" for tt, (x, y, z) in zip(t, a))
    head = "timestamp\tax (m/s²)\tay (m/s²)\taz (m/s²)\n"
    (tmp_path / "cp1252.txt").write_bytes((head + body).encode("cp1252"))
    (tmp_path / "unicode.txt").write_bytes((head + body).encode("utf-16"))  # Excel "Unicode text": BOM + UTF-16LE
    for name in ("cp1252.txt", "unicode.txt"):
        rec = read_recording(tmp_path / name, _spec("fall-detect"))
        assert np.allclose(rec.signal[:, 1].mean(), -1.0, atol=0.01), name
    assert "read as Windows-1252" in capsys.readouterr().err
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"timestamp,ax\x00\x01\xff\xfe" * 50)
    with pytest.raises(TinymlError, match=r"junk.csv: not a text CSV: binary content$"):
        read_recording(junk, _spec("fall-detect"))


def test_ios_sensorlog_export_finds_its_axes_and_its_sensor_time(tmp_path, capsys):
    # SensorLog: many sensors, each with its own time; the location time comes first and ticks at 1 Hz
    t, a = _accel(500, 100)
    p = tmp_path / "sensorlog.csv"
    p.write_text("loggingTime(txt),locationTimestamp_since1970(s),accelerometerTimestamp_sinceReboot(s),"
                 "accelerometerAccelerationX(G),accelerometerAccelerationY(G),accelerometerAccelerationZ(G)\n"
                 + "".join(f"2026-12-05 14:28:{8 + tt:06.3f} +0100,{1733405288 + int(tt)},{5012.25 + tt:.6f},"
                           f"{x:.6f},{y:.6f},{z:.6f}\n" for tt, (x, y, z) in zip(t, a)))
    rec = read_recording(p, _spec("fall-detect"))
    err = capsys.readouterr().err
    assert "time read from column 'accelerometerTimestamp_sinceReboot(s)'" in err
    assert rec.rate == 100 and rec.signal.shape == (500, 3)


def test_a_unit_suffix_in_a_heading_is_matched_and_declared(tmp_path, capsys):
    ecg = synthetic_ecg(250, 10)
    p = tmp_path / "ecg.csv"
    p.write_text("time_s,ECG_uV\n" + "".join(f"{i / 250:.4f},{v * 1000:.1f}\n" for i, v in enumerate(ecg)))
    rec = read_recording(p, _spec("heart-rate-anomaly"))
    assert "ecg: converted from uV to mV" in capsys.readouterr().err
    assert np.allclose(rec.signal[:, 0], ecg, atol=1e-3)


@pytest.mark.parametrize("header, offset, scale", [
    ("timestamp,ecg", 512, 200),  # Arduino analogRead of an AD8232 board
    ("timestamp,ecg", 2048, 400),  # a 12-bit converter
    ("'sample #','MLII'", 1024, 200),  # MIT-BIH as a CSV dump: 11-bit codes, headings in single quotes
])
def test_unsigned_adc_codes_of_an_ecg_are_refused_not_guessed(tmp_path, header, offset, scale):
    ecg = synthetic_ecg(250, 10)
    p = tmp_path / "adc.csv"
    p.write_text(header + "\n" + "".join(f"{i * 4},{int(offset + v * scale)}\n" for i, v in enumerate(ecg)))
    with pytest.raises(TinymlError, match=r"raw codes of an unsigned \d+-bit ADC, not mV") as e:
        read_recording(p, _spec("heart-rate-anomaly", rate=250.0 if "sample" in header else None))
    assert "\n" not in str(e.value)


def test_unsigned_adc_codes_of_an_accelerometer_are_refused(tmp_path):
    t, a = _accel(300, 50)  # ADXL335 on a 10-bit ADC: 512 at 0 g, ~100 codes per g
    p = tmp_path / "adxl335.csv"
    p.write_text("timestamp,ax,ay,az\n" + "".join(f"{tt * 1000:.0f},{int(512 + 100 * x)},{int(512 + 100 * y)},"
                                                   f"{int(512 + 100 * z)}\n" for tt, (x, y, z) in zip(t, a)))
    with pytest.raises(TinymlError, match="unsigned 10-bit ADC, not g"):
        read_recording(p, _spec("fall-detect"))


def test_whole_percent_soil_moisture_is_not_taken_for_adc_codes(tmp_path, capsys):
    p = tmp_path / "soil.csv"
    p.write_text("datetime,soil_moisture\n" + "".join(f"2021-05-{1 + h // 24:02d} {h % 24:02d}:00,{25 + h % 3}\n"
                                                      for h in range(72)))
    rec = read_recording(p, _spec("soil-monitoring"))
    assert "values look like %" in capsys.readouterr().err and 0.24 < np.median(rec.signal[:, 0]) < 0.28


def _wav_bytes(rate: int, x: np.ndarray, extra: bytes = b"") -> bytes:
    import struct

    raw = np.clip(x * 32767, -32768, 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra + b"data" + struct.pack("<I", len(raw)) + raw
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_a_wav_with_a_list_chunk_is_read_and_a_truncated_one_is_refused(tmp_path):
    x = 0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    info = b"INFO" + b"ISFT" + (14).to_bytes(4, "little") + b"Lavf58.76.100\x00"
    whole = _wav_bytes(16000, x, b"LIST" + len(info).to_bytes(4, "little") + info)  # as ffmpeg writes it
    (tmp_path / "list.wav").write_bytes(whole)
    rec = read_recording(tmp_path / "list.wav", _spec("keyword-spotting"))
    assert rec.signal.shape == (16000, 1) and np.allclose(rec.signal[:, 0], x, atol=1e-4)
    (tmp_path / "cut.wav").write_bytes(whole[: len(whole) // 2])  # an interrupted copy
    with pytest.raises(TinymlError, match=r"cut.wav: WAV file is truncated \(.*expected \d+ bytes"):
        read_recording(tmp_path / "cut.wav", _spec("keyword-spotting"))


def _mitdb_like(folder, name="rec"):
    from tinyml.readers.wfdb import quiet

    with quiet():
        import wfdb
    ecg = synthetic_ecg(360, 20)
    with quiet():
        wfdb.wrsamp(name, fs=360, units=["mV", "mV"], sig_name=["MLII", "V5"], p_signal=np.stack([ecg, 0.5 * ecg], 1),
                    fmt=["212", "212"], adc_gain=[200, 200], baseline=[1024, 1024], write_dir=str(folder))
    return ecg


def test_a_wfdb_record_is_read_from_its_dat_and_a_truncated_dat_is_refused(tmp_path):
    ecg = _mitdb_like(tmp_path)
    rec = read_recording(tmp_path / "rec.dat", _spec("heart-rate-anomaly"))  # the signal file, not the .hea
    assert rec.rate == 360 and np.allclose(rec.signal[:, 0], ecg, atol=0.01)
    dat = tmp_path / "rec.dat"
    dat.write_bytes(dat.read_bytes()[:5000])
    for given in ("rec.hea", "rec.dat"):
        with pytest.raises(TinymlError, match=r"rec.dat is truncated: 5000 bytes, the header's 7200 samples need 21600$"):
            read_recording(tmp_path / given, _spec("heart-rate-anomaly"))


def test_a_wfdb_header_without_signal_lines_says_so(tmp_path):
    (tmp_path / "bad.hea").write_text("bad 2 360\n")
    with pytest.raises(TinymlError, match="bad.hea: the WFDB header describes no signals"):
        read_recording(tmp_path / "bad.hea", _spec("heart-rate-anomaly"))
    # a frequency wfdb would take as its default 250 Hz without a word, a length it would drop
    (tmp_path / "bad.hea").write_text("bad 1 garbage 3000\nbad.dat 16 200/mV 16 0 0 0 0 MLII\n")
    with pytest.raises(TinymlError, match="bad.hea: the record line's sampling frequency 'garbage' is not a positive"):
        read_recording(tmp_path / "bad.hea", _spec("heart-rate-anomaly"))
    (tmp_path / "bad.hea").write_text("bad 1 360 lots\nbad.dat 16 200/mV 16 0 0 0 0 MLII\n")
    with pytest.raises(TinymlError, match="bad.hea: the record line's length 'lots' is not a number of samples"):
        read_recording(tmp_path / "bad.hea", _spec("heart-rate-anomaly"))


def _rows(t, a, fmt="{:.0f}", scale=1000.0, sep=","):
    return "".join(sep.join([fmt.format(tt * scale), f"{x:.4f}", f"{y:.4f}", f"{z:.4f}"]) + "\n"
                   for tt, (x, y, z) in zip(t, a))


@pytest.mark.parametrize("times", ["restart", "back 1 s"])
def test_time_that_steps_back_beyond_max_gap_is_refused_not_interleaved(tmp_path, times):
    t, a = _accel(1000, 50)
    a[:, 0] += 0.001 * np.arange(1000)  # the second stretch is another signal (rows sent again are not refused)
    t = np.concatenate([t[:500], t[:500]]) if times == "restart" else np.where(np.arange(1000) < 500, t, t - 1.0)
    p = tmp_path / "joined.csv"
    p.write_text("timestamp,ax,ay,az\n" + _rows(t, a))
    with pytest.raises(TinymlError, match=r"joined.csv: time goes back (9.98 s|980 ms) after sample 499 .*cut the "
                                          r"recording there$"):
        read_recording(p, _spec("fall-detect"))


def test_a_preamble_a_units_row_and_a_trailing_separator_are_read(tmp_path, capsys):
    t, a = _accel(300, 50)
    (tmp_path / "pre.csv").write_text("Device: MetaMotion\nSample rate: 50Hz\n\ntimestamp,ax,ay,az\n" + _rows(t, a))
    (tmp_path / "units.csv").write_text("time,ax,ay,az\ns,m/s^2,m/s^2,m/s^2\n" + _rows(t, a * G, "{:.3f}", 1.0))
    (tmp_path / "trail.csv").write_text("timestamp,ax,ay,az\n" + _rows(t, a).replace("\n", ",\n"))
    for name in ("pre.csv", "units.csv", "trail.csv"):
        rec = read_recording(tmp_path / name, _spec("fall-detect"))
        assert rec.rate == 50 and np.allclose(rec.signal, a, atol=1e-3), name
    err = capsys.readouterr().err
    assert "2 lines before the heading skipped" in err and "units.csv: ax, ay, az: converted from m/s^2 to g" in err


def test_metawear_export_names_its_axes_x_axis(tmp_path):
    t, a = _accel(300, 50)
    p = tmp_path / "MetaWear_Accelerometer.csv"
    p.write_text("epoc (ms),timestamp (+0100),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n" + "".join(
        f"{1733400000000 + int(tt * 1000)},2026-12-05T14:00:{tt:06.3f},{tt:.3f},{x:.4f},{y:.4f},{z:.4f}\n"
        for tt, (x, y, z) in zip(t, a)))
    rec = read_recording(p, _spec("fall-detect"))
    assert rec.rate == 50 and np.allclose(rec.signal, a, atol=1e-3)


@pytest.mark.parametrize("header, stamp", [
    ("Datum;Zeit;VWC", "{:%d.%m.%Y;%H:%M}"),  # German logger export: day and clock in two columns
    ("Zeitstempel;VWC", "{:%d.%m.%Y %H:%M}"),
    ("Date;VWC", "{:%m/%d/%Y %I:%M %p}"),  # US: month first (a day above 12 tells), 12-hour clock
    ("Date;VWC", "{:%d/%m/%Y %H:%M}"),  # UK: day first
])
def test_european_and_us_dates_give_the_hourly_rate(tmp_path, header, stamp):
    from datetime import datetime, timedelta

    t0 = datetime(2021, 5, 1)
    p = tmp_path / "soil.csv"
    vwc = [f"{0.25 + 0.01 * np.sin(h / 5):.4f}".replace(".", ",") for h in range(400)]  # decimal commas
    p.write_text(header + "\n" + "".join(f"{stamp.format(t0 + timedelta(hours=h))};{vwc[h]}\n" for h in range(400)))
    rec = read_recording(p, _spec("soil-monitoring"))
    assert rec.rate == pytest.approx(1 / 3600) and len(rec.signal) == 400
    assert np.allclose(rec.signal[:, 0], 0.25 + 0.01 * np.sin(np.arange(400) / 5), atol=1e-4)


def test_slash_dates_no_day_above_12_tells_are_refused(tmp_path):
    p = tmp_path / "soil.csv"
    p.write_text("Date,VWC\n" + "".join(f"05/{d:02d}/2021 {h:02d}:00,0.25\n" for d in range(1, 4) for h in range(24)))
    with pytest.raises(TinymlError, match=r"dates like '05/01/2021 00:00' may be day/month or month/day"):
        read_recording(p, _spec("soil-monitoring"))


def test_predict_help_lists_every_reader():
    from tinyml.cli import build_parser
    from tinyml.readers import modules

    text = build_parser().verbs["predict"].format_help()
    for mod in modules():
        assert f"  {mod.__name__.rsplit('.', 1)[1]}: " in text
    assert "accepted_rates" in text and "exit code 2" in text


def test_a_matlab_file_gives_its_named_variable_at_its_fs(tmp_path, capsys):
    from scipy.io import savemat

    ecg = synthetic_ecg(300, 10)
    savemat(tmp_path / "ecg.mat", {"ecg": ecg, "fs": 300.0, "patient": "x"})  # as MATLAB/Octave users save it
    rec = read_recording(tmp_path / "ecg.mat", _spec("heart-rate-anomaly"))
    assert rec.rate == 300 and np.allclose(rec.signal[:, 0], ecg, atol=1e-5)
    savemat(tmp_path / "sig.mat", {"sig": ecg})  # one unnamed signal, no rate: --rate
    with pytest.raises(TinymlError, match=r"sig.mat: no rate in the file \(a variable fs, .*give --rate HZ$"):
        read_recording(tmp_path / "sig.mat", _spec("heart-rate-anomaly"))
    rec = read_recording(tmp_path / "sig.mat", _spec("heart-rate-anomaly", rate=300.0))
    assert rec.rate == 300 and "'sig', read as ecg" in capsys.readouterr().err
    savemat(tmp_path / "two.mat", {"a": ecg, "b": ecg, "fs": 300})
    with pytest.raises(TinymlError, match="two.mat: MATLAB file lacks variable"):
        read_recording(tmp_path / "two.mat", _spec("heart-rate-anomaly"))


@pytest.mark.parametrize("tag, codes, want", [
    (7, [0xFF, 0x80, 0x00, 0x7F, 0xEF], [0, 32124, -32124, 0, 132]),  # mu-law (ITU-T G.711 table values)
    (6, [0xD5, 0x55, 0xAA, 0x2A, 0xC5], [8, -8, 32256, -32256, 264]),  # A-law
])
@pytest.mark.parametrize("extensible", [False, True])
def test_a_g711_telephone_wav_is_decoded(tmp_path, tag, codes, want, extensible):
    import struct

    data = bytes(codes * 1600)  # 1 s at 8 kHz
    fmt = struct.pack("<HHIIHH", tag, 1, 8000, 8000, 1, 8) + b"\x00\x00"  # 18-byte fmt, as sox writes it
    if extensible:  # WAVE_FORMAT_EXTENSIBLE: the G.711 tag in the sub-format GUID {000000tt-0000-0010-8000-00AA00389B71}
        fmt = (struct.pack("<HHIIHHHHI", 0xFFFE, 1, 8000, 8000, 1, 8, 22, 8, 4) + struct.pack("<I", tag)
               + b"\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<II", 4, len(data)) \
        + b"data" + struct.pack("<I", len(data)) + data
    p = tmp_path / "call.wav"
    p.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    rec = read_recording(p, _spec("keyword-spotting"))
    assert rec.rate == 8000 and len(rec.signal) == 8000
    np.testing.assert_array_equal(rec.signal[:5, 0] * 32768, want)


def test_a_loggers_gap_is_told_in_hours_and_a_missing_value_says_how_to_leave_it_out(tmp_path):
    from datetime import datetime, timedelta

    t0 = datetime(2021, 5, 1)
    hours = [h for h in range(200) if not 50 <= h < 61]  # 12 h without a sample
    p = tmp_path / "soil.csv"
    p.write_text("time,vwc\n" + "".join(f"{t0 + timedelta(hours=h):%Y-%m-%dT%H:%M},0.25\n" for h in hours))
    with pytest.raises(TinymlError, match=r"a gap of 12 h in the time column after .*gaps over 6 h \(\[signal\] max_gap_s\)"):
        read_recording(p, _spec("soil-monitoring"))
    p.write_text("time,vwc\n" + "".join(f"{t0 + timedelta(hours=h):%Y-%m-%dT%H:%M},{'' if h == 40 else 0.25}\n"
                                        for h in range(200)))
    with pytest.raises(TinymlError, match=r"in channel 'vwc' at sample 40; leave the row out, and the gap is interpolated$"):
        read_recording(p, _spec("soil-monitoring"))


def test_an_edge_impulse_file_without_values_says_so(tmp_path):
    import json

    p = tmp_path / "empty.json"
    p.write_text(json.dumps({"protected": {"ver": "v1", "alg": "none"}, "signature": "0", "payload": {
        "device_type": "x", "interval_ms": 20, "sensors": [{"name": n, "units": "g"} for n in ("accX", "accY", "accZ")],
        "values": []}}))
    with pytest.raises(TinymlError, match=r"empty.json: payload.values is empty: no samples$"):
        read_recording(p, _spec("fall-detect"))


def test_an_apple_watch_ecg_export_is_read_at_its_rate_in_its_unit(tmp_path):
    ecg = synthetic_ecg(512, 30)
    p = tmp_path / "ecg_2026-12-05.csv"
    p.write_text('Name,Jane Doe\nDate of Birth,1970-01-01\nRecorded Date,2026-12-05 14:28:08 +0100\n'
                 'Classification,Sinus Rhythm\nSymptoms,\nSoftware Version,1.90\nDevice,"Watch6,1"\n'
                 'Sample Rate,512 hertz\n,\nLead,Lead I\nUnit,µV\n,\n,\n'
                 + "".join(f"{v * 1000:.3f}\n" for v in ecg) + "\n")
    rec = read_recording(p, _spec("heart-rate-anomaly"))
    assert rec.rate == 512 and np.allclose(rec.signal[:, 0], ecg, atol=1e-5)  # µV converted to mV
    p.write_text(p.read_text().replace("Sample Rate,512 hertz\n", ""))
    with pytest.raises(TinymlError, match="without a 'Sample Rate' line"):
        read_recording(p, _spec("heart-rate-anomaly"))


def test_an_apple_watch_ecg_export_with_decimal_commas_keeps_the_fractions(tmp_path):
    ecg = synthetic_ecg(512, 30)
    p = tmp_path / "ecg_de.csv"  # a decimal-comma locale: `-12,345` unquoted splits into two CSV cells
    p.write_text('Name,Jane Doe\nRecorded Date,2026-12-05 14:28:08 +0100\nSample Rate,512 Hertz\n,\n'
                 'Lead,Lead I\nUnit,µV\n,\n' + "".join(f"{v * 1000:.3f}\n".replace(".", ",") for v in ecg))
    rec = read_recording(p, _spec("heart-rate-anomaly"))
    assert np.allclose(rec.signal[:, 0], ecg, atol=1e-5)
    p.write_text(p.read_text() + "1,5,7\n")
    with pytest.raises(TinymlError, match=r"ecg_de.csv: line 15368: '1,5,7' is not one sample"):
        read_recording(p, _spec("heart-rate-anomaly"))


NBSP = "\u00a0"
GERMAN_ECG_HEAD = ("Name\nGeburtstag,01.01.1970\nAufzeichnungsdatum,2026-12-05 14:28:08 +0100\n"
                   "Klassifizierung,Sinusrhythmus\nSymptome,\nSoftwareversion,2.0\nGerät,\"Watch7,2\"\n"
                   f"Messrate,511,422{NBSP}Hertz\n,\nAbleitung,Ableitung I\nEinheit,µV\n,\n,\n")


def test_a_german_apple_watch_ecg_export_is_read_at_its_rate_in_its_unit(tmp_path):
    """A German iPhone writes the key words in German (`Messrate`, `Ableitung`, `Einheit`), the rate with a
    decimal comma and a no-break space before `Hertz`, the samples with decimal commas: no reader took it."""
    ecg = synthetic_ecg(511.422, 30)
    p = tmp_path / "ekg_2026-12-05.csv"
    p.write_text(GERMAN_ECG_HEAD + "".join(f"{v * 1000:.3f}\n".replace(".", ",") for v in ecg) + "\n")
    rec = read_recording(p, _spec("heart-rate-anomaly"))
    assert rec.rate == pytest.approx(511.422) and np.allclose(rec.signal[:, 0], ecg, atol=1e-5)
    assert len(prepare(load_app("heart-rate-anomaly"), rec, notice=False)) == 30 * 250  # a measured rate resampled
    p.write_text(p.read_text().replace(f"Messrate,511,422{NBSP}Hertz\n", ""))
    with pytest.raises(TinymlError, match="without a 'Sample Rate' line"):
        read_recording(p, _spec("heart-rate-anomaly"))


def test_an_apple_watch_ecg_exports_rate_keeps_its_decimal_comma(tmp_path):
    """`Sample Rate,511,422 hertz` (a comma region): CSV splits the value; the rate read 511 Hz."""
    ecg = synthetic_ecg(511.422, 30)
    p = tmp_path / "ecg.csv"
    p.write_text("Name,Jane Doe\nRecorded Date,2026-12-05 14:28:08 +0100\nSample Rate,511,422 hertz\n,\n"
                 "Lead,Lead I\nUnit,µV\n,\n" + "".join(f"{v * 1000:.3f}\n".replace(".", ",") for v in ecg))
    assert read_recording(p, _spec("heart-rate-anomaly")).rate == pytest.approx(511.422)


@pytest.mark.parametrize("name, says", [("memo.m4a", "convert it to WAV first"), ("log.xlsx", "save the sheet as CSV"),
                                        ("scope.npy", "write it as CSV")])
def test_a_format_no_reader_takes_says_what_to_do(tmp_path, name, says):
    p = tmp_path / name
    p.write_bytes(b"PK\x03\x04\x14\x00\x00\x00" + bytes(200))  # binary: no reader claims it
    with pytest.raises(TinymlError, match=f"{name}: no reader for this file: .*{says}"):
        read_recording(p, _spec("keyword-spotting"))


def _edf_bytes(signals: dict[str, np.ndarray], rate: int, unit: str = "uV", bdf: bool = False,
               reserved: str = "EDF+C") -> bytes:
    """An EDF (or BDF) file as the specification lays it out: 1 s records, digital range the full int16/int24."""
    width = 3 if bdf else 2
    dmax = (1 << (8 * width - 1)) - 1
    n = len(next(iter(signals.values()))) // rate
    labels = [*signals, "BDF Annotations" if bdf else "EDF Annotations"]  # the annotation signal, not a channel
    spr = [rate] * len(signals) + [30]

    def f(values, size):
        return "".join(str(v)[:size].ljust(size) for v in values)

    head = ("0".ljust(8) + "X X X X".ljust(80) + "Startdate 05-DEC-2026 X X X".ljust(80) + "05.12.26" + "14.28.08"
            + str(256 * (len(labels) + 1)).ljust(8) + reserved.ljust(44) + str(n).ljust(8) + "1".ljust(8)
            + str(len(labels)).ljust(4))
    head += f(labels, 16) + f([""] * len(labels), 80) + f([unit] * len(signals) + [""], 8)
    head += f(["-5000"] * len(signals) + ["-1"], 8) + f(["5000"] * len(signals) + ["1"], 8)
    head += f([-dmax - 1] * len(labels), 8) + f([dmax] * len(labels), 8) + f([""] * len(labels), 80)
    head += f(spr, 8) + f([""] * len(labels), 32)
    raw = (b"\xffBIOSEMI" + head[8:].encode("latin-1")) if bdf else head.encode("latin-1")
    gain = 10000 / (2 * dmax + 1)
    for r in range(n):
        for x in signals.values():
            d = np.round((x[r * rate:(r + 1) * rate] + 5000) / gain) - dmax - 1
            raw += b"".join(int(v).to_bytes(width, "little", signed=True) for v in d)
        raw += bytes(30 * width)
    return raw


@pytest.mark.parametrize("bdf", [False, True])
def test_an_edf_or_bdf_recording_gives_its_ecg_signal(tmp_path, bdf):
    ecg = synthetic_ecg(256, 12)
    p = tmp_path / ("holter.bdf" if bdf else "holter.edf")
    p.write_bytes(_edf_bytes({"Resp": 0.1 * ecg * 1000, "ECG": ecg * 1000}, 256, bdf=bdf))
    rec = read_recording(p, _spec("heart-rate-anomaly"))
    assert rec.rate == 256 and len(rec.signal) == len(ecg)
    assert np.abs(rec.signal[:, 0] - ecg).max() < (2e-3 if not bdf else 1e-5)  # uV converted, one LSB
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) - 1000])
    with pytest.raises(TinymlError, match=r"the EDF file is truncated: 11 of the header's 12 data records$"):
        read_recording(p, _spec("heart-rate-anomaly"))


@pytest.mark.parametrize("bdf", [False, True])
def test_a_discontinuous_edf_or_bdf_is_refused(tmp_path, bdf):
    p = tmp_path / ("d.bdf" if bdf else "d.edf")
    p.write_bytes(_edf_bytes({"ECG": synthetic_ecg(256, 4) * 1000}, 256, bdf=bdf, reserved="BDF+D" if bdf else "EDF+D"))
    with pytest.raises(TinymlError, match=r"a discontinuous (EDF|BDF)\+ file"):
        read_recording(p, _spec("heart-rate-anomaly"))


def test_a_bdf_annotation_signal_is_not_offered_as_a_lead(tmp_path):
    p = tmp_path / "eeg.bdf"
    p.write_bytes(_edf_bytes({"Fz": synthetic_ecg(256, 4) * 1000}, 256, bdf=True, reserved="BDF+C"))
    with pytest.raises(TinymlError, match=r"eeg.bdf: .*Fz") as e:
        read_recording(p, _spec("heart-rate-anomaly"))
    assert "Annotations" not in str(e.value)


def test_a_short_ims_snapshot_is_read_with_a_notice(tmp_path, capsys):
    x = np.random.default_rng(0).normal(0, 0.1, (5000, 4))
    p = tmp_path / "2004.02.12.10.32.39"
    p.write_text("".join("\t".join(f"{v:.3f}" for v in row) + "\n" for row in x))
    rec = read_recording(p, _spec("predictive-maintenance"))
    assert rec.rate == 20000 and len(rec.signal) == 5000
    assert "5,000 rows; an IMS snapshot has 20,480 (a cut file?)" in capsys.readouterr().err


def test_signed_int16_counts_of_an_ecg_read_as_uv_say_how_to_give_the_gain_and_real_uv_pass(tmp_path, capsys):
    """Signed ADC counts (int16 at 200 per mV, MIT-BIH's gain) fit microvolts by size: read so, they are 5x too
    small, and no amplitude check tells them from a real microvolt file (codes at 1000 per mV are microvolts;
    a low-voltage lead of 0.3 mV is real). So they are read as uV, and the notice says how to give the gain;
    --set signal.counts_per_unit=200 reads them right. Real microvolt files are never refused."""
    from dataclasses import replace

    ecg = synthetic_ecg(250, 10) - 0.3  # Q/S below the baseline: signed values
    p = tmp_path / "counts.csv"
    p.write_text("time_s,ecg\n" + "".join(f"{i / 250:.4f},{round(v * 200)}\n" for i, v in enumerate(ecg)))
    rec = read_recording(p, _spec("heart-rate-anomaly"))
    err = capsys.readouterr().err
    assert "values look like uV, not mV" in err and "raw counts, not uV, give --set signal.counts_per_unit=N" in err
    assert np.allclose(rec.signal[:, 0], ecg / 5, atol=0.01)
    rec = read_recording(p, replace(_spec("heart-rate-anomaly"), counts_per_unit={"ecg": 200.0}))
    assert "counts (200 per mV)" in capsys.readouterr().err
    assert np.allclose(rec.signal[:, 0], ecg, atol=0.01)
    for name, scale, fmt in (("low.csv", 0.3, "{:.0f}"), ("uv.csv", 1.0, "{:.2f}")):  # whole uV of a low lead; decimals
        q = tmp_path / name
        q.write_text("time_s,ecg\n" + "".join(f"{i / 250:.4f},{fmt.format(v * scale * 1000)}\n"
                                              for i, v in enumerate(ecg)))
        rec = read_recording(q, _spec("heart-rate-anomaly"))
        assert np.allclose(rec.signal[:, 0], ecg * scale, atol=0.001)
        err = capsys.readouterr().err
        assert "values look like uV, not mV" in err and ("counts_per_unit" in err) == (name == "low.csv")


def _vibration_g(rate: float = 25600, n: int = 6400) -> np.ndarray:
    """A healthy machine's radial vibration in g on an AC-coupled (IEPE) sensor: no gravity, so its size (0.07 g
    RMS, 0.7 in m/s²; CWRU's fault records span 0.08-2.1 g) cannot tell m/s² from g: only the file can."""
    t = np.arange(n) / rate
    return 0.1 * np.sin(2 * np.pi * 29.5 * t) + 0.02 * np.random.default_rng(0).standard_normal(n)


def test_a_picked_heading_declares_the_unit_its_suffix_names(tmp_path, capsys):
    """`--channel vib_ms2` picks a column whose heading says m/s²: converted (it was read as g, 9.8x too
    big, silently); θv's `theta_v` is one of soil-monitoring's names for vwc (an alias), not a moisture in volts;
    a suffix of another quantity than the channel's is refused in one line (`accel_v`: a sensor's volts, read as
    g 10x too small when names of other quantities were taken for part of the name)."""
    a = _vibration_g()
    p = tmp_path / "vib.csv"
    p.write_text("time_s,vib_ms2\n" + "".join(f"{i / 25600:.7f},{v * G:.6f}\n" for i, v in enumerate(a)))
    rec = read_recording(p, _spec("predictive-maintenance", picks={"accel": "vib_ms2"}))
    assert "accel: converted from ms2 to g" in capsys.readouterr().err
    np.testing.assert_allclose(rec.signal[:, 0], a, atol=1e-5)
    q = tmp_path / "soil.csv"
    q.write_text("time_s,theta_v\n" + "".join(f"{i * 900},{0.25 + 0.001 * (i % 7):.4f}\n" for i in range(200)))
    for picks in ({"vwc": "theta_v"}, {}):
        rec = read_recording(q, _spec("soil-monitoring", picks=picks))
        assert np.allclose(rec.signal[:, 0], 0.25 + 0.001 * (np.arange(200) % 7), atol=1e-6)
    for heading, picks in (("accel_v", {}), ("accel_mv", {}), ("vib_v", {"accel": "vib_v"})):
        v = tmp_path / f"{heading}.csv"
        v.write_text(f"time_s,{heading}\n" + "".join(f"{i / 25600:.7f},{x * 0.1:.6f}\n" for i, x in enumerate(a)))
        with pytest.raises(TinymlError, match=r"volt"):
            read_recording(v, _spec("predictive-maintenance", picks=picks))


def test_a_matlab_variable_declares_the_unit_its_name_ends_in(tmp_path, capsys):
    """`accel_ms2` in a .mat file is m/s², as the same heading in a CSV is (it was read as g, silently)."""
    from scipy.io import savemat

    a = _vibration_g()
    savemat(tmp_path / "vib.mat", {"accel_ms2": a * G, "fs": 25600.0})
    rec = read_recording(tmp_path / "vib.mat", _spec("predictive-maintenance"))
    assert "accel: converted from ms2 to g" in capsys.readouterr().err
    np.testing.assert_allclose(rec.signal[:, 0], a, atol=1e-5)


@pytest.mark.parametrize("heading", ["accel_m_s2", "vibration_m_s_2", "drive_end_m_s2"])
def test_a_unit_with_a_slash_written_as_parts_of_a_name_is_declared(tmp_path, capsys, heading):
    """m/s² cannot be written in an identifier: `accel_m_s2` matches accel and declares it."""
    a = _vibration_g()
    p = tmp_path / "vib.csv"
    p.write_text(f"time_s,{heading}\n" + "".join(f"{i / 25600:.7f},{v * G:.6f}\n" for i, v in enumerate(a)))
    rec = read_recording(p, _spec("predictive-maintenance"))
    assert "converted from m_s" in capsys.readouterr().err
    np.testing.assert_allclose(rec.signal[:, 0], a, atol=1e-5)


def test_unsigned_adc_codes_with_a_declared_gain_are_refused_without_a_heading_that_cannot_be(tmp_path):
    """Codes around 512 with [signal] counts_per_unit: the gain does not remove the mid-code, so they are still
    refused; the refusal does not offer a heading `ecg (counts (200 per mV))`, which no reader takes."""
    from dataclasses import replace

    ecg = synthetic_ecg(250, 10)
    p = tmp_path / "adc.csv"
    p.write_text("timestamp,ecg\n" + "".join(f"{i * 4},{int(512 + v * 200)}\n" for i, v in enumerate(ecg)))
    with pytest.raises(TinymlError, match=r"raw codes of an unsigned 10-bit ADC, not mV; subtract the mid-code") as e:
        read_recording(p, replace(_spec("heart-rate-anomaly"), counts_per_unit={"ecg": 200.0}))
    assert "say so in the heading" not in str(e.value) and str(e.value).endswith("of your front end")
