"""Google Speech Commands (real data loader), read in its distributed layouts, from one folder or several.

    distribution (v0.01, v0.02, or any excerpt of one: some word folders only)
      <root>/yes/0a7c2a8d_nohash_0.wav ...   one folder per word, <speaker_hash>_nohash_<n>.wav, 16 kHz mono
      <root>/_background_noise_/*.wav        long noise files (optional)
      <root>/validation_list.txt, testing_list.txt   (optional; the hash rule below gives the same sets)
    official test set (speech_commands_test_set_v0.02: 4,890 clips, the set MLPerf Tiny scores KWS on)
      <root>/yes/<speaker>_nohash_<n>.wav    the ten commands
      <root>/_unknown_/<word>_<speaker>_nohash_<n>.wav(.wav)   other words
      <root>/_silence_/<k>.wav               1 s of background noise

The 12-class task: the ten commands, "silence" and "unknown" (every other word). Every clip's split comes
from the dataset's own rule, a hash of the speaker part of its name (`which_set`), whichever folder holds it:
Recording.split "train", "val" or "test", so a speaker never crosses splits and no test-split speaker is
trained on. When the official test set is among the folders, its clips are the test clips (top-1 as the
field reports it); the other folders' test-split clips then serve only the test streams. The same clip in
two folders (an excerpt inside a full copy, v0.01 beside v0.02) is read once, the test set's copy first.

Streams (option `streams`): long recordings a listening device meets, made from the clips of one split each:
non-keyword speech (words of the "unknown" clips in phrases, with pauses; activity "stream": false accepts
per hour) and commands spoken among it (activity "keywords", events = [(end of the word in s, command)]:
false rejects), in changing background noise at 10-30 dB SNR: the dataset's own `_background_noise_`, the
test set's `_silence_` clips (test streams only) and household noise kinds (fan, appliance, mains hum,
coloured noise, babble of the split's own words; datasets/synthetic-speech), and now and then a room.

Entry point: load(path or [paths], *, rate, channels, **options) -> list[Recording]. Imported by file path.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.readers.wav import wav_samples
from tinyml.recording import Recording

MANY_FOLDERS = True  # tinyml.data.source: a source naming several folders passes them all (one dedupe)
KIND = "real recordings: Google Speech Commands clips of volunteers' voices, and streams made of them in household noise"
LICENCE = ("Speech Commands: CC BY 4.0, P. Warden, \"Speech Commands: A Dataset for Limited-Vocabulary Speech "
           "Recognition\", arXiv:1804.03209, 2018; read from the user's copy, never redistributed here")
RATE = 16000
CLIP = RATE  # 1 s
COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
OTHER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
               "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
               "backward", "forward", "follow", "learn", "visual")
SILENCE, UNKNOWN = "silence", "unknown"
BACKGROUND = "_background_noise_"
TEST_UNKNOWN, TEST_SILENCE = "_unknown_", "_silence_"  # the official test set's folders
NAME = re.compile(r"^([0-9a-fA-F]+)_nohash_(\d+)\.wav$")
TEST_UNKNOWN_NAME = re.compile(r"^([a-z]+)_([0-9a-fA-F]+)_nohash_(\d+)\.wav(?:\.wav)?$")
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1  # ~134M, from the dataset's README
SPLIT_OF = {"training": "train", "validation": "val", "testing": "test"}
STREAM_SNR_DB = (10.0, 30.0)  # background noise against the speech level
BABBLE_MIN_SNR_DB = 12.0  # babble is speech: below this it competes with the talker


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
    if word in (BACKGROUND, "_silence_"):
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


def is_test_set(root: Path) -> bool:
    """The official test set's layout (its _unknown_ / _silence_ folders)."""
    return (root / TEST_UNKNOWN).is_dir() or (root / TEST_SILENCE).is_dir()


def clip_files(root: Path) -> list[tuple[str, str, str, Path]]:
    """(word, speaker, key, path) of every clip in one folder, either layout; key = "<word>/<speaker>_nohash_<n>"
    names one utterance whatever copy holds it. The test set's silence clips have speaker "" (no speaker)."""
    out = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and p.name != BACKGROUND):
        for p in sorted(d.glob("*.wav")):
            if d.name == TEST_SILENCE:
                out.append(("_silence_", "", f"_silence_/{p.stem}", p))
            elif d.name == TEST_UNKNOWN:
                m = TEST_UNKNOWN_NAME.match(p.name)
                if m:
                    out.append((m.group(1), m.group(2), f"{m.group(1)}/{m.group(2)}_nohash_{m.group(3)}", p))
            elif not d.name.startswith("_"):
                m = NAME.match(p.name)
                if m:
                    out.append((d.name, m.group(1), f"{d.name}/{m.group(1)}_nohash_{m.group(2)}", p))
    return out


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
    streams: dict | None = None,
    progress: bool = False,
) -> list[Recording]:
    """Every clip as a 1 s Recording at 16 kHz (the core resamples to the manifest rate), and the streams.

    path: a folder, or a list of folders (copies of parts of the dataset, and the official test set).
    label: the 12-class label; activity: the word; subject: the speaker hash (silence: "noise:<file>");
    split: from the speaker-hash rule ("train", "val", "test"). words: load only these words (default all).
    unknown_fraction: keep this share of the training speakers' non-command clips (chosen per speaker).
    silence_fraction: 1 s slices of `_background_noise_` per loaded training/validation clip (the TF recipe
    uses 10 %). max_per_word: cap per word and folder, for tests. streams: {"train" | "val" | "test":
    {"minutes": non-keyword stream minutes, "commands": commands in keyword streams}} (see the docstring)."""
    roots = [Path(p) for p in (path if isinstance(path, (list, tuple)) else [path])]
    for root in roots:
        if not root.is_dir():
            raise TinymlError(f"{root}: not a folder (expected a Speech Commands folder)")
    if len(channels) != 1:
        raise TinymlError(f"speech-commands is mono; the manifest asks for channels {list(channels)}")
    files = _unique_files(roots, words, max_per_word)
    if not files:
        raise TinymlError(f"{', '.join(map(str, roots))}: no word folders (yes/, no/, ...): "
                          "is this a Speech Commands folder?")
    has_test_set = any(official for *_, official in files)
    keep_unknown = _speaker_subset({spk for w, spk, _, _, _ in files if task_label(w) == UNKNOWN
                                    and which_set(f"{spk}_nohash_0.wav") == "training"}, unknown_fraction, seed)
    ch = tuple(channels)
    clips: list[Recording] = []
    stream_only: list[Recording] = []  # test-split clips beside the official test set: material for streams
    it = files
    if progress:
        from tqdm import tqdm

        it = tqdm(files, desc="speech-commands", unit="clip")
    for word, spk, key, p, official in it:
        split = "test" if official else SPLIT_OF[which_set(f"{spk}_nohash_0.wav")]
        label = task_label(word)
        if label == UNKNOWN and split == "train" and spk not in keep_unknown:
            continue
        x, r = read_wav(p)
        if r != RATE:
            raise TinymlError(f"{p}: {r} Hz, Speech Commands clips are {RATE} Hz")
        rec = Recording(_fit(x, CLIP)[:, None], float(RATE), ch, subject=spk or "noise:test-set", label=label,
                        activity=word, source=str(p), split=split, cohort="test-set" if official else "")
        (stream_only if split == "test" and has_test_set and not official else clips).append(rec)
    rng = np.random.default_rng(seed)
    noises = background_noises(roots) if include_background else {}
    if noises and silence_fraction > 0:
        clips += _silence_clips(noises, [r for r in clips if r.split != "test"], silence_fraction, rng, ch)
    if streams:
        clips += make_streams(clips + stream_only, streams, noises, seed, ch)
    return clips


def _unique_files(roots: list[Path], words, max_per_word: int) -> list[tuple[str, str, str, Path, bool]]:
    """(word, speaker, key, path, official) once per utterance: the official test set's copy first, then the
    folders in the order given."""
    order = sorted(range(len(roots)), key=lambda i: not is_test_set(roots[i]))
    seen: dict[str, tuple] = {}
    for i in order:
        official = is_test_set(roots[i])
        per_word: dict[str, int] = {}
        for word, spk, key, p in clip_files(roots[i]):
            if words is not None and word not in set(words) and word != "_silence_":
                continue
            per_word[word] = per_word.get(word, 0) + 1
            if max_per_word and per_word[word] > max_per_word:
                continue
            seen.setdefault(key, (word, spk, key, p, official))
    return sorted(seen.values(), key=lambda f: f[2])


def background_noises(path) -> dict[str, np.ndarray]:
    """The long `_background_noise_` WAVs of the folder(s) as float32 arrays at 16 kHz, by file stem."""
    out = {}
    for root in (path if isinstance(path, (list, tuple)) else [path]):
        for p in sorted((Path(root) / BACKGROUND).glob("*.wav")):
            x, r = read_wav(p)
            if r == RATE and len(x) >= CLIP:
                out.setdefault(p.stem, x)
    return out


def _silence_clips(noises: dict[str, np.ndarray], clips: list[Recording], fraction: float, rng, ch) -> list[Recording]:
    """Random 1 s slices of the background noise at a random gain (0-1, like TF's background_volume), round
    robin over the files; split like the clips around them (train and val, in proportion)."""
    out = []
    items = sorted(noises.items())
    for split in ("train", "val"):
        n = int(round(fraction * sum(1 for r in clips if r.split == split)))
        for k in range(n):
            name, x = items[k % len(items)]
            s = int(rng.integers(0, len(x) - CLIP + 1))
            gain = float(rng.uniform(0.0, 1.0))
            out.append(Recording((x[s : s + CLIP] * gain)[:, None].astype(np.float32), float(RATE), ch,
                                 subject=f"noise:{name}:{split}", label=SILENCE, activity="_silence_",
                                 source=f"{name}@{s}", split=split))
    return out


def _speaker_subset(speakers: set[str], fraction: float, seed: int) -> set[str]:
    if fraction >= 1.0:
        return set(speakers)
    order = sorted(speakers)
    rng = np.random.default_rng(seed + 17)
    k = int(round(fraction * len(order)))
    return {order[i] for i in rng.permutation(len(order))[:k]}


# --------------------------------------------------------------------------------------------------
# Streams from the clips of one split
# --------------------------------------------------------------------------------------------------


def make_streams(clips: list[Recording], spec: dict, noises: dict[str, np.ndarray], seed: int, ch) -> list[Recording]:
    """Per split in `spec` ({"test": {"minutes": 90, "commands": 1000}, ...}): non-keyword streams of
    `minutes` (pieces of at most 10 min) and keyword streams holding `commands` commands (each command clip
    once, the words taken in turn), from that split's clips only."""
    from tinyml.data import dataset_module

    acoustics = dataset_module("synthetic-speech")  # rooms and household noise kinds, shared with the generator
    out = []
    for split in ("train", "val", "test"):
        want = spec.get(split) or {}
        if not want:
            continue
        rng = np.random.default_rng(int(hashlib.sha256(f"{seed}/streams/{split}".encode()).hexdigest()[:8], 16))
        here = [r for r in clips if r.split == split]
        words = [_word(r.signal[:, 0], acoustics) for r in here if r.label == UNKNOWN]
        speakers = [r.subject for r in here if r.label == UNKNOWN]  # who said each word (the intervals' groups)
        if not words:
            raise TinymlError(f"speech-commands: no {split}-split clips of other words to make its streams from")
        pool = _noise_pool(noises, [r for r in here if r.label == SILENCE and split == "test"])
        minutes = float(want.get("minutes", 0.0))
        k = 0
        while minutes > 1e-9:
            n = int(min(minutes, 10.0) * 60 * RATE)
            heard: list[tuple[float, str]] = []
            x, _ = assemble(n, rng, _Cycle(words, rng, speakers), None, pool, acoustics, heard)
            out.append(Recording(x[:, None], float(RATE), ch, subject=f"streams:{split}", label=UNKNOWN,
                                 activity="stream", source=f"speech-commands:{split}:stream{k}", split=split,
                                 truth={"stream_groups": heard}))
            minutes -= n / 60 / RATE
            k += 1
        commands = _balanced([r for r in here if r.label in COMMANDS], int(want.get("commands", 0)), rng)
        per_stream = 120  # commands per keyword stream: ~9 min each
        for j in range(0, len(commands), per_stream):
            part = [(r.label, _word(r.signal[:, 0], acoustics)) for r in commands[j : j + per_stream]]
            x, events = assemble(int(len(part) * 12 * RATE), rng, _Cycle(words, rng), part, pool, acoustics)
            said_by = [r.subject for r in commands[j : j + per_stream]][: len(events)]  # events keep the clips' order
            out.append(Recording(x[:, None], float(RATE), ch, subject=f"streams:{split}", label=UNKNOWN,
                                 activity="keywords", events=events, truth={"event_groups": said_by},
                                 source=f"speech-commands:{split}:keywords{j // per_stream}", split=split))
    return out


def _word(x: np.ndarray, acoustics) -> np.ndarray:
    """A clip cut to its word (10 ms frames within 35 dB of the loudest, and a margin)."""
    return acoustics.trim(np.asarray(x, np.float32))


def _balanced(cmds: list[Recording], n: int, rng) -> list[Recording]:
    """Up to n command clips, the words in turn (as even as the clips allow), speakers shuffled."""
    by_word: dict[str, list[Recording]] = {}
    for i in rng.permutation(len(cmds)):
        by_word.setdefault(cmds[i].label, []).append(cmds[i])
    out, k = [], 0
    while len(out) < n and any(k < len(v) for v in by_word.values()):
        for w in sorted(by_word):
            if k < len(by_word[w]) and len(out) < n:
                out.append(by_word[w][k])
        k += 1
    return [out[i] for i in rng.permutation(len(out))]


class _Cycle:
    """Words drawn in a shuffled order, all of them before any repeats; `names` (optional): who said each,
    `last_name` the one drawn last."""

    def __init__(self, items, rng, names=None):
        self.items, self.rng, self.order, self.names, self.last_name = items, rng, [], names, None

    def next(self):
        if not self.order:
            self.order = list(self.rng.permutation(len(self.items)))
        i = self.order.pop()
        self.last_name = self.names[i] if self.names is not None else None
        return self.items[i]


def _noise_pool(noises: dict[str, np.ndarray], silence_clips: list[Recording]) -> list[np.ndarray]:
    """Recorded background noise: the long files, and the test set's 1 s silence clips joined in turn."""
    pool = [x for _, x in sorted(noises.items())]
    if silence_clips:
        joined = np.concatenate([r.signal[:, 0] for r in silence_clips if np.abs(r.signal).max() > 1e-4] or
                                [np.zeros(CLIP, np.float32)])
        pool.append(joined)
    return pool


def assemble(n: int, rng, words: _Cycle, commands: list[tuple[str, np.ndarray]] | None, recorded: list[np.ndarray],
             acoustics, heard: list | None = None) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """n samples of phrases (1-4 words, short gaps) and pauses at one speech level, commands (if any) spoken
    on their own every ~4.6 s, then a room now and then and background segments of 10-60 s, each a recorded
    noise or a household kind at 10-30 dB SNR. Returns the signal and the events (end of the word, label);
    with commands, the signal ends 2 s after the last one (n leaves room for all of them). heard (a list,
    when the words name their speakers): filled with (end of a word in s, its speaker) for every word spoken
    (babble noise aside): a false accept belongs to the last word that ended before it (the device decides
    after the word it heard). Recording it draws nothing: the signal is the same with or without it."""
    speech = np.zeros(n, np.float32)
    events: list[tuple[float, str]] = []
    level = 10 ** (rng.uniform(-26, -12) / 20)  # active RMS of the speech
    cmds = list(commands or [])
    pos = int(rng.uniform(0.3, 1.5) * RATE)
    next_cmd = pos + int(rng.uniform(1.0, 3.0) * RATE) if cmds else n
    babble = []
    while pos < n:
        if cmds and pos >= next_cmd:
            label, tok = cmds.pop(0)
            pos += int(rng.uniform(0.4, 0.9) * RATE)
            if pos + len(tok) >= n - int(0.5 * RATE):
                break
            speech[pos : pos + len(tok)] += tok * np.float32(level * rng.uniform(0.7, 1.4) / (acoustics.active_rms(tok) + 1e-9))
            events.append((round((pos + len(tok)) / RATE, 3), label))
            pos += len(tok) + int(rng.uniform(0.4, 1.0) * RATE)
            next_cmd = pos + int(rng.uniform(1.6, 3.4) * RATE) if cmds else n
            continue
        parts, ends = [], []
        for _ in range(int(rng.integers(1, 5))):
            w = words.next()
            babble.append(w)
            o = sum(len(p) for p in parts)  # where the word starts in the phrase
            ends.append((o, o + len(w), words.last_name))
            parts.append(w * np.float32(level * rng.uniform(0.6, 1.5) / (acoustics.active_rms(w) + 1e-9)))
            parts.append(np.zeros(int(rng.uniform(0.05, 0.3) * RATE), np.float32))
        tok = np.concatenate(parts)
        k = min(len(tok), n - pos, max(0, next_cmd - int(0.4 * RATE) - pos))  # keep the pause before a command
        if k < len(tok):
            tok = tok[:k] * np.minimum(1, np.linspace(k / 800, 0, k)).astype(np.float32)
        speech[pos : pos + k] += tok
        if heard is not None:
            heard.extend((round((pos + min(e, k)) / RATE, 3), who) for o, e, who in ends if o < k and who is not None)
        gap = rng.uniform(0.2, 2.5) if rng.random() < 0.85 else rng.uniform(3, 10)
        pos += k + int(gap * RATE)
    if rng.random() < 0.3:
        speech = acoustics.reverb(speech, acoustics.room_ir(rng, float(rng.uniform(0.1, 0.4))))
    bg = np.zeros(n, np.float32)
    s = 0
    while s < n:
        seg = min(n - s, int(rng.uniform(10, 60) * RATE))
        snr = rng.uniform(*STREAM_SNR_DB)
        if recorded and rng.random() < 0.5:
            src = recorded[int(rng.integers(len(recorded)))]
            start = int(rng.integers(0, max(1, len(src) - seg)))
            nz = np.resize(src[start:], seg).astype(np.float64)  # loops a short recording
            nz = (nz / (np.std(nz) + 1e-12)).astype(np.float32)
        else:
            kind = acoustics.NOISE_KINDS[int(rng.integers(len(acoustics.NOISE_KINDS)))]
            if kind == "babble":
                snr = max(snr, BABBLE_MIN_SNR_DB)
            pick = [babble[int(i)] for i in rng.integers(0, len(babble), size=min(len(babble), 40))] if babble else None
            nz = acoustics.noise(kind, seg, rng, pick)
        ramp = np.minimum(1, np.minimum(np.arange(seg), np.arange(seg)[::-1]) / 800)
        bg[s : s + seg] += nz * np.float32(level / 10 ** (snr / 20)) * np.maximum(ramp, 0.3).astype(np.float32)
        s += seg
    y = np.clip(speech + bg, -1, 1 - 1 / 32768)
    if commands and events:
        y = y[: min(n, int((events[-1][0] + 2.0) * RATE))]
    return (np.round(y * 32768) / 32768).astype(np.float32), events


def summary(recordings: list[Recording]) -> dict:
    """The card's table of what a run took from the dataset: per split, speakers, clips per class, and the
    streams (hours of non-keyword speech, commands embedded)."""
    labels = [*COMMANDS, UNKNOWN, SILENCE]
    rows = []
    for split in ("train", "val", "test"):
        recs = [r for r in recordings if r.split == split]
        if not recs:
            continue
        clips = [r for r in recs if r.activity not in ("stream", "keywords")]
        streams = [r for r in recs if r.activity == "stream"]
        commands = sum(len(r.events) for r in recs if r.activity == "keywords")
        speakers = len({r.subject for r in clips if not r.subject.startswith("noise:")})
        rows.append([split + (" (official test set)" if any(r.cohort.endswith("test-set") for r in clips) else ""),
                     speakers, *[sum(1 for r in clips if r.label == lab) for lab in labels],
                     f"{sum(r.duration for r in streams) / 3600:.2f}", commands])
    return {"title": "clips per split and class (the split is the speaker-hash rule's), and the streams made of them",
            "columns": ["split", "speakers", *labels, "stream h", "commands in streams"], "rows": rows}
