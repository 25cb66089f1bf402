"""What the app's firmware costs on the emulated Cortex-M4 (flash, RAM, instructions per inference) and
whether it agrees with Python, measured by replaying the demo: the model card's device line."""

from __future__ import annotations

import sys

from ..apps import App
from ..errors import TinymlError

CARD_KEYS = ("board", "flash", "ram", "arena", "stack_static", "stack_measured", "cost_unit", "per_inference",
             "per_second_of_data", "estimate_clock_hz", "estimate_ms_per_inference", "estimate_duty_cycle",
             "stages", "realtime_clock_hz", "realtime_per_second", "realtime_load")


def device_cost(app: App, board: str = "qemu-m4") -> dict:
    """Flash, RAM and instructions per inference of the app's firmware replaying its demo on the emulated
    Cortex-M4, with the parity verdict; {"error": ...} when the firmware can't be built here."""
    if not any((app.dir / "firmware").glob("*.c")):
        return {"error": "the app has no firmware/app.c yet"}
    try:
        from .parity import device_parity

        par = device_parity(app, board)
    except (TinymlError, OSError) as e:
        print(f"device cost not measured: {e}", file=sys.stderr)
        return {"error": str(e).splitlines()[0]}
    out = {k: par.summary[k] for k in CARD_KEYS if k in par.summary}
    out["parity"] = "identical scores and events" if par.ok else "; ".join(par.mismatches)
    if not par.ok:
        print(f"WARNING: Python and {board} disagree: {out['parity']}", file=sys.stderr)
    return out
