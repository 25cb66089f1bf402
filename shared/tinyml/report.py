"""The model card: README.md and plots beside the model, rendered from card.json and the manifest.

Two steps, so that a card can be refreshed without the data:
- measure: training (or `tinyml eval <id> --card`) evaluates the held-out split into card.json (metrics,
  the training curves, the data it used) and calls the app's optional `model_card_extras` hook, whose
  markdown (extras.md) and plots go beside it: write_model_card();
- render: `tinyml card <id>` (render_card) writes README.md, the training curves, the confusion matrices
  and the demo example from card.json, app.toml and the committed files alone: no data, no training. An
  app's optional `model_card_appendix(app, folder, out_dir)` hook adds sections made at this step from other
  committed files (measurements taken apart from the evaluation, e.g. on real data a user has), its plots
  into out_dir (None: the text alone, for the staleness check); its `reads` attribute names those files.

The rendered README says what the model was trained on (real or generated, per source), the held-out
metrics float vs int8 with exact intervals, per-class results, the alert latency, the device figures
with the models and firmware they were measured on, the acceptance verdict against the manifest's
current floors, and what every figure means (tinyml.glossary). Its last line is a stamp of what it was
rendered from (tinyml.card_stamp), which the card contract test compares.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np

from .acceptance import acceptance_items, check_acceptance, flat_metrics
from .apps import App
from .card_stamp import appendix_text, postprocess_sha256, render_stamp, stamp_line
from .glossary import MODEL_METRICS, glossary_text
from .manifest import PRIMARY_MODEL
from .metrics import WINDOW_INTERVALS, bootstrap_groups, event_intervals, format_intervals, format_window_intervals
from .paths import datasets_dir


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ---- plots ----


# What the fit (tinyml.fit) minimises and logs for each kind of output, as the training plot titles them.
LOSS_TITLES = {"classes": "cross-entropy", "multilabel": "binary cross-entropy per label (logits)"}
METRIC_TITLES = {"accuracy": "accuracy", "binary_accuracy": "per-label accuracy (logit > 0 vs the label)",
                 "mae": "mean absolute error"}


def history_panels(history: dict, output: str = "", loss: str = "") -> list[tuple[str, list[str]]]:
    """The training plot's panels, (title, history keys): the loss, then the metric the fit logged
    (accuracy, a multilabel model's binary_accuracy, a regression's mae), each with its validation twin.
    `output` ([model] output) and `loss` (a regression's [models.<name>] loss) name the loss."""
    logged = [k for k in METRIC_TITLES if k in history] or [k for k in history
                                                             if k != "loss" and not k.startswith("val_")]
    lname = LOSS_TITLES.get(output) or loss
    panels = [(f"loss: {lname}" if lname else "loss", ["loss", "val_loss"])]
    if logged:
        panels.append((METRIC_TITLES.get(logged[0], logged[0]), [logged[0], f"val_{logged[0]}"]))
    return [(t, [k for k in keys if k in history]) for t, keys in panels]


def plot_history(history: dict, path: Path, output: str = "", loss: str = "") -> None:
    plt = _plt()
    panels = history_panels(history, output, loss)
    fig, ax = plt.subplots(1, len(panels), figsize=(9, 3.2), squeeze=False)
    for a, (title, keys) in zip(ax[0], panels):
        for k in keys:
            a.plot(history[k], label=k)
        a.set_xlabel("epoch"); a.set_title(title, fontsize=10); a.legend(); a.grid(alpha=0.3)
    fig.tight_layout(); fig.savefig(path, dpi=90, metadata={"Software": None}); plt.close(fig)


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
    fig.tight_layout(); fig.savefig(path, dpi=90, metadata={"Software": None}); plt.close(fig)


def _demo(app: App):
    """The demo recording and its true events: the committed one (as `flash` replays it), or, when its
    feature version is not the manifest's (a run before promote), the app's make_demo() in memory."""
    from .fixtures import demo_path, truth_path
    from .predict import read_input

    m = app.manifest
    path, truth = demo_path(app), truth_path(app)
    if path.is_file() and truth.is_file():
        doc = json.loads(truth.read_text())
        if doc.get("feature_version") == m.features["version"]:
            return read_input(app, path), [(e["t"], e["event"]) for e in doc["events"]], path.name
    rec = app.pipeline.make_demo(m, m.dataset["seed"])
    return rec, list(rec.events), "make_demo()"


def plot_demo(app: App, folder: Path, path: Path) -> None:
    """The demo through the int8 models in `folder`: the signal, the event labels' probabilities, the true
    events (dotted) and the alerts the pipeline raised (dashed red)."""
    from .output_lines import LineMaker
    from .predict import Pipeline, prepare

    plt = _plt()
    m = app.manifest
    rec, truth, name = _demo(app)
    pipe = Pipeline(app, folder=folder)
    sig = prepare(app, rec, notice=False)
    res = pipe.run(sig)
    t = np.arange(len(sig)) / m.rate
    fig, ax = plt.subplots(2, 1, figsize=(10, 4.5), sharex=True)
    for c, ch in enumerate(m.channels):
        ax[0].plot(t, sig[:, c], lw=0.6, label=ch)
    ax[0].set_ylabel(", ".join(dict.fromkeys(m.unit_of(c) for c in m.channels)))  # units may be a table per channel
    ax[0].legend(loc="upper right", fontsize=7)
    o = pipe.model.output
    p = LineMaker(m, o.scale, o.zero_point).prob(res.scores_q)  # as predict prints them (sigmoid of logits)
    for j, lab in enumerate(m.labels):
        if lab in (m.app["event_labels"] or m.labels):
            ax[1].plot(res.times, p[:, j], label=f"P({lab})")
    for idx, lab, _ in res.events:
        for a in ax:
            a.axvline(idx / m.rate, color="r", ls="--", lw=1)
        ax[0].text(idx / m.rate, ax[0].get_ylim()[1], f" {m.event_names[lab]}", color="r", va="top", fontsize=8)
    for tg, _ in truth:
        ax[0].axvline(tg, color="k", ls=":", lw=1)
    ax[1].set_ylim(-0.05, 1.05); ax[1].set_xlabel("time (s)"); ax[1].legend(loc="upper right", fontsize=7)
    ax[0].set_title(f"the demo ({name}) through the int8 pipeline: truth dotted, alerts dashed red")
    fig.tight_layout(); fig.savefig(path, dpi=90, metadata={"Software": None}); plt.close(fig)


# ---- measure, then render ----


def write_model_card(app: App, folder: Path, card: dict, pipe, test) -> None:
    """After a held-out evaluation (train, eval --card): the app's extras hook, then the card itself."""
    extras = getattr(app.pipeline, "model_card_extras", None)  # optional app hook: more sections and plots
    if extras is not None:
        (folder / "extras.md").write_text(extras(app, folder, card, pipe, test))
    render_card(app, folder, card)


def render_card(app: App, folder: Path, card: dict | None = None) -> dict:
    """README.md and the plots from card.json (or `card`), the manifest and the committed demo: no data, no
    training. Also settles card.json: the app id, the acceptance verdict against the manifest's current
    floors, what each source is (from its dataset module, for a card that predates the field). Returns it."""
    m = app.manifest
    card = json.loads((folder / "card.json").read_text()) if card is None else card
    card["app"] = m.id
    _describe_sources(m, card["dataset"])
    if "postprocess_sha256" not in card:  # measured before cards recorded it: taken as today's, and the card says so
        card["postprocess_sha256"] = postprocess_sha256(m)
        card["postprocess_assumed"] = True
    card["acceptance"] = judge(m, card)
    (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    for name, history in (card.get("histories") or {}).items():
        spec = m.models.get(name, {}) if name else m.model
        plot_history(history, folder / (f"training_{name}.png" if name else "training.png"),
                     spec.get("output", ""), spec.get("loss", ""))
    q = card["metrics"]["int8"]
    if q.get("confusion"):
        plot_confusion(q["confusion"], m.labels, folder / "confusion.png", "int8, held-out windows")
    for name, entry in card.get("models", {}).items():
        if entry["metrics"]["int8"].get("confusion"):
            plot_confusion(entry["metrics"]["int8"]["confusion"], entry["labels"], folder / f"confusion_{name}.png",
                           f"{name}: int8, held-out examples")
    plot_demo(app, folder, folder / "example.png")
    text = card_text(app, card, folder) + appendix_text(app, folder, out_dir=folder)
    (folder / "README.md").write_text(text + "\n" + stamp_line(render_stamp(app, folder, text)))
    return card


def judge(m, card: dict) -> dict:
    """The acceptance verdict the card shows: the card's recorded int8 metrics (the figures it prints) against
    the manifest's current floors, so that the verdict always agrees with the table above it. A card from
    before the floors were recorded keeps its measured failures too; `judged_from_card` says the floors
    changed since the measurement."""
    recorded = card.get("acceptance") or {}
    flat = flat_metrics(card["metrics"]["int8"], {n: e["metrics"]["int8"] for n, e in card.get("models", {}).items()})
    failures = check_acceptance(m.acceptance, flat)
    if "limits" not in recorded:
        failures += [f for f in recorded.get("failures", []) if f not in failures]
    verdict = {"met": not failures, "failures": failures, "limits": m.acceptance}
    if recorded.get("judged_from_card") or recorded.get("limits") != m.acceptance:
        verdict["judged_from_card"] = True
    return verdict


# ---- what the model was trained on ----


def _dataset_doc(name: str) -> tuple[str | None, str]:
    """A dataset module's KIND (if it states one) and its docstring's first sentence, read without importing it."""
    path = datasets_dir() / name / "dataset.py"
    if not path.is_file():
        return None, ""
    tree = ast.parse(path.read_text())
    kind = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "KIND" for t in node.targets):
            try:
                kind = ast.literal_eval(node.value)
            except ValueError:
                kind = None
    doc = " ".join((ast.get_docstring(tree) or "").split("\n\n")[0].split())
    return kind, doc


def _describe_sources(m, ds: dict) -> None:
    """Give a card that predates them its sources and what each is (`kind`), from the dataset modules."""
    if "sources" not in ds:
        ds["sources"] = [{"name": n, "real": not ds["synthetic"], "weight": 1.0} for n in ds["name"].split(" + ")]
    for s in ds["sources"]:
        if not s.get("kind"):
            kind, doc = _dataset_doc(s["name"])
            s["kind"] = kind or ("real recordings" if s["real"] else doc.rstrip(".") or "generated by our simulator")


def _left_out(m, used: set[str]) -> list[str]:
    """Real sources the manifest declares that the run did not have (no folder): retraining with them is a hint."""
    ds = m.dataset
    if ds["sources"]:
        return [s["name"] for s in ds["sources"] if "path" in s and s["name"] not in used]
    if ds["name"] and ds["name"] not in used and ds["name"] != ds["generator"]:
        return [ds["name"]]
    return []


def _float_column_title(card: dict) -> str:
    if card.get("evaluated_on"):
        return "float (on training's data)"
    return "float (at training)" if card.get("int8_remeasured") else "float"


def _headline_moved_text(card: dict) -> str:
    """Where the headline's cohorts changed since training (e.g. a source now reported apart), the float and int8
    columns measure different people: said, with the cohorts of each."""
    was, now = (card["metrics"][k].get("measured_on") for k in ("float", "int8"))
    if not was or not now or was == now:
        return ""

    def cohorts(on):
        return ", ".join(f"`{c}`" for c in dict.fromkeys(c for part in ("trials", "streams") for c in on.get(part, [])))
    return (f" **The headline's cohorts changed since training:** the float column (and the int8 drop) pooled "
            f"{cohorts(was)}; the int8 column is measured on {cohorts(now)} (every cohort's figures are in the "
            f"table per cohort below), so the two columns do not compare.")


def _evaluated_on_text(card: dict) -> str:
    """The held-out data `tinyml eval --card` measured, when they are not those the model was trained with; or,
    on the same data, that its int8 figures were measured after training's float ones."""
    e = card.get("evaluated_on")
    if not e:
        if not card.get("int8_remeasured"):
            return ""
        return ("\n- **int8 re-measured after training** by `tinyml eval --card` (the post-processing and evaluation "
                "as they are now, on the same held-out data); the float figures, the int8 drop and the training "
                "curves are training's (the float models are not committed): where the post-processing changed "
                "since, the two columns differ by more than quantization." + _headline_moved_text(card))
    return (f"\n- **The data changed since training** (data sha256 `{e['sha256'][:16]}` now, `"
            f"{card['dataset'].get('sha256', 'not recorded')[:16]}` when trained): the int8 figures were re-measured by "
            f"`tinyml eval --card` on the {e['subjects']} held-out subjects' {e['recordings']} recordings as they are "
            f"now ({e['hours']} h, never trained on), with the post-processing and evaluation as they are now; the "
            f"float figures, the int8 drop and the training curves are training's, on the older data (where the "
            f"post-processing changed since, the two columns differ by more than quantization).")


def _source_models_text(source: dict) -> str:
    """A source limited to some models (`models`): which it trains, and that the core's held-out figures leave
    it out (data/source.py)."""
    if "models" not in source:
        return ""
    names = ", ".join("`[model]`" if n == PRIMARY_MODEL else f"`[models.{n}]`" for n in source["models"])
    return f"; trains {names} only, and none of its recordings is in the held-out figures below"


def _promoted_alone_text(card: dict) -> str:
    """A card whose further models were promoted alone from a later run (runs.promote_models)."""
    p = card.get("promoted_alone")
    if not p:
        return ""
    files = ", ".join(f"`{n}.int8.tflite`" for n in p["models"])
    return (f"\n- **{files} promoted alone** from run `{p['run']}` (data sha256 `{(p.get('data_sha256') or '')[:16]}`, "
            "the data above); the other models are the earlier runs' (their training time, float figures and "
            "int8 drop are theirs). The float column of the app's own figures is n/a: no float pipeline of these "
            "models together was evaluated.")


def _data_text(m, ds: dict) -> str:
    """What the model was trained and tested on, source by source: real recordings or generated ones."""
    sources = ds["sources"]

    def one(s):
        what = "real recordings" if s["real"] else "generated"
        kind = s["kind"].removeprefix(what).lstrip(": ")  # a dataset's KIND may begin with it (cards recorded it so)
        kind = f": {kind}" if kind else ""
        weight = f", weight {s['weight']:g}" if s.get("weight", 1) != 1 else ""
        return f"`{s['name']}` ({what}{kind}; `datasets/{s['name']}/`{weight}{_source_models_text(s)})"

    if all(not s["real"] for s in sources):
        text = "**Trained and tested on generated data only**, no real recordings: " + " and ".join(map(one, sources)) + "."
    else:
        text = "**Trained on** " + " and ".join(map(one, sources)) + "."
    missing = _left_out(m, {s["name"] for s in sources})
    if missing:
        text += (f" The real source{'s' if len(missing) > 1 else ''} {', '.join(f'`{n}`' for n in missing)} "
                 f"(`datasets/{missing[0]}/`) declared in `apps/{m.id}/app.toml` had no folder when this model was "
                 f"trained: point its `path` at your copy and run `make app={m.id} train`.")
    licences = [f"- `{s['name']}`: {s['licence']}" for s in sources if s.get("licence")]
    if licences:
        text += "\n\n" + "\n".join(licences)
    for s in sources:  # a table the dataset module made of what the run took from it
        table = s.get("summary")
        if table and table.get("rows"):
            text += (f"\n\n`{s['name']}`{': ' + table['title'] if table.get('title') else ''}\n\n| "
                     + " | ".join(table["columns"]) + " |\n|" + " --- |" * len(table["columns"]) + "\n"
                     + "\n".join("| " + " | ".join(str(c) for c in row) + " |" for row in table["rows"]))
    cohorts = ds.get("cohorts")
    if cohorts:
        rows = "\n".join(f"| {c} | {len(v['train'])} | {len(v['val'])} | {len(v['test'])} "
                         f"| {', '.join(v['test']) if len(v['test']) <= 12 else str(len(v['test'])) + ' subjects'} |"
                         for c, v in cohorts.items())
        text += ("\n\nSubjects per cohort (stratified split):\n\n| cohort | train | val | test | held-out subjects |\n"
                 "| --- | --- | --- | --- | --- |\n" + rows)
    return text


# ---- figures ----


def _value(v) -> str:
    return f"{v:.4f}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "n/a"


def _ci_text(metrics: dict) -> str:
    """'mae 1.20 [0.90, 1.60]; auc ...' for every metric with a `<name>_ci` interval beside it."""
    parts = []
    for k, v in metrics.items():
        base = k[:-3] if k.endswith("_ci") else None
        if base in WINDOW_INTERVALS:  # on a line of their own (_window_intervals_line)
            continue
        if base and isinstance(v, list) and len(v) == 2 and isinstance(metrics.get(base), (int, float)):
            parts.append(f"{base} {metrics[base]:.4g} [{v[0]:.4g}, {v[1]:.4g}]")
    return "; ".join(parts)


def _intervals_line(q: dict) -> str:
    line = format_intervals(q)
    exact = "exact where no cluster bootstrap is named" if q.get("cluster_intervals") else "exact"
    out = f"\n\nint8, {line} ({exact}; the held-out set is finite)." if line else ""
    out += _window_intervals_line(q)
    other = _ci_text(q)
    return out + (f"\n\nint8, 95 % intervals of the other metrics: {other}." if other else "")


def _window_intervals_line(q: dict) -> str:
    line = format_window_intervals(q)
    return f"\n\nint8, {line}." if line else ""


def _interval_cell(v, ci, fmt: str = ".3f") -> str:
    """'0.912 [0.850, 0.950]', or the figure alone when no interval was measured."""
    if not isinstance(ci, list) or len(ci) != 2 or not all(isinstance(x, (int, float)) and np.isfinite(x) for x in ci):
        return format(v, fmt)
    return f"{v:{fmt}} [{ci[0]:{fmt}}, {ci[1]:{fmt}}]"


def _latency_line(m, q: dict) -> str:
    if "latency_median_s" in q:
        return (f"\n\nAlert latency (true event to alert, int8): median {q['latency_median_s']:.2f} s, 95th "
                f"percentile {q['latency_p95_s']:.2f} s, longest {q['latency_max_s']:.2f} s over "
                f"{q['event_hits']} detected events.")
    if not q.get("event_trials"):
        return ""
    if q.get("event_hits") == 0:
        return "\n\nAlert latency: no event was detected, so none is measured."
    return (f"\n\nAlert latency: not recorded by the evaluation this card comes from; re-measure with "
            f"`tinyml eval {m.id} --card`.")


def _assumed_text(m, card: dict) -> str:
    if not card.get("postprocess_assumed"):
        return ""
    return (f"\n\nThese figures were measured before cards recorded the `[postprocess]` they were measured under; "
            f"this card takes them as measured under `app.toml`'s present one. `tinyml eval {m.id} --card` "
            f"re-measures them (and drops this note).")


def _per_class_text(labels: list[str], metrics: dict, what: str) -> str:
    """Per class from the int8 confusion matrix: held-out examples, recall, precision, F1 (float recall beside)."""
    cm = np.asarray(metrics["int8"].get("confusion") or [])
    if cm.ndim != 2 or cm.shape[0] != len(labels) or not cm.sum():
        return ""
    fcm = np.asarray(metrics.get("float", {}).get("confusion") or [])
    f1_ci = metrics["int8"].get("f1_ci") or [None] * len(labels)
    rows = []
    for i, lab in enumerate(labels):
        n, called = int(cm[i].sum()), int(cm[:, i].sum())
        r = cm[i, i] / n if n else None
        p = cm[i, i] / called if called else None
        f1 = 2 * r * p / (r + p) if r and p else (0.0 if n and called else None)
        fr = fcm[i, i] / fcm[i].sum() if fcm.shape == cm.shape and fcm[i].sum() else None
        cell = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
        f1_cell = cell(f1) if f1 is None else _interval_cell(f1, f1_ci[i] if i < len(f1_ci) else None)
        rows.append(f"| {lab} | {n} | {cell(r)} | {cell(p)} | {f1_cell} | {cell(fr)} |")
    where = metrics["int8"].get("windows_measured_on")
    ci_note = "; F1 with its 95 % interval, as above" if any(f1_ci) else ""
    return (f"\n\nPer class ({what}{' of ' + ', '.join(where) if where else ''}, int8{ci_note}):\n\n"
            "| class | held-out examples | recall | precision | F1 | float recall |\n"
            "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows))


def _windows_by_cohort_text(q: dict) -> str:
    by = q.get("windows_by_cohort")
    if not by:
        return ""
    if not any("accuracy_ci" in v for v in by.values()):  # measured before the intervals
        rows = "\n".join(f"| {c or '(none)'} | {v['windows']} | {v['accuracy']:.4f} | {v['balanced_accuracy']:.4f} |"
                         for c, v in by.items())
        return ("\n\nWindow classification per held-out cohort (int8):\n\n"
                "| cohort | examples | accuracy | balanced accuracy |\n| --- | --- | --- | --- |\n" + rows)

    def cells(v):
        return " | ".join(_interval_cell(v[k], v.get(k + "_ci"), ".4f") for k in ("accuracy", "balanced_accuracy",
                                                                                "macro_f1"))

    rows = "\n".join(f"| {c or '(none)'} | {v['windows']} | {v.get('window_groups', '–')} | {cells(v)} |"
                     for c, v in by.items())
    unit = next(iter(by.values())).get("window_groups_by", "recordings")
    return (f"\n\nWindow classification per held-out cohort (int8, 95 % cluster-bootstrap intervals over the {unit}):"
            f"\n\n| cohort | examples | {unit} | accuracy | balanced accuracy | macro-F1 |\n"
            "| --- | --- | --- | --- | --- | --- |\n" + rows)


def _cohorts_text(q: dict, apart: list[str] = ()) -> str:
    """Where the headline figures come from (sources reported apart named), and the same figures per cohort (int8,
    exact 95 % intervals)."""
    by = q.get("by_cohort")
    if not by:
        return ""
    on = q.get("measured_on", {})

    def cell(mm, key, count, total):
        ci = event_intervals(mm).get(key)
        if not mm.get(total) or ci is None:
            return "–"
        return f"{mm[key]:.3f} [{ci[0]:.3f}, {ci[1]:.3f}] ({mm[count]}/{mm[total]}{_drawn_cell(mm, key)})"

    rows = []
    how = ("95 % intervals: exact, or a cluster bootstrap over the groups the cell names"
           if any(mm.get("cluster_intervals") for mm in by.values()) else "exact 95 % intervals")
    for c, mm in by.items():
        ci = event_intervals(mm).get("false_alarms_per_hour")
        fa = (f"{mm['false_alarms_per_hour']:.2f} [{ci[0]:.2f}, {ci[1]:.2f}] ({mm['false_alarms']} in "
              f"{mm['stream_hours']:.1f} h{_drawn_cell(mm, 'false_alarms_per_hour')})" if ci else "–")
        lat = f"{mm['latency_median_s']:.2f}" if "latency_median_s" in mm else "–"
        rows.append(f"| {c} | {mm.get('subjects', '')} | {cell(mm, 'sensitivity', 'event_hits', 'event_trials')} | "
                    f"{cell(mm, 'specificity', 'event_free_clean', 'event_free_trials')} | {fa} | {lat} |")
    return (f"\nThe headline figures above are measured on the held-out **{', '.join(on.get('trials', []))}** trials"
            + (f" and the **{', '.join(on['streams'])}** streams (false alarms per hour)" if on.get("streams") else "")
            + (f"; {', '.join(f'`{a}`' for a in apart)} reported apart by design (`[dataset] reported_apart_sources`: "
               "per cohort here, never in the headline or `[acceptance]`)" if apart else "")
            + f". Every held-out cohort (int8, {how}):\n\n"
            "| cohort | subjects | sensitivity | specificity | false alarms / h | latency median (s) |\n"
            "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n")


def _drawn_cell(m: dict, key: str) -> str:
    """'; bootstrap over N groups' where the cohort's interval of `key` draws whole groups, else ''."""
    n = bootstrap_groups(m, key)
    return f"; bootstrap over {n} groups" if n else ""


def _models_text(card: dict, folder: Path) -> str:
    """A section per further model: file, size, quantization, its own held-out metrics float vs int8."""
    out = []
    for name, e in card.get("models", {}).items():
        f, q = e["metrics"]["float"], e["metrics"]["int8"]
        rows = "\n".join(f"| {k} | {_value(f.get(k))} | {_value(q.get(k))} |"
                         for k in MODEL_METRICS[e["output_kind"]] if k in q)
        change = (f"int8 drop {q['int8_drop']:.2f} points (balanced accuracy)" if "int8_drop" in q else
                  f"int8 error increase {q.get('int8_error_increase_pct', 0.0):.2f} % (MAE)")
        what = f"classifier over {', '.join(e['labels'])}" if e["output_kind"] == "classes" else "regression"
        ci = _ci_text(q)
        ci = "; ".join(x for x in (format_window_intervals(q), f"95 % intervals: {ci}" if ci else "") if x)
        per_class = _per_class_text(e["labels"], e["metrics"], "held-out examples") if e["output_kind"] == "classes" else ""
        plot = f"\n\n![{name}: confusion matrix](confusion_{name}.png)" if q.get("confusion") else ""
        curves = (f"\n\n![{name}: training curves](training_{name}.png)"
                  if (folder / f"training_{name}.png").is_file() else "")
        out.append(f"""
### Model `{name}` ({what})

`{e['file']}`: {e['model_bytes']} bytes (sha256 `{e['model_sha256'][:16]}…`), input {e['input']['shape']} int8 (scale {e['input']['scale']:.6g}, zero point {e['input']['zero_point']}), output {e['output']['shape']}; examples from `{e['examples']}()` on the held-out recordings; TFLM arena {e.get('tflm_arena_bytes', 'n/a')} bytes.

| metric | float | int8 |
| --- | --- | --- |
{rows}

{change}.{f" int8, {ci}." if ci else ""}{per_class}{plot}{curves}
""")
    return ("\n## Further models\n" + "".join(out)) if out else ""


def _device_line(card: dict, app_id: str) -> str:
    d = card.get("device")
    if not d and not card.get("smoke"):
        return f"Device cost: measured when the run is committed (`make app={app_id} promote`)."
    if not d or "error" in d:
        why = f" ({d['error']})" if d else ""
        return f"Device cost: not measured{why}; run `make app={app_id} card DEVICE=1`."
    text = (f"Device ({d['board']}, emulated): flash {d['flash']:,} B, RAM {d['ram']:,} B "
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
    text += f"; Python vs device: {d['parity']}"
    if d.get("firmware_sha256"):
        text += f" (measured on models `{d.get('model_sha256')}`, firmware sources `{d['firmware_sha256']}`)"
    return text + "."


def _float_source_text(card: dict) -> str:
    """The saved float model a `--reuse-float` card was quantized from: its run and the data it was fitted on."""
    src = card.get("float_from")
    if not src:
        return "the saved float model"
    sha = f" (fitted on data sha256 `{src['data_sha256'][:16]}`)" if src.get("data_sha256") else ""
    return f"run `{src['run']}`'s saved float model{sha}"


def _logit_adjust_text(card: dict) -> str:
    """The prior folded into a classifier's logits (`[model] logit_adjust_tau`), when a model uses it."""
    parts = [f"{key}: tau {a['tau']:g} over the training examples' label counts {a['train_counts']}"
             + (f", among {', '.join(a['labels'])} only (the other classes' logits unchanged)" if a.get("labels") else "")
             for key, a in card.get("logit_adjust", {}).items()]
    return ("\n- Logit adjustment (Menon et al. 2021; the last Dense bias minus tau x log(training prior), so the "
            "classes count as equally likely): " + "; ".join(parts) + ".") if parts else ""


def _train_command(app_id: str, card: dict) -> str:
    """The command that made this card's run: a model kept as committed (`train --keep`, a CLI-only option) is
    asked for again, so that running it does not fit that model anew."""
    keep = "".join(f" --keep {name}" for name in card.get("kept_committed", []))
    return f"tinyml train {app_id}{keep}" if keep else f"make app={app_id} train"


def card_text(app: App, card: dict, folder: Path) -> str:
    """The README.md of the model card (without its stamp line): a pure function of card.json, the manifest
    and which plots the folder holds, plus extras.md."""
    m = app.manifest
    f, q = card["metrics"]["float"], card["metrics"]["int8"]
    keys = [k for k in ("sensitivity", "specificity", "false_alarms_per_hour", "balanced_accuracy",
                        "macro_f1", "accuracy") if k in q]
    keys += [k for k in card.get("app_metrics", []) if isinstance(q.get(k), (int, float)) and not isinstance(q[k], bool)]
    rows = "\n".join(f"| {k} | {_value(f.get(k, float('nan')))} | {_value(q[k])} |" for k in keys)
    acc = "\n".join(f"| {k} | {v:g} | {'ceiling' if ceiling else 'floor'} |"
                     for k, _, v, ceiling in acceptance_items(m.acceptance))
    drop_over = card["metrics"].get("int8_drop_over") or ["sensitivity", "specificity", "balanced accuracy"]
    error_up = (f" int8 error increase: {q['int8_error_increase_pct']:.2f} % (largest relative increase of an "
                f"error: {', '.join(card['metrics'].get('int8_error_increase_over', []))})."
                if q.get("int8_error_increase_pct") else "")
    ds = card["dataset"]
    generated = ds["subjects"].get("train_only", 0)  # training-only material (e.g. random synthetic voices)
    train_only = f", of them {generated} generated for training only" if generated else ""
    reproduce = (f"; this card was re-derived from {_float_source_text(card)} by `train --reuse-float` in "
                 f"{card['train_seconds']} s" if card.get("reused_float") else f", {card['train_seconds']} s here")
    verdict = card["acceptance"]
    status = "all met" if verdict["met"] else "NOT met: " + "; ".join(verdict["failures"])
    judged = ("\n\nJudged from the card's recorded int8 metrics against the floors now in `app.toml` (the evaluation "
              "did not record the floors it checked, or they changed since)." if verdict.get("judged_from_card") else "")
    sha = card.get("dataset", {}).get("sha256", "not recorded")[:16]
    plots = [("training curves", "training.png"), ("confusion matrix", "confusion.png"),
             ("the demo through the int8 pipeline", "example.png")]
    shown = "\n".join(f"![{what}]({png})" for what, png in plots if (folder / png).is_file())
    text = f"""# Model card: {m.app['title']}

{m.app.get('description', '')}

{_data_text(m, ds)}

- Split by **{m.dataset['split']}**, seed {card['seed']}: {ds['subjects']['train']} / {ds['subjects']['val']} / {ds['subjects']['test']} subjects (train / val / test{train_only}), {ds['recordings']['test']} held-out recordings, {ds['test_hours']} h.{_evaluated_on_text(card)}{_promoted_alone_text(card)}
- Input: {card['input']['shape']} int8 (scale {card['input']['scale']:.6g}, zero point {card['input']['zero_point']}); features v{card['feature_version']}, hash `{card['feature_hash']}`.
- int8 model: {card['model_bytes']} bytes (`model.int8.tflite`, sha256 `{card['model_sha256'][:16]}…`); TFLM arena {card.get('tflm_arena_bytes', 'n/a')} bytes (64-bit host figure).{_logit_adjust_text(card)}
- {_device_line(card, m.id)}
{'- **Smoke run**: tiny data and epochs; these numbers mean nothing.' if card['smoke'] else ''}

## Held-out metrics (float vs int8)

| metric | {_float_column_title(card)} | int8 |
| --- | --- | --- |
{rows}

int8 drop: {card['metrics']['int8_drop']:.2f} points (largest over {', '.join(drop_over)}).{error_up}{_assumed_text(m, card)}{_intervals_line(q)}{_latency_line(m, q)}{_per_class_text(m.labels, card['metrics'], 'held-out windows')}{_windows_by_cohort_text(q)}
{_cohorts_text(q, m.dataset["reported_apart_sources"])}{_models_text(card, folder)}
## Acceptance ({status})

| key | limit | kind |
| --- | --- | --- |
{acc}{judged}

{glossary_text(m, card)}
## Plots

{shown}

Reproduce: `{_train_command(m.id, card)}` (seed {card['seed']}{reproduce}; data sha256 `{sha}`), then `make app={m.id} promote`; re-check: `make app={m.id} eval`. This card is rendered from `card.json` by `make app={m.id} card` (text and plots, no data needed); `tinyml eval {m.id} --card` re-measures it on the held-out data.
"""
    extra = folder / "extras.md"  # written by the app's model_card_extras hook when the card was measured
    if extra.is_file():
        text += extra.read_text()
    return text.rstrip("\n") + "\n"
