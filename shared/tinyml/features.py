"""Features: the manifest's [features] turned into windows and model input.

raw signal [n, ch] -> the stream stage -> frames of `window` samples every `hop` -> the block chain -> model
input (float32) -> int8 by the model's input quantization. Everything is float32 or integer and ordered
exactly like the C twins, so the device builds the same int8 input from the same samples.

The stream stage (`[features].stream`, optional) runs stream blocks (tinyml.dsp: causal, length-preserving,
stateful) over the whole signal once, before framing: what the device does sample by sample as the samples
arrive (filters that keep their state across windows, a QRS detector deriving R-R channels). Its output, not
the raw signal, is what the frames, the chain and the app's post-processor see.
"""

from __future__ import annotations

import numpy as np

from .dsp import BLOCKS, validate_params
from .errors import TinymlError
from .manifest import Manifest


class FeatureExtractor:
    def __init__(self, m: Manifest):
        self.manifest = m
        self.window = int(m.features["window"])
        self.hop = int(m.features["hop"])
        self.rate = m.rate
        self.stream_steps = _steps(m, "stream")
        self.steps = _steps(m, "chain")
        for i, (name, _, _) in enumerate(self.stream_steps):
            if not BLOCKS[name].stream:
                raise TinymlError(f"{m.path}: [features.stream[{i}]] block {name!r} is not a stream block; "
                                  f"allowed: {', '.join(sorted(b for b in BLOCKS if BLOCKS[b].stream))}")

    def n_windows(self, n_samples: int) -> int:
        return 0 if n_samples < self.window else 1 + (n_samples - self.window) // self.hop

    def window_starts(self, n_samples: int) -> np.ndarray:
        """First sample of each window (C twin tml_window_due: a window ends every hop once `window` are in)."""
        return np.arange(self.n_windows(n_samples)) * self.hop

    def stream(self, signal: np.ndarray) -> np.ndarray:
        """The stream stage over a whole signal [n, ch] (the signal itself when there is none)."""
        if not self.stream_steps:
            return signal
        return _run(self.stream_steps, np.ascontiguousarray(signal, np.float32), self.rate)

    def frames(self, signal: np.ndarray) -> np.ndarray:
        """[n_windows, window, ch'] views of the stream stage's output (of the signal when there is none)."""
        return self.windows(self.stream(signal))

    def windows(self, streamed: np.ndarray) -> np.ndarray:
        """[n_windows, window, ch] views of a signal that has been through the stream stage (no copy)."""
        signal = streamed
        n = self.n_windows(signal.shape[0])
        if n == 0:
            return np.zeros((0, self.window, signal.shape[1]), np.float32)
        return np.lib.stride_tricks.sliding_window_view(signal, self.window, axis=0)[:: self.hop][:n].transpose(0, 2, 1)

    def features(self, frame: np.ndarray) -> np.ndarray:
        """One window [window, ch'] of the stream stage's output -> model input (float32), through the chain."""
        return _run(self.steps, np.ascontiguousarray(frame, dtype=np.float32), self.rate)

    def batch(self, frames: np.ndarray) -> np.ndarray:
        if len(frames) == 0:
            return np.zeros((0, *self.input_shape()), np.float32)
        return np.stack([self.features(f) for f in frames])

    def input_shape(self) -> tuple[int, ...]:
        return self.features(np.zeros((self.window, self.stream_channels()), np.float32)).shape

    def stream_channels(self) -> int:
        """Channels of the stream stage's output (the frames' width)."""
        return self.stream(np.zeros((1, len(self.manifest.channels)), np.float32)).shape[1]


def _steps(m: Manifest, part: str) -> list[tuple[str, dict, bool]]:
    out = []
    for i, step in enumerate(m.features.get(part, [])):
        step = dict(step)
        name = step.pop("block")
        append = bool(step.pop("append", False))
        if name not in BLOCKS:
            raise TinymlError(f"{m.path}: [features.{part}[{i}]] unknown block {name!r}; allowed: {', '.join(sorted(BLOCKS))}")
        out.append((name, validate_params(name, step), append))
    return out


def _run(steps, x: np.ndarray, rate: float) -> np.ndarray:
    for name, params, append in steps:
        blk = BLOCKS[name]
        y = blk.apply(x, rate, **params).astype(np.float32)
        x = np.concatenate([x, y], axis=1) if append else y
        if blk.rate_out is not None:
            rate = blk.rate_out(rate, params)
    return x


def quantize_input(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float32 -> int8 as the device does it (C twin tml_quantize_input): floor(x * (1/scale) + 0.5) + zp,
    saturated, all in float32."""
    inv = np.float32(1.0) / np.float32(scale)
    v = np.floor(np.asarray(x, np.float32) * inv + np.float32(0.5))
    return np.clip(v + zero_point, -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (q.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)
