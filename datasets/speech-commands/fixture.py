"""Tiny Speech Commands trees in exactly the distributed layouts, for tests (no real data needed).

    write_fixture(root, seed=0) -> {relative path: int16 samples}     the distribution (v0.02) layout
    write_test_set(root, seed=0) -> {relative path: int16 samples}    the official test set's layout

Word folders (a few commands and a few other words), `<speaker_hash>_nohash_<n>.wav` clips (16 kHz mono
PCM16, some shorter than 1 s like the real ones), `_background_noise_/` with two long noise files and a
README, and `validation_list.txt` / `testing_list.txt` built with the dataset's own speaker-hash rule.
Clip content is a voiced tone sweep per word, 0.3-0.7 s long inside its clip, with a little noise around it
(the loader only cuts it out of its silence when it makes streams).

The test set: command folders, `_unknown_/<word>_<speaker>_nohash_<n>.wav.wav` and `_silence_/<k>.wav`, by
speakers whose hash puts them in the testing split (as the real one's are), one of them also a speaker of
`write_fixture(root, seed)`'s testing clips (the same utterance in two copies).
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


def _clip(rng, si: int, wi: int) -> np.ndarray:
    """A clip (1 s, or shorter like some real ones): a word-like tone burst in low noise."""
    dur = RATE if rng.random() < 0.7 else int(rng.integers(RATE // 2, RATE))
    n = int(rng.integers(int(0.3 * RATE), int(0.5 * RATE)))
    start = int(rng.integers(0, dur - n))
    t = np.arange(n) / RATE
    f0 = 100 + 20 * si + 30 * wi
    x = np.zeros(dur)
    x[start : start + n] = 0.3 * np.sin(2 * np.pi * (f0 * t + 50 * t * t)) * np.hanning(n)
    return np.round(x * 32767 + rng.normal(0, 30, dur)).clip(-32768, 32767).astype(np.int16)


def speakers_in(split: str, count: int, seed: int) -> list[str]:
    """Speaker hashes that the dataset's rule puts in `split` ("training", "validation" or "testing")."""
    out, i = [], 0
    while len(out) < count:
        spk = hashlib.sha1(f"{split}{i}-{seed}".encode()).hexdigest()[:8]
        if _which_set(f"{spk}_nohash_0.wav") == split:
            out.append(spk)
        i += 1
    return out


def write_fixture(root, seed: int = 0) -> dict[str, np.ndarray]:
    root = Path(root)
    rng = np.random.default_rng(seed)
    # every split has speakers (the rule puts ~10 % in validation and ~10 % in testing)
    speakers = speakers_in("training", N_SPEAKERS - 4, seed) + speakers_in("validation", 2, seed) + \
        speakers_in("testing", 2, seed)
    out: dict[str, np.ndarray] = {}
    lists = {"validation": [], "testing": []}
    for wi, word in enumerate(WORDS):
        (root / word).mkdir(parents=True, exist_ok=True)
        for si, spk in enumerate(speakers):
            for n in range(1 + (si + wi) % 2):
                x = _clip(rng, si, wi)
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


TEST_COMMANDS = ("yes", "no", "stop", "go")
TEST_OTHER = ("bed", "seven", "wow")


def write_test_set(root, seed: int = 0) -> dict[str, np.ndarray]:
    """The official test set's layout: 3 testing-split speakers (one shared with write_fixture(seed)'s
    testing speakers), each saying every command and two other words, and 4 silence clips."""
    root = Path(root)
    rng = np.random.default_rng(seed + 99)
    shared = speakers_in("testing", 1, seed)
    speakers = shared + speakers_in("testing", 3, seed + 1000)[:2]
    out: dict[str, np.ndarray] = {}
    for si, spk in enumerate(speakers):
        for wi, word in enumerate(TEST_COMMANDS):
            (root / word).mkdir(parents=True, exist_ok=True)
            rel = f"{word}/{spk}_nohash_0.wav"
            out[rel] = x = _clip(rng, si, wi)
            wavfile.write(root / rel, RATE, x)
        for wi, word in enumerate(TEST_OTHER[:2] if si % 2 else TEST_OTHER[1:]):
            (root / "_unknown_").mkdir(parents=True, exist_ok=True)
            rel = f"_unknown_/{word}_{spk}_nohash_0.wav.wav"  # the test set's own double suffix
            out[rel] = x = _clip(rng, si, 5 + wi)
            wavfile.write(root / rel, RATE, x)
    (root / "_silence_").mkdir(parents=True, exist_ok=True)
    for k in range(4):
        rel = f"_silence_/{k}.wav"
        out[rel] = x = np.round(rng.normal(0, 300 * k, RATE)).clip(-32768, 32767).astype(np.int16)
        wavfile.write(root / rel, RATE, x)
    (root / "README.md").write_text("# Speech Commands Data Set Test Files v0.02 (fixture)\n")
    return out
