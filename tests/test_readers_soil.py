"""Soil and logger formats: ISMN .stm (header+values and CEOP, with flags and station siblings), Campbell
TOA5 and HOBO exports (several sensors: a pick, then the same sensor's other quantities), and the
resampling a logger's slow states and rain amounts need. Fixtures are written in the real layouts with
synthesized values (datasets/ismn/fixture, tests/fixtures/loggers)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tinyml.dsp.resample import resample_linear, resample_signal, resample_totals
from tinyml.errors import TinymlError
from tinyml.readers import ReadSpec, reader_for
from tinyml.readers.ismn import parse_stm
from tinyml.recording import read_recording

ROOT = Path(__file__).resolve().parents[1]
ISMN = ROOT / "datasets" / "ismn" / "fixture"
LOGGERS = Path(__file__).parent / "fixtures" / "loggers"
HEADER_SM = next(ISMN.rglob("DEMO_DEMO_Field-A_sm_*.stm"))
CEOP_SM = next(ISMN.rglob("DEMO_DEMO_Field-B_sm_*.stm"))

SPEC = ReadSpec(
    channels=("vwc",), optional=("soil_temp_c", "ec_ds_m", "rain_mm", "et0_mm"),
    aliases={"vwc": ("VWC", "Water Content", "soil_moisture", "sm"), "soil_temp_c": ("T", "Temp", "soil_temp"),
             "ec_ds_m": ("BulkEC", "EC"), "rain_mm": ("Rain", "precip"), "et0_mm": ("ET0", "ETo")},
    units={"vwc": "m3/m3", "soil_temp_c": "degC", "ec_ds_m": "dS/m", "rain_mm": "mm", "et0_mm": "mm"},
    plausible_range={"vwc": (0.0, 0.7), "soil_temp_c": (-30.0, 60.0), "ec_ds_m": (0.0, 10.0)},
    device_rate=1 / 900, accepted_rates=(1 / 3600, 1 / 300), max_gap_s=6 * 3600)


def test_ismn_header_values_layout_with_flags():
    stm = parse_stm(HEADER_SM)
    assert stm.layout == "header_values" and stm.station == "Field-A" and stm.variable == "sm"
    assert stm.depth == (0.05, 0.05) and stm.sensor == "ThetaProbe-ML2X"
    assert len(stm.values) == 96 and np.isnan(stm.values[60]) and stm.flags[60] == "M"
    assert stm.flags[20] == "D06" and stm.flags[61] == "C02" and stm.flags[70] == "D06,D08"
    assert np.all(np.diff(stm.times) == 3600)


def test_ismn_ceop_layout():
    stm = parse_stm(CEOP_SM)
    assert stm.layout == "ceop" and stm.station == "Field-B" and stm.depth == (0.1, 0.1)
    assert stm.flags[50:66] == ["D09"] * 16 and abs(stm.values[0] - 0.19) < 1e-9 and stm.lat == 47.6


def test_ismn_read_fills_optional_channels_from_the_station_folder():
    assert reader_for(HEADER_SM).__name__.endswith(".ismn")
    rec = read_recording(HEADER_SM, SPEC)
    assert rec.rate == pytest.approx(1 / 3600)
    assert set(rec.missing) == {"ec_ds_m", "et0_mm"}  # soil temperature and rain come from the siblings
    t = SPEC.all_channels.index("soil_temp_c")
    r = SPEC.all_channels.index("rain_mm")
    assert np.isfinite(rec.signal[:, t]).all() and rec.signal[:, r].sum() == pytest.approx(8.5, abs=1e-4)
    assert len(rec.signal) == 96  # the missing row is interpolated over (one hour < max_gap_s)


def test_ismn_refuses_what_it_cannot_read(tmp_path):
    bad = tmp_path / "DEMO_DEMO_X_sm_0.050000_0.050000_S_20200101_20200110.stm"
    bad.write_text("DEMO DEMO X 1 2 3 0.05 0.05 S\n2020/01/01 00:00 zero G M\n")
    with pytest.raises(TinymlError, match="line 2"):
        read_recording(bad, SPEC)
    gap = tmp_path / "DEMO_DEMO_Y_sm_0.050000_0.050000_S_20200101_20200110.stm"
    gap.write_text("DEMO DEMO Y 1 2 3 0.05 0.05 S\n2020/01/01 00:00 0.2 G M\n2020/01/01 01:00 0.2 G M\n"
                   "2020/01/03 01:00 0.2 G M\n2020/01/03 02:00 0.2 G M\n")
    with pytest.raises(TinymlError, match="gap"):
        read_recording(gap, SPEC)


def test_toa5_several_depths_need_a_pick_and_bring_their_siblings():
    path = LOGGERS / "CR300_demo_avg.dat"
    with pytest.raises(TinymlError, match="VWC_5cm_Avg, .*VWC_20cm_Avg"):
        read_recording(path, SPEC)
    rec = read_recording(path, replace(SPEC, picks={"vwc": "VWC_20cm_Avg"}))
    assert rec.rate == pytest.approx(1 / 1800) and len(rec.signal) == 48
    v, t, ec = (SPEC.all_channels.index(c) for c in ("vwc", "soil_temp_c", "ec_ds_m"))
    assert rec.signal[0, v] == pytest.approx(0.26) and rec.signal[0, ec] == pytest.approx(0.034)
    assert rec.signal[0, t] == pytest.approx(12.824, abs=1e-3)  # T_20cm, not T_5cm
    assert np.isfinite(rec.signal[:, v]).all() and 0.257 < rec.signal[10, v] < 0.259  # NAN: interpolated
    assert set(rec.missing) == {"rain_mm", "et0_mm"}


def test_toa5_messages_name_the_file_line_and_the_record(tmp_path):
    """They counted rows from the first record kept ('row 10' for line 15, record 10, behind a NAN record and
    a blank line), so the line could not be found in the file."""
    lines = (LOGGERS / "CR800_demo_table3.dat").read_text().splitlines()
    lines[7] = lines[7].replace(",3,0.191,", ',3,"NAN",')  # a record without moisture: dropped
    lines[14] = lines[14].replace('"2019-07-19 10:00:00"', '""')
    p = tmp_path / "t.dat"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(TinymlError, match=r"t.dat: line 15 \(RECORD 10\): the time cell \(column 'TIMESTAMP'\) is empty"):
        read_recording(p, SPEC)
    lines[14] = '"2019-07-19 10:00:00",10,0.184,abc,15.98'
    lines[8] = ""  # a blank line before it
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(TinymlError, match=r"t.dat: line 15: expected numbers in column 'EC_2', got 'abc'"):
        read_recording(p, SPEC)


def test_toa5_single_sensor_by_family_name():
    rec = read_recording(LOGGERS / "CR800_demo_table3.dat", SPEC)
    v, t, ec = (SPEC.all_channels.index(c) for c in ("vwc", "soil_temp_c", "ec_ds_m"))
    assert rec.signal[0, v] == pytest.approx(0.194) and rec.signal[0, t] == pytest.approx(17.98)
    assert rec.signal[0, ec] == pytest.approx(0.023) and rec.rate == pytest.approx(1 / 3600)


def test_hobo_export_pick_clock_and_event_rows():
    path = LOGGERS / "HOBO_demo.csv"
    assert reader_for(path).__name__.endswith(".hobo")
    with pytest.raises(TinymlError, match="Water Content 30 CM, Water Content 10 CM, Water Content 1 M"):
        read_recording(path, SPEC)
    rec = read_recording(path, replace(SPEC, picks={"vwc": "Water Content 10 CM"}))
    assert rec.rate == pytest.approx(1 / 1800) and len(rec.signal) == 48  # the 'Logged' event row is not a sample
    assert rec.signal[0, 0] == pytest.approx(0.0137) and rec.signal[47, 0] == pytest.approx(0.0137 + 0.0047)


def test_linear_resampling_of_states_and_conserved_totals():
    hourly = np.array([0.20, 0.20, 0.30, 0.30, 0.25], np.float64)
    q = resample_linear(hourly, 1 / 3600, 1 / 900)
    assert len(q) == 20 and q[8] == pytest.approx(0.30) and q[5] == pytest.approx(0.225)
    assert q.max() <= 0.30 + 1e-6  # no overshoot at the wetting front (FIR would ring)
    rain = np.array([0.0, 4.0, 0.0, 2.0])
    r15 = resample_totals(rain, 1 / 3600, 1 / 900)
    assert r15.sum() == pytest.approx(6.0) and r15[4:8] == pytest.approx([1.0] * 4)
    r5 = np.zeros(36)
    r5[7] = 3.0
    back = resample_totals(r5, 1 / 300, 1 / 900)
    assert len(back) == 12 and back.sum() == pytest.approx(3.0) and back[2] == pytest.approx(3.0)
    x = np.stack([hourly, rain[[0, 1, 2, 3, 3]]], axis=1)
    y = resample_signal(x, 1 / 3600, 1 / 900, "linear", totals=(1,))
    assert y[:, 1].sum() == pytest.approx(8.0) and y[8, 0] == pytest.approx(0.30)
    down = resample_linear(np.arange(12, dtype=float), 1 / 300, 1 / 900)
    assert len(down) == 4 and down[1] == pytest.approx(3.0)  # mean of samples 2, 3, 4
    holes = resample_totals(np.array([1.0, np.nan, 1.0, 1.0]), 1 / 3600, 1 / 7200)
    assert np.isnan(holes[0]) and holes[1] == pytest.approx(2.0)
