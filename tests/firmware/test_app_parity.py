"""The parity contract for every discovered app that has firmware: its demo recording through the
Python pipeline (`tinyml predict`) and through the firmware on qemu-m4 gives identical int8 scores
for every window and identical events. Apps land over time; one without `firmware/*.c` or a
committed model yet is skipped, by name, so nothing is silently green. (`app_id` is parametrized
over the discovered apps by tests/conftest.py.)"""

from __future__ import annotations

import pytest
from fwtest import need

from tinyml.apps import load_app


def _ready(app_id):
    app = load_app(app_id)
    fw = app.dir / "firmware"
    missing = []
    if not (fw.is_dir() and any(fw.glob("*.c"))):
        missing.append("firmware/*.c")
    if not app.tflite_path.is_file():
        missing.append("model/model.int8.tflite")
    return app, missing


def test_device_matches_predict_on_qemu(app_id):
    need("arm-none-eabi-gcc", "qemu-system-arm")
    app, missing = _ready(app_id)
    if missing:
        pytest.skip(f"{app_id} has no {' or '.join(missing)} yet")
    from tinyml.device.parity import device_parity

    p = device_parity(app, "qemu-m4")
    assert p.ok, "\n".join(p.mismatches)
    assert p.windows > 0
    assert p.summary["per_inference"] > 0 and p.summary["cost_unit"] == "instructions"
    for name, st in p.summary.get("stages", {}).items():  # tml_report_stage_cost, e.g. a feature frame
        assert st["mean"] > 0 and st["runs"] > 0, name
    if "stages" in p.summary:
        assert 0 < p.summary["realtime_load"] and p.summary["realtime_clock_hz"] > 0


def test_device_matches_predict_on_the_opt_in_boards(app_id):
    """An app that names an opt-in board in its [firmware] boards (the 8-bit AVR: too small for most apps)
    is held to the same parity there, under that board's emulator."""
    from tinyml.device.board import load_board

    app, missing = _ready(app_id)
    boards = [load_board(b) for b in app.manifest.firmware.get("boards") or []]
    boards = [b.name for b in boards if b.get("OPT_IN")]
    if missing or not boards:
        pytest.skip(f"{app_id} has no {' or '.join(missing) or 'opt-in board'}")
    for board in boards:
        need(load_board(board).cc, *(["simavr"] if load_board(board).runner == "simavr" else []))
    from tinyml.device.parity import device_parity

    for board in boards:
        p = device_parity(app, board, timeout_s=300)
        assert p.ok, f"{board}: " + "\n".join(p.mismatches)
        assert p.windows > 0 and p.summary["per_inference"] > 0, board


def test_stage_cost_lines_parse():
    from tinyml.device.runner import parse_stage_cost

    assert parse_stage_cost("cost feature_frame every=320 n=799 total=78488167") == {
        "stage": "feature_frame", "every": 320, "n": 799, "total": 78488167}
    assert parse_stage_cost("cost of living") is None and parse_stage_cost("hello") is None
