"""Per-sample times onto a steady rate: real sensors (BLE tags, phones, loggers) jitter, repeat a
timestamp, deliver rows out of order and drop samples.

- Rows are sorted by time; rows sharing a time are averaged into one. Time that steps back further than
  the longest gap interpolated over (a clock reset, two recordings joined) is refused, naming the sample:
  sorting would interleave two stretches of signal.
- Rows that sit on a steady grid (each within 10 % of a step of its place, plus what writing times to a fixed
  resolution, rounded or truncated, does) keep their values; the rate comes from a least-squares fit of time
  against sample number over every row, so times written to the millisecond give 360 Hz, not the 333 Hz of their
  median step, and 800 Hz, not 1000.
- Otherwise the values are interpolated linearly onto a grid at the median step (or, for times written to a
  resolution near the step, the fitted step of the stretches between gaps), with one notice that gives the
  jitter, the missing samples, the repeated and the reordered rows. The pipeline then resamples that grid to the
  device rate like any other rate.
- A gap longer than `max_gap_s` ([signal] max_gap_s) is never interpolated over: it would invent a
  signal (a flat stretch where a fall detector looks for stillness). `steady_parts(split=False)` refuses
  it, naming its time; `steady_parts` (predict, run) cuts the recording there into parts scored on their own, each on
  its own grid from its first row (nothing is built inside the gap: one row a year late costs nothing).
- NaN in an optional channel stays NaN: a grid point takes NaN when its nearest row has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from .errors import TinymlError, notice

ON_GRID = 0.1  # fraction of a step a row may sit off its place on a steady grid
DEFAULT_GAP_STEPS = 10  # without a max_gap_s: the longest gap, in median steps


@dataclass
class Grid:
    """Columns at a steady `rate`, one part after another; `parts`: each part's (start, stop) index range in
    them, the recording cut at each gap longer than max_gap_s (one part without such a gap); `starts`: each
    part's first sample time in seconds from the first row's (each part on its own grid from its first
    row: nothing is built inside a long gap). `gaps`: those gaps' lengths in seconds."""

    cols: dict[str, np.ndarray]
    rate: float
    parts: list[tuple[int, int]]
    gaps: list[float] = field(default_factory=list)
    starts: list[float] = field(default_factory=lambda: [0.0])


def steady_parts(times: np.ndarray, columns: dict[str, np.ndarray], spec, path,
                 origin: datetime | None = None, split: bool = True, missing_said: bool = False) -> Grid:
    """The rows at `times` on one steady grid, cut at each gap longer than max_gap_s (split=False: such a
    gap is refused, naming its time). missing_said: the rows left out were named already (times made from a
    file's rate): no notice for them alone."""
    t = np.asarray(times, np.float64)
    if len(t) < 2:
        raise TinymlError(f"{path}: need at least two samples to know the rate from the time column")
    backwards = int(np.sum(np.diff(t) < 0))
    if backwards:
        _refuse_a_reset(t, columns, spec, path, origin)
    order = np.argsort(t, kind="stable")
    t = t[order]
    cols = {c: np.asarray(v, np.float64)[order] for c, v in columns.items()}
    # a row written twice is no burst of two samples (averaged below as a repeated time); a burst's rows, even
    # equal ones (a still sensor), are each a sample
    steps = np.diff(t)
    burst = _burst_step(steps, spec) if _burst_step(np.diff(_once(t, cols)), spec) else 0.0
    if burst:  # rows stamped as each batch of samples arrived: every row a sample, evenly spaced between long gaps
        median_step = float(np.median(steps))
        t = _evenly_spaced(t, steps > _gap_limit(spec, burst))
        repeated = 0
    else:
        t, inverse = np.unique(t, return_inverse=True)
        repeated = len(inverse) - len(t)
        if repeated:
            cols = {c: _mean_per_time(v, inverse, len(t)) for c, v in cols.items()}
    if len(t) < 2 or t[-1] == t[0]:
        raise TinymlError(f"{path}: every sample has the same time; the time column does not give a rate")
    span = t[-1] - t[0]
    fixed = _fixes(repeated, backwards)
    steps = np.diff(t)
    slack = 0.0  # how far a step may differ from the grid's by the times' resolution alone
    if burst:
        step = burst
    else:
        grid_step, off = _fitted_step(t, np.array([], np.int64))
        unit = _resolution(t - t[0], grid_step)
        if off <= _allowed_off(grid_step, unit):
            rate = _round_rate(1.0 / grid_step, off, span, spec)
            if _grid_rate(rate, spec, steady=True) == rate:
                if fixed:
                    notice(path, f"time column: {fixed}")
                return Grid(cols, rate, [(0, len(t))])
            step = 1.0 / rate  # steady, but at a rate the device rate has no simple ratio to: regrid below
        else:
            step, slack = _step_between_gaps(t, steps, unit, spec)
    limit = _gap_limit(spec, step)
    cut = steps > limit
    if cut.any() and not split:
        i = int(np.argmax(cut))
        raise TinymlError(
            f"{path}: a gap of {duration_words(steps[i])} in the time column after {_at(t[i], origin)}; gaps over "
            f"{duration_words(limit)} ([signal] max_gap_s) are not interpolated: cut the recording there")
    rate = _grid_rate(1.0 / step, spec)
    # each part on its own grid from its first row (none inside a long gap): memory in the samples present,
    # not in the span (one row a year late at 16 kHz would be a grid of half a trillion points)
    firsts = np.concatenate([[0], np.flatnonzero(cut) + 1])
    lasts = np.concatenate([np.flatnonzero(cut), [len(t) - 1]])
    tol = max(1e-9, 4.0 * float(np.spacing(np.max(np.abs(t)))) * rate)  # in samples: the times' float rounding
    pieces: dict[str, list[np.ndarray]] = {c: [] for c in cols}
    parts, starts, at = [], [], 0
    for a, b in zip(firsts, lasts):
        k = int(np.floor((t[b] - t[a]) * rate + tol)) + 1
        grid = t[a] + np.arange(k) / rate
        for c, v in cols.items():
            pieces[c].append(_interp(grid, t[a:b + 1], v[a:b + 1]))
        parts.append((at, at + k))
        starts.append(float(t[a] - t[0]))
        at += k
    out = {c: v[0] if len(v) == 1 else np.concatenate(v) for c, v in pieces.items()}  # one part: no copy
    kept = steps[~cut]
    long = kept > _longest_kept_step(step, slack)
    missing = int(np.sum(np.rint(kept[long] / step) - 1))  # a step of about k median steps lost k - 1
    jitter = float(np.percentile(np.abs(kept[~long] - step), 95)) if np.any(~long) else 0.0
    if jitter <= max(_jitter_tolerance(t, step), slack):
        jitter = 0.0  # the times' float rounding (epoch seconds) or their resolution (slack), not the clock's
    regrid = abs(rate * step - 1) > 1e-6
    if burst:
        notice(path, f"time column in bursts (median step {duration_words(median_step)}, but {1 / step:.4g} rows a second: "
                     "many steps far shorter than the mean, as when each batch of samples is stamped on delivery or the "
                     "times are coarser than a step): taken as "
                     f"evenly spaced samples at {rate:.4g} Hz" + (f"; {fixed}" if fixed else ""))
    elif jitter or regrid or (missing and not missing_said):
        said_step = f"{'' if slack else 'median '}step {duration_words(step)}"  # slack: fitted, not the median
        notice(path, f"irregular time column ({said_step}, {1 / step:.4g} Hz; "
                     + (f"jitter {duration_words(jitter)} (95th percentile); " if jitter else "")
                     + f"{missing} missing sample{'s' if missing != 1 else ''}"
                     + (f", longest gap {duration_words(float(kept.max()))}" if missing else "")
                     + (f"; {fixed}" if fixed else "") + f"): interpolated onto a steady {rate:.4g} Hz grid")
    elif fixed:  # only the long gaps cut (said where the recording is scored) and rows put in order
        notice(path, f"time column: {fixed}")
    return Grid(out, rate, parts, [float(x) for x in steps[cut]], starts)


def _fitted_step(t: np.ndarray, cut: np.ndarray) -> tuple[float, float]:
    """(step, how far the farthest row sits off its place) of a clock whose rows are consecutive samples in each
    stretch between the steps at `cut` (indices into np.diff(t)): the least-squares step over all stretches, each
    on its own offset. Every row counts, not only the end points or the median of rounded steps (360 Hz written to
    the millisecond steps 3, 3, 2 ms: a median of 3 ms)."""
    starts = np.zeros(len(t), np.int64)
    starts[cut + 1] = 1
    stretch = np.cumsum(starts)
    sizes = np.bincount(stretch).astype(np.float64)
    k = np.arange(len(t), dtype=np.float64)
    x = t - t[0]
    k -= (np.bincount(stretch, k) / sizes)[stretch]  # each stretch on its own offset
    x -= (np.bincount(stretch, x) / sizes)[stretch]
    step = float(k @ x) / float(k @ k)
    return step, float(np.abs(x - step * k).max())


def _resolution(t: np.ndarray, step: float) -> float:
    """The resolution the times are written at, when it rounds (or truncates) them off a grid of `step`: the
    coarsest power of ten (1 s ... 1 us) under a step that every time is a whole multiple of, when a step is not
    a whole number of it (else the times are exact: 500 Hz in ms); 0 when there is none."""
    for exponent in range(0, -7, -1):
        unit = 10.0 ** exponent
        if unit < step and np.all(np.abs(t / unit - np.rint(t / unit)) <= 1e-3):
            # a step of a whole number of units leaves the times exact, unless its fraction adds up over the rows
            return unit if len(t) * abs(step / unit - round(step / unit)) > 0.1 else 0.0
    return 0.0


def _allowed_off(step: float, unit: float) -> float:
    """How far a row of a steady clock may sit off its fitted place: 10 % of a step, plus what writing its time to
    a resolution does (rounded or truncated, a time is up to a unit off; the fitted line takes the mean, leaving
    half a unit, 0.65 for a fit of ten rows: 0.75), but under half a step (further, which sample it is cannot be
    told). 400 Hz in milliseconds steps 2, 3, 3, 2 ms around 2.5 ms; one lost sample sits 0.9 units or more off."""
    return min(ON_GRID * step + 0.75 * unit, 0.5 * step)


def _step_between_gaps(t: np.ndarray, steps: np.ndarray, unit: float, spec) -> tuple[float, float]:
    """(step, slack) of a clock with gaps or jitter: the median step, unless the times are written at a resolution
    near the step (800 Hz in milliseconds steps 1 or 2 ms: a median of 1 ms) and the stretches between the gaps
    are steady: then their fitted step, with the resolution as the slack a step may differ by. A gap is a step
    longer than rounding makes one; under two units (800 Hz in ms) one lost sample cannot be told from rounding,
    and the stretch around it is not steady: the median step, as for any irregular clock."""
    median = float(np.median(steps))
    near = steps[np.abs(steps - median) <= 1.001 * unit]  # the steps rounding alone makes of one
    if not unit or not len(near):
        return median, 0.0
    rough = float(np.mean(near))
    cut = np.flatnonzero(steps > _longest_kept_step(rough, 1.001 * unit))
    if len(t) - 1 - len(cut) < 2:  # hardly a step between the gaps
        return median, 0.0
    step, off = _fitted_step(t, cut)
    if not off <= _allowed_off(step, unit):
        return median, 0.0
    return 1.0 / _round_rate(1.0 / step, off, float(np.sum(np.delete(steps, cut))), spec), unit


def _once(t: np.ndarray, cols: dict[str, np.ndarray]) -> np.ndarray:
    """The (sorted) times without the rows whose time and every value are those of the row before: the same
    sample written again, not a sample of its own (a file of every row written twice is not in bursts)."""
    same = np.diff(t) == 0
    for v in cols.values():
        same &= (v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1]))
    return t[np.concatenate([[True], ~same])]


BURST_STEP = 0.25  # a step under this fraction of the mean step is within a burst ...
BURST_SHARE = 0.3  # ... and rows come in bursts when at least this share of the steps are


def _burst_step(steps: np.ndarray, spec) -> float:
    """The mean step of rows that arrive in bursts, 0 when they do not. A phone or a watch that stamps each batch of
    samples with the time it was delivered, not sampled, writes steps of 0-4 ms within a batch and tens between
    batches (a SmartFallMM watch: a median step of 2 ms or of 40 ms, a mean of 28 ms). The mean is over the steps
    up to the longest gap interpolated over. A steady or jittery clock has no step under a quarter of its mean, nor
    has a lossy link unless it lost three samples in four in long runs."""
    kept = steps[steps <= _gap_limit(spec, float(np.mean(steps)) if len(steps) else 0.0)]
    if len(kept) < 8:
        return 0.0
    mean = float(np.mean(kept))
    return mean if mean > 0 and np.mean(kept < BURST_STEP * mean) >= BURST_SHARE else 0.0


def _evenly_spaced(t: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """The rows' times spread evenly over each stretch between the steps at `cut` (bool, per step), from its first
    row's time to its last's."""
    out = t.copy()
    edges = np.concatenate([[0], np.flatnonzero(cut) + 1, [len(t)]])
    for a, b in zip(edges[:-1], edges[1:]):
        if b - a > 1:
            out[a:b] = np.linspace(t[a], t[b - 1], b - a)
    return out


def _longest_kept_step(step: float, slack: float) -> float:
    """The longest step between rows with no sample lost: half a step more (a jittered clock), or one unit of the
    times' resolution more when that is larger (800 Hz in ms: 1.25 ms steps written 1 or 2 ms)."""
    return max(1.5 * step, step + slack)


def _jitter_tolerance(t: np.ndarray, step: float) -> float:
    """Jitter no larger than this is the float rounding of the time column (epoch seconds as float64 are
    ~0.2 us apart), not a clock's: 1 us (at most 1 % of a step), at least 1e-6 of a step and 4 ulps of the
    times."""
    return max(min(1e-6, 0.01 * step), 1e-6 * step, 4.0 * float(np.spacing(np.max(np.abs(t)))))


def _refuse_a_reset(t: np.ndarray, columns: dict[str, np.ndarray], spec, path, origin: datetime | None) -> None:
    """Time stepping back further than max_gap_s, to new values: refused. Rows sent again late (the same time
    and values as an earlier row: a logger's retransmission) are not a step back."""
    rows = np.column_stack([t, *(np.asarray(v, np.float64) for v in columns.values())])
    _, first = np.unique(rows, axis=0, return_index=True)
    keep = np.sort(first)
    t = t[keep]
    d = np.diff(t)
    if not np.any(d < 0):
        return
    forward = d[d > 0]
    step = float(np.median(forward)) if len(forward) else 0.0
    limit = _gap_limit(spec, step)
    i = int(np.argmin(d))
    if -d[i] > limit:
        raise TinymlError(f"{path}: time goes back {duration_words(-d[i])} after sample {keep[i]} "
                          f"({_at(t[i], origin)}): a clock reset, or "
                          f"recordings joined? Out-of-order rows are sorted only within {duration_words(limit)} "
                          "([signal] max_gap_s): cut the recording there")


def _gap_limit(spec, step: float) -> float:
    """The longest gap interpolated over (and step back sorted): [signal] max_gap_s, else DEFAULT_GAP_STEPS steps."""
    return spec.max_gap_s if spec is not None and spec.max_gap_s else DEFAULT_GAP_STEPS * step


def _at(t: float, origin: datetime | None) -> str:
    """Where in the recording, for a message: `t = 12.340 s` and the wall clock when the file has one."""
    return f"t = {t:.3f} s" + (f" ({_clock(origin, t)})" if origin else "")


def _fixes(repeated: int, backwards: int) -> str:
    parts = []
    if backwards:
        parts.append(f"{backwards} row{'s' if backwards != 1 else ''} out of order, sorted")
    if repeated:
        parts.append(f"{repeated} repeated time{'s' if repeated != 1 else ''}, averaged")
    return ", ".join(parts)


def duration_words(seconds: float) -> str:
    """A duration as a person reads it: 20 ms, 3.5 s, 15 min, 11 h, 153 days (a logger's steps and gaps
    are hours; a station may be off for months)."""
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 7200:
        return f"{seconds / 60:.3g} min"
    return f"{seconds / 3600:.3g} h" if seconds < 172800 else f"{seconds / 86400:.3g} days"  # a logger's months off


def _clock(origin: datetime, t: float) -> str:
    return (origin + timedelta(seconds=float(t))).isoformat(timespec="milliseconds")


def _mean_per_time(v: np.ndarray, inverse: np.ndarray, n: int) -> np.ndarray:
    """Mean of the rows that share a time, ignoring NaN (all NaN stays NaN)."""
    ok = np.isfinite(v)
    sums = np.bincount(inverse, weights=np.where(ok, v, 0.0), minlength=n)
    counts = np.bincount(inverse, weights=ok.astype(np.float64), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _interp(grid: np.ndarray, t: np.ndarray, v: np.ndarray) -> np.ndarray:
    ok = np.isfinite(v)
    if ok.all():
        return np.interp(grid, t, v)
    if not ok.any():
        return np.full(len(grid), np.nan)
    out = np.interp(grid, t[ok], v[ok])
    j = np.clip(np.searchsorted(t, grid), 1, len(t) - 1)
    nearest = np.where(grid - t[j - 1] <= t[j] - grid, j - 1, j)
    out[~ok[nearest]] = np.nan
    return out


def _grid_rate(rate: float, spec, steady: bool = False) -> float:
    """A grid rate near `rate` that the device rate is a simple ratio of (so the pipeline's resampler
    takes it): the device rate within 5 %, else the nearest p/q (q <= 100) of it. A steady clock keeps
    its own rate when the resampler can take it as it is (its filter is better than interpolation)."""
    from fractions import Fraction

    from .dsp.resample import rational_ratio

    device = getattr(spec, "device_rate", None)
    if not device:
        return rate
    if steady:
        try:
            rational_ratio(rate, device)
            return rate
        except TinymlError:
            pass
    if abs(rate / device - 1) <= 0.05:
        return float(device)
    return float(device * Fraction(rate / device).limit_denominator(100))


def _round_rate(rate: float, off: float, span: float, spec) -> float:
    """The rate of a steady grid, set to the device rate or the roundest number of Hz (100s, 10s, whole) when it
    lies within what the timestamps' rounding allows (40 rows at 800 Hz in ms fit 798 Hz: they allow 16 Hz)."""
    tol = rate * max(2.0 * off / span, 1e-9)
    for r in (getattr(spec, "device_rate", None), *(float(round(rate, -k)) for k in (2, 1, 0))):
        if r and abs(rate - r) <= tol:
            return float(r)
    return rate
