"""More files as users have them, from a second new user's audit of `predict` with others' recordings
(MFPT bearing records, MATLAB structs, ...). Each fixture is written here, small, in the layout the
source writes (synthetic values, never real data)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import savemat

from tinyml.apps import load_app
from tinyml.dsp.resample import rational_ratio, resample
from tinyml.errors import TinymlError
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording


def _spec(app_id: str, **kw) -> ReadSpec:
    return ReadSpec.from_manifest(load_app(app_id).manifest, **kw)


def _vibration(n: int, rate: float) -> np.ndarray:
    t = np.arange(n) / rate
    return 0.4 * np.sin(2 * np.pi * 25 * t) + 0.2 * np.sin(2 * np.pi * 3170 * t)  # in g


def _mfpt(path, gs: np.ndarray, sr: int, defects: bool = True) -> None:
    """An MFPT record as distributed: struct `bearing` (shaft rate in Hz, load as text, gs, sr), compressed,
    with the test bearing's defect frequencies in Hz beside it."""
    bearing = {"rate": np.uint8(25), "load": "250", "gs": gs[:, None], "sr": np.uint32(sr)}  # 97,656 Hz does not fit 16 bits
    hz = {"FTF": 14.8375, "BPFO": 81.125, "BPFI": 118.875, "BSF": 63.91} if defects else {}
    savemat(path, {"bearing": bearing, **hz}, do_compression=True)


def test_an_mfpt_record_gives_its_acceleration_at_its_rate_on_its_machine(tmp_path):
    gs = _vibration(4883, 48828)
    _mfpt(tmp_path / "InnerRaceFault_vload_6.mat", gs, 48828)
    rec = read_recording(tmp_path / "InnerRaceFault_vload_6.mat", _spec("predictive-maintenance"))
    assert rec.rate == 48828 and np.allclose(rec.signal[:, 0], gs, atol=1e-6)  # g as stored; not the shaft's 25 Hz
    machine = rec.deployment["machine"]
    assert machine["shaft_hz"] == 25  # not the default machine's 29.95 Hz: its defect lines fall elsewhere
    assert machine["bpfo"] == pytest.approx(3.245, abs=1e-4) and machine["bpfi"] == pytest.approx(4.755, abs=1e-4)
    assert machine["bsf"] == pytest.approx(2.5564, abs=1e-4)
    assert machine["ftf"] == pytest.approx(0.4056, abs=1e-4)  # against the fixed outer ring (8 rollers)
    _mfpt(tmp_path / "baseline_1.mat", gs, 48828, defects=False)
    rec = read_recording(tmp_path / "baseline_1.mat", _spec("predictive-maintenance"))
    assert rec.deployment["machine"] == {"shaft_hz": 25.0}
    with pytest.raises(TinymlError, match=r"baseline_1.mat: an MFPT record has one signal, bearing.gs; leave out "
                                          r"--channel FE$"):
        read_recording(tmp_path / "baseline_1.mat", _spec("predictive-maintenance", picks={"accel": "FE"}))


def test_whole_number_rates_without_a_small_fraction_resample_at_their_exact_ratio():
    assert rational_ratio(48828, 25600) == (6400, 12207)  # MFPT's outer and inner race records
    assert rational_ratio(97656, 25600) == (3200, 12207)  # MFPT's baseline
    assert rational_ratio(44100, 16000) == (160, 441)  # a small fraction as before
    x = np.sin(2 * np.pi * 100 * np.arange(48828) / 48828)
    y = resample(x, 48828, 25600)
    assert len(y) == 25600 and np.allclose(y[500:-500], np.sin(2 * np.pi * 100 * np.arange(25600) / 25600)[500:-500],
                                           atol=2e-3)


def test_a_struct_field_is_a_variable_and_a_named_sample_rate_beats_a_bare_rate(tmp_path):
    vib = _vibration(3000, 20000)
    savemat(tmp_path / "rig.mat", {"rig": {"vibration": vib, "rate": 30.0, "fs": 20000.0}})  # rate: the shaft's
    rec = read_recording(tmp_path / "rig.mat", _spec("predictive-maintenance"))
    assert rec.rate == 20000 and np.allclose(rec.signal[:, 0], vib)
    savemat(tmp_path / "pick.mat", {"run": {"a1": vib, "a2": 2 * vib, "Fs": 20000}})
    rec = read_recording(tmp_path / "pick.mat", _spec("predictive-maintenance", picks={"accel": "a2"}))
    assert np.allclose(rec.signal[:, 0], 2 * vib)  # a field by its own name ...
    rec = read_recording(tmp_path / "pick.mat", _spec("predictive-maintenance", picks={"accel": "run.a1"}))
    assert np.allclose(rec.signal[:, 0], vib)  # ... or by its path


def test_a_struct_array_of_named_signals_gives_each_by_its_name(tmp_path):
    vib = _vibration(6400, 64000)
    signals = np.array([("force", "N", np.ones(16)), ("vibration", "g", vib)],
                       dtype=[("Name", "O"), ("Unit", "O"), ("Data", "O")])
    savemat(tmp_path / "run7.mat", {"run7": {"Info": "test", "Y": signals}})  # a measurement system's channel list
    with pytest.raises(TinymlError, match=r"no rate in the file .*give --rate HZ$"):
        read_recording(tmp_path / "run7.mat", _spec("predictive-maintenance"))
    rec = read_recording(tmp_path / "run7.mat", _spec("predictive-maintenance", rate=64000.0))
    assert rec.rate == 64000 and np.allclose(rec.signal[:, 0], vib)  # `vibration`, the app's alias


def _paderborn(path, vib: np.ndarray) -> None:
    """A Paderborn measurement as distributed: one struct named like the file, its field Y the channels."""
    ys = np.zeros((1, 3), dtype=[("Name", "O"), ("Type", "O"), ("Unit", "O"), ("Raster", "O"), ("Data", "O")])
    ys[0, 0] = ("force", "", "N", "Mech_4kHz", np.ones((1, 40)))
    ys[0, 1] = ("phase_current_1", "", "A", "HostService", np.ones((1, 640)))
    ys[0, 2] = ("vibration_1", "", "g", "Mech_64kHz", vib[None, :])
    savemat(path, {path.stem: {"Info": np.array(["measurement"], dtype=object), "X": np.zeros((1, 0)), "Y": ys,
                               "Description": np.array([path.stem], dtype=object)}})


def test_a_paderborn_measurement_gives_its_vibration_at_its_raster_on_its_machine(tmp_path, capsys):
    vib = _vibration(6400, 64000)
    _paderborn(tmp_path / "N09_M07_F10_KA01_1.mat", vib)
    rec = read_recording(tmp_path / "N09_M07_F10_KA01_1.mat", _spec("predictive-maintenance"))
    assert rec.rate == 64000 and np.allclose(rec.signal[:, 0], vib)
    machine = rec.deployment["machine"]
    assert machine["shaft_hz"] == pytest.approx(15.0)  # N09: 900 rpm, not the default machine's 29.95 Hz
    assert machine["bpfo"] == pytest.approx(3.0543, abs=1e-3)  # the 6203: 8 balls of 6.75 mm on 28.55 mm
    (tmp_path / "N09_M07_F10_KA01_1.mat").rename(tmp_path / "healthy.mat")
    rec = read_recording(tmp_path / "healthy.mat", _spec("predictive-maintenance"))
    assert "shaft_hz" not in rec.deployment["machine"]
    assert "does not give the speed (N15_M07_F10_...: 1500 rpm): give it, e.g. --set machine.shaft_rpm=1500" in \
        capsys.readouterr().err


def test_a_matlab_file_without_a_vector_names_what_it_has(tmp_path):
    savemat(tmp_path / "meta.mat", {"setup": {"load": 250.0, "name": "rig 2"}, "n": 3.0})
    with pytest.raises(TinymlError, match=r"meta.mat: MATLAB file without a numeric vector to read \(it has setup "
                                          r"\(struct: load, name\), n \(scalar float64\)\); save the signal as a "
                                          r"vector variable$"):
        read_recording(tmp_path / "meta.mat", _spec("predictive-maintenance"))


def _zentra(path, ports: list[str], sensors: list[str], headings: list[str], rows: list[list[str]]) -> None:
    """A ZENTRA Cloud CSV export: logger serial and ports, record count and sensors, units and measurements."""
    lines = [",".join(["z6-04628", *ports]), ",".join([f"# Records: {len(rows)}", *sensors]),
             ",".join(["Timestamps", *headings]), *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _quarter_hours(n: int) -> list[str]:
    from datetime import datetime, timedelta

    t0 = datetime(2020, 4, 1, 10, 0)  # crosses noon: 12-hour clock with AM/PM
    return [(t0 + timedelta(minutes=15 * k)).strftime("%m/%d/%Y %I:%M:%S %p") for k in range(n)]


def test_a_zentra_export_is_read_in_the_units_its_headings_lead_with(tmp_path, capsys):
    vwc = 0.30 - 0.001 * np.arange(12)
    rows = [[t, f"{100 * v:.1f}", f"{77.0 + k:.1f}", ""] for k, (t, v) in enumerate(zip(_quarter_hours(12), vwc))]
    rows[5][1] = "#N/A"  # the probe did not answer: a missing sample
    _zentra(tmp_path / "z6-04628.csv", ["Port1"] * 3, ["TEROS 12 Moisture/Temp/EC"] * 3,
            [" % Water Content", " degree_F Soil Temperature", " mS/cm Saturation Extract EC"], rows)
    from tinyml.recording import read_recording_parts

    (rec,), _ = read_recording_parts(tmp_path / "z6-04628.csv", _spec("soil-monitoring"))  # as predict reads it
    assert rec.rate == pytest.approx(1 / 900)
    ok = np.arange(12) != 5
    assert np.allclose(rec.signal[ok, 0], vwc[ok], atol=1e-6)  # percent -> m3/m3
    assert np.allclose(rec.signal[:2, 1], [25.0, (78.0 - 32) * 5 / 9], atol=1e-4)  # degree_F -> degC
    assert np.isnan(rec.signal[:, 2]).all()  # saturation extract EC is not bulk EC: not read as ec_ds_m
    err = capsys.readouterr().err
    assert "vwc: converted from % to m3/m3" in err and "soil_temp_c: converted from degree_F to degC" in err


def test_a_zentra_export_with_several_probes_asks_for_one_and_its_temperature_follows(tmp_path):
    rows = [[t, "0.31", "21.0", "0.12", "18.0"] for t in _quarter_hours(12)]
    _zentra(tmp_path / "two.csv", ["Port1", "Port1", "Port2", "Port2"], ["TEROS 11 Moisture/Temp"] * 4,
            [" m³/m³ Water Content", " °C Soil Temperature"] * 2, rows)
    with pytest.raises(TinymlError, match=r"two.csv: METER export lacks column\(s\) vwc; it has Water Content Port1, "
                                          r"Soil Temperature Port1, Water Content Port2, Soil Temperature Port2; .*"
                                          r"--channel vwc=NAME$"):
        read_recording(tmp_path / "two.csv", _spec("soil-monitoring"))
    rec = read_recording(tmp_path / "two.csv", _spec("soil-monitoring", picks={"vwc": "Water Content Port2"}))
    assert np.allclose(rec.signal[:, :2], [0.12, 18.0])  # port 2's moisture and its own temperature


def test_meter_unit_spellings_are_known():
    from tinyml.units import lookup

    assert lookup("m³/m³") == lookup("m3/m3") and lookup("degree_C") == lookup("°C")
    assert lookup("degree_F") == lookup("°F") and lookup("degrees C") == lookup("degC")


@pytest.mark.parametrize("name, head, kind", [
    ("clip.wav", b"fLaC\x00\x00\x00\x22", "FLAC"),  # a FLAC saved under a .wav name
    ("clip.wav", b"ID3\x04\x00\x00\x00\x00\x00\x00", "MP3"),
    ("clip.bin", b"\xff\xfb\x90\x64\x00\x00\x00\x00", "MP3"),  # MPEG-1 layer III frame, no tag, no suffix
    ("clip.wav", b"OggS\x00\x02\x00\x00", "Ogg"),
    ("memo", b"FORM\x00\x00\x10\x00AIFFCOMM", "AIFF"),
    ("memo.m4a", b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "MP4/M4A"),
    ("clip.au", b".snd\x00\x00\x00\x18", r"Sun/NeXT \(.au\)"),
])
def test_compressed_audio_is_named_by_its_content_and_refused_saying_what_to_do(tmp_path, name, head, kind):
    p = tmp_path / name
    p.write_bytes(head + bytes(300))
    with pytest.raises(TinymlError, match=rf"{name}: {kind}.* audio, not WAV; convert it to WAV first \(ffmpeg -i FILE "
                                          r"out.wav\)$"):
        read_recording(p, _spec("keyword-spotting"))


def test_headerless_samples_say_how_to_make_a_wav_and_utf16_text_is_not_taken_for_mpeg(tmp_path):
    p = tmp_path / "yes.raw"
    p.write_bytes(np.zeros(1600, "<i2").tobytes())
    with pytest.raises(TinymlError, match=r"yes.raw: no reader for this file: headerless audio samples; make a WAV of "
                                          r"them stating their rate and encoding \(sox -r 16000"):
        read_recording(p, _spec("keyword-spotting"))
    t = np.arange(1600) / 16000
    text = "time,audio\n" + "".join(f"{s:.6f},{0.1 * np.sin(2 * np.pi * 440 * s):.4f}\n" for s in t)
    (tmp_path / "a.csv").write_bytes(text.encode("utf-16"))  # FF FE ...: a BOM, not an MPEG frame
    assert read_recording(tmp_path / "a.csv", _spec("keyword-spotting")).rate == 16000


def test_a_csv_without_a_heading_row_is_read_by_column_number_or_refused_saying_so(tmp_path, capsys):
    vib = _vibration(2560, 25600)
    # PRONOSTIA (FEMTO, IEEE PHM 2012) acc_*.csv: hour, minute, second, microsecond, horizontal, vertical; no heading.
    # Under its own name its reader takes it (tinyml.readers.femto: the horizontal axis); renamed, it is a CSV
    # like any other without a heading
    lines = [f"9,39,39,{65095 + 39 * k},{v:.3f},{-v:.3f}" for k, v in enumerate(vib)]
    (tmp_path / "acc_00001.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "bearing_snapshot.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(TinymlError, match=r"bearing_snapshot.csv: CSV without a heading row \(its first line, "
                                          r"'9,39,39,65095,0.000,-0.000', is numbers\): pick each channel's column by "
                                          r"its number \(--channel accel=6\) or add a heading"):
        read_recording(tmp_path / "bearing_snapshot.csv", _spec("predictive-maintenance"))
    rec = read_recording(tmp_path / "bearing_snapshot.csv", _spec("predictive-maintenance", picks={"accel": "5"},
                                                                 rate=25600.0))
    assert len(rec.signal) == 2560 and np.allclose(rec.signal[:, 0], vib, atol=5e-4)  # every line is a sample
    for picks in ({}, {"accel": "5"}):
        rec = read_recording(tmp_path / "acc_00001.csv", _spec("predictive-maintenance", picks=picks))
        assert rec.rate == 25600 and np.allclose(rec.signal[:, 0], vib, atol=5e-4)
    (tmp_path / "vib.txt").write_text("".join(f"{v:.4f}\n" for v in vib))  # one bare column of samples
    rec = read_recording(tmp_path / "vib.txt", _spec("predictive-maintenance", rate=25600.0))
    assert len(rec.signal) == 2560 and "no heading row: the file's one column read as accel" in capsys.readouterr().err


@pytest.mark.parametrize("heading, scale", [("Horizontal_vibration_signals,Vertical_vibration_signals", 1.0),
                                            ("Time (s),Acceleration (m/s²)", 9.80665)])
def test_vibration_headings_users_have_name_the_accel_channel(tmp_path, heading, scale):
    vib = _vibration(2560, 25600)
    (tmp_path / "v.csv").write_text(heading + "\n" + "".join(f"{k / 25600:.7f},{scale * v:.5f}\n" if "Time" in heading
                                                             else f"{v:.4f},{-v:.4f}\n" for k, v in enumerate(vib)))
    rec = read_recording(tmp_path / "v.csv", _spec("predictive-maintenance", rate=None if "Time" in heading else 25600.0))
    assert np.allclose(rec.signal[:, 0], vib, atol=5e-4)  # XJTU-SY's horizontal axis; m/s² as g


def test_a_rate_outside_the_accepted_ones_is_refused_in_the_users_words_saying_what_to_do(tmp_path):
    from scipy.io import wavfile

    from tinyml.predict import prepare

    wavfile.write(tmp_path / "bat_384k.wav", 384000, np.zeros(38400, np.int16) + 3)  # an ultrasonic recorder
    rec = read_recording(tmp_path / "bat_384k.wav", _spec("keyword-spotting"))
    with pytest.raises(TinymlError, match=r"bat_384k.wav: sample rate 384000 Hz not supported; accepted 8000-192000 Hz: "
                                          r"resample it to 16000 Hz first$"):
        prepare(load_app("keyword-spotting"), rec)
    stamps = [f"2020-04-01 00:{k:02d}:00" for k in range(60)]  # a logger every minute
    (tmp_path / "minutes.csv").write_text("time,vwc\n" + "".join(f"{t},0.25\n" for t in stamps))
    with pytest.raises(TinymlError, match=r"minutes.csv: one sample every 60 s \(time column 'time' as date-times\) not "
                                          r"supported; accepted every 5 min to 60 min: average it to one sample every "
                                          r"15 min first$"):
        read_recording(tmp_path / "minutes.csv", _spec("soil-monitoring"))


def test_an_ech2o_utility_export_is_read_with_its_probes_ec_and_the_loggers_rain(tmp_path):
    head = ("Em5b04567 02Apr20-1200,Port 1,Port 1,Port 1,Port 2\r\n"
            ",5TE Moisture/Temp/EC,5TE Moisture/Temp/EC,5TE Moisture/Temp/EC,ECRN-100 Precipitation\r\n"
            "Measurement Time,m³/m³ VWC,°C Temp,mS/cm EC Bulk,mm Precip\r\n")
    body = "".join(f"4/1/2020 {h if h else 12}:{m:02d} AM,0.2{k % 10},21.5,0.0{k % 7},{0.2 * (k == 3):.1f}\r\n"
                   for k, (h, m) in enumerate((h, m) for h in range(0, 3) for m in (0, 15, 30, 45)))
    (tmp_path / "Em5b04567.csv").write_bytes((head + body).encode("cp1252"))  # as Excel on Windows saves it
    rec = read_recording(tmp_path / "Em5b04567.csv", _spec("soil-monitoring"))
    assert rec.rate == pytest.approx(1 / 900) and len(rec.signal) == 12
    assert np.allclose(rec.signal[:3, :4], [[0.20, 21.5, 0.00, 0.0], [0.21, 21.5, 0.01, 0.0], [0.22, 21.5, 0.02, 0.0]])
    assert rec.signal[3, 3] == pytest.approx(0.2)  # rain from the gauge on another port


def _ameriflux(path, swc: list[float], ts: list[float], ts_name: str = "TS") -> None:
    """An AmeriFlux BASE CSV: comment lines, TIMESTAMP_START/END as YYYYMMDDHHMM, half-hourly, -9999 missing."""
    from datetime import datetime, timedelta

    t0 = datetime(2020, 4, 1)
    rows = [f"{t0 + timedelta(minutes=30 * k):%Y%m%d%H%M},{t0 + timedelta(minutes=30 * k + 30):%Y%m%d%H%M},0,"
            f"{w:.1f},{t:.1f}" for k, (w, t) in enumerate(zip(swc, ts))]
    path.write_text(f"# Site: US-Xxx\n# Version: 1-5\nTIMESTAMP_START,TIMESTAMP_END,P,SWC_1_1_1,{ts_name}\n"
                    + "\n".join(rows) + "\n")


def test_compact_date_times_are_date_times_not_milliseconds(tmp_path):
    _ameriflux(tmp_path / "AMF_US-Xxx_BASE_HH_1-5.csv", [25.0 + 0.1 * (k % 9) for k in range(96)], [20.0] * 96)
    rec = read_recording(tmp_path / "AMF_US-Xxx_BASE_HH_1-5.csv", _spec("soil-monitoring", picks={"vwc": "SWC_1_1_1"}))
    assert rec.rate == pytest.approx(1 / 1800)  # was 10 Hz: 202004010000 -> 202004010030 read as 30 ms
    assert rec.signal[0, 0] == pytest.approx(0.25) and rec.signal[0, 1] == 20.0


def test_a_few_missing_value_markers_in_a_long_file_are_missing_samples_not_faults(tmp_path, capsys):
    from tinyml.recording import read_recording_parts

    swc = [25.0 + 0.1 * (k % 9) for k in range(2000)]
    ts = [20.0] * 2000
    swc[700], ts[3] = -9999, -9999  # 1 in 2000: inside the 0.1-99.9 % the unit checks look at
    _ameriflux(tmp_path / "f.csv", swc, ts)
    parts, _ = read_recording_parts(tmp_path / "f.csv", _spec("soil-monitoring", picks={"vwc": "SWC_1_1_1"}))
    sig = np.concatenate([p.signal for p in parts])
    assert np.nanmin(sig[:, 0]) >= 0.25 - 1e-6  # no -99.99 m3/m3 'out of range' sample
    assert np.isnan(sig[:, 1]).sum() >= 1 and np.nanmin(sig[:, 1]) == 20.0  # the optional temperature's hole
    assert "missing-value markers read as missing: 1 in 'vwc' (-9999), 1 in 'soil_temp_c' (-9999)" in capsys.readouterr().err


@pytest.mark.parametrize("heading", ["Volumetric Water Content (m³/m³)", "Soil Moisture (%VWC)", "VWC (% Vol)"])
def test_soil_moisture_headings_and_percent_spellings(tmp_path, capsys, heading):
    scale = 1.0 if "m³" in heading else 100.0
    rows = "".join(f"2020-04-01 {k // 4:02d}:{15 * (k % 4):02d},{scale * (0.25 + 0.001 * (k % 5)):.4f}\n"
                   for k in range(40))
    (tmp_path / "s.csv").write_text(f"time,{heading}\n{rows}")
    rec = read_recording(tmp_path / "s.csv", _spec("soil-monitoring"))
    assert rec.signal[0, 0] == pytest.approx(0.25)
    assert "look like" not in capsys.readouterr().err  # the heading's unit, not a guess from the values' size


def test_ameriflux_names_give_the_top_sensor_of_the_first_profile(tmp_path):
    p = tmp_path / "AMF.csv"
    _ameriflux(p, [25.0 + 0.1 * (k % 9) for k in range(96)], [20.0] * 96, ts_name="TS_1_1_1")
    assert p.read_text().splitlines()[2].endswith(",SWC_1_1_1,TS_1_1_1")  # no bare TS for the alias 'ts' to find
    rec = read_recording(p, _spec("soil-monitoring"))
    assert rec.signal[0, 0] == pytest.approx(0.25) and rec.signal[0, 1] == 20.0


@pytest.mark.parametrize("table", ["TOB1", "TOB3"])
def test_a_campbell_binary_table_says_to_convert_it_to_toa5(tmp_path, table):
    p = tmp_path / "CR1000_Hourly.dat"
    p.write_bytes(f'"{table}","CR1000","CR1000","1234","CR1000.Std.32","CPU:soil.CR1","12345","Hourly"\r\n'
                  .encode() + b'"SECONDS","NANOSECONDS","RECORD","VWC_Avg"\r\n' + bytes(range(256)))
    with pytest.raises(TinymlError, match=rf"CR1000_Hourly.dat: Campbell {table} binary data; convert it to TOA5 first"):
        read_recording(p, _spec("soil-monitoring"))


def _lvm(path, columns: dict[str, np.ndarray], delta: float, unit: str, segments: int = 1) -> None:
    """A LabVIEW measurement file: the file header, then per segment its header and a tab-separated table."""
    n = len(next(iter(columns.values())))
    chans = "\t".join(columns)
    text = ("LabVIEW Measurement\t\nWriter_Version\t2\nReader_Version\t2\nSeparator\tTab\nDecimal_Separator\t.\n"
            "Multi_Headings\tNo\nX_Columns\tOne\nTime_Pref\tRelative\nOperator\tlab\nDate\t2019/03/15\n"
            "Time\t10:21:33.5\n***End_of_Header***\t\n\t\n")
    for _ in range(segments):
        per = "\t".join([f"{delta:E}"] * len(columns))
        text += (f"Channels\t{len(columns)}\t\nSamples\t" + "\t".join([str(n)] * len(columns)) + "\t\n"
                 f"X_Dimension\t" + "\t".join(["Time"] * len(columns)) + f"\t\nX0\t0.0E+0\t\nDelta_X\t{per}\t\n"
                 "Y_Unit_Label\t" + "\t".join([unit] * len(columns)) + "\t\n***End_of_Header***\t\t\n"
                 f"X_Value\t{chans}\tComment\n"
                 + "".join(f"{k * delta:.7f}\t" + "\t".join(f"{c[k]:.6f}" for c in columns.values()) + "\n"
                           for k in range(n)))
    path.write_text(text)


def test_a_labview_measurement_file_gives_its_channel_at_its_delta_x_in_its_unit(tmp_path, capsys):
    vib = _vibration(2000, 20000)
    _lvm(tmp_path / "run.lvm", {"Tacho": np.ones(2000), "Vibration": vib * 9.80665}, 5e-5, "m/s^2", segments=2)
    rec = read_recording(tmp_path / "run.lvm", _spec("predictive-maintenance"))
    assert rec.rate == pytest.approx(20000) and len(rec.signal) == 2000
    assert np.allclose(rec.signal[:, 0], vib, atol=1e-5)  # m/s² as g
    err = capsys.readouterr().err
    assert "2 segments: the first is read" in err and "converted from m/s^2 to g" in err


def test_a_rate_below_the_accepted_ones_says_what_the_app_needs(tmp_path):
    stamps = [f"2020-04-{d:02d} 00:00:00" for d in range(1, 29)]  # daily means
    (tmp_path / "daily.csv").write_text("time,vwc\n" + "".join(f"{t},0.25\n" for t in stamps))
    with pytest.raises(TinymlError, match=r"daily.csv: one sample every 24 h \(time column 'time' as date-times\) not "
                                          r"supported; accepted every 5 min to 60 min: the app needs a sample at least "
                                          r"every 60 min \(--rate HZ if the file's rate is misread\)$"):
        read_recording(tmp_path / "daily.csv", _spec("soil-monitoring"))


@pytest.mark.parametrize("name", ["2004.02.12.10.32.39.txt", "2004.02.12.10.32.39.csv"])
def test_an_ims_snapshot_saved_with_a_suffix_is_read_as_one_on_its_machine(tmp_path, name):
    vib = _vibration(2048, 20000)
    (tmp_path / name).write_text("".join(f"{v:.3f}\t{-v:.3f}\t0.010\t-0.020\n" for v in vib))  # test 2's 4 columns
    rec = read_recording(tmp_path / name, _spec("predictive-maintenance"))
    assert rec.rate == 20000 and np.allclose(rec.signal[:, 0], vib, atol=5e-4)  # no --rate: IMS is 20 kHz
    assert rec.deployment["machine"]["shaft_hz"] == pytest.approx(2000 / 60)  # the rig's 2000 rpm


def test_an_xjtu_sy_capture_is_read_at_its_rate_on_its_condition_s_machine(tmp_path, capsys):
    vib = _vibration(3200, 25600)
    folder = tmp_path / "37.5Hz11kN" / "Bearing2_1"
    folder.mkdir(parents=True)
    (folder / "5.csv").write_text("Horizontal_vibration_signals,Vertical_vibration_signals\n"
                                  + "".join(f"{v:.3f},{-2 * v:.3f}\n" for v in vib))
    rec = read_recording(folder / "5.csv", _spec("predictive-maintenance"))  # no --rate: the data set's 25.6 kHz
    assert rec.rate == 25600 and np.allclose(rec.signal[:, 0], vib, atol=5e-4)  # the horizontal axis
    machine = rec.deployment["machine"]
    assert machine["shaft_hz"] == 37.5 and machine["bpfo"] == pytest.approx(107.91 / 35, abs=1e-3)  # UER204
    rec = read_recording(folder / "5.csv", _spec("predictive-maintenance", picks={"accel": "Vertical_vibration_signals"}))
    assert np.allclose(rec.signal[:, 0], -2 * vib, atol=5e-4)
    (folder / "5.csv").rename(tmp_path / "capture.csv")
    rec = read_recording(tmp_path / "capture.csv", _spec("predictive-maintenance"))
    assert "shaft_hz" not in rec.deployment["machine"] and "--set machine.shaft_hz=35" in capsys.readouterr().err


def test_a_cs616_toa5_table_gives_its_vw_column(tmp_path):
    rows = "".join(f'"2021-05-01 {h:02d}:{m:02d}:00",{4 * h + m // 15},{0.21 + 0.001 * (m // 15):.3f},21.6\n'
                   for h in range(3) for m in (0, 15, 30, 45))
    (tmp_path / "CR1000_Table1.dat").write_text(
        '"TOA5","site","CR1000","1234","CR1000.Std.32","CPU:cs616.CR1","1234","Table1"\n'
        '"TIMESTAMP","RECORD","VW_Avg","PA_uS_Avg"\n"TS","RN","",""\n"","","Avg","Avg"\n' + rows)
    rec = read_recording(tmp_path / "CR1000_Table1.dat", _spec("soil-monitoring"))
    assert rec.signal[0, 0] == pytest.approx(0.21) and rec.rate == pytest.approx(1 / 900)


# --- review of the journey-b readers: each test fails without its fix ---


def test_a_wfdb_signal_file_starting_like_an_mpeg_frame_is_read_not_refused_as_mp3(tmp_path):
    adc = np.rint(1000 * 0.5 * np.sin(2 * np.pi * 1.2 * np.arange(3600) / 360)).astype("<i2")
    adc[0], adc[1] = -1281, 0x90  # bytes FF FA 90 00: an MPEG-1 layer III frame sync
    (tmp_path / "r100.dat").write_bytes(adc.tobytes())
    (tmp_path / "r100.hea").write_text("r100 1 360 3600\nr100.dat 16 1000/mV 16 0 -1281 0 0 MLII\n")
    rec = read_recording(tmp_path / "r100.dat", _spec("heart-rate-anomaly"))
    assert rec.rate == 360 and rec.signal[0, 0] == pytest.approx(-1.281)


@pytest.mark.parametrize("heading", ["ID3_temp,accel", "caffeine,hr"])
def test_a_csv_heading_starting_like_an_audio_signature_is_read_as_csv(tmp_path, heading):
    from tinyml.readers import reader_for

    p = tmp_path / "a.csv"
    p.write_text(heading + "\n" + "".join(f"{k},{k % 7}\n" for k in range(50)))
    assert reader_for(p).__name__ == "tinyml.readers.csv"


def _one_probe_zentra(path, vwc: list[str], stamps: list[str] | None = None, encoding: str = "utf-8") -> None:
    stamps = stamps or _quarter_hours(len(vwc))
    lines = ["z6-04628,Port1,Port1", f"# Records: {len(vwc)},TEROS 11 Moisture/Temp,TEROS 11 Moisture/Temp",
             "Timestamps, m3/m3 Water Content, degree_C Soil Temperature",
             *(f"{t},{v},21.0" for t, v in zip(stamps, vwc))]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))


def test_meter_records_without_a_value_stay_missing_samples_not_dropped_under_a_given_rate(tmp_path):
    from tinyml.recording import read_recording_parts

    vwc = ["0.25"] * 100
    vwc[10:50] = [""] * 40  # 10 h without a value: with --rate no time column shows the hole
    _one_probe_zentra(tmp_path / "z.csv", vwc)
    with pytest.raises(TinymlError, match=r"z.csv: non-finite value \(NaN/inf, or empty\) in channel 'vwc' at sample "
                                          r"10$"):
        read_recording(tmp_path / "z.csv", _spec("soil-monitoring", rate=1 / 900))
    parts, gaps = read_recording_parts(tmp_path / "z.csv", _spec("soil-monitoring"))  # by its times: a gap
    assert [len(p.signal) for p in parts] == [10, 50] and parts[1].start_s == pytest.approx(50 * 900)


def test_an_overflow_in_a_meter_export_is_refused_as_in_any_file(tmp_path):
    from tinyml.recording import read_recording_parts

    vwc = ["0.25"] * 20
    vwc[4] = "inf"
    _one_probe_zentra(tmp_path / "z.csv", vwc)
    with pytest.raises(TinymlError, match=r"z.csv: infinite value in channel 'vwc' at sample 4 \(an overflow"):
        read_recording_parts(tmp_path / "z.csv", _spec("soil-monitoring"))


def test_a_meter_export_with_day_month_dates_is_read_day_first(tmp_path):
    from datetime import datetime, timedelta

    t0 = datetime(2020, 4, 12, 22, 0)  # crosses into the 13th: 13/04/2020 says day first
    stamps = [(t0 + timedelta(minutes=15 * k)).strftime("%d/%m/%Y %H:%M:%S") for k in range(16)]
    _one_probe_zentra(tmp_path / "z.csv", ["0.25"] * 16, stamps)
    rec = read_recording(tmp_path / "z.csv", _spec("soil-monitoring"))
    assert rec.rate == pytest.approx(1 / 900) and len(rec.signal) == 16


def test_a_meter_export_whose_dates_no_day_tells_says_it_reads_them_month_first(tmp_path, capsys):
    from datetime import datetime, timedelta

    t0 = datetime(2020, 4, 1, 22, 0)  # 04/01 -> 04/02: month first (US) or day first, no field above 12 tells
    stamps = [(t0 + timedelta(minutes=15 * k)).strftime("%m/%d/%Y %H:%M:%S") for k in range(16)]
    _one_probe_zentra(tmp_path / "z.csv", ["0.25"] * 16, stamps)
    rec = read_recording(tmp_path / "z.csv", _spec("soil-monitoring"))
    assert rec.rate == pytest.approx(1 / 900) and len(rec.signal) == 16
    err = capsys.readouterr().err
    assert "dates like '04/01/2020 22:00:00' may be month/day or day/month" in err and "month/day/year" in err
    one_day = [(t0 + timedelta(minutes=5 * k)).strftime("%m/%d/%Y %H:%M:%S") for k in range(16)]  # one date: no notice
    _one_probe_zentra(tmp_path / "d.csv", ["0.25"] * 16, one_day)
    read_recording(tmp_path / "d.csv", _spec("soil-monitoring", rate=None))
    assert "may be month/day" not in capsys.readouterr().err


def test_a_meter_export_saved_as_utf16_is_claimed_by_its_reader(tmp_path):
    _one_probe_zentra(tmp_path / "z.csv", ["0.25"] * 16, encoding="utf-16")
    rec = read_recording(tmp_path / "z.csv", _spec("soil-monitoring"))
    assert rec.rate == pytest.approx(1 / 900) and np.allclose(rec.signal[:, :2], [0.25, 21.0])


def test_labview_and_xjtu_sy_files_saved_as_utf16_are_claimed_by_their_readers(tmp_path):
    vib = _vibration(2000, 20000)
    _lvm(tmp_path / "run.lvm", {"Vibration": vib}, 5e-5, "g")
    (tmp_path / "run.lvm").write_bytes((tmp_path / "run.lvm").read_text().encode("utf-16"))
    assert read_recording(tmp_path / "run.lvm", _spec("predictive-maintenance")).rate == pytest.approx(20000)
    folder = tmp_path / "35Hz12kN" / "Bearing1_1"
    folder.mkdir(parents=True)
    (folder / "1.csv").write_bytes(("Horizontal_vibration_signals,Vertical_vibration_signals\n"
                                    + "".join(f"{v:.3f},{-v:.3f}\n" for v in vib)).encode("utf-16"))
    rec = read_recording(folder / "1.csv", _spec("predictive-maintenance"))
    assert rec.rate == 25600 and rec.deployment["machine"]["shaft_hz"] == 35


def test_a_rate_named_series_in_a_matlab_struct_is_not_taken_for_the_sample_rate(tmp_path):
    ecg = 0.8 * np.sin(2 * np.pi * 1.2 * np.arange(2500) / 250)
    savemat(tmp_path / "rec.mat", {"rec": {"ecg": ecg, "rate": np.full(10, 72.0)}})  # rate: beats per minute
    rec = read_recording(tmp_path / "rec.mat", _spec("heart-rate-anomaly", rate=250))
    assert rec.rate == 250 and np.allclose(rec.signal[:, 0], ecg, atol=1e-6)
    with pytest.raises(TinymlError, match=r"rec.mat: no rate in the file .*: give --rate HZ$"):
        read_recording(tmp_path / "rec.mat", _spec("heart-rate-anomaly"))


def test_a_heading_of_numbers_names_the_columns_it_does_not_become_a_sample(tmp_path, capsys):
    vib = _vibration(2560, 25600)
    spec = _spec("predictive-maintenance", rate=25600, picks={"accel": "1"})
    # pandas' df.to_csv(): an index column under an empty heading cell, the columns named 0, 1
    (tmp_path / "df.csv").write_text(",0,1\n" + "".join(f"{k},{-v:.5f},{v:.5f}\n" for k, v in enumerate(vib)))
    rec = read_recording(tmp_path / "df.csv", spec)
    assert np.allclose(rec.signal[:, 0], vib, atol=1e-5)  # the column named 1, not the index (the first column)
    (tmp_path / "two.csv").write_text("1,2\n" + "".join(f"{-v:.5f},{v:.5f}\n" for v in vib))
    rec = read_recording(tmp_path / "two.csv", _spec("predictive-maintenance", rate=25600, picks={"accel": "2"}))
    assert len(rec.signal) == len(vib) and np.allclose(rec.signal[:, 0], vib, atol=1e-5)  # no sample of 2 g
    assert "first line '1,2' read as the heading: the columns are named by numbers" in capsys.readouterr().err


def test_a_one_signal_file_for_an_app_of_several_channels_names_them_all(tmp_path):
    _mfpt(tmp_path / "baseline_1.mat", _vibration(4883, 48828), 48828)
    with pytest.raises(TinymlError, match=r"baseline_1.mat: an MFPT record has one accelerometer; the app wants 5 "
                                          r"channels \(vwc; optional: soil_temp_c, ec_ds_m, rain_mm, et0_mm\)$"):
        read_recording(tmp_path / "baseline_1.mat", _spec("soil-monitoring"))


def test_a_data_sets_machine_comes_from_one_helper_the_speed_from_the_name_or_a_notice(tmp_path, capsys):
    import re

    from tinyml.bearing import KNOWN
    from tinyml.readers import machine_from_path

    speed = re.compile(r"^(\d+)Hz$")
    machine = machine_from_path(tmp_path / "40Hz" / "run" / "1.csv", "ldk-uer204", speed, lambda m: m.group(1), "x")
    assert machine == {**KNOWN["ldk-uer204"], "shaft_hz": 40.0}
    assert "shaft_hz" not in machine_from_path(tmp_path / "1.csv", "ldk-uer204", speed, int, "say the speed")
    assert "say the speed" in capsys.readouterr().err


def test_matlab_fields_whose_names_differ_only_in_case_are_not_offered_by_their_bare_name(tmp_path):
    vib = _vibration(3000, 20000)
    savemat(tmp_path / "two.mat", {"a": {"GS": vib}, "b": {"gs": 2 * vib}, "fs": 20000.0})
    with pytest.raises(TinymlError, match=r"two.mat: MATLAB file lacks variable\(s\) accel .*it has a.GS, b.gs"):
        read_recording(tmp_path / "two.mat", _spec("predictive-maintenance", picks={"accel": "gs"}))  # not a.GS silently
    rec = read_recording(tmp_path / "two.mat", _spec("predictive-maintenance", picks={"accel": "b.gs"}))
    assert np.allclose(rec.signal[:, 0], 2 * vib)


def test_an_mfpt_baseline_record_is_read_at_its_97656_hz(tmp_path):
    _mfpt(tmp_path / "baseline_1.mat", _vibration(9766, 97656), 97656, defects=False)
    assert read_recording(tmp_path / "baseline_1.mat", _spec("predictive-maintenance")).rate == 97656


@pytest.mark.parametrize("app, rate, seconds", [("keyword-spotting", 96000, 1.0), ("keyword-spotting", 192000, 1.0),
                                                 ("heart-rate-anomaly", 1024, 12.0), ("heart-rate-anomaly", 2048, 12.0)])
def test_a_field_recorders_or_research_front_ends_high_rate_is_resampled_not_refused(tmp_path, capsys, app, rate, seconds):
    """A field recorder's 96/192 kHz WAV, a research ECG front end's 1024/2048 Hz: decimating them is plain FIR work."""
    from scipy.io import wavfile

    from tinyml.predict import prepare

    t = np.arange(int(rate * seconds)) / rate
    if app == "keyword-spotting":
        wavfile.write(tmp_path / "r.wav", rate, (3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
        path = tmp_path / "r.wav"
    else:
        ecg = 1.2 * np.exp(-((t[:, None] - np.arange(0.3, seconds, 0.8)[None]) ** 2) / (2 * 0.012 ** 2)).sum(1)
        path = tmp_path / "r.csv"
        path.write_text("time_s,ecg\n" + "".join(f"{a:.6f},{v:.4f}\n" for a, v in zip(t, ecg + 0.03 * np.sin(t))))
    m = load_app(app).manifest
    signal = prepare(load_app(app), read_recording(path, _spec(app)))  # at the manifest's rate
    assert len(signal) == pytest.approx(seconds * m.rate, abs=2)
    assert f"resampled {rate} Hz" in capsys.readouterr().err


# --- review of the session's readers (tidy2): each test fails without its fix ---


def test_an_xjtu_sy_capture_starting_with_a_blank_line_is_read_and_a_bad_cell_names_its_file_line(tmp_path):
    vib = _vibration(3200, 25600)
    folder = tmp_path / "35Hz12kN" / "Bearing1_1"
    folder.mkdir(parents=True)
    rows = [f"{v:.3f},{-v:.3f}" for v in vib]
    heading = "Horizontal_vibration_signals,Vertical_vibration_signals"
    (folder / "1.csv").write_text(f"\n{heading}\n" + "\n".join(rows) + "\n")
    rec = read_recording(folder / "1.csv", _spec("predictive-maintenance"))
    assert len(rec.signal) == 3200 and np.allclose(rec.signal[:, 0], vib, atol=5e-4)
    rows[5] = "x,0.1"  # file line 9: the blank first line, the heading, 5 rows, a blank line, then this one
    (folder / "1.csv").write_text("\nHorizontal_vibration_signals,Vertical_vibration_signals\n"
                                  + "\n".join(rows[:5]) + "\n\n" + "\n".join(rows[5:]) + "\n")
    with pytest.raises(TinymlError, match=r"1.csv: line 9: expected numbers in column 'Horizontal_vibration_signals'"):
        read_recording(folder / "1.csv", _spec("predictive-maintenance"))


def test_a_bad_meter_value_after_a_blank_line_names_its_file_line(tmp_path):
    vwc = ["0.25"] * 20
    vwc[8] = "oops"
    _one_probe_zentra(tmp_path / "z.csv", vwc)
    lines = (tmp_path / "z.csv").read_text().splitlines()
    (tmp_path / "z.csv").write_text("\n".join(lines[:6] + [""] + lines[6:]) + "\n")  # a blank line after 3 records
    with pytest.raises(TinymlError, match=r"z.csv: line 13: expected numbers in column 'Water Content Port1'"):
        read_recording(tmp_path / "z.csv", _spec("soil-monitoring"))


def test_a_bad_labview_value_after_a_blank_line_names_its_file_line(tmp_path):
    vib = _vibration(2000, 20000)
    _lvm(tmp_path / "run.lvm", {"Vibration": vib}, 5e-5, "g")
    lines = (tmp_path / "run.lvm").read_text().splitlines()
    first = lines.index("X_Value\tVibration\tComment") + 1  # index of the first data line: file line first + 1
    lines[first + 10] = "5.0E-4\tbad"
    (tmp_path / "run.lvm").write_text("\n".join(lines[:first + 3] + [""] + lines[first + 3:]) + "\n")
    with pytest.raises(TinymlError, match=rf"run.lvm: line {first + 12}: expected numbers in column 'Vibration'"):
        read_recording(tmp_path / "run.lvm", _spec("predictive-maintenance"))


@pytest.mark.parametrize("heading", ["", "Comment"])
def test_a_blank_or_comment_heading_between_labview_channels_does_not_shift_them(tmp_path, heading):
    vib = _vibration(2000, 20000)
    _lvm(tmp_path / "run.lvm", {"Tacho": np.ones(2000), "Other": -vib, "Vibration": vib}, 5e-5, "g")
    text = (tmp_path / "run.lvm").read_text().replace("X_Value\tTacho\tOther\tVibration",
                                                    f"X_Value\tTacho\t{heading}\tVibration")
    (tmp_path / "run.lvm").write_text(text)
    rec = read_recording(tmp_path / "run.lvm", _spec("predictive-maintenance", picks={"accel": "Vibration"}))
    assert np.allclose(rec.signal[:, 0], vib, atol=1e-5)  # the Vibration column, not the one under the blank


def test_an_mfpt_record_without_its_rate_is_read_at_the_given_rate(tmp_path):
    gs = _vibration(4883, 48828)
    savemat(tmp_path / "baseline_1.mat", {"bearing": {"rate": np.uint8(25), "gs": gs[:, None], "sr": "?"}})
    with pytest.raises(TinymlError, match=r"baseline_1.mat: MFPT record without a sample rate in bearing.sr; give "
                                          r"--rate HZ$"):
        read_recording(tmp_path / "baseline_1.mat", _spec("predictive-maintenance"))
    rec = read_recording(tmp_path / "baseline_1.mat", _spec("predictive-maintenance", rate=48828))
    assert rec.rate == 48828 and rec.deployment["machine"] == {"shaft_hz": 25.0}


def test_missing_value_markers_in_a_file_that_states_its_rate_are_missing_samples(tmp_path, capsys):
    from tinyml.recording import read_recording_parts

    ecg = 0.8 * np.sin(2 * np.pi * 1.2 * np.arange(5000) / 250)
    marked = ecg.copy()
    marked[[1000, 1001, 3000]] = -9999.0  # a logger's missing-value marker
    savemat(tmp_path / "rec.mat", {"ecg": marked, "fs": 250.0})
    parts, _gaps = read_recording_parts(tmp_path / "rec.mat", _spec("heart-rate-anomaly"))
    assert [p.rate for p in parts] == [250] and len(parts[0].signal) == 5000  # 3 samples interpolated
    assert np.abs(parts[0].signal[:, 0]).max() < 1.0
    assert "missing-value markers read as missing: 3 in 'ecg' (-9999)" in capsys.readouterr().err
