"""The model card: README.md with the held-out metrics, sizes and plots (PNG) beside the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .apps import App
from .metrics import event_intervals, format_intervals


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: dict, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    for k in ("loss", "val_loss"):
        if k in history:
            ax[0].plot(history[k], label=k)
    second = "accuracy" if "accuracy" in history else "mae"  # a classifier's, or a regression's
    for k in (second, f"val_{second}"):
        if k in history:
            ax[1].plot(history[k], label=k)
    for a, t in zip(ax, ("loss", second)):
        a.set_xlabel("epoch"); a.set_title(t); a.legend(); a.grid(alpha=0.3)
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)


def plot_confusion(cm: list[list[int]], labels: list[str], path: Path, title: str) -> None:
    plt = _plt()
    cm = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * len(labels), 1.0 + 0.6 * len(labels)))
    ax.imshow(cm / np.maximum(cm.sum(1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted"); ax.set_ylabel("true"); ax.set_title(title)
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)


def plot_example(app: App, pipe, rec, path: Path) -> None:
    """A held-out recording, its window scores and the events the pipeline raised."""
    from .features import dequantize
    from .predict import prepare

    plt = _plt()
    m = app.manifest
    sig = prepare(app, rec, notice=False)
    res = pipe.run(sig)
    t = np.arange(len(sig)) / m.rate
    fig, ax = plt.subplots(2, 1, figsize=(10, 4.5), sharex=True)
    for c, name in enumerate(m.channels):
        ax[0].plot(t, sig[:, c], lw=0.6, label=name)
    ax[0].set_ylabel(m.signal["units"]); ax[0].legend(loc="upper right", fontsize=7)
    o = pipe.model.output
    p = dequantize(res.scores_q, o.scale, o.zero_point)
    for j, lab in enumerate(m.labels):
        if lab in m.app["event_labels"]:
            ax[1].plot(res.times, p[:, j], label=f"P({lab})")
    for idx, lab, _ in res.events:
        for a in ax:
            a.axvline(idx / m.rate, color="r", ls="--", lw=1)
        ax[0].text(idx / m.rate, ax[0].get_ylim()[1], f" {m.event_names[lab]}", color="r", va="top", fontsize=8)
    for tg, lab in rec.events:
        ax[0].axvline(tg, color="k", ls=":", lw=1)
    ax[1].set_ylim(-0.05, 1.05); ax[1].set_xlabel("time (s)"); ax[1].legend(loc="upper right", fontsize=7)
    ax[0].set_title(f"held-out {rec.activity or rec.label} ({rec.subject}): truth dotted, alerts dashed red")
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)


def _pick_example(test):
    """Prefer a recording with ground-truth events, a long one: it shows the most."""
    with_events = [r for r in test if r.events]
    pool = with_events or test
    return max(pool, key=lambda r: r.duration if not with_events else -abs(r.duration - 20))


def _device_line(card: dict, app_id: str) -> str:
    d = card.get("device")
    if not d and not card.get("smoke"):
        return f"Device cost: measured when the run is committed (`make app={app_id} promote`)."
    if not d or "error" in d:
        why = f" ({d['error']})" if d else ""
        return f"Device cost: not measured{why}; run `make app={app_id} flash` or `make app={app_id} size`."
    text = (f"Device ({d['board']}, emulated Cortex-M4F): flash {d['flash']:,} B, RAM {d['ram']:,} B "
            f"(arena {d.get('arena', 0):,} B, stack {d.get('stack_measured') or d.get('stack_static')} B); "
            f"{d['per_inference']:,} {d['cost_unit']} per inference, {d.get('per_second_of_data', 0):,} per second "
            f"of data")
    if "estimate_ms_per_inference" in d:
        text += (f" (estimate: {d['estimate_ms_per_inference']} ms per inference at "
                 f"{d['estimate_clock_hz'] / 1e6:g} MHz, duty cycle {100 * d['estimate_duty_cycle']:.2f}%)")
    for name, st in (d.get("stages") or {}).items():  # recurring stages the firmware measures (tml_report_stage_cost)
        text += f"; {st['mean']:,} {d['cost_unit']} per {name.replace('_', ' ')} (mean)"
    if "realtime_load" in d:
        text += (f"; real time at {d['realtime_clock_hz'] / 1e6:g} MHz (1 instruction per cycle assumed): "
                 f"{100 * d['realtime_load']:.1f}% load, " + ("keeps up" if d["realtime_load"] < 1 else "does NOT keep up"))
    return text + f"; Python vs device: {d['parity']}."


def write_model_card(app: App, out_dir: Path, card: dict, histories: dict | None, pipe, test) -> None:
    """The card's plots and text. histories: each model's training curves by name ("" the primary); None
    (a re-evaluation, no fitting) keeps the plots training made."""
    m = app.manifest
    if histories is not None:
        for name, history in histories.items():
            plot_history(history, out_dir / (f"training_{name}.png" if name else "training.png"))
    plot_confusion(card["metrics"]["int8"]["confusion"], m.labels, out_dir / "confusion.png", "int8, held-out windows")
    for name, entry in card.get("models", {}).items():
        q = entry["metrics"]["int8"]
        if "confusion" in q:
            plot_confusion(q["confusion"], entry["labels"], out_dir / f"confusion_{name}.png",
                           f"{name}: int8, held-out examples")
    if test:
        plot_example(app, pipe, _pick_example(test), out_dir / "example.png")
    extras = getattr(app.pipeline, "model_card_extras", None)  # optional app hook: more sections and plots
    if extras is not None:
        (out_dir / "extras.md").write_text(extras(app, out_dir, card, pipe, test))
    write_card_text(app, out_dir, card)


def _intervals_line(int8_metrics: dict) -> str:
    line = format_intervals(int8_metrics)
    out = f"\n\nint8, {line} (exact; the held-out set is finite)." if line else ""
    other = _ci_text(int8_metrics)
    return out + (f"\n\nint8, 95 % intervals of the other metrics: {other}." if other else "")


def _data_text(m, ds: dict) -> str:
    """What the model was trained and tested on: the generator alone, or the real sources with the generated
    ones beside them."""
    sources = ds.get("sources") or [{"name": ds["name"], "real": not ds["synthetic"]}]
    if ds["synthetic"]:
        real = [s["name"] for s in (m.dataset["sources"] or [{"name": m.dataset["name"], "path": ""}]) if "path" in s]
        hint = (f" The real-data loader is `datasets/{real[0]}/`: point its `path` in `apps/{m.id}/app.toml` at the "
                f"dataset's folder and run `make app={m.id} train`." if real else "")
        return (f"**Trained and tested on synthetic data** from the `{ds['name']}` generator "
                f"(`datasets/{ds['name']}/`), a physically grounded simulation.{hint}")
    parts = [f"`{s['name']}` ({'real recordings' if s['real'] else 'generated, a physically grounded simulation'}"
             f", `datasets/{s['name']}/`{', weight ' + format(s['weight'], 'g') if s.get('weight', 1) != 1 else ''})"
             for s in sources]
    text = "**Trained on** " + " and ".join(parts) + "."
    cohorts = ds.get("cohorts")
    if cohorts:
        rows = "\n".join(f"| {c} | {len(v['train'])} | {len(v['val'])} | {len(v['test'])} "
                         f"| {', '.join(v['test']) if len(v['test']) <= 12 else str(len(v['test'])) + ' subjects'} |"
                         for c, v in cohorts.items())
        text += ("\n\nSubjects per cohort (stratified split):\n\n| cohort | train | val | test | held-out subjects |\n"
                 "| --- | --- | --- | --- | --- |\n" + rows)
    return text


def _latency_line(q: dict) -> str:
    if "latency_median_s" not in q:
        return ""
    return (f"\n\nAlert latency (true event to alert, int8): median {q['latency_median_s']:.2f} s, 95th percentile "
            f"{q['latency_p95_s']:.2f} s, longest {q['latency_max_s']:.2f} s over {q['event_hits']} detected events.")


def _cohorts_text(q: dict) -> str:
    """Where the headline figures come from, and the same figures per cohort (int8, exact 95 % intervals)."""
    by = q.get("by_cohort")
    if not by:
        return ""
    on = q.get("measured_on", {})

    def cell(mm, key, count, total):
        ci = event_intervals(mm).get(key)
        if not mm.get(total) or ci is None:
            return "–"
        return f"{mm[key]:.3f} [{ci[0]:.3f}, {ci[1]:.3f}] ({mm[count]}/{mm[total]})"

    rows = []
    for c, mm in by.items():
        ci = event_intervals(mm).get("false_alarms_per_hour")
        fa = (f"{mm['false_alarms_per_hour']:.2f} [{ci[0]:.2f}, {ci[1]:.2f}] ({mm['false_alarms']} in "
              f"{mm['stream_hours']:.1f} h)" if ci else "–")
        lat = f"{mm['latency_median_s']:.2f}" if "latency_median_s" in mm else "–"
        rows.append(f"| {c} | {mm.get('subjects', '')} | {cell(mm, 'sensitivity', 'event_hits', 'event_trials')} | "
                    f"{cell(mm, 'specificity', 'event_free_clean', 'event_free_trials')} | {fa} | {lat} |")
    return (f"\nThe headline figures above are measured on the held-out **{', '.join(on.get('trials', []))}** trials"
            + (f" and the **{', '.join(on['streams'])}** streams (false alarms per hour)" if on.get("streams") else "")
            + ". Every held-out cohort (int8, exact 95 % intervals):\n\n"
            "| cohort | subjects | sensitivity | specificity | false alarms / h | latency median (s) |\n"
            "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n")


def _ci_text(metrics: dict) -> str:
    """'mae 1.20 [0.90, 1.60]; auc ...' for every metric with a `<name>_ci` interval beside it."""
    parts = []
    for k, v in metrics.items():
        base = k[:-3] if k.endswith("_ci") else None
        if base and isinstance(v, list) and len(v) == 2 and isinstance(metrics.get(base), (int, float)):
            parts.append(f"{base} {metrics[base]:.4g} [{v[0]:.4g}, {v[1]:.4g}]")
    return "; ".join(parts)


def _value(v) -> str:
    return f"{v:.4f}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "n/a"


SHOWN = {"classes": ("accuracy", "balanced_accuracy", "macro_f1"), "regression": ("mae", "rmse", "bias")}


def _models_text(card: dict) -> str:
    """A section per further model: file, size, quantization, its own held-out metrics float vs int8."""
    out = []
    for name, e in card.get("models", {}).items():
        f, q = e["metrics"]["float"], e["metrics"]["int8"]
        rows = "\n".join(f"| {k} | {_value(f.get(k))} | {_value(q.get(k))} |" for k in SHOWN[e["output_kind"]] if k in q)
        change = (f"int8 drop {q['int8_drop']:.2f} points (balanced accuracy)" if "int8_drop" in q else
                  f"int8 error increase {q.get('int8_error_increase_pct', 0.0):.2f} % (MAE)")
        what = f"classifier over {', '.join(e['labels'])}" if e["output_kind"] == "classes" else "regression"
        ci = _ci_text(q)
        plot = f"\n\n![{name}: confusion matrix](confusion_{name}.png)" if "confusion" in q else ""
        out.append(f"""
### Model `{name}` ({what})

`{e['file']}`: {e['model_bytes']} bytes (sha256 `{e['model_sha256'][:16]}…`), input {e['input']['shape']} int8 (scale {e['input']['scale']:.6g}, zero point {e['input']['zero_point']}), output {e['output']['shape']}; examples from `{e['examples']}()` on the held-out recordings; TFLM arena {e.get('tflm_arena_bytes', 'n/a')} bytes.

| metric | float | int8 |
| --- | --- | --- |
{rows}

{change}.{f" int8, 95 % intervals: {ci}." if ci else ""}{plot}

![{name}: training curves](training_{name}.png)
""")
    return ("\n## Further models\n" + "".join(out)) if out else ""


def write_card_text(app: App, out_dir: Path, card: dict) -> None:
    """README.md of the model card from card.json (the plots are written beside it by write_model_card)."""
    m = app.manifest
    f, q = card["metrics"]["float"], card["metrics"]["int8"]
    keys = [k for k in ("sensitivity", "specificity", "false_alarms_per_hour", "balanced_accuracy",
                        "macro_f1", "accuracy") if k in q]
    keys += [k for k in card.get("app_metrics", []) if isinstance(q.get(k), (int, float))]  # the app's own
    rows = "\n".join(f"| {k} | {_value(f.get(k, float('nan')))} | {_value(q[k])} |" for k in keys)
    from .acceptance import acceptance_items

    acc = "\n".join(f"| {k} | {v:g} | {'ceiling' if ceiling else 'floor'} |"
                     for k, _, v, ceiling in acceptance_items(m.acceptance))
    drop_over = card["metrics"].get("int8_drop_over") or ["sensitivity", "specificity", "balanced accuracy"]
    error_up = (f" int8 error increase: {q['int8_error_increase_pct']:.2f} % (largest relative increase of an "
                f"error: {', '.join(card['metrics'].get('int8_error_increase_over', []))})."
                if q.get("int8_error_increase_pct") else "")
    ds = card["dataset"]
    synthetic = _data_text(m, ds)
    generated = ds["subjects"].get("train_only", 0)  # training-only material (e.g. random synthetic voices)
    train_only = f", of them {generated} generated for training only" if generated else ""
    reproduce = (f"; this card was re-derived from the saved float model by `train --reuse-float` in "
                 f"{card['train_seconds']} s" if card.get("reused_float") else f", {card['train_seconds']} s here")
    status = "all met" if card["acceptance"]["met"] else "NOT met: " + "; ".join(card["acceptance"]["failures"])
    text = f"""# Model card: {m.app['title']}

{m.app.get('description', '')}

{synthetic}

- Split by **{m.dataset['split']}**, seed {card['seed']}: {ds['subjects']['train']} / {ds['subjects']['val']} / {ds['subjects']['test']} subjects (train / val / test{train_only}), {ds['recordings']['test']} held-out recordings, {ds['test_hours']} h.
- Input: {card['input']['shape']} int8 (scale {card['input']['scale']:.6g}, zero point {card['input']['zero_point']}); features v{card['feature_version']}, hash `{card['feature_hash']}`.
- int8 model: {card['model_bytes']} bytes (`model.int8.tflite`, sha256 `{card['model_sha256'][:16]}…`); TFLM arena {card.get('tflm_arena_bytes', 'n/a')} bytes (64-bit host figure).
- {_device_line(card, m.id)}
{'- **Smoke run**: tiny data and epochs; these numbers mean nothing.' if card['smoke'] else ''}

## Held-out metrics (float vs int8)

| metric | float | int8 |
| --- | --- | --- |
{rows}

int8 drop: {card['metrics']['int8_drop']:.2f} points (largest over {', '.join(drop_over)}).{error_up}{_intervals_line(q)}{_latency_line(q)}
{_cohorts_text(q)}{_models_text(card)}
## Acceptance ({status})

| key | limit | kind |
| --- | --- | --- |
{acc}

## Plots

![training curves](training.png)
![confusion matrix](confusion.png)
![example](example.png)

Reproduce: `make app={m.id} train` (seed {card['seed']}{reproduce}; data sha256 `{ds.get('sha256', 'not recorded')[:16]}`), then `make app={m.id} promote`; re-check: `make app={m.id} eval`.
"""
    extra = out_dir / "extras.md"  # written by the app's model_card_extras hook at training time
    if extra.is_file():
        text += extra.read_text()
    (out_dir / "README.md").write_text(text)
