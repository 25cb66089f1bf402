"""XJTU-SY bearing run-to-failure data (Xi'an Jiaotong University and Changxing Sumyoung; Wang et al. 2018).

Each minute's 1.28 s capture is a CSV (`35Hz12kN/Bearing1_1/123.csv`) of 32,768 rows at 25.6 kHz, acceleration
in g, under one heading:
    Horizontal_vibration_signals,Vertical_vibration_signals
The horizontal axis is read (`--channel accel=Vertical_vibration_signals` takes the other). The rate is not in
the file: it is the data set's. The condition folder names the shaft speed (35Hz12kN: 35 Hz, 2100 rpm; 37.5Hz11kN;
40Hz10kN), and the bearings are LDK UER204 (8 balls of 7.92 mm on a 34.55 mm pitch circle): both become the
run's [machine] values, as a fault type judged at another machine's defect frequencies is a wrong answer.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import TinymlError, option
from . import (FileSignal, ReadSpec, decode_text, head_text, machine_from_path, numbered_lines, parse_numbers,
               the_one_channel)

HEADING = ("Horizontal_vibration_signals", "Vertical_vibration_signals")
RATE = 25600.0
_CONDITION = re.compile(r"^(\d+(?:\.\d+)?)\s*Hz\s*\d+(?:\.\d+)?\s*kN$", re.IGNORECASE)  # 35Hz12kN


def claim(path: Path, head: bytes) -> int:
    first = (head_text(head) or "").lstrip().split("\n", 1)[0]
    return 100 if [c.strip() for c in first.split(",")] == list(HEADING) else 0


def read(path: Path, spec: ReadSpec) -> FileSignal:
    ch = the_one_channel(spec, path, "an XJTU-SY capture is read one axis at a time")
    want = spec.picks.get(ch, HEADING[0]).strip().lower()
    col = next((i for i, h in enumerate(HEADING) if want in (h.lower(), h.split("_")[0].lower())), None)
    if col is None:
        raise TinymlError(f"{path}: no column {spec.picks[ch]!r}; an XJTU-SY capture has {', '.join(HEADING)}")
    lines = numbered_lines(decode_text(path.read_bytes(), path, "XJTU-SY capture"))[1:]  # under the heading
    rows = [ln.split(",") for _, ln in lines]
    values = parse_numbers([r[col] if col < len(r) else "" for r in rows], path, HEADING[col],
                           lambda k: lines[k][0])
    return FileSignal({ch: values}, rate=RATE, units={ch: "g"}, names={ch: HEADING[col]},
                      deployment={"machine": _machine(path)})


def _machine(path: Path) -> dict[str, float]:
    """The UER204's defect orders, and the shaft speed the condition folder names."""
    return machine_from_path(path, "ldk-uer204", _CONDITION, lambda m: float(m.group(1)),
                             "no condition folder (35Hz12kN, 37.5Hz11kN, 40Hz10kN) gives the shaft speed: give it, "
                             f"e.g. {option('set', 'machine.shaft_hz=35')}")
