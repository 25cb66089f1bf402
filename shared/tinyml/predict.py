"""The whole pipeline on a recording: windows -> features -> int8 model -> post-processing -> events.

Output is one JSON object per line (a stable interface, see README):
  windows: {"t": seconds, "scores": {label: probability}}     t = end of the window
  events:  {"t": seconds, "event": label, "score": p}
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .apps import App
from .dsp.resample import resample
from . import errors
from .errors import TinymlError, notices_held
from .features import FeatureExtractor, dequantize, quantize_input
from .readers import ReadSpec, parse_picks
from .recording import Recording, read_recording
from .reference import TflmModel


@dataclass
class StreamResult:
    times: np.ndarray  # [n_windows] seconds, end of each window
    scores_q: np.ndarray  # [n_windows, n_labels] int8
    inputs_q: np.ndarray  # [n_windows, *input] int8 model inputs
    events: list[tuple[int, int, int]]  # (sample index = end of the deciding window, label, int8 score)


class Pipeline:
    """The app's pipeline around one int8 model (TFLM reference), or a float scorer for evaluation."""

    def __init__(self, app: App, model_bytes: bytes | None = None):
        self.app = app
        self.m = app.manifest
        self.fx = FeatureExtractor(self.m)
        if model_bytes is None:
            if not app.tflite_path.is_file():
                raise TinymlError(f"{app.tflite_path}: no trained model; run: make app={app.id} train")
            model_bytes = app.tflite_path.read_bytes()
        self.model = TflmModel(model_bytes)
        expect = tuple(self.model.input.shape[1:])
        if tuple(self.fx.input_shape()) != expect:
            raise TinymlError(
                f"model input {expect} does not match the manifest's features {self.fx.input_shape()}; retrain"
            )

    def postprocessor(self):
        o = self.model.output
        return self.app.pipeline.PostProcessor(self.m, o.scale, o.zero_point)

    def int8_scores(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        i = self.model.input
        xq = quantize_input(features, i.scale, i.zero_point)
        return xq, self.model.invoke_batch(xq)

    def run(self, signal: np.ndarray, scorer=None) -> StreamResult:
        """Stream a signal at the manifest rate. `scorer(features) -> int8 scores` overrides the model."""
        fx = self.fx
        frames = fx.frames(signal)
        feats = fx.batch(frames)
        if scorer is None:
            xq, sq = self.int8_scores(feats)
        else:
            xq, sq = np.zeros((len(feats), 0), np.int8), scorer(feats)
        events = postprocess(self.postprocessor(), frames, fx.window, fx.hop, sq)
        times = (fx.window_starts(len(signal)) + fx.window) / fx.rate
        return StreamResult(times, sq, xq, events)


def postprocess(pp, frames: np.ndarray, window: int, hop: int, scores_q: np.ndarray) -> list[tuple[int, int, int]]:
    """Run the app's post-processor window by window. An event is stamped with the end of the window whose
    step raised it (the sample index one past its newest sample): that is when the device decides."""
    events = []
    for k, frame in enumerate(frames):
        start = k * hop
        new = frame if k == 0 else frame[window - hop :]
        first = start if k == 0 else start + window - hop
        end = start + window
        events.extend((end, lab, sq) for lab, sq in pp.step(frame, new, first, scores_q[k]))
    return events


def prepare(app: App, rec: Recording, notice=True, lead_in: int = 0) -> np.ndarray:
    """Check a recording against the manifest and bring it to the device rate. `lead_in` samples of the
    first value go in front (evaluation of short trials: the device was worn before the trial began)."""
    m = app.manifest
    lo, hi = (m.signal["accepted_rates"] or [m.rate, m.rate])[:2]
    if not lo <= rec.rate <= hi:
        raise TinymlError(f"{rec.source}: sample rate {rec.rate:g} Hz not supported; accepted {lo:g}-{hi:g} Hz")
    sig = rec.signal
    if abs(rec.rate - m.rate) > 1e-6 * m.rate:
        if notice:
            errors.notice(rec.source, f"resampled {rec.rate:.6g} Hz -> {m.rate:g} Hz")
        sig = resample(sig, rec.rate, m.rate)
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


def result_lines(app: App, res: StreamResult, out_scale: float, out_zp: int, events_only=False) -> Iterator[dict]:
    labels = app.manifest.labels
    rate = app.manifest.rate
    ev = sorted(res.events)
    k = 0
    for i, t in enumerate(res.times):
        # Events raised by the window ending at t come right after its scores, as on the device.
        if not events_only:
            p = dequantize(res.scores_q[i], out_scale, out_zp)
            yield {"t": round(float(t), 3), "scores": {lab: round(float(v), 4) for lab, v in zip(labels, p)}}
        end_idx = round(t * rate)
        while k < len(ev) and ev[k][0] <= end_idx:
            idx, lab, sq = ev[k]
            yield {"t": round(idx / rate, 3), "event": labels[lab], "score": round(float(dequantize(np.int8(sq), out_scale, out_zp)), 4)}
            k += 1


def read_input(app: App, path, rate: float | None = None, channel: Sequence[str] | None = None) -> Recording:
    """A user's recording as the app takes it: its channels (by name, alias or `--channel` pick), its
    units (converted or refused by the manifest's plausible ranges), at a steady rate."""
    m = app.manifest
    spec = ReadSpec.from_manifest(m, rate=rate, picks=parse_picks(channel, m.channels))
    return read_recording(Path(path), spec)


def predict_file(app: App, path, rate=None, model=None, events_only=False, channel=None) -> Iterator[dict]:
    with notices_held():
        sig = prepare(app, read_input(app, path, rate, channel))
    if model and not Path(model).is_file():
        raise TinymlError(f"{model}: model file not found")
    model_bytes = Path(model).read_bytes() if model else None
    pipe = Pipeline(app, model_bytes)
    res = pipe.run(sig)
    o = pipe.model.output
    yield from result_lines(app, res, o.scale, o.zero_point, events_only)
