"""Recordings as other people's tools write them (a demanding user's journey through `predict`): PhysioNet's
CSV exports, WFDB records with missing samples, headerless tables (SisFall, an Arduino's serial log), a
header in a comment (MobiFall) and the lead names hospital databases give. Each fixture is written here,
small, in the layout the tool writes (synthetic values, never real data)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.apps import load_app
from tinyml.errors import TinymlError
from tinyml.readers import ReadSpec
from tinyml.recording import read_recording, read_recording_parts


def _spec(app_id: str, **kw) -> ReadSpec:
    return ReadSpec.from_manifest(load_app(app_id).manifest, **kw)


def _ecg(rate: float, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    beats = np.arange(0.3, seconds, 60 / 72)
    r = 1.2 * np.exp(-((t[:, None] - beats[None]) ** 2) / (2 * 0.012 ** 2)).sum(1)
    tw = 0.25 * np.exp(-((t[:, None] - beats[None] - 0.25) ** 2) / (2 * 0.04 ** 2)).sum(1)
    return r + tw + 0.03 * np.sin(2 * np.pi * 0.3 * t)


def _elapsed(t: float) -> str:
    """PhysioNet's elapsed time: m:ss.mmm (h:mm:ss.mmm past an hour)."""
    m, s = divmod(round(t * 1000) / 1000, 60)
    return f"{int(m)}:{s:06.3f}"


@pytest.mark.parametrize("layout", ["rdsamp", "atm"])
def test_physionet_csv_exports_are_read_at_their_rate_in_their_units(tmp_path, capsys, layout):
    # `rdsamp -c -H -v -ps` and PhysioBank ATM's samples.csv: headings and units in single quotes, time to the
    # millisecond (in seconds, or as 'm:ss.mmm'), MIT-BIH's 360 Hz
    ecg = _ecg(360, 4)
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


def test_a_wfdb_records_missing_samples_are_interpolated_and_a_long_dropout_cuts_it(tmp_path, capsys):
    ecg = _ecg(250, 30)
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
