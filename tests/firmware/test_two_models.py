"""Several models per app, end to end, on the two-models fixture (tests/firmware/fixtures/two-models: a
burst classifier and an autoencoder, [models.recon]): the contract checks every app gets, both models
compiled into one shared arena bit-exact with TFLM, the firmware on host and qemu-m4 identical to the
Python pipeline (scores, events, and every output of the second model), and the training chain: both
models trained, reproducible bit for bit, promoted, evaluated against per-model floors."""

from __future__ import annotations

import ctypes
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from fwtest import FIXTURE_APPS, need

from apptest import check_committed_models, check_golden_replay, golden_models, run_cli
from tinyml.apps import load_app


def _app():
    return load_app("two-models", root=FIXTURE_APPS)


def test_contract_checks_cover_both_models():
    app = _app()
    assert list(app.manifest.models) == ["recon"]
    check_committed_models(app)
    check_golden_replay(app)
    assert [name for name, _, _ in golden_models(app)] == ["", "recon"]


def test_contract_checks_fail_on_a_wrong_second_model(tmp_path):
    """A further model that is not the card's, or too big for its own ceiling, fails the contract."""
    d = tmp_path / "two-models"
    shutil.copytree(FIXTURE_APPS / "two-models", d)
    app = load_app("two-models", root=tmp_path)
    (d / "model" / "recon.int8.tflite").write_bytes((d / "model" / "model.int8.tflite").read_bytes())
    with pytest.raises(AssertionError, match="another recon model"):
        check_committed_models(app)
    shutil.copy(FIXTURE_APPS / "two-models" / "model" / "recon.int8.tflite", d / "model")
    toml = d / "app.toml"
    toml.write_text(toml.read_text().replace("max_model_bytes = 4096", "max_model_bytes = 1000"))
    with pytest.raises(AssertionError, match="recon"):
        check_committed_models(load_app("two-models", root=tmp_path))


def test_shared_arena_is_planned_together_and_bit_exact(tmp_path):
    """compile_models: each model's input and output keep their own bytes, the intermediates share, the
    arena is smaller than the two apart; built together on the host, both models equal TFLM, and running
    the second model leaves the first one's input and output untouched."""
    need("gcc")
    from tinyml import cbuild
    from tinyml.compile import compile_tflite, runtime_dir, runtime_sources
    from tinyml.compile.models import compile_models
    from tinyml.reference import TflmModel

    app = _app()
    blobs = {"": app.tflite_path.read_bytes(), "recon": app.model_path("recon").read_bytes()}
    cms = compile_models(blobs, tmp_path)
    arena = cms[""].arena_size
    assert cms["recon"].arena_size == arena
    alone = {n: compile_tflite(b).arena_size for n, b in blobs.items()}
    io = {n: cm.input_size + cm.output_size for n, cm in cms.items()}
    assert max(alone.values()) <= arena < sum(alone.values()) + sum(io.values())
    spans = {n: [(cm.tensor_offset(t.index), cm.tensor_offset(t.index) + t.size)
                 for t in (cm.lowered.input, cm.lowered.output)] for n, cm in cms.items()}
    for a, b in spans[""]:  # the primary's input and output overlap nothing of the second model
        for t, size in cms["recon"].lowered.arena_tensors.items():
            off = cms["recon"].tensor_offset(t)
            assert b <= off or off + size <= a
    assert "int32_t tml_model_arena[" in cms[""].c_source and "extern int32_t tml_model_arena[]" in cms["recon"].c_source
    lib = cbuild.load_shared_lib(cbuild.build_shared_lib(
        "two-models-shared", [tmp_path / "model.c", tmp_path / "model_recon.c", *runtime_sources()],
        include_dirs=[tmp_path, runtime_dir()]))
    fns = {}
    for n, prefix in (("", "tml_model"), ("recon", "tml_model_recon")):
        f_in, f_out = getattr(lib, f"{prefix}_input"), getattr(lib, f"{prefix}_output")
        f_in.restype = f_out.restype = ctypes.c_void_p
        fns[n] = (f_in, f_out, getattr(lib, f"{prefix}_invoke"))
    rng = np.random.default_rng(0)
    for _ in range(20):
        outs = {}
        for n in ("", "recon"):
            cm, ref = cms[n], TflmModel(blobs[n])
            x = rng.integers(-128, 128, cm.input_size, dtype=np.int8)
            f_in, f_out, invoke = fns[n]
            ctypes.memmove(f_in(), x.ctypes.data, x.size)
            assert invoke() == 0
            y = np.frombuffer(ctypes.string_at(f_out(), cm.output_size), np.int8)
            assert np.array_equal(y, ref.invoke(x.reshape(ref.input.shape)))
            outs[n] = (x, y)
        x0, y0 = outs[""]  # still there after the autoencoder ran
        assert np.array_equal(np.frombuffer(ctypes.string_at(fns[""][0](), x0.size), np.int8), x0)
        assert np.array_equal(np.frombuffer(ctypes.string_at(fns[""][1](), y0.size), np.int8), y0)


@pytest.mark.parametrize("board", ["host", "qemu-m4"])
def test_firmware_runs_both_models_like_python(board):
    need("gcc") if board == "host" else need("arm-none-eabi-gcc", "qemu-system-arm")
    from tinyml.device.parity import device_parity
    from tinyml.fixtures import demo_path
    from tinyml.predict import Pipeline, prepare, read_input

    app = _app()
    p = device_parity(app, board)
    assert p.ok, p.mismatches
    assert p.python_events and p.summary["stages"]["model_recon"]["mean"] > 0
    # every window's autoencoder output, logged by app.c, equals the Python pipeline's, bit for bit
    res = Pipeline(app).run(prepare(app, read_input(app, demo_path(app)), notice=False))
    _, want = res.model_io["recon"]
    from tinyml.device.firmware import build_app
    from tinyml.device.runner import open_transport, stream_signal

    im = build_app(app, board)
    run = stream_signal(open_transport(im.board, im.elf), prepare(app, read_input(app, demo_path(app)), notice=False),
                        labels=app.manifest.labels, expect_hash=app.manifest.feature_hash(), timeout_s=120)
    logged = [re.fullmatch(r"recon (\d+) ([0-9a-f]+)", line) for line in run.logs]
    got = np.array([np.frombuffer(bytes.fromhex(mm[2]), np.int8) for mm in logged if mm])
    assert got.shape == want.shape and np.array_equal(got, want)
    assert [int(mm[1]) for mm in logged if mm] == run.times.tolist()


def _scratch_repo(tmp_path):
    """A scratch repository holding a copy of the two-models app, trimmed to train in seconds (4 units, 2
    epochs), with the real datasets and firmware linked in: (root, the app's folder, the CLI's environment)."""
    root = tmp_path / "repo"
    (root / "apps").mkdir(parents=True)
    app_dir = root / "apps" / "two-models"
    shutil.copytree(FIXTURE_APPS / "two-models", app_dir)
    for name in ("datasets", "firmware"):
        (root / name).symlink_to(FIXTURE_APPS.parents[2] / name)
    (root / "pyproject.toml").write_text("")
    toml = app_dir / "app.toml"
    text = re.sub(r"(?m)^options = .*$", "options = { units = 4, clips_per_unit = 4, stream_minutes = 0.2 }",
                  toml.read_text())
    toml.write_text(re.sub(r"(?m)^epochs = \d+", "epochs = 2", text))
    return root, app_dir, {"TINYML_ROOT": str(root), "TINYML_CACHE": str(tmp_path / "cache")}


def test_two_models_train_reproducibly_promote_and_eval(tmp_path):
    """In a scratch repository with a tiny data set: `tinyml train` (no --out) writes a new run folder and
    leaves the committed models alone; a second run gives the same data, the same bytes for both models and
    the same metrics; `promote` refuses a run of other features, then commits one (models, card, golden
    vectors, device line); `eval` checks both models' floors, a further model's table included."""
    root, app_dir, env = _scratch_repo(tmp_path)
    toml = app_dir / "app.toml"
    text = toml.read_text()
    committed = {p.name: p.read_bytes() for p in (app_dir / "model").iterdir()}

    for _ in range(2):
        res = run_cli("train", "two-models", env=env)
        assert res.returncode == 0, res.stderr[-3000:]
    runs = sorted(p for p in (root / "build" / "two-models" / "runs").iterdir() if p.is_dir())
    assert len(runs) == 2 and {p.name: p.read_bytes() for p in (app_dir / "model").iterdir()} == committed
    cards = [json.loads((r / "card.json").read_text()) for r in runs]
    for f in ("model.int8.tflite", "recon.int8.tflite"):
        assert (runs[0] / f).read_bytes() == (runs[1] / f).read_bytes(), f"{f} differs between two runs"
    assert cards[0]["dataset"]["sha256"] == cards[1]["dataset"]["sha256"]
    assert cards[0]["metrics"] == cards[1]["metrics"] and cards[0]["models"] == cards[1]["models"]
    assert "recon" in cards[0]["models"] and "recon_auc" in cards[0]["metrics"]["int8"]

    toml.write_text(text.replace("[features]\nversion = 1", "[features]\nversion = 2"))
    res = run_cli("promote", "two-models", env=env)
    assert res.returncode == 2 and "other features" in res.stderr.strip().splitlines()[-1]
    toml.write_text(text)
    (runs[1] / "card.json").write_text(json.dumps({**cards[1], "overrides": ["model.epochs=3"]}))
    res = run_cli("promote", "two-models", env=env)  # the last run: trained with --set, not the manifest's
    assert res.returncode == 2 and "--set model.epochs=3" in res.stderr.strip().splitlines()[-1]
    res = run_cli("promote", "two-models", runs[0].name, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "acceptance:" in res.stderr
    model = app_dir / "model"
    assert (model / "recon.int8.tflite").read_bytes() == (runs[0] / "recon.int8.tflite").read_bytes()
    card = json.loads((model / "card.json").read_text())
    assert "device" in card  # measured at promotion (an error line where no toolchain is installed)
    if "error" not in card["device"]:
        assert card["device"]["parity"].startswith("identical") and "recon" in str(card["device"]["stages"])
    app = load_app("two-models", root=root / "apps")
    if card["acceptance"]["met"]:
        check_committed_models(app)
    check_golden_replay(app)

    toml.write_text(text.replace("[acceptance.recon]\n", "[acceptance.recon]\nmax_mae = 0.0001\n"))
    res = run_cli("eval", "two-models", env=env)
    assert res.returncode == 2 and "recon.mae" in res.stderr.strip().splitlines()[-1]
    toml.write_text(text)

    # --reuse-float on a run that lacks a further model (one added to the manifest since): the primary float
    # model is reused, the missing one fitted (from its own seed: the same bytes as a full run's)
    last = Path((root / "build" / "two-models" / "runs" / "LATEST").read_text().strip())
    (last / "float" / "recon.keras").unlink()
    res = run_cli("train", "two-models", "--reuse-float", "--out", str(tmp_path / "c"), env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "c" / "recon.int8.tflite").read_bytes() == (last / "recon.int8.tflite").read_bytes()
    from tinyml.reference import TflmModel  # the reused primary: re-serialised (tensor names), the same arithmetic

    a, b = (TflmModel((d / "model.int8.tflite").read_bytes()) for d in (tmp_path / "c", last))
    x = np.random.default_rng(0).integers(-128, 128, (8, *a.input.shape[1:])).astype(np.int8)
    assert np.array_equal(a.invoke_batch(x), b.invoke_batch(x))
    assert (tmp_path / "c" / "float" / "recon.keras").is_file()
    (tmp_path / "c" / "float" / "model.keras").unlink()  # no primary float model: refused in one line
    res = run_cli("train", "two-models", "--reuse-float", "--out", str(tmp_path / "d"), env=env)
    assert res.returncode == 2 and "no saved float model" in res.stderr.strip().splitlines()[-1]


def test_compile_verb_emits_every_model_in_one_arena(tmp_path):
    root = tmp_path / "repo"
    (root / "apps").mkdir(parents=True)
    (root / "apps" / "two-models").symlink_to(FIXTURE_APPS / "two-models")
    (root / "pyproject.toml").write_text("")
    res = run_cli("compile", "two-models", "--out", str(tmp_path / "gen"), env={"TINYML_ROOT": str(root)})
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("(shared)") == 2 and "two-models/recon" in res.stdout
    assert {p.name for p in (tmp_path / "gen").iterdir()} == {"model.c", "model.h", "model_recon.c", "model_recon.h"}


def test_predict_takes_a_model_folder(tmp_path):
    """`predict --model <folder>`: every model of the app from a run folder (a copy of the committed one
    gives the committed output; a folder that lacks a model is refused in one line)."""
    root = tmp_path / "repo"
    (root / "apps").mkdir(parents=True)
    (root / "apps" / "two-models").symlink_to(FIXTURE_APPS / "two-models")
    (root / "pyproject.toml").write_text("")
    env = {"TINYML_ROOT": str(root)}
    demo = str(FIXTURE_APPS / "two-models" / "fixtures" / "demo.csv")
    run = tmp_path / "run"
    shutil.copytree(FIXTURE_APPS / "two-models" / "model", run)
    a = run_cli("predict", "two-models", demo, "--model", str(run), env=env)
    assert a.returncode == 0, a.stderr
    assert a.stdout == run_cli("predict", "two-models", demo, env=env).stdout
    (run / "recon.int8.tflite").unlink()
    b = run_cli("predict", "two-models", demo, "--model", str(run), env=env)
    assert b.returncode == 2 and "recon.int8.tflite" in b.stderr.strip().splitlines()[-1]


def test_promote_models_takes_one_further_model_alone(tmp_path):
    """`promote RUN --models recon`: the run's recon model, card entry and curves; the committed primary model,
    its card figures and its file stay; the app's own float figures go n/a; the primary or an unknown name
    is refused in one line."""
    root, app_dir, env = _scratch_repo(tmp_path)
    model = app_dir / "model"
    before = json.loads((model / "card.json").read_text())
    primary = (model / "model.int8.tflite").read_bytes()
    res = run_cli("train", "two-models", "--out", str(tmp_path / "run"), env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    run = json.loads((tmp_path / "run" / "card.json").read_text())
    assert (tmp_path / "run" / "recon.int8.tflite").read_bytes() != (model / "recon.int8.tflite").read_bytes()
    for bad, needle in ((["model"], "'model': not one of the further models"), (["nope"], "'nope': not one of")):
        res = run_cli("promote", "two-models", str(tmp_path / "run"), "--models", *bad, env=env)
        assert res.returncode == 2 and needle in res.stderr.strip().splitlines()[-1], res.stderr[-2000:]
    res = run_cli("promote", "two-models", str(tmp_path / "run"), "--models", "recon", env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "eval two-models --card" in res.stderr
    card = json.loads((model / "card.json").read_text())
    assert (model / "model.int8.tflite").read_bytes() == primary and card["model_sha256"] == before["model_sha256"]
    assert (model / "recon.int8.tflite").read_bytes() == (tmp_path / "run" / "recon.int8.tflite").read_bytes()
    assert card["models"]["recon"] == run["models"]["recon"] and card["histories"]["recon"] == run["histories"]["recon"]
    assert card["histories"].get("") == before.get("histories", {}).get("") and card["dataset"] == run["dataset"]
    assert all(card["metrics"]["float"][k] is None for k in card["app_metrics"])
    # the int8 error increase is the promoted model's own now, not the earlier card's
    assert card["metrics"]["int8_error_increase_over"] == ["recon.mae"]
    assert card["metrics"]["int8"]["int8_error_increase_pct"] == pytest.approx(  # from the card's rounded MAEs
        run["models"]["recon"]["metrics"]["int8"]["int8_error_increase_pct"], abs=0.01)
    assert card["promoted_alone"] == {"models": ["recon"], "run": "run", "data_sha256": run["dataset"]["sha256"]}
    assert "`recon.int8.tflite` promoted alone" in (model / "README.md").read_text()


ADJUST = {"tau": 1.0, "train_counts": [5, 3]}  # a recorded logit adjustment (the card's form)


def _with_adjusted_recon(tmp_path) -> Path:
    """A copy of the fixture whose committed card records a logit adjustment of the recon model."""
    d = tmp_path / "two-models"
    shutil.copytree(FIXTURE_APPS / "two-models", d)
    card = json.loads((d / "model" / "card.json").read_text())
    (d / "model" / "card.json").write_text(json.dumps({**card, "logit_adjust": {"models.recon": ADJUST}}))
    return d


def test_a_kept_model_keeps_its_logit_adjustment(tmp_path):
    """`train --keep recon`: the kept model's logit adjustment comes from the committed card, so the run's card
    records it (check_run refuses a run whose adjustment is not the manifest's)."""
    from tinyml.train import _committed_to_keep

    _with_adjusted_recon(tmp_path)
    kept = _committed_to_keep(load_app("two-models", root=tmp_path), ("recon",))
    assert kept["recon"].logit_adjust == ADJUST


def test_promote_models_takes_the_promoted_models_logit_adjustment(tmp_path):
    """`promote --models recon`: the committed card's logit adjustment of recon is the run's (added, or dropped
    when the run has none)."""
    from tinyml.runs import promote_models

    d = _with_adjusted_recon(tmp_path)
    app = load_app("two-models", root=tmp_path)
    run_dir = tmp_path / "run"
    shutil.copytree(d / "model", run_dir)
    run_card = {**json.loads((run_dir / "card.json").read_text()), "histories": {"recon": {"loss": [1.0]}}}
    other = {"tau": 0.5, "train_counts": [4, 4]}
    card = promote_models(app, run_dir, {**run_card, "logit_adjust": {"models.recon": other}}, ["recon"])
    assert card["logit_adjust"] == {"models.recon": other}
    card = promote_models(app, run_dir, {k: v for k, v in run_card.items() if k != "logit_adjust"}, ["recon"])
    assert "logit_adjust" not in card


def test_promote_models_refuses_a_run_that_holds_out_the_kept_models_training_subjects(tmp_path):
    """`promote --models recon`: the primary model stays; a run whose validation or test subjects include one it
    trained on (per the committed card) is refused in one line, before anything is copied."""
    from tinyml.errors import TinymlError
    from tinyml.runs import promote_models

    d = tmp_path / "two-models"
    shutil.copytree(FIXTURE_APPS / "two-models", d)
    committed = json.loads((d / "model" / "card.json").read_text())
    committed["dataset"]["cohorts"] = {"bursts": {"train": ["u1", "u2"], "val": ["u3"], "test": ["u4"]}}
    (d / "model" / "card.json").write_text(json.dumps(committed))
    app = load_app("two-models", root=tmp_path)
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE_APPS / "two-models" / "model", run_dir)
    (run_dir / "recon.int8.tflite").write_bytes(b"not the committed one")
    run_card = {**committed, "histories": {"recon": {"loss": [1.0]}},
                "dataset": {**committed["dataset"], "cohorts": {"bursts": {"train": ["u1", "u3"], "val": ["u2"],
                                                                           "test": ["u4"]}}}}
    with pytest.raises(TinymlError, match=r"^the committed \[model\] model trained on 1 subject\(s\) .*\(e.g. u2\).*"
                                          r"promote the whole run$"):
        promote_models(app, run_dir, run_card, ["recon"])
    assert (d / "model" / "recon.int8.tflite").read_bytes() != b"not the committed one"
    promote_models(app, run_dir, {**run_card, "dataset": committed["dataset"]}, ["recon"])  # the same split
