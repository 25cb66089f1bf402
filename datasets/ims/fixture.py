"""A small IMS tree in the distributed layout, for tests (no real data needed).

    write_fixture(root, seed=0, snapshots=3) -> {relative path: float64 [20480, columns]}

`1st_test/` holds the first snapshots of test 1 (8 columns) under their real names, `other/` two
snapshots of an unknown test with 4 columns. Each file is 20,480 lines of tab-separated values with
three decimals (the distributed form, e.g. `-0.022\t-0.039\t...`) and a CRLF-free newline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TEST1 = ["2003.10.22.12.06.24", "2003.10.22.12.09.13", "2003.10.22.12.14.13", "2003.10.22.12.19.13"]
OTHER = ["2010.01.01.00.00.00", "2010.01.01.00.10.00"]


def _snapshot(rng, columns: int) -> np.ndarray:
    t = np.arange(20480) / 20000.0
    x = 0.08 * rng.standard_normal((20480, columns)) + 0.05 * np.sin(2 * np.pi * 33.3 * t)[:, None]
    return np.round(x, 3)


def write_fixture(root: Path, seed: int = 0, snapshots: int = 3) -> dict[str, np.ndarray]:
    root = Path(root)
    rng = np.random.default_rng(seed)
    out = {}
    for folder, names, cols in (("1st_test", TEST1[:snapshots], 8), ("other", OTHER, 4)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            x = _snapshot(rng, cols)
            text = "\n".join("\t".join(f"{v:.3f}" for v in row) for row in x) + "\n"
            (root / folder / name).write_text(text)
            out[f"{folder}/{name}"] = x
    (root / "1st_test" / "readme.pdf").write_bytes(b"%PDF-1.4 not a snapshot")
    return out
