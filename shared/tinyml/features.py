"""Features: the manifest's [features] turned into windows and model input.

raw signal [n, ch] -> the stream stage -> frames of `window` samples every `hop` -> the block chain -> model
input (float32) -> int8 by the model's input quantization. Everything is float32 or integer and ordered
exactly like the C twins, so the device builds the same int8 input from the same samples.

The stream stage (`[features].stream`, optional) runs stream blocks (tinyml.dsp: causal, length-preserving,
stateful) over the whole signal once, before framing: what the device does sample by sample as the samples
arrive (filters that keep their state across windows, a QRS detector deriving R-R channels). Its output, not
the raw signal, is what the frames, the chain and the app's post-processor see.

Chain parameters may name deployment values ("@machine.shaft_hz"): they come from `deployment_values`,
the manifest's deployment sections (with --set) updated by a recording's own values (a dataset or a file
that knows its machine's speed), then completed by the app's optional pipeline.py hook
`resolve_deployment(values) -> values` (derived values: a speed given in rpm, orders from a geometry).
"""

from __future__ import annotations

import numpy as np

from .dsp import BLOCKS, chain_refs, resolve_chain, validate_params
from .errors import TinymlError
from .manifest import Manifest


def overridden_keys(m: Manifest) -> set[tuple[str, str]]:
    """(section, key) the user set with --set for this run."""
    out = set()
    for text in getattr(m, "overrides", ()) or ():
        dotted = text.split("=", 1)[0].strip()
        section, _, key = dotted.partition(".")
        out.add((section, key.split(".")[0]))
    return out


def deployment_values(m: Manifest, recording: dict | None = None) -> dict[str, dict]:
    """{section: {key: value}} for the features: the manifest's deployment sections, then a recording's own
    values (not for keys the user --set: those win), then the app's `resolve_deployment` hook."""
    vals = {s: dict(t) for s, t in (getattr(m, "deployment", None) or {}).items()}
    mine = overridden_keys(m)
    for section, table in (recording or {}).items():
        for k, v in table.items():
            if (section, k) not in mine:
                vals.setdefault(section, {})[k] = v
    hook = _app_hook(m, "resolve_deployment")
    return hook(vals) if hook is not None else vals


def _app_hook(m: Manifest, name: str):
    path = m.dir / "pipeline.py"
    if not path.is_file():
        return None
    from .apps import load_module

    return getattr(load_module(path, f"tinyml_apps.{m.id.replace('-', '_')}.pipeline"), name, None)


class FeatureExtractor:
    def __init__(self, m: Manifest):
        self.manifest = m
        self.window = int(m.features["window"])
        self.hop = int(m.features["hop"])
        self.rate = m.rate
        self.stream_steps = _steps(m, m.features.get("stream", []), "stream")
        self.steps = _steps(m, m.features["chain"], "chain")
        self.refs = chain_refs(m.features["chain"])
        self._resolved: dict[str, list] = {}
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

    def steps_for(self, deployment: dict | None = None) -> list[tuple[str, dict, bool]]:
        """The chain's steps with deployment values in place (deployment: a recording's own values)."""
        if not self.refs:
            return self.steps
        vals = deployment_values(self.manifest, deployment)
        key = repr(sorted((s, sorted(t.items())) for s, t in vals.items()))
        if key not in self._resolved:
            m = self.manifest
            chain = resolve_chain(m.features["chain"], vals, f"{m.path}: [features.chain]")
            self._resolved[key] = _steps(m, chain, "chain")
        return self._resolved[key]

    def features(self, frame: np.ndarray, deployment: dict | None = None) -> np.ndarray:
        """One window [window, ch'] of the stream stage's output -> model input (float32), through the chain."""
        return _run(self.steps_for(deployment), np.ascontiguousarray(frame, dtype=np.float32), self.rate)

    def batch(self, frames: np.ndarray, deployment: dict | None = None) -> np.ndarray:
        if len(frames) == 0:
            return np.zeros((0, *self.input_shape()), np.float32)
        steps = self.steps_for(deployment)  # once per recording, not per window
        if all(BLOCKS[name].batched for name, _, _ in steps):  # the whole batch at once, the same values
            return _run(steps, np.ascontiguousarray(frames, dtype=np.float32), self.rate)
        return np.stack([_run(steps, np.ascontiguousarray(f, dtype=np.float32), self.rate) for f in frames])

    def input_shape(self) -> tuple[int, ...]:
        return self.features(np.zeros((self.window, self.stream_channels()), np.float32)).shape

    def stream_channels(self) -> int:
        """Channels of the stream stage's output (the frames' width)."""
        return self.stream(np.zeros((1, len(self.manifest.channels)), np.float32)).shape[1]


def _steps(m: Manifest, chain, part: str) -> list[tuple[str, dict, bool]]:
    out = []
    for i, step in enumerate(chain):
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
        x = np.concatenate([x, y], axis=-1) if append else y  # channels: the last axis, one window or a batch
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
