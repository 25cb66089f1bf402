"""State an app's post-processor learns on its device in the field (a machine's healthy baseline), kept as
a file on the host and in the device's non-volatile page.

An app opts in through its PostProcessor (pipeline.py): `calibration()` returns the learned state (a dict of
JSON values; None until learned) and `PostProcessor(..., calibration=state)` starts from one. One that
confirms a state on further captures before trusting it (a baseline verified on the next ones) may offer
`provisional_calibration()`, the state learned but not confirmed: `tinyml calibrate` keeps it, with a notice,
when the recording ends before the confirmation. Its
`nv_image(manifest, state) -> bytes` hook gives the non-volatile page the firmware reads at boot (the same
state, as firmware/app.c stores it) and `nv_state(manifest, page) -> state | None` reads one back.

    tinyml calibrate <app> healthy.wav        -> healthy.calibration.json (what the device would learn)
    tinyml predict <app> x.wav --calibration healthy.calibration.json
    tinyml run <app> --input x.wav --calibration healthy.calibration.json   (the page preloaded)
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from . import hints
from .apps import App
from .errors import TinymlError, notice

FORMAT = 1


def _hook(app: App, name: str):
    fn = getattr(app.pipeline, name, None)
    if fn is None:
        raise TinymlError(f"app {app.id} learns no device state: its pipeline.py has no {name}()")
    return fn


def supports_calibration(app: App) -> bool:
    return callable(getattr(getattr(app.pipeline, "PostProcessor", None), "calibration", None))


def learn(app: App, path, rate=None, channel=None) -> dict:
    """The state the app's post-processor learns from a recording (run through the whole pipeline, as
    `predict` runs it). The recording is the installer's "healthy": where its captures after the state was
    learned raise events against it, a notice says so (the machine was still settling, e.g. a new bearing
    running in or a machine warming up, or it was not healthy); the state is returned all the same."""
    from .errors import notices_held
    from .predict import Pipeline, prepare, read_input

    if not supports_calibration(app):
        raise TinymlError(f"app {app.id} has nothing to calibrate (its PostProcessor has no calibration())")
    with notices_held():
        rec = read_input(app, path, rate, channel)
        sig = prepare(app, rec)
    pipe = Pipeline(app)
    pp = pipe.postprocessor()
    learned_at = _watch_learning(pp)
    res = pipe.run(sig, deployment=rec.deployment, postprocessor=pp)
    state = pp.calibration()
    if state is None:
        seconds = f"{len(sig) / app.manifest.rate:.2f} s"
        provisional = getattr(pp, "provisional_calibration", lambda: None)()  # learned, not confirmed
        if provisional is None:
            raise TinymlError(f"{path}: {app.id} learned no calibration from it ({seconds}): "
                              "give a longer recording of the machine running healthy")
        notice(path, f"the recording ({seconds}) ended before {app.id} confirmed the state "
                     "it learned on further captures: it is kept as learned (the installer's word that the machine "
                     "is steady); a longer recording confirms it")
        return provisional
    _say_events_after(app, path, res, learned_at[0])
    return state


def _watch_learning(pp) -> list:
    """[the number of windows the post-processor had stepped when its state was first learned] (None until
    then), kept up to date while it runs."""
    at: list = [None]
    step, calls = pp.step, [0]

    @functools.wraps(step)  # the same signature: run_postprocessor reads it (a features keyword)
    def watched(*args, **kwargs):
        out = step(*args, **kwargs)
        calls[0] += 1
        if at[0] is None and pp.calibration() is not None:
            at[0] = calls[0]
        return out

    pp.step = watched
    return at


def _say_events_after(app: App, path, res, learned_windows: int) -> None:
    """A notice when the captures after the learned state raised events against it."""
    from collections import Counter

    end = res.ends[learned_windows - 1]
    later = [app.manifest.event_names[lab] for idx, lab, _ in res.events if idx > end]
    if not later:
        return
    rate = app.manifest.rate
    first = next(idx for idx, _, _ in res.events if idx > end) / rate
    kinds = ", ".join(f"{name} x{n}" for name, n in Counter(later).most_common())
    notice(path, f"after the state was learned (at {end / rate:.1f} s) the rest of this 'healthy' recording raised "
                 f"{len(later)} event(s) against it ({kinds}; the first at {first:.1f} s): the machine was still "
                 "settling (a new bearing running in, a machine warming up) or not healthy; calibrate from a later "
                 "recording of it running steadily")


def write(app: App, state: dict, out) -> Path:
    out = Path(out)
    doc = {"format": FORMAT, "app": app.id, "feature_hash": app.manifest.feature_hash(),
           "deployment": {s: dict(t) for s, t in app.manifest.deployment.items()}, "calibration": state}
    out.write_text(json.dumps(doc, indent=1) + "\n")
    return out


def load(app: App, path) -> dict:
    """A calibration file for this app and these features; one-line errors otherwise."""
    path = Path(path)
    if not path.is_file():
        raise TinymlError(f"{path}: calibration file not found; make one: "
                          f"{hints.command('calibrate', app.id, '<healthy recording>')}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        state, who, fh = doc["calibration"], doc["app"], doc["feature_hash"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        raise TinymlError(f"{path}: not a calibration file (JSON with app, feature_hash and calibration)") from None
    if who != app.id:
        raise TinymlError(f"{path}: a calibration of app {who!r}, not {app.id!r}")
    if fh != app.manifest.feature_hash():
        raise TinymlError(f"{path}: made with other features ({fh}) than the manifest's "
                          f"({app.manifest.feature_hash()}); calibrate again")
    if not isinstance(state, dict):
        raise TinymlError(f"{path}: 'calibration' must be an object")
    return state


def device_image(app: App, state: dict) -> bytes:
    """The non-volatile page that holds `state` on the device."""
    return _hook(app, "nv_image")(app.manifest, state)


def device_state(app: App, page: bytes | None) -> dict | None:
    """The state in a device's non-volatile page (None: nothing learned, or another layout)."""
    return _hook(app, "nv_state")(app.manifest, page)
