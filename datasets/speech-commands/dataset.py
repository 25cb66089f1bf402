"""Google Speech Commands v2 (real data loader), read in its distributed layout.

    <root>/
      yes/ 0a7c2a8d_nohash_0.wav ...      one folder per word, <speaker_hash>_nohash_<n>.wav,
      ...                                 16 kHz mono PCM16, up to 1 s (shorter clips are zero-padded)
      _background_noise_/ white_noise.wav pink_noise.wav doing_the_dishes.wav ...
      validation_list.txt testing_list.txt   relative paths ("yes/0a7c2a8d_nohash_0.wav")

The 12-class task: the ten commands (yes no up down left right on off stop go), "silence" (1 s slices of
`_background_noise_`) and "unknown" (every other word). Every recording's `subject` is the speaker hash
(noise slices: "noise:<file>"), so the core's subject split never puts a speaker in two splits;
`official_split()` gives the dataset's own train/validation/testing assignment.

Entry point: load(path, *, rate, channels, **options) -> list[Recording]. Imported by file path.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.readers.wav import wav_samples
from tinyml.recording import Recording

RATE = 16000
CLIP = RATE  # 1 s
COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
OTHER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
               "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
               "backward", "forward", "follow", "learn", "visual")
SILENCE, UNKNOWN = "silence", "unknown"
BACKGROUND = "_background_noise_"
NAME = re.compile(r"^([0-9a-fA-F]+)_nohash_(\d+)\.wav$")
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1  # ~134M, from the dataset's README


def which_set(filename: str, validation_percentage: float = 10.0, testing_percentage: float = 10.0) -> str:
    """The dataset's own split rule (its README / TF input_data.py): a hash of the speaker part of the name."""
    base = Path(filename).name
    hash_name = re.sub(r"_nohash_.*$", "", base)
    h = hashlib.sha1(hash_name.encode("utf-8")).hexdigest()
    pct = (int(h, 16) % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if pct < validation_percentage:
        return "validation"
    if pct < testing_percentage + validation_percentage:
        return "testing"
    return "training"


def task_label(word: str) -> str:
    """Word folder -> 12-class label."""
    if word == BACKGROUND or word == "_silence_":
        return SILENCE
    return word if word in COMMANDS else UNKNOWN


def official_split(rec: Recording, lists: dict[str, set[str]]) -> str:
    """'validation', 'testing' or 'training' for a loaded clip, from the lists read by `read_lists`."""
    rel = "/".join(Path(rec.source).parts[-2:])
    for name, paths in lists.items():
        if rel in paths:
            return name
    return "training"


def read_lists(root: Path) -> dict[str, set[str]]:
    out = {}
    for name, fn in (("validation", "validation_list.txt"), ("testing", "testing_list.txt")):
        p = Path(root) / fn
        out[name] = {ln.strip() for ln in p.read_text().splitlines() if ln.strip()} if p.is_file() else set()
    return out


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """PCM16 (or float) WAV -> float32 mono in [-1, 1), rate."""
    x, rate = wav_samples(path)
    return (x.mean(axis=1) if x.ndim == 2 else x), rate


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad (at the end, like the dataset's own tools) or cut to n samples."""
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.zeros(n - len(x), np.float32)])


def load(
    path,
    *,
    rate: float,
    channels,
    words: list[str] | None = None,
    unknown_fraction: float = 1.0,
    silence_fraction: float = 0.1,
    include_background: bool = True,
    seed: int = 0,
    max_per_word: int = 0,
    progress: bool = False,
) -> list[Recording]:
    """Every clip as a 1 s Recording at 16 kHz (the core resamples to the manifest rate).

    label: the 12-class label; activity: the word (folder name); subject: the speaker hash.
    words: load only these word folders (default: all). unknown_fraction: keep this share of the
    non-command clips (chosen per speaker, so a speaker keeps all or none). silence_fraction: add this
    many 1 s background-noise slices per loaded clip (the TF recipe uses 10%). max_per_word: cap for tests.
    """
    root = Path(path)
    if not root.is_dir():
        raise TinymlError(f"{root}: not a folder (expected the Speech Commands root)")
    if len(channels) != 1:
        raise TinymlError(f"speech-commands is mono; the manifest asks for channels {list(channels)}")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))
    if words is not None:
        folders = [p for p in folders if p.name in set(words)]
    if not folders:
        raise TinymlError(f"{root}: no word folders (yes/, no/, ...): is this the Speech Commands root?")
    rng = np.random.default_rng(seed)
    ch = tuple(channels)
    recs: list[Recording] = []
    files = []
    for d in folders:
        fs = sorted(p for p in d.glob("*.wav") if NAME.match(p.name))
        if max_per_word:
            fs = fs[:max_per_word]
        files += [(d.name, p) for p in fs]
    keep_unknown = _speaker_subset({NAME.match(p.name).group(1) for w, p in files if task_label(w) == UNKNOWN},
                                   unknown_fraction, seed)
    it = files
    if progress:
        from tqdm import tqdm

        it = tqdm(files, desc="speech-commands", unit="clip")
    for word, p in it:
        speaker = NAME.match(p.name).group(1)
        label = task_label(word)
        if label == UNKNOWN and speaker not in keep_unknown:
            continue
        x, r = read_wav(p)
        if r != RATE:
            raise TinymlError(f"{p}: {r} Hz, Speech Commands clips are {RATE} Hz")
        recs.append(Recording(_fit(x, CLIP)[:, None], float(RATE), ch, subject=speaker, label=label,
                              activity=word, source=str(p)))
    bg = root / BACKGROUND
    if include_background and bg.is_dir() and silence_fraction > 0:
        noises = [(p, x) for p in sorted(bg.glob("*.wav")) for x, r in [read_wav(p)] if r == RATE and len(x) >= CLIP]
        n_sil = int(round(silence_fraction * len(recs)))
        for k in range(n_sil if noises else 0):
            p, x = noises[k % len(noises)]  # round-robin over the noise files
            s = int(rng.integers(0, len(x) - CLIP + 1))
            gain = float(rng.uniform(0.0, 1.0))  # like TF's background_volume range
            recs.append(Recording((x[s : s + CLIP] * gain)[:, None].astype(np.float32), float(RATE), ch,
                                  subject=f"noise:{p.stem}", label=SILENCE, activity="_silence_",
                                  source=f"{p}@{s}"))
    return recs


def background_noises(path) -> dict[str, np.ndarray]:
    """The long `_background_noise_` WAVs as float32 arrays at 16 kHz, by file stem."""
    out = {}
    for p in sorted((Path(path) / BACKGROUND).glob("*.wav")):
        x, r = read_wav(p)
        if r == RATE:
            out[p.stem] = x
    return out


def _speaker_subset(speakers: set[str], fraction: float, seed: int) -> set[str]:
    if fraction >= 1.0:
        return set(speakers)
    order = sorted(speakers)
    rng = np.random.default_rng(seed + 17)
    k = int(round(fraction * len(order)))
    return {order[i] for i in rng.permutation(len(order))[:k]}
