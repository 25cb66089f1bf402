"""A tiny Speech Commands v2 tree in exactly the distributed layout, for tests (no real data needed).

    write_fixture(root, seed=0) -> {relative path: int16 samples}

Word folders (a few commands and a few other words), `<speaker_hash>_nohash_<n>.wav` clips (16 kHz mono
PCM16, some shorter than 1 s like the real ones), `_background_noise_/` with two long noise files and a
README, and `validation_list.txt` / `testing_list.txt` built with the dataset's own speaker-hash rule.
Clip content is a voiced tone sweep per word (the loader never looks at it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from scipy.io import wavfile

RATE = 16000
WORDS = ("yes", "no", "stop", "go", "bed", "marvin", "seven")
N_SPEAKERS = 12


def _which_set(name: str) -> str:
    h = hashlib.sha1(name.split("_nohash_")[0].encode()).hexdigest()
    pct = (int(h, 16) % (2**27)) * (100.0 / (2**27 - 1))
    return "validation" if pct < 10 else "testing" if pct < 20 else "training"


def write_fixture(root, seed: int = 0) -> dict[str, np.ndarray]:
    root = Path(root)
    rng = np.random.default_rng(seed)
    speakers = [hashlib.sha1(f"speaker{i}-{seed}".encode()).hexdigest()[:8] for i in range(N_SPEAKERS)]
    out: dict[str, np.ndarray] = {}
    lists = {"validation": [], "testing": []}
    for wi, word in enumerate(WORDS):
        (root / word).mkdir(parents=True, exist_ok=True)
        for si, spk in enumerate(speakers):
            for n in range(1 + (si + wi) % 2):
                dur = RATE if rng.random() < 0.7 else int(rng.integers(RATE // 2, RATE))
                t = np.arange(dur) / RATE
                f0 = 100 + 20 * si + 30 * wi
                x = 0.3 * np.sin(2 * np.pi * (f0 * t + 50 * t * t)) * np.hanning(dur)
                x = np.round(x * 32767 + rng.normal(0, 30, dur)).clip(-32768, 32767).astype(np.int16)
                rel = f"{word}/{spk}_nohash_{n}.wav"
                wavfile.write(root / rel, RATE, x)
                out[rel] = x
                s = _which_set(Path(rel).name)
                if s in lists:
                    lists[s].append(rel)
    (root / "validation_list.txt").write_text("".join(r + "\n" for r in sorted(lists["validation"])))
    (root / "testing_list.txt").write_text("".join(r + "\n" for r in sorted(lists["testing"])))
    bg = root / "_background_noise_"
    bg.mkdir(exist_ok=True)
    white = rng.normal(0, 0.1, 3 * RATE)
    pink = np.cumsum(rng.normal(0, 0.02, 3 * RATE)); pink -= np.convolve(pink, np.ones(200) / 200, "same")
    for name, x in (("white_noise", white), ("pink_noise", pink)):
        q = np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)
        wavfile.write(bg / f"{name}.wav", RATE, q)
        out[f"_background_noise_/{name}.wav"] = q
    (bg / "README.md").write_text("Long background noise files (not clips).\n")
    (root / "LICENSE").write_text("CC-BY-4.0 (fixture)\n")
    return out
