"""Training runs and their promotion to the committed model.

`tinyml train <app>` writes a new folder build/<id>/runs/<YYYYmmdd-HHMMSS>[-smoke]/ (the int8 models,
card.json, the model card and plots, and the float models under float/ for `--reuse-float`), never the
committed apps/<id>/model. `tinyml promote <app> [run]` makes a run the committed model after checks:
its features are the manifest's (feature hash), so is its logit adjustment (tau), its files are the ones
it trained (SHA-256), it is no smoke run, it was trained without --set overrides (but `dataset.path`: where
the user keeps a dataset is local, never written into app.toml; the committed card keeps no such path),
and it has exactly the manifest's models; its acceptance result is shown. It then replaces apps/<id>/model with the run's files, rewrites the golden
vectors (fixtures/golden.npz, from the demo) and measures the device cost and parity on qemu-m4 into the
card. `--models <name>...` promotes only those further models of the run ([models.<name>]; the others stay the
committed files): their files, their card entries and training curves, and the run's data entry; the app's own
float figures are dropped from the card (no float pipeline of that mix of models was ever evaluated) and its
int8 figures must be re-measured (`tinyml eval <app> --card`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

from . import hints
from .apps import App, model_file
from .errors import TinymlError
from .paths import build_dir

FLOAT_DIR = "float"  # the float Keras models of a run (not committed)


def read_card(folder: Path) -> dict:
    """The card.json in `folder` (a run's, or the committed models'), {} without one."""
    path = Path(folder) / "card.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def runs_dir(app: App) -> Path:
    return build_dir(app.id, "runs")


def new_run_dir(app: App, smoke: bool) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S") + ("-smoke" if smoke else "")
    d, k = runs_dir(app) / stamp, 1
    while d.exists():
        k += 1
        d = runs_dir(app) / f"{stamp}-{k}"
    return d


def _latest_file(app: App, smoke: bool) -> Path:
    return runs_dir(app) / ("LATEST-smoke" if smoke else "LATEST")


def remember_run(app: App, run_dir: Path, smoke: bool) -> None:
    """The last run (of this kind) is the default of `promote` and the source of `--reuse-float`."""
    f = _latest_file(app, smoke)
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(str(Path(run_dir).resolve()) + "\n")


def latest_run(app: App, smoke: bool = False) -> Path | None:
    f = _latest_file(app, smoke)
    if not f.is_file():
        return None
    d = Path(f.read_text().strip())
    return d if d.is_dir() else None


def find_float_models(app: App, smoke: bool) -> Path:
    """The run whose float models `train --reuse-float` quantizes again: the last one of this kind (it must hold
    the primary model; a further model it lacks, one added to the manifest since, is fitted)."""
    d = latest_run(app, smoke)
    if d is None or not (d / FLOAT_DIR / "model.keras").is_file():  # a further model it lacks is fitted
        raise TinymlError(f"{runs_dir(app)}: no saved float model to reuse; run: {hints.command('train', app.id)}"
                          + (" (--smoke)" if smoke else ""))
    return d


def resolve_run(app: App, run: str | None) -> Path:
    """A run by folder path, by name under build/<id>/runs/, or (None) the last full run."""
    if run is None:
        d = latest_run(app)
        if d is None:
            raise TinymlError(f"{runs_dir(app)}: no training run to promote; run: {hints.command('train', app.id)}")
        if not (d / "card.json").is_file():
            raise TinymlError(f"{d}: the last run did not finish (no card.json); run: {hints.command('train', app.id)}")
        return d
    for d in (Path(run), runs_dir(app) / run):
        if (d / "card.json").is_file():
            return d
    known = sorted(p.name for p in runs_dir(app).glob("*/card.json")) if runs_dir(app).is_dir() else []
    raise TinymlError(f"{run}: not a training run of {app.id}" + (f"; runs: {', '.join(p for p in known)}" if known else ""))


# --set keys that say where data live, not what the model is: a run trained with them is the manifest's model
DATA_LOCATION_KEYS = ("dataset.path",)


def design_overrides(overrides) -> list[str]:
    """The --set texts that change the model's design (all but the data locations)."""
    from .manifest import parse_set

    return [o for o in overrides or () if ".".join(parse_set(o)[0]) not in DATA_LOCATION_KEYS]


def check_run(app: App, run_dir: Path) -> dict:
    """The run's card, after the checks that make it safe to commit; TinymlError naming the first problem."""
    m = app.manifest
    card = json.loads((run_dir / "card.json").read_text())
    if card.get("smoke"):
        raise TinymlError(f"{run_dir}: a smoke run (tiny data and epochs) is never committed")
    design = design_overrides(card.get("overrides"))
    if design:
        raise TinymlError(f"{run_dir}: trained with --set {' '.join(design)}; put the values in "
                          f"{m.path.name} and train again, so the committed model is the manifest's")
    adjusted = card.get("logit_adjust", {})
    for key, spec in [("model", m.model), *((f"models.{n}", t) for n, t in m.models.items())]:
        ran, want = float(adjusted.get(key, {}).get("tau", 0.0)), float(spec.get("logit_adjust_tau", 0.0))
        if ran != want:
            raise TinymlError(f"{run_dir}: [{key}] logit adjustment tau {ran:g}, the manifest's logit_adjust_tau is "
                              f"{want:g}; train again (--reuse-float quantizes the saved float model again)")
        ran_among, want_among = adjusted.get(key, {}).get("labels", []), list(spec.get("logit_adjust_labels") or [])
        if want and ran_among != want_among:
            raise TinymlError(f"{run_dir}: [{key}] logit adjustment among {ran_among or 'every label'}, the "
                              f"manifest's logit_adjust_labels is {want_among or 'every label'}; train again "
                              "(--reuse-float quantizes the saved float model again)")
    if card.get("feature_hash") != m.feature_hash():
        raise TinymlError(f"{run_dir}: trained on other features ({card.get('feature_hash')}) than the manifest's "
                          f"({m.feature_hash()}); train again")
    names = sorted(card.get("models", {}))
    if names != sorted(m.models):
        raise TinymlError(f"{run_dir}: has the models {names or 'none besides [model]'}, the manifest declares "
                          f"{sorted(m.models) or 'none besides [model]'}; train again")
    want = {model_file(""): card["model_sha256"], **{model_file(n): e["model_sha256"] for n, e in card.get("models", {}).items()}}
    for name, sha in want.items():
        p = run_dir / name
        if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() != sha:
            raise TinymlError(f"{p}: missing or changed since training (SHA-256 differs from the card)")
    return card


def promote(app: App, run: str | None = None, models: list[str] | None = None) -> dict:
    """Make a run the committed model (see the module docstring); returns the committed card. models: only
    these further models of the run (promote_models)."""
    from .fixtures import write_golden
    from .predict import Pipeline
    from .report import render_card

    run_dir = resolve_run(app, run)
    card = check_run(app, run_dir)
    dst = app.model_dir
    if models:
        card = promote_models(app, run_dir, card, models)
    else:
        acc = card["acceptance"]
        print(f"{app.id}: promoting {run_dir}; acceptance: "
              + ("all floors met" if acc["met"] else "NOT met: " + "; ".join(acc["failures"])), file=sys.stderr)
        dst.mkdir(parents=True, exist_ok=True)
        for old in dst.iterdir():  # the folder holds one model's card: nothing of the old one may stay
            if old.is_file():
                old.unlink()
        for f in sorted(run_dir.iterdir()):
            if f.is_file():
                shutil.copy2(f, dst / f.name)
    card["overrides"] = design_overrides(card.get("overrides"))  # none: a local data path is never committed
    (dst / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    golden = write_golden(app, Pipeline(app))
    from .device.cost import device_cost

    card["device"] = device_cost(app)
    render_card(app, dst, card)
    print(f"{app.id}: committed model, card and {golden.relative_to(app.dir)} now from {run_dir.name}; "
          f"device: {card['device'].get('parity', card['device'].get('error'))}", file=sys.stderr)
    if models:
        print(f"{app.id}: the card's int8 figures are the earlier models'; run: "
              f"{hints.command('eval', app.id, hints.option('--card'))}", file=sys.stderr)
    return card


def _int8_changes_again(app: App, card: dict) -> None:
    """The card's int8 drop and error increase over what still pairs a float and an int8 figure of the same
    model: the primary model's own metrics, each further model's (the app's own float figures are n/a)."""
    from .acceptance import flat_metrics, int8_changes

    ms = card.get("models", {})
    changes = int8_changes(app.manifest.acceptance,
                           flat_metrics(card["metrics"]["float"], {n: e["metrics"]["float"] for n, e in ms.items()}),
                           flat_metrics(card["metrics"]["int8"], {n: e["metrics"]["int8"] for n, e in ms.items()}),
                           {n: e["output_kind"] for n, e in ms.items()}, card.get("app_metrics", []))
    for key in ("int8_drop", "int8_error_increase_pct"):
        card["metrics"]["int8"][key] = changes[key]
    card["metrics"]["int8_drop"] = changes["int8_drop"]
    for key in ("int8_drop_over", "int8_error_increase_over"):
        card["metrics"][key] = changes[key]


def _take_logit_adjust(card: dict, run_card: dict, key: str) -> None:
    """The run's logit adjustment of model `key` into the card (none in the run: none in the card either)."""
    adjust = run_card.get("logit_adjust", {}).get(key)
    if adjust:
        card.setdefault("logit_adjust", {})[key] = adjust
    elif key in card.get("logit_adjust", {}):
        del card["logit_adjust"][key]
        if not card["logit_adjust"]:
            del card["logit_adjust"]


def promote_models(app: App, run_dir: Path, run_card: dict, models: list[str]) -> dict:
    """Copy only the named further models of a checked run into the committed model folder; the committed
    card with their entries, training curves and the run's data entry (the newest fit's data) taken from the
    run's, the app's own float figures dropped (n/a: no float pipeline of this mix of models was evaluated),
    and `promoted_alone` saying so. The card's int8 figures are the earlier models' until `eval --card`."""
    from .card_stamp import card_problems
    from .data.splits import check_kept_unseen

    unknown = [n for n in models if n not in app.manifest.models]
    if unknown:
        raise TinymlError(f"--models {unknown[0]!r}: not one of the further models ([models.<name>]: "
                          f"{', '.join(app.manifest.models) or 'none'}); the primary model is promoted with its whole run")
    dst = app.model_dir
    card = read_card(dst)
    if not card:
        raise TinymlError(f"--models: no committed model card in {dst}: promote the whole run first")
    stale = [p for p in card_problems(app, device=False) if "describes another" in p]
    if stale:
        raise TinymlError(f"--models: the committed card does not describe the committed models ({stale[0]})")
    # the models that stay were trained on the committed card's split: none of their subjects may be held out now
    check_kept_unseen(app.manifest, [n for n in ["", *app.manifest.models] if n not in models],
                      card.get("dataset", {}).get("cohorts"),
                      {s for parts in (run_card["dataset"].get("cohorts") or {}).values()
                       for k in ("val", "test") for s in parts.get(k, [])}, "promote the whole run")
    for name in dict.fromkeys(models):
        shutil.copy2(run_dir / model_file(name), dst / model_file(name))
        card["models"][name] = run_card["models"][name]
        card.setdefault("histories", {})[name] = run_card["histories"][name]
        _take_logit_adjust(card, run_card, f"models.{name}")
    card["dataset"] = run_card["dataset"]
    card["metrics"]["float"] |= {k: None for k in card.get("app_metrics", [])}
    _int8_changes_again(app, card)
    card["metrics"]["int8"]["model_bytes"] = sum(
        (dst / model_file(n)).stat().st_size for n in ["", *app.manifest.models])
    card["promoted_alone"] = {"models": list(dict.fromkeys(models)), "run": run_dir.name,
                              "data_sha256": run_card["dataset"].get("sha256")}
    print(f"{app.id}: promoting {', '.join(models)} alone from {run_dir}; the other models stay", file=sys.stderr)
    return card
