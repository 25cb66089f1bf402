"""Recordings as other people's tools write them (a demanding user's journey through `predict`): PhysioNet's
CSV exports, WFDB records with missing samples, headerless tables (SisFall, an Arduino's serial log), a
header in a comment (MobiFall) and the lead names hospital databases give. Each fixture is written here,
small, in the layout the tool writes (synthetic values, never real data)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from apptest import synthetic_ecg

from tinyml.apps import load_app
from tinyml.errors import TinymlError
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording, read_recording_parts
from tinyml.units import G


def _spec(app_id: str, **kw) -> ReadSpec:
    return ReadSpec.from_manifest(load_app(app_id).manifest, **kw)


def _elapsed(t: float) -> str:
    """PhysioNet's elapsed time: m:ss.mmm (h:mm:ss.mmm past an hour)."""
    m, s = divmod(round(t * 1000) / 1000, 60)
    return f"{int(m)}:{s:06.3f}"


@pytest.mark.parametrize("layout", ["rdsamp", "atm"])
def test_physionet_csv_exports_are_read_at_their_rate_in_their_units(tmp_path, capsys, layout):
    # `rdsamp -c -H -v -ps` and PhysioBank ATM's samples.csv: headings and units in single quotes, time to the
    # millisecond (in seconds, or as 'm:ss.mmm'), MIT-BIH's 360 Hz
    ecg = synthetic_ecg(360, 4)
    units = "'seconds'" if layout == "rdsamp" else "'hh:mm:ss.mmm'"
    cell = (lambda t: f"{t:.3f}") if layout == "rdsamp" else (lambda t: f"'{_elapsed(t)}'")
    rows = "".join(f"{cell(i / 360)},{v:.3f},{v / 2:.3f}\n" for i, v in enumerate(ecg))
    p = tmp_path / "samples.csv"
    p.write_text(f"'Elapsed time','MLII','V5'\n{units},'mV','mV'\n" + rows)
    rec = read_recording(p, _spec("heart-rate-anomaly"))
    assert rec.rate == 360
    assert np.allclose(rec.signal[:, 0], ecg, atol=0.001)
    assert "irregular" not in capsys.readouterr().err


def _wfdb_with_dropouts(folder, ecg: np.ndarray, dropouts: list[tuple[int, int]], rate: int = 250):
    """An ICU-style record (II and V at 250 Hz, format 16) whose lead II has WFDB's invalid-sample value over
    each [start, stop) of `dropouts`, as a monitor writes a lead that dropped out."""
    from tinyml.readers.wfdb import quiet

    with quiet():
        import wfdb
    gain = 2000.0
    d = np.round(np.stack([ecg, 0.5 * ecg], 1) * gain).astype(np.int64)
    for a, b in dropouts:
        d[a:b, 0] = -32768  # format 16's "no sample"
    with quiet():
        wfdb.wrsamp("icu", fs=rate, units=["mV", "mV"], sig_name=["II", "V"], d_signal=d, fmt=["16", "16"],
                    adc_gain=[gain, gain], baseline=[0, 0], write_dir=str(folder))
    return folder / "icu.hea"


def test_reading_one_lead_keeps_wfdbs_import_warnings_quiet(tmp_path):
    # read_lead (the data sets' ECG reader) as the first to import wfdb: pandas' deprecations are not the user's
    hea = _wfdb_with_dropouts(tmp_path, synthetic_ecg(250, 4), [])
    code = f"from tinyml.readers.wfdb import read_lead; print(read_lead({str(hea)!r}, ['II'])[1])"
    r = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "250.0" and "Warning" not in r.stderr, r.stderr


def test_a_wfdb_records_missing_samples_are_interpolated_and_a_long_dropout_cuts_it(tmp_path, capsys):
    ecg = synthetic_ecg(250, 30)
    p = _wfdb_with_dropouts(tmp_path, ecg, [(1000, 1001), (2000, 2002)])
    parts, gaps = read_recording_parts(p, _spec("heart-rate-anomaly"))
    assert len(parts) == 1 and gaps == [] and parts[0].rate == 250
    assert np.isfinite(parts[0].signal[:, 0]).all() and len(parts[0].signal) == len(ecg)
    assert np.allclose(parts[0].signal[:, 0], ecg, atol=0.02)
    err = capsys.readouterr().err
    assert "3 samples with no value (empty or NaN) in 'ecg', the first at t = 4.000 s" in err
    assert err.count("\n") == 1, err  # the one notice, not a second one about an irregular time column
    # a lead off for 5 s: scored as two parts in the record's time base, never bridged with an invented signal
    p = _wfdb_with_dropouts(tmp_path, ecg, [(2500, 3750)])
    parts, gaps = read_recording_parts(p, _spec("heart-rate-anomaly"))
    assert [part.start_s for part in parts] == [0.0, 15.0] and gaps == [pytest.approx(5.004)]


def _standing(n: int) -> np.ndarray:
    t = np.arange(n) / 200
    return np.stack([0.05 * np.sin(2 * np.pi * t), -1 + 0.02 * np.cos(2 * np.pi * 0.5 * t), 0.1 + 0 * t], 1)


def _sisfall_trial(folder, name: str, g: np.ndarray, ends: str = ";\r\n"):
    """A SisFall trial file in SisFall's layout: no heading, 9 columns (ADXL345, ITG3200, MMA8451Q counts), each
    right-aligned in 4 characters, ',' between them, ';' and CRLF ending every line; its gyroscope turning at
    100 deg/s about x. `ends` closes each line (two files of the distribution have no `;`)."""
    raw = np.concatenate([np.round(g * 256), np.zeros((len(g), 3)), np.round(g * 1024)], 1).astype(int)
    raw[:, 3] = round(100 * 65536 / 4000)
    p = folder / name
    p.write_bytes("".join(",".join(f"{v:4d}" for v in row) + ends for row in raw).encode())
    return p


def test_a_sisfall_trial_is_read_as_its_adxl345_in_g_at_200_hz_with_no_options(tmp_path, capsys):
    # `tinyml predict fall-detect F05_SE06_R01.txt`: it was refused as a CSV without a heading row
    g = _standing(1000)
    g[:, 2] += 0.03 * np.sin(np.arange(1000) / 20)  # no flat axis: the one notice there could be
    p = _sisfall_trial(tmp_path, "F05_SE06_R01.txt", g)
    rec = read_recording(p, _spec("fall-detect"))
    assert rec.rate == 200 and rec.channels == ("ax", "ay", "az")
    assert np.allclose(rec.signal, np.round(g * 256) / 256)  # ADXL345: 256 counts per g
    # its units and rate come from the layout, not the file: said, so a user sees how it was read
    assert capsys.readouterr().err == ("notice: F05_SE06_R01.txt: read as a SisFall trial: ADXL345 at 200 Hz, "
                                       "256 counts per g\n")
    # the other sensors by name (or number): the MMA8451Q in g, the gyroscope in deg/s
    rec = read_recording(p, _spec("fall-detect", picks={"ax": "mma_x", "ay": "mma_y", "az": "9"}))
    assert np.allclose(rec.signal, np.round(g * 1024) / 1024)
    rec = read_recording(p, ["gyro_x"])
    assert np.allclose(rec.signal[:, 0], round(100 * 65536 / 4000) * 4000 / 65536) and rec.rate == 200


def test_a_sisfall_trial_is_parsed_by_the_loaders_parser(tmp_path):
    # one parser of the layout: the data set's loader and predict read the same numbers
    from tinyml.apps import load_module
    from tinyml.paths import datasets_dir
    from tinyml.readers import sisfall

    loader = load_module(datasets_dir() / "sisfall" / "dataset.py", "tinyml_datasets.sisfall")
    assert loader.read_trial is sisfall.read_trial


@pytest.mark.parametrize("name, reader", [("D01_SA01_R01.txt", "sisfall"), ("logger.txt", "csv")])
def test_nine_integers_without_semicolons_are_sisfall_only_under_a_sisfall_trials_name(tmp_path, name, reader):
    # the distribution's D01_SA01_R01 and D02_SA01_R01 have no `;`: read by their name; another logger's 9 bare
    # integers are a table of unnamed columns, refused as before (9 columns for 3 channels)
    from tinyml.readers import reader_for

    g = _standing(1000)
    p = _sisfall_trial(tmp_path, name, g, ends="\r\n")
    assert reader_for(p).__name__.rsplit(".", 1)[1] == reader
    if reader == "sisfall":
        assert np.allclose(read_recording(p, _spec("fall-detect")).signal, np.round(g * 256) / 256)
        return
    with pytest.raises(TinymlError, match=r"logger.txt: CSV without a heading row \(its first line, '0,-251,"
                                          r"26,1638,0,0,0,-1004,102', is numbers\): pick each channel's column by "
                                          r"its number \(--channel ax=1 --channel ay=2 --channel az=3\) or add a "
                                          r"heading that names the columns \(ax, ay, az; time_s for the time\); "
                                          r"without a time column give the rate \(--rate HZ\)$"):
        read_recording(p, _spec("fall-detect"))


@pytest.mark.parametrize("name", ["imu9.csv", "imu9.txt", "imu9.log"])
def test_nine_integers_ending_in_semicolons_are_not_sisfall_without_its_layout(tmp_path, name):
    # an Arduino's 9-DoF dump (`Serial.print` of 9 raw readings, `;` at each line's end): no SisFall trial, whose
    # fields are right-aligned in 4 characters in a .txt file; read as one would be ADXL345 at 200 Hz, silently
    from tinyml.readers import reader_for

    rng = np.random.default_rng(0)
    p = tmp_path / name
    p.write_text("".join(",".join(str(v) for v in rng.integers(-2000, 2000, 9)) + ";\n" for _ in range(300)))
    assert reader_for(p).__name__.rsplit(".", 1)[1] == "csv"
    with pytest.raises(TinymlError, match=r"CSV without a heading row"):
        read_recording(p, _spec("fall-detect"))


def test_a_sisfall_trials_layout_outside_a_txt_file_is_not_a_sisfall_trial(tmp_path):
    # SisFall's trials are .txt: the same numbers in a .csv are another tool's table
    from tinyml.readers import reader_for

    p = _sisfall_trial(tmp_path, "trial.csv", _standing(200))
    assert reader_for(p).__name__.rsplit(".", 1)[1] == "csv"


@pytest.mark.parametrize("line, fault, why", [(3, (",", ";"), "more than one ';'"), (42, (",", ";"), "more than one ';'"),
                                             (4, (";", ""), "must end with ';'")])
def test_a_malformed_line_in_a_sisfall_trial_is_one_line_naming_file_and_line(tmp_path, line, fault, why):
    p = _sisfall_trial(tmp_path, "trial.txt", _standing(200))
    lines = p.read_bytes().decode().split("\r\n")
    lines[line - 1] = lines[line - 1].replace(*fault, 1)  # a `;` where a `,` belongs, a line without its `;`
    p.write_bytes("\r\n".join(lines).encode())
    with pytest.raises(TinymlError, match=rf"^\S*trial.txt: line {line}: malformed line \({why}\)"):
        read_recording(p, _spec("fall-detect"))


def test_a_headerless_table_with_more_columns_than_channels_is_refused_saying_how_to_pick(tmp_path):
    # time of day, x, y, z and a fourth signal (a temperature): which three are the axes cannot be told
    g = _standing(500)
    p = tmp_path / "log.csv"
    p.write_text("".join(f"00:22:{45 + i / 50:09.6f},{x:.4f},{y:.4f},{z:.4f},{30 + 0.1 * np.sin(i):.2f}\n"
                         for i, (x, y, z) in enumerate(g)))
    with pytest.raises(TinymlError, match=r"log.csv: CSV without a heading row \(its first line, '00:22:45.000000,"
                                          r"0.0000,-0.9800,0.1000,30.00', is numbers\): pick each channel's column "
                                          r"by its number \(--channel ax=2 --channel ay=3 --channel az=4\) or add a "
                                          r"heading that names the columns \(ax, ay, az; time_s for the time\)$"):
        read_recording(p, _spec("fall-detect"))


@pytest.mark.parametrize("counter", ["{i}", "{us}"])
def test_a_headerless_refusal_suggests_the_signal_not_a_rising_counter(tmp_path, counter):
    # an Arduino's serial log for a one-channel app: row index, the microphone's value, then a counter (a sample
    # count: a clock already; or micros() at 16 kHz, which no --rate confirms as one): the suggested pick is the
    # value's column, not the last one
    p = tmp_path / "mic.csv"
    p.write_text("".join(f"{i},{0.3 * np.sin(i / 3):.4f},{counter.format(i=5000 + i, us=12345 + round(62.5 * i))}\n"
                         for i in range(2000)))
    with pytest.raises(TinymlError, match=r"mic.csv: CSV without a heading row \(its first line, '0,0.0000,\d+', is "
                                          r"numbers\): pick each channel's column by its number \(--channel audio=2\)"):
        read_recording(p, _spec("keyword-spotting"))
    # the same for several channels: micros(), x, y, z without --rate suggests the axes, not the counter
    g = _standing(500)
    p.write_text("".join(f"{12345 + 20000 * i},{x:.4f},{y:.4f},{z:.4f}\n" for i, (x, y, z) in enumerate(g)))
    with pytest.raises(TinymlError, match=r"\(--channel ax=2 --channel ay=3 --channel az=4\)"):
        read_recording(p, _spec("fall-detect"))


def _metamotion_rows(g: np.ndarray, rate: float) -> str:
    """SmartFallMM's MetaMotion exports (meta_hip, meta_wrist): no heading; epoch (ms), ISO date-time, seconds
    elapsed, then x, y, z in g."""
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2022, 8, 5, 10, 5, 50, 596000, tzinfo=timezone.utc)
    out = []
    for i, (x, y, z) in enumerate(g):
        t = t0 + timedelta(seconds=i / rate)
        out.append(f"{1659711950596 + round(1000 * i / rate)},{t.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]},"
                   f"{i / rate:.2f},{x:.3f},{y:.3f},{z:.3f}\n")
    return "".join(out)


def test_a_headerless_tables_axes_are_read_in_order_once_its_clocks_are_left_out(tmp_path, capsys):
    # SmartFallMM meta_hip: epoch (ms), ISO date-time, seconds elapsed, x, y, z: it was refused with the picks
    # --channel ax=4 --channel ay=5 --channel az=6; those are read, said in a notice, the time from the date-times
    p = tmp_path / "S29A10T01.csv"
    g = _standing(500)
    p.write_text(_metamotion_rows(g, 25.0))
    rec = read_recording(p, _spec("fall-detect"))
    assert rec.rate == pytest.approx(25.0) and np.allclose(rec.signal, g, atol=1e-3)
    assert ("notice: S29A10T01.csv: no heading row: columns 4, 5, 6 read as ax, ay, az (pick others with "
            "--channel ax=N)") in capsys.readouterr().err
    rec = read_recording(p, _spec("fall-detect", picks={"ax": "4", "ay": "5", "az": "6"}))  # picks still work
    assert rec.rate == pytest.approx(25.0) and np.allclose(rec.signal, g, atol=1e-3)
    # some MetaMotion files have the epoch rounded by a spreadsheet to one value on every row: a clock still
    p.write_text("".join(f"1659710000000,{line.split(',', 1)[1]}\n" for line in _metamotion_rows(g, 25.0).splitlines()))
    assert np.allclose(read_recording(p, _spec("fall-detect")).signal, g, atol=1e-3)


def test_a_headerless_table_with_a_time_of_day_column_is_data_not_a_heading(tmp_path, capsys):
    # a SmartFallMM phone file (time of day, x, y, z in m/s^2): its first row was taken for a heading; then refused
    # with picks; now its three axes are read in order
    rate = 50.0
    g = _standing(600)
    p = tmp_path / "S13A03T04.csv"
    p.write_text("".join(f"00:22:{45 + i / rate:09.6f},{x * G:.5f},{y * G:.5f},{z * G:.5f}\n"
                         for i, (x, y, z) in enumerate(g)))
    rec = read_recording(p, _spec("fall-detect"))
    assert rec.rate == pytest.approx(rate) and np.allclose(rec.signal, g, atol=1e-4)
    assert "no heading row: columns 2, 3, 4 read as ax, ay, az" in capsys.readouterr().err
    rec = read_recording(p, _spec("fall-detect", picks={"ax": "2", "ay": "3", "az": "4"}))
    assert rec.rate == pytest.approx(rate) and np.allclose(rec.signal, g, atol=1e-4)


def test_a_signal_that_creeps_up_is_no_clock_so_a_headerless_table_stays_refused(tmp_path):
    # hourly date-time, soil moisture wetting in steps of its 0.001 resolution (never going down), temperature:
    # taking the moisture for a clock would read the temperature as vwc
    rows = [f"2021-05-{1 + h // 24:02d} {h % 24:02d}:00,{0.2 + 0.001 * (h // 6):.3f},{15 + 3 * np.sin(h / 4):.2f}\n"
            for h in range(96)]
    p = tmp_path / "soil.csv"
    p.write_text("".join(rows))
    with pytest.raises(TinymlError, match=r"soil.csv: CSV without a heading row \(its first line, '2021-05-01 00:00,"
                                          r"0.200,15.00', is numbers\): pick each channel's column by its number"):
        read_recording(p, _spec("soil-monitoring"))


def test_a_signal_rising_at_every_row_is_no_clock_unless_it_keeps_the_files_time(tmp_path):
    # a soil log cut to a wetting period: hourly date-time, vwc rising about 0.004 every row, temperature. The vwc
    # rises at every row, as a clock does, but it does not count the hours the date-times span: it is a channel,
    # and with two channels for the app's one the table is refused (not its temperature read as vwc)
    p = tmp_path / "soil.csv"
    p.write_text("".join(f"2021-05-01 {h:02d}:00,{0.2 + 0.004 * h + 0.0003 * np.sin(h):.4f},"
                         f"{15 + 3 * np.sin(h / 4):.2f}\n" for h in range(12)))
    with pytest.raises(TinymlError, match=r"soil.csv: CSV without a heading row .* pick each channel's column by its "
                                          r"number"):
        read_recording(p, _spec("soil-monitoring"))


def test_a_metamotion_exports_elapsed_seconds_are_a_clock_from_any_start(tmp_path, capsys):
    # SmartFallMM's MetaMotion files are cut from a longer session: their elapsed seconds start at 17.72 or later
    # (two in three of the real files), yet count the time the date-times span: a clock, left out
    g = _standing(300)
    rows = _metamotion_rows(g, 25.0).splitlines()
    p = tmp_path / "S37A14T02.csv"
    p.write_text("".join(f"{a},{b},{float(e) + 17.72:.2f},{rest}\n"
                         for a, b, e, rest in (line.split(",", 3) for line in rows)))
    rec = read_recording(p, _spec("fall-detect"))
    assert rec.rate == pytest.approx(25.0) and np.allclose(rec.signal, g, atol=1e-3)
    assert "no heading row: columns 4, 5, 6 read as ax, ay, az" in capsys.readouterr().err


def test_a_headerless_table_without_a_time_is_read_in_order_only_with_its_rate(tmp_path, capsys):
    # sample number, x, y, z: no time column, so --rate (the refusal says so)
    g = _standing(600)
    p = tmp_path / "serial.csv"
    p.write_text("".join(f"{i},{x:.4f},{y:.4f},{z:.4f}\n" for i, (x, y, z) in enumerate(g)))
    with pytest.raises(TinymlError, match=r"serial.csv: CSV without a heading row .*\(--channel ax=2 --channel ay=3 "
                                          r"--channel az=4\) .*without a time column give the rate \(--rate HZ\)$"):
        read_recording(p, _spec("fall-detect"))
    rec = read_recording(p, _spec("fall-detect", rate=100.0))
    assert rec.rate == 100 and np.allclose(rec.signal, g, atol=1e-4)
    assert "no heading row: columns 2, 3, 4 read as ax, ay, az" in capsys.readouterr().err


def test_a_headerless_table_of_decimal_commas_split_at_semicolons_is_read_in_order(tmp_path, capsys):
    # a European logger: `;` between cells, a decimal comma in each (`0,02;0,0012;...`): split at `;`, not at the
    # commas, and its elapsed seconds are a clock once --rate says how long the file is
    g = _standing(600)
    p = tmp_path / "eu.csv"
    p.write_text("".join(f"{i / 50:.2f};{x:.4f};{y:.4f};{z:.4f}\n".replace(".", ",") for i, (x, y, z) in enumerate(g)))
    rec = read_recording(p, _spec("fall-detect", rate=50.0))
    assert rec.rate == 50 and np.allclose(rec.signal, g, atol=1e-4)
    assert "no heading row: columns 2, 3, 4 read as ax, ay, az" in capsys.readouterr().err


def test_a_headerless_table_is_read_by_column_position_even_its_last_column(tmp_path):
    # a table whose every line ends with `;` (WISDM's layout): the last column is numbers, not `0.1000;`
    g = _standing(1000)
    p = tmp_path / "log.txt"
    p.write_text("".join(f"{i},{x:.4f},{y:.4f},{z:.4f};\n" for i, (x, y, z) in enumerate(g)))
    rec = read_recording(p, _spec("fall-detect", rate=200.0, picks={"ax": "4", "ay": "3", "az": "2"}))
    assert rec.rate == 200 and np.allclose(rec.signal, g[:, ::-1], atol=1e-4)


def test_a_one_column_log_is_the_one_channel_of_an_app(tmp_path, capsys):
    # an Arduino's serial monitor saved to a file: one number a line, no heading
    ecg = synthetic_ecg(360, 12)
    p = tmp_path / "serial.txt"
    p.write_text("".join(f"{v:.3f}\n" for v in ecg))
    rec = read_recording(p, _spec("heart-rate-anomaly", rate=360.0))
    assert np.allclose(rec.signal[:, 0], ecg, atol=0.001)
    assert "no heading row: the file's one column read as ecg" in capsys.readouterr().err


def test_a_heading_in_a_comment_is_the_heading_and_one_columns_unit_is_the_others(tmp_path, capsys):
    # MobiFall v2: comment lines, the heading among them, `@DATA`, then rows; only z says its unit (m/s^2)
    rate = 87.0
    t = np.arange(int(rate * 6)) / rate
    a = np.stack([0.3 * np.sin(2 * np.pi * t), -9.6 + 0.2 * np.cos(2 * np.pi * t), -1.2 + 0 * t], 1)
    rows = "".join(f"{int(2022656686000 + s * 1e9)}, {x:.6f}, {y:.6f}, {z:.6f}\n" for s, (x, y, z) in zip(t, a))
    p = tmp_path / "FOL_acc_1_1.txt"
    p.write_text("#Acceleration force along the x y z axes (including gravity).\n#timestamp(ns),x,y,z(m/s^2)\n"
                 "#Datetime: 05/07/2013 11:22:43\n##########\n#Activity: 11 - FOL - Forward-lying - 10s\n\n\n"
                 "@DATA\n" + rows)
    rec = read_recording(p, _spec("fall-detect"))
    assert rec.rate == pytest.approx(rate, rel=1e-3)
    assert np.allclose(rec.signal, a / G, atol=1e-3)  # every axis in g, not x and y left in m/s^2
    err = capsys.readouterr().err
    assert "ax, ay: no unit in the file, read in m/s^2 like az" in err
    assert "1 line before the data skipped ('@DATA'...)" in err


def _jumping(rate: float, seconds: float) -> np.ndarray:
    """Continuous jumping with a phone in a trouser pocket, in m/s^2: in the air (|a| 0.1-0.45 g) for 55 % of
    each 0.6 s hop, then a landing and push-off up to the phone's +-2 g (19.6 m/s^2) on an axis: the median |a|
    is under 0.5 g (0.45), while the mean over the hops is gravity (the axes do not average to 0)."""
    t = np.arange(int(rate * seconds)) / rate
    phase = (t % 0.6) / 0.6
    air = 0.1 + 0.35 * np.sin(np.pi * phase / 0.55)
    ground = 0.6 + 2.2 * np.sin(np.pi * (phase - 0.55) / 0.45) ** 2
    push = G * np.where(phase < 0.55, air, ground)
    a = np.stack([0.4 * np.sin(2 * np.pi * t / 0.6), push, 0.3 + 0.2 * np.cos(2 * np.pi * t / 0.6)], 1)
    return np.clip(a, -19.6, 19.6)


@pytest.mark.parametrize("heading", ["#timestamp(ns),x,y,z(m/s^2)", "#timestamp(ns),x,y,z"])
def test_continuous_jumping_is_read_in_its_unit_though_its_median_is_under_gravity(tmp_path, capsys, heading):
    # MobiFall v2 JUM trials (30 s of continuous jumping): the median |a| 0.46 g, under typical_magnitude's 0.5
    # (gravity), nothing else fitting: they were refused with "convert the file to g", which could not help
    rate = 90.0
    a = _jumping(rate, 12.0)
    if not heading.endswith("(m/s^2)"):
        a = a / G  # the same file written in the app's unit, g, undeclared
    med = float(np.median(np.linalg.norm(a, axis=1))) / (G if heading.endswith("(m/s^2)") else 1.0)
    assert 0.3 < med < 0.5
    rows = "".join(f"{int(1322101821000 + i * 1e9 / rate)}, {x:.6f}, {y:.6f}, {z:.6f}\n" for i, (x, y, z) in enumerate(a))
    p = tmp_path / "JUM_acc_4_1.txt"
    p.write_text(f"#Acceleration force along the x y z axes (including gravity).\n{heading}\n"
                 "#Activity: 4 - JUM - Jumping - 30s\n\n@DATA\n" + rows)
    rec = read_recording(p, _spec("fall-detect"))
    want = a / G if heading.endswith("(m/s^2)") else a
    assert np.allclose(rec.signal, want, atol=1e-3)
    err = capsys.readouterr().err
    assert f"median magnitude {med:.2g} g is below [signal] typical_magnitude 0.5 to 2, within 2x of it" in err
    assert "convert" not in err or "converted from m/s^2 to g; median magnitude" in err  # one notice, not two


def test_a_waving_watch_in_m_s2_is_read_though_its_median_is_over_typical(tmp_path, capsys):
    # SmartFallMM's smartwatch, a hand waving (A07): m/s^2 without a unit, peaks past 4 g (so not g), a median
    # |a| of 2.4 g, over typical_magnitude's 2: m/s^2 is the one unit that comes near; it was refused
    rate = 50.0
    t = np.arange(int(rate * 10)) / rate
    a = G * np.stack([2.8 * np.sin(2 * np.pi * 2.5 * t), 0.4 + 0.8 * np.cos(2 * np.pi * 2.5 * t) ** 2,
                            0.3 + 0.1 * np.sin(2 * np.pi * 0.3 * t)], 1)
    a[::25, 0] = 4.3 * G  # the flicks
    p = tmp_path / "S11A07T02.csv"
    p.write_text("".join(f"2023-04-11 15:10:{10 + s:06.3f},{x:.5f},{y:.5f},{z:.5f}\n" for s, (x, y, z) in zip(t, a)))
    rec = read_recording(p, _spec("fall-detect", picks={"ax": "2", "ay": "3", "az": "4"}))
    assert np.allclose(rec.signal, a / G, atol=1e-4)
    err = capsys.readouterr().err
    assert "values look like m/s², not g" in err and "is above [signal] typical_magnitude 0.5 to 2, within 2x" in err


def test_gravity_removed_under_typical_magnitude_is_still_refused(tmp_path):
    # the near-typical allowance keeps the refusal of a phone's linear acceleration (axes averaging to ~0)
    rate = 90.0
    t = np.arange(int(rate * 12)) / rate
    a = np.stack([0.35 * np.sin(2 * np.pi * 1.7 * t), 0.3 * np.cos(2 * np.pi * 1.7 * t), 0.1 * np.sin(2 * np.pi * t)], 1)
    p = tmp_path / "linear.csv"
    p.write_text("t,x (g),y (g),z (g)\n" + "".join(f"{s:.4f},{x:.4f},{y:.4f},{z:.4f}\n" for s, (x, y, z) in zip(t, a)))
    with pytest.raises(TinymlError, match="gravity removed"):
        read_recording(p, _spec("fall-detect"))


def test_a_file_low_throughout_is_still_refused_not_taken_as_near_typical(tmp_path):
    # the allowance is for a median pulled under gravity by time in the air (jumping: its mean is still
    # gravity); a still wearer at 0.3 g is in another scale, and so are 10-bit counts read with an ADXL345's
    # 256 per g: both stay refused, the counts with the hint that says how to give their count
    t = np.arange(600) / 100
    g = np.stack([0.02 * np.sin(2 * np.pi * t), -1 + 0.01 * np.cos(2 * np.pi * t), 0.05 + 0 * t], 1)
    scaled = tmp_path / "still.csv"
    scaled.write_text("t,x (g),y (g),z (g)\n" + "".join(f"{s:.2f},{x:.4f},{y:.4f},{z:.4f}\n"
                                                          for s, (x, y, z) in zip(t, 0.3 * g)))
    with pytest.raises(TinymlError, match="still.csv: .*not plausible in g"):
        read_recording(scaled, _spec("fall-detect"))
    counts = tmp_path / "adxl_10bit.csv"
    counts.write_text("millis,ax,ay,az\n" + "".join(f"{int(s * 1000)},{x},{y},{z}\n"
                                                    for s, (x, y, z) in zip(t, np.round(g * 67).astype(int))))
    with pytest.raises(TinymlError, match=r"counts_per_unit=N .*suggest about 6[0-9]"):
        read_recording(counts, _spec("fall-detect"))


def test_a_remark_in_a_comment_is_not_the_heading_of_a_headerless_table(tmp_path):
    # a phone logger's note above bare numbers: as many cells as the rows, none a number, but not column names
    t = np.arange(1000) / 100
    g = np.stack([0.1 * np.sin(2 * np.pi * t), -1 + 0.05 * np.cos(2 * np.pi * t), 0.1 + 0 * t], 1)
    p = tmp_path / "phone.csv"
    p.write_text("# recorded by phone, model A, sensor B, 50 Hz\n"
                 + "".join(f"{s:.2f},{x:.4f},{y:.4f},{z:.4f}\n" for s, (x, y, z) in zip(t, g)))
    rec = read_recording(p, _spec("fall-detect", rate=100.0, picks={"ax": "2", "ay": "3", "az": "4"}))
    assert np.allclose(rec.signal, g, atol=1e-4)
    with pytest.raises(TinymlError, match=r"phone.csv: CSV without a heading row "):
        read_recording(p, _spec("fall-detect"))


def test_columns_named_in_a_comment_may_still_be_picked_by_number(tmp_path):
    t = np.arange(1000) / 100
    g = np.stack([0.1 * np.sin(2 * np.pi * t), -1 + 0.05 * np.cos(2 * np.pi * t), 0.1 + 0 * t], 1)
    p = tmp_path / "log.csv"
    p.write_text("#t,accX,accY,accZ\n" + "".join(f"{s:.2f},{x:.4f},{y:.4f},{z:.4f}\n" for s, (x, y, z) in zip(t, g)))
    rec = read_recording(p, _spec("fall-detect", rate=100.0, picks={"ax": "2", "ay": "3", "az": "4"}))
    assert np.allclose(rec.signal, g, atol=1e-4)
    rec = read_recording(p, _spec("fall-detect", rate=100.0, picks={"ax": "accX", "ay": "accY", "az": "accZ"}))
    assert np.allclose(rec.signal, g, atol=1e-4)
    # names of several words, each with its unit: a heading too (a remark's cells have none)
    p.write_text("# Time (s),Acc X (g),Acc Y (g),Acc Z (g)\n" + p.read_text().split("\n", 1)[1])
    rec = read_recording(p, _spec("fall-detect", picks={"ax": "Acc X", "ay": "Acc Y", "az": "Acc Z"}))
    assert rec.rate == 100 and np.allclose(rec.signal, g, atol=1e-4)


def _leads(folder, names: list[str], rate: int = 250) -> tuple[object, np.ndarray]:
    """A WFDB record (format 16, mV) whose leads carry `names`, the first being the ECG under test."""
    from tinyml.readers.wfdb import quiet

    with quiet():
        import wfdb
    ecg = synthetic_ecg(rate, 12)
    sig = np.stack([ecg * (k + 1) for k in range(len(names))], 1)
    with quiet():
        wfdb.wrsamp("rec", fs=rate, units=["mV"] * len(names), sig_name=names, p_signal=sig, fmt=["16"] * len(names),
                    adc_gain=[1000.0] * len(names), baseline=[0] * len(names), write_dir=str(folder))
    return folder / "rec.hea", ecg


@pytest.mark.parametrize("names", [
    ["ECG lead II", "ECG lead I", "ART"],  # MGH/MF waveform database
    ["ECG II", "ECG I", "EEG Fpz-Cz"],     # EDF+'s "<type> <lead>" labels
    ["EKG", "Pleth"],                       # sleep recorders' spelling
    ["ECG_1", "ECG_2", "ECG_3"],            # numbered leads: ECG_1 is ECG1
])
def test_the_lead_names_hospital_databases_give_are_thesynthetic_ecg(tmp_path, capsys, names):
    p, ecg = _leads(tmp_path, names)
    rec = read_recording(p, _spec("heart-rate-anomaly"))
    assert np.allclose(rec.signal[:, 0], ecg, atol=0.002)  # the first lead, the model's own: no stand-in notice
    assert "stand-in" not in capsys.readouterr().err


@pytest.mark.parametrize("names", [["ECG lead I", "ART"], ["MLIII", "V4"], ["V4", "RESP"], ["MCL1", "ABP", "RESP"]])
def test_a_record_with_only_another_lead_under_a_database_name_reads_it_as_a_stand_in(tmp_path, capsys, names):
    # MGH/MF's "ECG lead I"; the European ST-T database's modified lead III and its V4; MIMIC's MCL1
    p, ecg = _leads(tmp_path, names)
    rec = read_recording(p, _spec("heart-rate-anomaly"))
    assert np.allclose(rec.signal[:, 0], ecg, atol=0.002)
    assert f"ecg: read from lead {names[0]!r}, a stand-in" in capsys.readouterr().err


def _edf_field(values, size: int) -> str:
    """An EDF header field: each value in `size` ASCII characters, left-aligned, space-padded."""
    return "".join(str(v)[:size].ljust(size) for v in values)


def test_an_edf_of_annotations_alone_is_refused_saying_it_holds_no_signal(tmp_path):
    # EDF+ annotation files (PhysioNet's *-Hypnogram.edf, wfdb's test_edfann.edf): one "EDF Annotations" signal,
    # record duration 0
    tal = b"+0\x14\x14\x00+1.5\x150.5\x14beat N\x14\x00"
    head = ("0".ljust(8) + "X X X X".ljust(80) + "Startdate X X X X".ljust(80) + "01.01.01" + "23.59.30" + "512".ljust(8)
            + "EDF+C".ljust(44) + "1".ljust(8) + "0".ljust(8) + "1".ljust(4))
    head += "".join(_edf_field([v], size) for v, size in [
        ("EDF Annotations", 16), ("", 80), ("", 8), ("-1", 8), ("1", 8), ("-32768", 8), ("32767", 8), ("", 80),
        (len(tal) // 2, 8), ("", 32)])
    p = tmp_path / "SC4001EC-Hypnogram.edf"
    p.write_bytes(head.encode("latin-1") + tal)
    with pytest.raises(TinymlError, match=r"SC4001EC-Hypnogram.edf: no signals, only EDF Annotations \(events and their "
                                          r"times; a PhysioNet record's annotations file\): give the file that holds "
                                          r"the recording$"):
        read_recording(p, _spec("heart-rate-anomaly"))


def test_acceleration_without_gravity_is_refused_saying_so(tmp_path):
    # Sensor Logger's Accelerometer.csv (iOS user acceleration) and phyphox's "Linear Acceleration": gravity taken
    # out, so no unit fits; converting cannot help, the recording with gravity can
    rng = np.random.default_rng(3)
    t = np.arange(1000) / 100
    lin = np.stack([0.3 * np.sin(2 * np.pi * 1.8 * t), 0.2 * np.cos(2 * np.pi * 1.8 * t), 0 * t], 1)
    lin += rng.normal(0, 0.05, lin.shape)
    p = tmp_path / "Accelerometer.csv"
    p.write_text("time,seconds_elapsed,z,y,x\n" + "".join(
        f"{int(1.7e18 + s * 1e9)},{s:.6f},{z:.6f},{y:.6f},{x:.6f}\n" for s, (x, y, z) in zip(t, lin)))
    with pytest.raises(TinymlError, match=r"Accelerometer.csv: .*not plausible in g .*; the axes average to [0-9.e-]+ "
                                          r"while they move by 0\.[0-9]+: gravity removed \(a phone's linear or user "
                                          r"acceleration\)\? give the acceleration with gravity \(total acceleration, "
                                          r"'with g'\)$"):
        read_recording(p, _spec("fall-detect"))


def test_a_heading_of_sensor_groups_over_axes_names_each_column_by_both(tmp_path):
    # UP-Fall: a group name over its columns (merged cells: the rest blank), the axes and units in a second row
    t = np.arange(200) / 18.4
    belt = np.stack([0.1 * np.sin(t), -0.98 + 0 * t, 0.2 + 0 * t], 1)
    head1 = "TimeStamps,AnkleAccelerometer,,,BeltAccelerometer,,,BeltLuminosity,Subject,Activity,Trial,Tag\n"
    head2 = ("Time,x-axis (g),y-axis (g),z-axis (g),x-axis (g),y-axis (g),z-axis (g),illuminance (lx),Subject,Activity,"
             "Trial,Tag\n")
    rows = "".join(f"2018-07-04T12:04:{17 + s:09.6f},0.5,0.5,0.5,{x:.4f},{y:.4f},{z:.4f},12.0,1,1,1,1\n"
                   for s, (x, y, z) in zip(t, belt))
    p = tmp_path / "Subject1Activity1Trial1.csv"
    p.write_text(head1 + head2 + rows)
    picks = {"ax": "BeltAccelerometer x-axis", "ay": "BeltAccelerometer y-axis", "az": "BeltAccelerometer z-axis"}
    rec = read_recording(p, _spec("fall-detect", picks=picks))
    assert rec.rate == pytest.approx(18.4, rel=1e-3) and np.allclose(rec.signal, belt, atol=1e-4)
    with pytest.raises(TinymlError, match=r"lacks column\(s\) ax, ay, az; it has TimeStamps Time, AnkleAccelerometer "
                                          r"x-axis \(g\), .*, BeltAccelerometer x-axis \(g\), "):
        read_recording(p, _spec("fall-detect"))


def test_a_heading_with_a_blank_index_column_over_a_units_row_is_not_a_group_heading(tmp_path):
    # pandas' to_csv: a blank cell over its index column, then the names; a units row below with one word the
    # unit table does not know ('class'): not a heading of groups, so no column is named 'ax g'; the row is
    # refused as the data it is not, naming the column by its own name
    t = np.arange(500) / 50
    g = np.stack([0.1 * np.sin(2 * np.pi * t), -1 + 0.05 * np.cos(2 * np.pi * t), 0.1 + 0 * t], 1)
    p = tmp_path / "export.csv"
    p.write_text(",time_s,ax,ay,az,label\n,s,g,g,g,class\n"
                 + "".join(f"{i},{s:.2f},{x:.4f},{y:.4f},{z:.4f},walk\n" for i, (s, (x, y, z)) in enumerate(zip(t, g))))
    with pytest.raises(TinymlError, match=r"export.csv: line 2: expected numbers in column 'ax', got 'g'$"):
        read_recording(p, _spec("fall-detect"))


def test_a_multi_segment_record_is_read_across_its_segments_and_cut_at_a_gap(tmp_path, capsys):
    # MIMIC's waveform records: a master header naming segments, a layout header listing the signals, a gap '~'
    from tinyml.readers.wfdb import quiet

    with quiet():
        import wfdb
    ecg = synthetic_ecg(250, 12)
    with quiet():
        wfdb.wrsamp("multi_0001", fs=250, units=["mV", "mV"], sig_name=["II", "V"], p_signal=np.stack([ecg, ecg / 2], 1),
                    fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path))
        wfdb.wrsamp("multi_0002", fs=250, units=["mV"], sig_name=["II"], p_signal=ecg[:, None], fmt=["16"],
                    adc_gain=[200.0], baseline=[0], write_dir=str(tmp_path))
    (tmp_path / "multi_layout.hea").write_text("multi_layout 2 250 0\n~ 0 200/mV 16 0 0 0 0 II\n~ 0 200/mV 16 0 0 0 0 V\n")
    (tmp_path / "multi.hea").write_text("multi/4 2 250 7250\nmulti_layout 0\nmulti_0001 3000\n~ 1250\nmulti_0002 3000\n")
    parts, gaps = read_recording_parts(tmp_path / "multi.hea", _spec("heart-rate-anomaly"))
    assert [p.start_s for p in parts] == [0.0, 17.0] and gaps == [pytest.approx(5.004)]
    for part in parts:
        assert np.allclose(part.signal[:, 0], ecg, atol=0.01)
    assert "1250 samples with no value (empty or NaN) in 'ecg', the first at t = 12.000 s" in capsys.readouterr().err
    (tmp_path / "gaps.hea").write_text("gaps/2 2 250 1250\nmulti_layout 0\n~ 1250\n")
    with pytest.raises(TinymlError, match=r"gaps.hea: no row has a value in every required channel"):
        read_recording_parts(tmp_path / "gaps.hea", _spec("heart-rate-anomaly"))


def test_a_lead_stored_several_samples_a_frame_is_read_at_its_own_rate(tmp_path):
    # MIMIC and the drivers' stress database: ECG `16x4` (500 Hz) beside a 125 Hz pressure, a 125 frames/s record;
    # each frame holds 4 ECG samples, then 1 pressure sample
    ecg = synthetic_ecg(500, 12)
    abp = 80 + 20 * np.sin(2 * np.pi * 1.2 * np.arange(len(ecg) // 4) / 125)
    frames = np.concatenate([np.round(ecg * 200).reshape(-1, 4), np.round(abp * 100)[:, None]], 1)
    (tmp_path / "frames.dat").write_bytes(frames.astype("<i2").tobytes())
    (tmp_path / "frames.hea").write_text(f"frames 2 125 {len(abp)}\nframes.dat 16x4 200/mV 16 0 0 0 0 II\n"
                                         "frames.dat 16 100/mmHg 16 0 0 0 0 ABP\n")
    got = read_recording(tmp_path / "frames.hea", _spec("heart-rate-anomaly"))
    assert got.rate == 500 and np.allclose(got.signal[:, 0], ecg, atol=0.01)  # not averaged to 125 Hz


def test_another_sensors_counts_are_refused_saying_how_to_give_its_count(tmp_path):
    # an MPU-6050 at +-2 g logged by an Arduino sketch: int16 counts, 16384 per g (the app declares 256, an ADXL345)
    t = np.arange(600) / 100
    g = np.stack([0.1 * np.sin(2 * np.pi * t), -1 + 0.05 * np.cos(2 * np.pi * t), 0.1 + 0 * t], 1)
    p = tmp_path / "mpu6050.csv"
    p.write_text("millis,ax,ay,az\n" + "".join(f"{int(s * 1000)},{x},{y},{z}\n"
                                               for s, (x, y, z) in zip(t, np.round(g * 16384).astype(int))))
    with pytest.raises(TinymlError, match=r"mpu6050.csv: .*not plausible in g .*; whole numbers: another sensor's raw "
                                          r"counts\? give --set signal.counts_per_unit=N \(N counts per g; these "
                                          r"suggest about 16,[0-9]{3}\)$"):
        read_recording(p, _spec("fall-detect"))


def test_an_empatica_e4_acc_file_is_read_at_its_rate_in_g(tmp_path):
    # E4 connect's ACC.csv: the start (Unix s) and the rate repeated in each column, then x, y, z in 1/64 g
    t = np.arange(320) / 32
    g = np.stack([0.1 * np.sin(2 * np.pi * 0.5 * t), -1 + 0.05 * np.cos(2 * np.pi * t), 0.2 + 0 * t], 1)
    counts = np.round(g * 64).astype(int)
    p = tmp_path / "ACC.csv"
    p.write_text("1495437325.000000, 1495437325.000000, 1495437325.000000\n32.000000, 32.000000, 32.000000\n"
                 + "".join(f"{x},{y},{z}\n" for x, y, z in counts))
    rec = read_recording(p, _spec("fall-detect"))
    assert rec.rate == 32 and len(rec.signal) == 320  # the two first rows are not samples
    assert np.allclose(rec.signal, counts / 64)
    (tmp_path / "EDA.csv").write_text("1495437325.000000\n4.000000\n" + "0.1\n" * 100)
    with pytest.raises(TinymlError, match=r"EDA.csv: E4 file lacks column\(s\) ax, ay, az; it has EDA"):
        read_recording(tmp_path / "EDA.csv", _spec("fall-detect"))


def test_one_wild_value_in_a_file_that_fits_its_unit_is_refused_not_clipped_into_an_impact(tmp_path):
    # a logger's 99999 "no value" in one cell of a minute of g: the unit check reads percentiles and passes it;
    # clipped to the 16 g full scale it made a fall alert out of someone lying down slowly
    t = np.arange(3000) / 50
    turn = np.clip((t - 30) / 3, 0, 1) * np.pi / 2
    a = np.stack([0.01 * np.sin(t), -np.cos(turn), np.sin(turn)], 1)
    rows = [f"{s:.2f},{x:.4f},{y:.4f},{z:.4f}" for s, (x, y, z) in zip(t, a)]
    rows[1550] = f"{t[1550]:.2f},99999,{a[1550, 1]:.4f},{a[1550, 2]:.4f}"
    p = tmp_path / "bed.csv"
    p.write_text("time_s,ax,ay,az\n" + "\n".join(rows) + "\n")
    with pytest.raises(TinymlError, match=r"bed.csv: ax = 99999 at line 1552 \(a logger's missing-value marker\?\), "
                                          r"1 value like it: far beyond the plausible -16 to 16 g that the rest of the "
                                          r"file fits; leave such cells empty \(missing samples\) or remove their rows$"):
        read_recording(p, _spec("fall-detect"))
    rows[1550] = f"{t[1550]:.2f},,{a[1550, 1]:.4f},{a[1550, 2]:.4f}"  # as the refusal says: a missing sample
    p.write_text("time_s,ax,ay,az\n" + "\n".join(rows) + "\n")
    parts, _ = read_recording_parts(p, _spec("fall-detect"))
    assert len(parts) == 1 and np.abs(parts[0].signal).max() < 1.1


@pytest.mark.parametrize("bad", ["inf", "6553.5"])
def test_a_wild_value_in_an_optional_channel_is_a_missing_sample_not_a_refusal(tmp_path, capsys, bad):
    # a rain gauge's overflow (inf, or 0xFFFF tenths of a mm) in one cell of a soil logger's day: the optional
    # channel loses that reading, the soil moisture is still scored
    hours = np.arange(2000) / 2  # six weeks every 30 min: one wild cell passes the units' percentiles
    vwc = 0.25 + 0.02 * np.sin(2 * np.pi * hours / 24)
    rain = np.where(hours % 6 == 0, 1.5, 0.0)
    times = np.datetime64("2024-06-01T00:00") + (hours * 60).astype(int).astype("timedelta64[m]")
    rows = [f"{t},{v:.4f},{r:.1f}" for t, v, r in zip(times, vwc, rain)]
    rows[20] = rows[20].rsplit(",", 1)[0] + "," + bad
    p = tmp_path / "soil.csv"
    p.write_text("time,vwc,rain_mm\n" + "\n".join(rows) + "\n")
    rec = read_recording(p, _spec("soil-monitoring"))
    assert np.allclose(rec.signal[:, 0], vwc, atol=1e-4)
    rain_mm = rec.signal[:, rec.channels.index("rain_mm")]
    assert np.isnan(rain_mm[20]) and np.allclose(np.delete(rain_mm, 20), np.delete(rain, 20))
    assert f"rain_mm = {float(bad):g} at line 22" in capsys.readouterr().err


def _edf(signals: dict[str, np.ndarray], rate: int) -> bytes:
    """An EDF+ file as the specification lays it out: 1 s records, int16 over -5000..5000 uV."""
    labels = list(signals)
    n = len(next(iter(signals.values()))) // rate
    head = ("0".ljust(8) + "X X X X".ljust(80) + "Startdate 05-DEC-2026 X X X".ljust(80) + "05.12.26" + "22.00.00"
            + str(256 * (len(labels) + 1)).ljust(8) + "EDF+C".ljust(44) + str(n).ljust(8) + "1".ljust(8)
            + str(len(labels)).ljust(4))
    each = len(labels)
    head += _edf_field(labels, 16) + _edf_field([""] * each, 80) + _edf_field(["uV"] * each, 8)
    head += _edf_field(["-5000"] * each, 8) + _edf_field(["5000"] * each, 8)
    head += _edf_field(["-32768"] * each, 8) + _edf_field(["32767"] * each, 8) + _edf_field([""] * each, 80)
    head += _edf_field([rate] * each, 8) + _edf_field([""] * each, 32)
    raw = head.encode("latin-1")
    for r in range(n):
        for x in signals.values():
            raw += (np.round((x[r * rate:(r + 1) * rate] + 5000) / (10000 / 65535)) - 32768).astype("<i2").tobytes()
    return raw


@pytest.mark.parametrize("label", ["ECG1-ECG2", "EKG1-EKG2"])
def test_a_sleep_recorders_ecg_derivation_is_thesynthetic_ecg(tmp_path, label):
    # polysomnography EDFs (the CAP sleep database, many sleep labs) label the ECG by its two electrodes
    ecg = synthetic_ecg(256, 12) * 1000  # uV
    p = tmp_path / "n1.edf"
    p.write_bytes(_edf({"Fp2-F4": ecg / 20, label: ecg, "EMG1-EMG2": ecg / 50}, 256))
    rec = read_recording(p, _spec("heart-rate-anomaly"))
    assert rec.rate == 256 and np.allclose(rec.signal[:, 0], ecg / 1000, atol=0.001)


def test_a_headerless_table_with_a_date_time_column_takes_it_for_the_time(tmp_path, capsys):
    # Axivity AX3 (OMGUI "Export raw CSV"): date-time, x, y, z in g, no heading; a waist-worn research sensor
    t = np.arange(1000) / 100
    g = np.stack([0.1 * np.sin(2 * np.pi * t), -1 + 0.05 * np.cos(2 * np.pi * t), 0.1 + 0 * t], 1)
    p = tmp_path / "ax3.csv"
    p.write_text("".join(f"2014-05-07 09:00:{s:06.3f},{x:.4f},{y:.4f},{z:.4f}\n" for s, (x, y, z) in zip(t, g)))
    rec = read_recording(p, _spec("fall-detect"))  # its three axes in order (a flat one too), said
    assert rec.rate == 100 and np.allclose(rec.signal, g, atol=1e-4)
    assert "no heading row: columns 2, 3, 4 read as ax, ay, az" in capsys.readouterr().err
    rec = read_recording(p, _spec("fall-detect", picks={"ax": "2", "ay": "3", "az": "4"}))
    assert rec.rate == 100 and np.allclose(rec.signal, g, atol=1e-4)  # its rate from its date-times


def _framed_segment(tmp_path, name: str, ecg: np.ndarray) -> int:
    """A segment of a 125 frames/s record: 4 ECG samples (500 Hz, `16x4`) and 1 ABP sample a frame."""
    abp = 80 + 20 * np.sin(2 * np.pi * 1.2 * np.arange(len(ecg) // 4) / 125)
    frames = np.concatenate([np.round(ecg * 200).reshape(-1, 4), np.round(abp * 100)[:, None]], 1)
    (tmp_path / f"{name}.dat").write_bytes(frames.astype("<i2").tobytes())
    (tmp_path / f"{name}.hea").write_text(f"{name} 2 125 {len(abp)}\n{name}.dat 16x4 200/mV 16 0 0 0 0 II\n"
                                          f"{name}.dat 16 100/mmHg 16 0 0 0 0 ABP\n")
    return len(abp)


@pytest.mark.parametrize("layout", ["fixed", "variable"])
def test_a_multi_segment_record_reads_a_lead_of_several_samples_a_frame_at_its_own_rate(tmp_path, layout):
    # MIMIC's 041s: segments of 125 frames/s, ECG 212x4 (500 Hz); joined, wfdb averaged it to 125 Hz
    ecg = synthetic_ecg(500, 12)
    n1 = _framed_segment(tmp_path, "ms_0001", ecg[:3000])
    n2 = _framed_segment(tmp_path, "ms_0002", ecg[3000:])
    if layout == "variable":  # a layout header lists the signals, a gap '~' between the segments
        (tmp_path / "ms_layout.hea").write_text("ms_layout 2 125 0\n~ 16x4 200/mV 16 0 0 0 0 II\n"
                                                "~ 16 100/mmHg 16 0 0 0 0 ABP\n")
        (tmp_path / "ms.hea").write_text(f"ms/4 2 125 {n1 + 250 + n2}\nms_layout 0\nms_0001 {n1}\n~ 250\nms_0002 {n2}\n")
    else:
        (tmp_path / "ms.hea").write_text(f"ms/2 2 125 {n1 + n2}\nms_0001 {n1}\nms_0002 {n2}\n")
    parts, _ = read_recording_parts(tmp_path / "ms.hea", _spec("heart-rate-anomaly"))
    assert parts[0].rate == 500  # not averaged to 125 Hz
    assert np.allclose(np.concatenate([p.signal[:, 0] for p in parts]), ecg, atol=0.01)


def test_a_wild_value_after_rows_left_out_is_named_by_its_own_line(tmp_path):
    # rows with an empty cell are left out before the unit checks: counted after them, the wild value's sample
    # number pointed 5 rows above it; its line in the file is what a user finds in an editor
    t = np.arange(3000) / 50
    rows = [f"{s:.2f},{0.01 * np.sin(s):.4f},-1.0000,0.0500" for s in t]
    for k in range(100, 105):
        rows[k] = f"{t[k]:.2f},,-1.0000,0.0500"
    rows[2000] = f"{t[2000]:.2f},12345,-1.0000,0.0500"
    p = tmp_path / "log.csv"
    p.write_text("# logger export\ntime_s,ax,ay,az\n" + "\n".join(rows) + "\n")
    with pytest.raises(TinymlError, match=r"log.csv: ax = 12345 at line 2003, 1 value like it"):
        read_recording_parts(p, _spec("fall-detect"))


def test_a_wild_value_in_a_file_without_lines_is_named_by_its_time_after_rows_left_out(tmp_path):
    # a WFDB record (a rate, no lines): its invalid samples are left out, so a sample number would be shifted
    from tinyml.readers.wfdb import quiet

    with quiet():
        import wfdb
    ecg = synthetic_ecg(250, 12)
    ecg[1000:1010] = np.nan  # written as WFDB's invalid sample value
    ecg[2000] = 500.0  # a corrupt sample far beyond any ECG
    with quiet():
        wfdb.wrsamp("wild", fs=250, units=["mV"], sig_name=["II"], p_signal=ecg[:, None], fmt=["16"],
                    adc_gain=[50.0], baseline=[0], write_dir=str(tmp_path))
    with pytest.raises(TinymlError, match=r"wild.hea: ecg = 500 at t = 8.000 s"):
        read_recording_parts(tmp_path / "wild.hea", _spec("heart-rate-anomaly"))
