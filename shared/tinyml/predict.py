"""The whole pipeline on a recording: windows -> features -> int8 model -> post-processing -> events.

Output is one JSON object per line (a stable interface, see README and tinyml.output_lines):
  windows: {"t": seconds, "scores": {label: probability}, "values": {name: v}}   t = end of the window
  beats:   {"t": seconds, "beat": label}                                          apps with beat_labels
  events:  {"t": seconds, "event": label, "score": p}
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .apps import App, model_file
from . import errors, hints
from .errors import TinymlError, notices_held
from .features import FeatureExtractor, quantize_input
from .output_lines import BEAT, EVENT, WINDOW, LineMaker, in_time_order
from .postprocess import run_postprocessor
from .readers import ReadSpec, parse_picks
from .recording import Recording, rate_refused, read_recording, read_recording_parts
from .reference import TflmModel
from .regularize import duration_words


@dataclass
class StreamResult:
    times: np.ndarray  # [n_windows] seconds, end of each window
    scores_q: np.ndarray  # [n_windows, n_labels] int8
    inputs_q: np.ndarray  # [n_windows, *input] int8 model inputs
    events: list[tuple[int, int, int]]  # (sample index = end of the deciding window, label, int8 score)
    values: np.ndarray | None = None  # [n_windows, n_values] float32, [app] values order
    beats: list[tuple[int, int]] | None = None  # (sample index, [app] beat_labels index)
    ends: np.ndarray | None = None  # [n_windows] sample index one past each window's newest sample
    # further models ([models.<name>]): every call the post-processor made, name -> (int8 inputs, int8 outputs)
    model_io: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


class Pipeline:
    """The app's pipeline around its int8 models (TFLM reference): the primary model ([model]) scores every
    window; the further models ([models.<name>]) go to the app's PostProcessor as invokers, to run on
    inputs it builds: `PostProcessor(manifest, out_scale, out_zero_point, models={name: invoker})`, where an
    invoker has `.input` and `.output` (scale, zero_point, shape) and `.invoke(x_int8) -> int8 outputs`,
    exactly what the firmware's tml_model_<name>_* functions do.

    model_bytes: the primary int8 model (default: the committed one, or the one in `folder`);
    folder: a model folder (default apps/<id>/model; a training run's folder);
    models: further models by name, each int8 .tflite bytes or an invoker (float stand-ins for evaluation);
    scorer: `scorer(features) -> int8 scores` that run() uses instead of the primary model (float evaluation);
    calibration: a device state learned in the field (tinyml.calibration) the PostProcessor starts from.
    """

    def __init__(self, app: App, model_bytes: bytes | None = None, *, folder: Path | None = None,
                 models: dict | None = None, scorer=None, calibration: dict | None = None):
        self.app = app
        self.calibration = calibration
        self.m = app.manifest
        self.fx = FeatureExtractor(self.m)
        if model_bytes is None:
            path = Path(folder) / model_file("") if folder else app.tflite_path
            if not path.is_file():
                raise TinymlError(f"{path}: no trained model; run: {hints.command('train', app.id)}, "
                                  f"then {hints.command('promote', app.id)}")
            model_bytes = path.read_bytes()
        self.model = TflmModel(model_bytes)
        expect = tuple(self.model.input.shape[1:])
        if tuple(self.fx.input_shape()) != expect:
            raise TinymlError(
                f"model input {expect} does not match the manifest's features {self.fx.input_shape()}; retrain"
            )
        self.models = self._further_models(dict(models or {}), folder)
        self.scorer = scorer

    def _further_models(self, given: dict, folder: Path | None) -> dict:
        unknown = sorted(set(given) - set(self.m.models))
        if unknown:
            raise TinymlError(f"{self.m.path}: no [models.{unknown[0]}] for the model given")
        out = {}
        for name in self.m.models:
            inv = given.get(name)
            if inv is None:
                path = self.app.model_path(name, folder)
                if not path.is_file():
                    raise TinymlError(f"{path}: no trained model for [models.{name}]; run: {hints.command('train', self.app.id)}")
                inv = path.read_bytes()
            out[name] = TflmModel(inv) if isinstance(inv, (bytes, bytearray)) else inv
        return out

    def int8_model_bytes(self) -> dict[str, bytes | None]:
        """Each model's int8 .tflite by name ("" the primary), None for a float stand-in (float evaluation):
        the models the firmware holds, for device figures such as their shared arena."""
        out: dict[str, bytes | None] = {"": self.model.bytes}
        for name, inv in self.models.items():
            out[name] = getattr(getattr(inv, "inner", inv), "bytes", None)  # _Traced wraps an invoker
        return out

    def postprocessor(self, models: dict | None = None):
        """The app's PostProcessor; apps with further models get them as `models=` (`models` overrides)."""
        o = self.model.output
        extra = {}
        if self.models:
            extra["models"] = models or self.models
        if self.calibration is not None:  # tinyml.calibration: start from a learned state
            extra["calibration"] = self.calibration
        return self.app.pipeline.PostProcessor(self.m, o.scale, o.zero_point, **extra)

    def int8_scores(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        i = self.model.input
        xq = quantize_input(features, i.scale, i.zero_point)
        return xq, self.model.invoke_batch(xq)

    def run(self, signal: np.ndarray, scorer=None, deployment: dict | None = None, postprocessor=None) -> StreamResult:
        """Stream a signal at the manifest rate. `scorer(features) -> int8 scores` overrides the model
        (default: the pipeline's own scorer, if any); deployment: the recording's own values
        (Recording.deployment) for the features; postprocessor: one to use instead of a fresh one (its
        further models are then not traced)."""
        fx = self.fx
        scorer = scorer or self.scorer
        streamed = fx.stream(signal)  # the post-processor sees the stream stage's channels, its tail too
        frames = fx.windows(streamed)
        feats = fx.batch(frames, deployment)
        if scorer is None:
            xq, sq = self.int8_scores(feats)
        else:
            xq, sq = np.zeros((len(feats), 0), np.int8), scorer(feats)
        m = self.m
        traced = {name: _Traced(inv) for name, inv in self.models.items()} if postprocessor is None else {}
        pp = postprocessor if postprocessor is not None else self.postprocessor(traced)
        out = run_postprocessor(pp, frames, fx.window, fx.hop, sq, streamed, len(m.values), len(m.beat_labels), feats)
        ends = fx.window_starts(len(signal)) + fx.window
        return StreamResult(ends / fx.rate, sq, xq, out.events, out.values, out.beats, ends,
                            {name: t.calls() for name, t in traced.items()})


class _Traced:
    """An invoker that remembers every call (the golden vectors of a further model)."""

    def __init__(self, inner):
        self.inner, self.input, self.output = inner, inner.input, inner.output
        self._in: list[np.ndarray] = []
        self._out: list[np.ndarray] = []

    def invoke(self, x_int8):
        y = self.inner.invoke(x_int8)
        self._in.append(np.asarray(x_int8, np.int8).reshape(self.input.shape[1:]).copy())
        self._out.append(np.asarray(y, np.int8).reshape(-1).copy())
        return y

    def invoke_batch(self, xs):
        if len(xs) == 0:
            return self.inner.invoke_batch(xs)
        return np.stack([self.invoke(x) for x in xs])

    def calls(self) -> tuple[np.ndarray, np.ndarray]:
        n_out = int(np.prod(self.output.shape))
        return (np.stack(self._in) if self._in else np.zeros((0, *self.input.shape[1:]), np.int8),
                np.stack(self._out) if self._out else np.zeros((0, n_out), np.int8))


def postprocess(pp, frames: np.ndarray, window: int, hop: int, scores_q: np.ndarray,
                signal: np.ndarray | None = None, features: np.ndarray | None = None) -> list[tuple[int, int, int]]:
    """The events of the app's post-processor over a stream (tinyml.postprocess.run_postprocessor), its
    flush at the end of the input (the end of `signal`, whose windows `frames` are) included; features:
    the windows' model inputs, for a post-processor that takes them."""
    return run_postprocessor(pp, frames, window, hop, scores_q, signal, features=features).events


def prepare(app: App, rec: Recording, notice=True, lead_in: int = 0) -> np.ndarray:
    """Check a recording against the manifest and bring it to the device rate. `lead_in` samples of the
    first value go in front (evaluation of short trials: the device was worn before the trial began)."""
    m = app.manifest
    lo, hi = (m.signal["accepted_rates"] or [m.rate, m.rate])[:2]
    if not lo <= rec.rate <= hi:
        raise rate_refused(rec.source, rec.rate, (lo, hi), m.rate)
    sig = rec.signal
    if abs(rec.rate - m.rate) > 1e-6 * m.rate:
        if notice:
            errors.notice(rec.source, f"resampled {rec.rate:.6g} Hz -> {m.rate:g} Hz")
        sig = m.resample(sig, rec.rate)
    fs = m.signal.get("full_scale")
    if fs:
        sig = np.clip(sig, -fs, fs)
    if lead_in:
        sig = np.concatenate([np.repeat(sig[:1], lead_in, axis=0), sig])
    window = int(m.features["window"])
    if len(sig) < window and m.signal["pad_short"] and len(sig):
        # e.g. Speech Commands clips: up to 1 s, shorter ones are zero-padded to one window by convention
        if notice:
            errors.notice(rec.source, f"{len(sig) / m.rate:.2f} s, zero-padded to one window ({window / m.rate:.2f} s)")
        sig = np.concatenate([sig, np.zeros((window - len(sig), sig.shape[1]), sig.dtype)])
    if len(sig) < window:
        raise TinymlError(
            f"{rec.source}: recording is {len(sig) / m.rate:.2f} s, shorter than one window ({window / m.rate:.2f} s)"
        )
    return np.ascontiguousarray(sig, np.float32)


def result_lines(app: App, res: StreamResult, out_scale: float, out_zp: int, events_only=False,
                 offset_s: float = 0.0) -> Iterator[dict]:
    """The output lines in time order: beats, window lines (scores, values) and events (after the window
    that raised them, as the device sends them). events_only: the event lines alone. offset_s: where the
    signal starts in its file (a part of a recording cut at a long gap)."""
    mk = LineMaker(app.manifest, out_scale, out_zp, offset_s=offset_s)
    items = [(idx, EVENT, mk.event(idx, lab, sq)) for idx, lab, sq in res.events]
    if not events_only:
        ends = res.ends if res.ends is not None else np.rint(np.asarray(res.times) * mk.rate).astype(np.int64)
        values = res.values if res.values is not None and res.values.shape[1:] == (len(mk.value_names),) else None
        items += [(int(e), WINDOW, mk.window(int(e), res.scores_q[i], None if values is None else values[i]))
                  for i, e in enumerate(ends)]
        items += [(idx, BEAT, mk.beat(idx, lab)) for idx, lab in res.beats or ()]
    yield from in_time_order(items)


def read_input(app: App, path, rate: float | None = None, channel: Sequence[str] | None = None) -> Recording:
    """A user's recording as the app takes it: its channels (by name, alias or `--channel` pick), its
    units (converted or refused by the manifest's plausible ranges), at a steady rate."""
    return read_recording(Path(path), _input_spec(app, rate, channel))


def _input_spec(app: App, rate: float | None, channel: Sequence[str] | None) -> ReadSpec:
    m = app.manifest
    return ReadSpec.from_manifest(m, rate=rate, picks=parse_picks(channel, m.channels))


CLOCK_ERROR_RATIO = 100  # a gap this many times longer than the samples around it, and over a day, is named as a
CLOCK_ERROR_MIN_S = 86400.0  # likely clock error (bursts an hour apart are a duty-cycled logger, not a clock error)


def read_input_parts(app: App, path, rate: float | None = None,
                     channel: Sequence[str] | None = None) -> list[tuple[Recording, np.ndarray]]:
    """A user's recording as predict and run score it: read like read_input, but a row with no value in a
    required channel is a missing sample, and a gap longer than [signal] max_gap_s cuts the recording into
    parts, each scored on its own from a fresh start (a device powered off over the gap; its lines keep
    the file's time base through Recording.start_s). Returns (part, its signal from prepare) in time
    order; a part shorter than one window is skipped, said with the cut in one notice."""
    m = app.manifest
    parts, gaps = read_recording_parts(Path(path), _input_spec(app, rate, channel))
    if len(parts) == 1:
        return [(parts[0], prepare(app, parts[0]))]
    window = int(m.features["window"])
    out, short = [], 0
    for rec in parts:
        at_device_rate = len(rec.signal) * m.rate / rec.rate  # samples once resampled
        if at_device_rate < window:
            short += 1
            continue
        try:
            out.append((rec, prepare(app, rec, notice=not out)))
        except TinymlError:
            if at_device_rate >= window + 1:
                raise
            short += 1  # one sample short after resampling
    covered = sum(rec.duration for rec in parts)
    # a gap far longer than all the signal (one row a year after the rest): likelier a clock error than a pause
    clock = (f", over {CLOCK_ERROR_RATIO} times the {duration_words(covered)} the samples cover: a clock error in the "
             "time column?" if max(gaps) > max(CLOCK_ERROR_RATIO * covered, CLOCK_ERROR_MIN_S) else "")
    cut = (f"cut at {len(gaps)} gap{'s' if len(gaps) != 1 else ''} longer than {duration_words(m.max_gap_s)} "
           f"([signal] max_gap_s; the longest {duration_words(max(gaps))}{clock})")
    if not out:
        raise TinymlError(f"{path}: {cut}, every one of its {len(parts)} segments is shorter than one window "
                          f"({duration_words(window / m.rate)})")
    errors.notice(path, f"{cut}: {len(parts)} segments, each scored on its own from a fresh start (post-processing "
                        "and window history reset, as a device powered off over the gap), times from the start of "
                        "the file" + (f"; {short} shorter than one window ({duration_words(window / m.rate)}) skipped"
                                      if short else ""))
    return out


def predict_file(app: App, path, rate=None, model=None, events_only=False, channel=None,
                 calibration=None) -> Iterator[dict]:
    """calibration: a learned device state (tinyml.calibration.load of a `tinyml calibrate` file): the
    post-processor starts from it (every part of a recording cut at a long gap starts from it)."""
    with notices_held():
        parts = read_input_parts(app, path, rate, channel)
    state = calibration
    if model and Path(model).is_dir():  # a model folder: a training run, every model of the app
        pipe = Pipeline(app, folder=Path(model), calibration=state)
    else:
        if model and not Path(model).is_file():
            raise TinymlError(f"{model}: model file not found")
        pipe = Pipeline(app, Path(model).read_bytes() if model else None, calibration=state)
    o = pipe.model.output
    for rec, sig in parts:
        res = pipe.run(sig, deployment=rec.deployment)
        yield from result_lines(app, res, o.scale, o.zero_point, events_only, offset_s=rec.start_s)
