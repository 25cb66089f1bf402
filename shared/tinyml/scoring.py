"""Score a pipeline on held-out recordings: the events it raises (each recording streamed through the
post-processor), its window classification on the app's examples, each further model on its own
examples, and the app's own metrics (the pipeline.py `evaluate` hook).

The same code scores the int8 models (TFLM) and the float ones: a float Pipeline carries float stand-ins
(FloatScorer, FloatModel) that take and give values on the int8 models' grids, so one post-processor
serves both and int8 differs from float by the model arithmetic only.

Memory stays bounded whatever the held-out set's size: recordings are prepared, scored and post-processed
a batch at a time (only their events are kept), and the examples hooks are called on groups of
recordings; a progress bar shows the way through long evaluations.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from .apps import App
from .data.source import declared_sources, source_name
from .errors import TinymlError
from .features import dequantize, quantize_input
from .metrics import event_breakdown, headline_pool, regression_metrics, window_metrics
from .predict import Pipeline, postprocess, prepare
from .recording import Recording

SCORE_BATCH_WINDOWS = 4096  # windows scored at once (a few MB of features)
EXAMPLES_CHUNK_SAMPLES = 1 << 25  # samples of recordings per call of an examples hook (~128 MB as float32)
FLOAT_BATCH = 512


@dataclass
class Evaluation:
    metrics: dict  # the primary model's (events, windows) and the app's own
    models: dict[str, dict] = field(default_factory=dict)  # each further model's metrics, by name
    app_keys: list[str] = field(default_factory=list)  # names of the app's own metrics (the evaluate hook's)


class FloatScorer:
    """The float primary model in place of the int8 one: __call__ gives its probabilities on the int8
    output grid (for the post-processor), predict() the probabilities themselves (window metrics)."""

    def __init__(self, model, out_scale: float, out_zero_point: int):
        self.model, self.scale, self.zero_point = model, out_scale, out_zero_point

    def predict(self, feats: np.ndarray) -> np.ndarray:
        if len(feats) == 0:
            return np.zeros((0, self.model.output_shape[-1]), np.float32)
        return float_outputs(self.model, feats)

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        return quantize_input(self.predict(feats), self.scale, self.zero_point)


class FloatModel:
    """A further model's float version in place of its int8 one: invoke() has the int8 invoker's contract
    (int8 input dequantized on the int8 model's input grid, output quantized on its output grid), and
    predict() is the float model on float inputs."""

    def __init__(self, model, int8):
        self.model, self.input, self.output = model, int8.input, int8.output
        self._traced = None  # the model traced on its first predict_one()

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if len(x) == 0:
            return np.zeros((0, int(np.prod(self.output.shape))), np.float32)
        return float_outputs(self.model, x)

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        """The outputs for one input, as a post-processor asks window by window: through the model traced once,
        ~1 ms a call where an eager Keras call costs ~12 ms, with the eager call's float32 outputs
        (tests/test_scoring.py)."""
        if self._traced is None:
            import tensorflow as tf

            self._traced = tf.function(lambda a: self.model(a, training=False))
        return np.asarray(self._traced(np.asarray(x, np.float32).reshape(1, *self.input.shape[1:]))).reshape(-1)

    def invoke(self, x_int8: np.ndarray) -> np.ndarray:
        x = dequantize(np.asarray(x_int8, np.int8), self.input.scale, self.input.zero_point)
        return quantize_input(self.predict_one(x), self.output.scale, self.output.zero_point)

    def invoke_batch(self, xs: np.ndarray) -> np.ndarray:
        x = dequantize(np.asarray(xs, np.int8), self.input.scale, self.input.zero_point)
        return quantize_input(self.predict(x.reshape(len(xs), *self.input.shape[1:])), self.output.scale,
                              self.output.zero_point)


def float_outputs(model, x: np.ndarray) -> np.ndarray:
    """A Keras model's outputs [n, -1] for inputs [n, ...], a direct call per chunk (model.predict() costs tens of
    ms per call)."""
    return np.concatenate([np.asarray(model(x[i : i + FLOAT_BATCH], training=False))
                           for i in range(0, len(x), FLOAT_BATCH)]).reshape(len(x), -1)


def model_outputs(invoker, x: np.ndarray) -> np.ndarray:
    """A model's outputs in float for float inputs [n, ...]: a float stand-in's own, an int8 model's through
    its input quantization and output dequantization (as the device computes them)."""
    if hasattr(invoker, "predict"):
        return invoker.predict(x)
    i, o = invoker.input, invoker.output
    yq = invoker.invoke_batch(quantize_input(np.asarray(x, np.float32).reshape(len(x), *i.shape[1:]), i.scale,
                                             i.zero_point))
    return dequantize(np.asarray(yq, np.int8).reshape(len(x), -1), o.scale, o.zero_point)


def event_window(m) -> tuple[float, float]:
    """How long before and after a true event an alert counts for it ([postprocess] detect_*_s)."""
    p = m.postprocess
    return float(p.get("detect_before_s", 1.0)), float(p.get("detect_after_s", 10.0))


def _bar(items, progress: bool, desc: str, total: int | None = None):
    """A progress bar over `items` (or a bar to update by hand when items is None) on a long evaluation."""
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="rec", total=total, leave=False)


def evaluate_events(app: App, pipe: Pipeline, recs: list[Recording], progress: bool = False) -> dict:
    """Event metrics over recordings, each streamed through the pipeline's scorer (int8 model, or its float
    stand-in) and the app's post-processor; a batch of recordings at a time. Headline metrics come from the
    real held-out recordings when generated ones are mixed in (tinyml.metrics.event_breakdown), with each
    cohort's and each activity's beside them."""
    m, fx = app.manifest, pipe.fx
    lead = fx.window - fx.hop  # a decision can fall in a trial's first hop
    o = pipe.model.output
    watched = [m.labels.index(x) for x in m.app["event_labels"]] or list(range(len(m.labels)))
    events: list[list[tuple[int, int, int]]] = []
    peaks: list[float] = []  # the highest event-label probability each recording reached
    batch: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

    def flush():
        feats = np.concatenate([f for *_, f in batch])
        scores = pipe.scorer(feats) if pipe.scorer is not None else pipe.int8_scores(feats)[1]
        k = 0
        for pad, sig, frames, f in batch:
            sq = scores[k : k + len(f)]
            k += len(f)
            ev = postprocess(pipe.postprocessor(), frames, fx.window, fx.hop, sq, sig, f)
            events.append([(idx - pad, lab, s) for idx, lab, s in ev])
            top = int(np.asarray(sq)[:, watched].max()) if len(sq) else -128
            peaks.append(float(dequantize(np.int8(top), o.scale, o.zero_point)))
        batch.clear()

    n = 0
    for r in _bar(recs, progress, "events"):
        pad = 0 if r.activity == "stream" else lead
        sig = fx.stream(prepare(app, r, notice=False, lead_in=pad))  # the post-processor sees the stream stage
        frames = fx.windows(sig)
        batch.append((pad, sig, frames, fx.batch(frames, r.deployment)))
        n += len(frames)
        if n >= SCORE_BATCH_WINDOWS:
            flush()
            n = 0
    if batch:
        flush()
    before, after = event_window(m)
    return event_breakdown(recs, events, peaks, m.event_names, m.rate, before, after, real=is_real(m),
                           apart=reported_apart(m), event_labels=m.app["event_labels"] or None)


def reported_apart(m):
    """A predicate: is a recording from a source in [dataset] reported_apart_sources (reported per cohort, never in
    the headline metrics that [acceptance] checks, nor in the app's own evaluate())?"""
    apart, declared = set(m.dataset["reported_apart_sources"]), declared_sources(m)
    return lambda r: bool(apart) and source_name(r, declared) in apart


def is_real(m):
    """A predicate: is a recording from one of the manifest's real sources (not generated) whose held-out figures
    make the headline? A source in [dataset] reported_apart_sources is reported per cohort only."""
    declared = declared_sources(m)
    real = {s.name for s in declared if s.real} - set(m.dataset["reported_apart_sources"])
    return lambda r: source_name(r, declared) in real


def example_chunks(recs: list[Recording], budget: int = EXAMPLES_CHUNK_SAMPLES):
    """Consecutive groups of recordings of at most `budget` samples (one recording may exceed it)."""
    chunk, n = [], 0
    for r in recs:
        k = int(round(r.duration * r.rate)) * len(r.channels)
        if chunk and n + k > budget:
            yield chunk
            chunk, n = [], 0
        chunk.append(r)
        n += k
    if chunk:
        yield chunk


def hook_gives_groups(app: App, hook, recs: list[Recording], fx, seed: int = 0) -> bool:
    """Does the examples hook name each example's group (a third output)? Asked of the first recording alone,
    with a generator of its own (the evaluation's draws are left as they are)."""
    if not recs:
        return False
    return len(hook(recs[:1], fx, app.manifest, np.random.default_rng(seed), False)) > 2


def held_out_examples(app: App, hook, recs: list[Recording], fx, seed: int = 0, progress: bool = False,
                      desc: str = "examples", by_recording: bool | None = None):
    """The examples hook on held-out recordings (augment False), a group at a time: yields (X, y, groups)
    per group of recordings. groups: one integer id per example, distinct over the whole call: the hook's
    own groups (its third output: integer ids are the call's own, kept apart from other calls'; names
    (strings, e.g. a speaker) mean the same group in every call, so a speaker whose clips fall in several
    calls stays one group), or, for a hook that names none
    (by_recording, asked of the hook when None), the held-out recording each example comes from (its index
    in `recs`): the hook is then called on one recording at a time. One random generator runs through the
    recordings, so a hook that treats each recording on its own gives the same examples either way."""
    if by_recording is None:
        by_recording = not hook_gives_groups(app, hook, recs, fx, seed)
    rng = np.random.default_rng(seed)
    bar = _bar(None, progress, desc, total=len(recs))
    first, next_id = 0, 0  # the chunk's first recording's index; the next free id of a hook's groups
    named: dict = {}  # a hook's group names -> their ids, over every call
    for chunk in example_chunks(recs):
        if by_recording:
            outs = [(hook([r], fx, app.manifest, rng, False), first + i) for i, r in enumerate(chunk)]
            outs = [(o, i) for o, i in outs if len(o[0])]
            X = np.concatenate([o[0] for o, _ in outs]) if outs else np.zeros(0)
            y = np.concatenate([np.asarray(o[1]) for o, _ in outs]) if outs else np.zeros(0)
            groups = (np.concatenate([np.full(len(o[0]), i, np.int64) for o, i in outs]) if outs
                      else np.zeros(0, np.int64))
        else:
            X, y, g = hook(chunk, fx, app.manifest, rng, False)[:3]
            g = np.asarray(g)
            if g.dtype.kind in "USO":  # names: one id per name over the whole call
                for k in dict.fromkeys(map(str, g.reshape(-1))):
                    if k not in named:
                        named[k], next_id = next_id, next_id + 1
                groups = np.asarray([named[str(k)] for k in g.reshape(-1)], np.int64)
            else:
                _, groups = np.unique(g, return_inverse=True)
                groups = groups.reshape(-1).astype(np.int64) + next_id
                next_id = int(groups.max()) + 1 if len(groups) else next_id
        first += len(chunk)
        if bar is not None:
            bar.update(len(chunk))
        if len(X):
            yield X, y, groups
    if bar is not None:
        bar.close()


def evaluate_windows(app: App, pipe: Pipeline, recs: list[Recording], progress: bool = False) -> dict:
    """The primary model's window classification on the app's held-out examples (make_examples), with
    cluster-bootstrap intervals over the recordings the windows come from (or the hook's own groups). With
    real and generated held-out recordings mixed, the headline figures come from the real ones (as the event
    metrics do); each cohort's figures go beside them (`windows_by_cohort`)."""
    m = app.manifest
    hook = app.pipeline.make_examples
    by_recording = not hook_gives_groups(app, hook, recs, pipe.fx)
    cohorts = sorted({r.cohort for r in recs})
    by: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    offset = 0  # group ids of different cohorts kept apart
    for c in cohorts:
        ys, preds, gs = [], [], []
        sub = [r for r in recs if r.cohort == c]
        for X, y, g in held_out_examples(app, hook, sub, pipe.fx, progress=progress, desc=f"windows {c}".strip(),
                                         by_recording=by_recording):
            p = pipe.scorer.predict(X) if pipe.scorer is not None else pipe.int8_scores(X)[1]
            ys.append(np.asarray(y))
            preds.append(np.asarray(p).argmax(1))
            gs.append(g + offset)
        if ys:
            by[c] = (np.concatenate(ys), np.concatenate(preds), np.concatenate(gs))
            offset = int(by[c][2].max()) + 1
    real, apart = is_real(m), reported_apart(m)
    head = headline_pool(list(by), real=lambda c: any(real(r) for r in recs if r.cohort == c),
                         apart=lambda c: any(apart(r) for r in recs if r.cohort == c))

    def joined(i, dtype):
        return np.concatenate([by[c][i] for c in head]) if head else np.zeros(0, dtype)

    out = _with_groups_by(window_metrics(joined(0, np.int64), joined(1, np.int64), m.labels, joined(2, np.int64)),
                          by_recording)
    if len(by) > 1 or any(cohorts):
        out["windows_measured_on"] = head
        out["windows_by_cohort"] = {c: {k: v for k, v in _with_groups_by(window_metrics(*by[c][:2], m.labels, by[c][2]),
                                                                         by_recording).items() if k != "confusion"}
                                    for c in by}
    return out


def _with_groups_by(metrics: dict, by_recording: bool) -> dict:
    """Window metrics that say what their intervals resample (the card names it)."""
    metrics["window_groups_by"] = "recordings" if by_recording else "groups of the examples hook"
    return metrics


def evaluate_model(app: App, name: str, invoker, recs: list[Recording], fx) -> dict:
    """A further model on its own held-out examples ([models.<name>] examples hook): window classification
    for a classifier, MAE / RMSE / bias for a regression, with cluster-bootstrap intervals over the hook's
    groups, else over the recordings the examples come from."""
    spec = app.manifest.models[name]
    hook = _hook(app, spec["examples"], f"models.{name}.examples")
    by_recording = not hook_gives_groups(app, hook, recs, fx)
    ys, outs, groups = [], [], []
    for X, y, g in held_out_examples(app, hook, recs, fx, by_recording=by_recording):
        outs.append(model_outputs(invoker, X))
        ys.append(np.asarray(y))
        groups.append(g)
    g = np.concatenate(groups) if groups else np.zeros(0, np.int64)
    if spec["output"] == "classes":
        y = np.concatenate(ys) if ys else np.zeros(0, np.int64)
        pred = np.concatenate(outs).argmax(1) if outs else np.zeros(0, np.int64)
        return _with_groups_by(window_metrics(y.astype(np.int64), pred, spec["labels"], g), by_recording)
    if not outs:
        return regression_metrics(np.zeros((0, 1)), np.zeros((0, 1)))
    y = np.concatenate([v.reshape(len(v), -1) for v in ys])
    return regression_metrics(y, np.concatenate(outs), g)


def scorable(m, recs: list[Recording]) -> list[Recording]:
    """The recordings the pipeline can score: a recording shorter than one window (and not padded to one,
    [signal] pad_short) has no decision, and predict refuses it; held-out data may hold some (CinC 2017: 9 s
    strips beside 10 s windows), so they are left out of the evaluation with one notice naming how many."""
    window = int(m.features["window"])
    if m.signal["pad_short"]:
        return recs
    short = [r for r in recs if round(len(r.signal) * m.rate / r.rate) < window]
    if short:
        print(f"notice: {len(short)} held-out recording(s) shorter than one window ({window / m.rate:g} s) not "
              f"scored, e.g. {short[0].source or short[0].subject} ({short[0].duration:.2f} s)", file=sys.stderr)
    left_out = {id(r) for r in short}
    return [r for r in recs if id(r) not in left_out]


def evaluate_pipeline(app: App, pipe: Pipeline, recs: list[Recording], progress: bool = False) -> Evaluation:
    """Everything the card reports for one precision (the pipeline's: int8, or float stand-ins)."""
    recs = scorable(app.manifest, recs)
    metrics = evaluate_events(app, pipe, recs, progress)
    metrics.update(evaluate_windows(app, pipe, recs, progress))
    models = {name: evaluate_model(app, name, inv, recs, pipe.fx) for name, inv in pipe.models.items()}
    app_keys: list[str] = []
    hook = getattr(app.pipeline, "evaluate", None)
    if hook is not None:
        apart = reported_apart(app.manifest)
        extra = hook(app, pipe, [r for r in recs if not apart(r)], scorer=pipe.scorer)
        if not isinstance(extra, dict):
            raise TinymlError(f"{app.dir / 'pipeline.py'}: evaluate() must return a dict of metrics")
        clash = sorted(set(extra) & set(metrics))
        if clash:
            raise TinymlError(f"{app.dir / 'pipeline.py'}: evaluate() returns {clash[0]!r}, a core metric's name")
        metrics.update(extra)
        app_keys = list(extra)
    return Evaluation(metrics, models, app_keys)


def _hook(app: App, name: str, key: str):
    fn = getattr(app.pipeline, name, None)
    if not callable(fn):
        raise TinymlError(f"{app.dir / 'pipeline.py'}: no function {name!r} ([{key}])")
    return fn
