"""keyword-spotting: frontend parity (incremental vs window), mel vs librosa, model ops and memory,
post-processing, and `tinyml predict` on the WAVs users have."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from tinyml.apps import load_app
from tinyml.dsp.mfcc import mfcc_frames
from tinyml.features import FeatureExtractor
from tinyml.fixtures import demo_path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from apptest import run_cli  # noqa: E402

APP = load_app("keyword-spotting")
M = APP.manifest
STEP = dict(M.features["chain"][0])
ALLOWED_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN",
               "RESHAPE", "SOFTMAX", "ADD", "MUL", "CONCATENATION", "PAD"}


def test_window_hop_is_a_multiple_of_the_frame_hop():
    assert M.features["hop"] % STEP["hop"] == 0
    assert FeatureExtractor(M).input_shape() == (1 + (M.features["window"] - STEP["length"]) // STEP["hop"],
                                                 STEP["n_mfcc"])


def test_incremental_frontend_equals_window_recomputation():
    """The device computes one MFCC frame per 20 ms hop over the stream and keeps the last 49; Python
    recomputes every 1 s window. Both must give identical frames (bit for bit)."""
    rng = np.random.default_rng(0)
    x = (rng.normal(0, 0.05, 4 * 16000) * np.sin(np.linspace(0, 40, 4 * 16000)) ** 2).astype(np.float32)
    stream = mfcc_frames(x, M.rate, STEP["length"], STEP["hop"], STEP["n_mfcc"], STEP["n_mels"], STEP["n_fft"],
                         STEP["window"], STEP["fmin"], STEP["fmax"], False, "slaney", STEP["log_floor"])
    fx = FeatureExtractor(M)
    per = M.features["hop"] // STEP["hop"]
    feats = fx.batch(fx.frames(x[:, None]))
    assert len(feats) == fx.n_windows(len(x)) > 5
    for k, f in enumerate(feats):
        np.testing.assert_array_equal(f, stream[k * per : k * per + f.shape[0]])


def test_mel_filterbank_matches_librosa():
    librosa = pytest.importorskip("librosa")
    from tinyml.dsp.mel import mel_filterbank

    ours = mel_filterbank(M.rate, STEP["n_fft"], STEP["n_mels"], STEP["fmin"], STEP["fmax"])
    ref = librosa.filters.mel(sr=M.rate, n_fft=STEP["n_fft"], n_mels=STEP["n_mels"], fmin=STEP["fmin"],
                              fmax=STEP["fmax"], htk=False, norm="slaney")
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9)
    assert (ours.sum(1) > 0).all(), "an empty mel filter"


def test_model_ops_size_and_arena():
    from ai_edge_litert.interpreter import Interpreter

    from tinyml.reference import tflm_arena_bytes

    data = APP.tflite_path.read_bytes()
    it = Interpreter(model_content=data)
    ops = {d["op_name"] for d in it._get_ops_details()}
    assert ops <= ALLOWED_OPS, ops - ALLOWED_OPS
    assert len(data) <= 64 * 1024
    assert tflm_arena_bytes(data) <= 24 * 1024
    card = json.loads((APP.model_dir / "card.json").read_text())
    # the card says what the model was trained on: real people (Speech Commands) or only synthetic voices
    readme = (APP.model_dir / "README.md").read_text().lower()
    names = {s["name"] for s in card["dataset"].get("sources", [{"name": card["dataset"]["name"]}])}
    assert "synthetic" in readme
    assert card["dataset"]["synthetic"] == (names == {"synthetic-speech"})
    if not card["dataset"]["synthetic"]:
        assert "speech commands" in readme and "cc by 4.0" in readme


def test_postprocessor_smooths_thresholds_and_suppresses():
    pp = APP.pipeline.PostProcessor(M, 1 / 256, -128)
    yes, no = M.labels.index("yes"), M.labels.index("no")
    hop = M.features["hop"]
    hi = np.full(len(M.labels), -128, np.int8)
    hi[yes] = 127
    lo = np.full(len(M.labels), -128, np.int8)
    seq = [lo, hi, lo, hi, hi, hi, hi, lo, lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi]
    fired = []
    for k, s in enumerate(seq):
        for lab, _ in pp.step(None, np.zeros(hop), k * hop, s):
            fired.append((k, lab))
    smooth = int(M.postprocess["smooth"])
    assert fired[0] == (2 + smooth, yes)  # one isolated window never fires; `smooth` in a row do
    assert len(fired) == 2 and fired[1][0] >= 16 + smooth - 1
    assert no not in [lab for _, lab in fired]


# --- commands close together, a lone clip, a command at the very end (issue: dropped commands) ------------

def _scenes(tmp_path):
    """Three recordings cut from the demo's own audio (int16, so the WAVs are exact): "stop" then "up" with
    0.5 s between them (inside the 1.5 s suppression), "up" alone as a 1 s Speech Commands clip, and "stop"
    in a recording that ends 0.15 s after the word. Each maps to the commands it must raise."""
    rate, x = wavfile.read(demo_path(APP))
    cut = lambda a, b: x[int(a * rate) : int(b * rate)]  # noqa: E731
    bg, stop, up = cut(10.8, 13.0), cut(7.75, 8.40), cut(15.05, 15.55)  # quiet background; the two commands
    scenes = {
        "apart": (np.concatenate([bg[:24000], stop, bg[:8000], up, bg[:24000]]), ["stop", "up"]),
        "clip": (np.concatenate([bg[:4000], up, bg[:4000]])[:16000], ["up"]),
        "end": (np.concatenate([bg, stop[:8800], bg[:2400]]), ["stop"]),
    }
    return {k: (_wav(tmp_path / f"{k}.wav", rate, sig), want) for k, (sig, want) in scenes.items()}


def test_close_commands_a_lone_clip_and_a_last_word_are_all_heard(tmp_path):
    """Another command right after one fires (only repeats are suppressed); one 1 s clip and a word in the
    last windows are finished by the flush at the end of the input, stamped with its end."""
    for name, (path, want) in _scenes(tmp_path).items():
        res = run_cli("predict", APP.id, path, "--events-only")
        assert res.returncode == 0, res.stderr
        events = [json.loads(line) for line in res.stdout.splitlines()]
        assert [e["event"] for e in events] == want, (name, events)
        if name != "apart":  # raised at the end of the input: stamped with its end
            assert events[-1]["t"] == round(wavfile.read(path)[1].size / M.rate, 3), (name, events)


def test_the_device_hears_them_too(tmp_path):
    """The same recordings through the firmware on qemu-m4: identical scores and events, the flushed ones
    (sent after the link's END) included."""
    import shutil

    from tinyml.device.parity import device_parity

    if not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")):
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm")
    for name, (path, want) in _scenes(tmp_path).items():
        p = device_parity(APP, "qemu-m4", path)
        assert p.ok, (name, p.mismatches)
        assert [M.labels[lab] for _, lab, _ in p.device_events] == want, name


def _wav(path, rate, data):
    wavfile.write(path, rate, data)
    return str(path)


def test_predict_accepts_any_wav(tmp_path):
    rate, x = wavfile.read(demo_path(APP))
    base = run_cli("predict", APP.id, str(demo_path(APP)), "--events-only")
    assert base.returncode == 0, base.stderr
    want = [json.loads(line)["event"] for line in base.stdout.splitlines()]
    # 44.1 kHz stereo float: resampled with a notice and mixed down; the same commands come out
    from scipy.signal import resample_poly

    y = resample_poly(x.astype(np.float32) / 32768, 441, 160).astype(np.float32)
    st = _wav(tmp_path / "st.wav", 44100, np.stack([y, y], axis=1))
    res = run_cli("predict", APP.id, st, "--events-only")
    assert res.returncode == 0, res.stderr
    assert "resampled 44100 Hz -> 16000 Hz" in res.stderr and "mixed down" in res.stderr
    assert [json.loads(line)["event"] for line in res.stdout.splitlines()] == want
    # 8-bit unsigned at 16 kHz works too
    u8 = _wav(tmp_path / "u8.wav", 16000, (x[:32000] // 256 + 128).astype(np.uint8))
    assert run_cli("predict", APP.id, u8).returncode == 0


def test_predict_pads_a_short_clip_like_speech_commands(tmp_path):
    """Speech Commands clips are up to 1 s: a shorter one is zero-padded to one window, with a notice."""
    rate, x = wavfile.read(demo_path(APP))
    res = run_cli("predict", APP.id, _wav(tmp_path / "short.wav", 16000, x[:8000]))
    assert res.returncode == 0, res.stderr
    assert "zero-padded to one window" in res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(lines) == 1 and lines[0]["t"] == 1.0 and set(lines[0]["scores"]) == set(M.labels)


@pytest.mark.parametrize("kind", ["empty", "corrupt", "rate"])
def test_predict_bad_wav_one_line_error(tmp_path, kind):
    p = tmp_path / f"{kind}.wav"
    if kind == "empty":
        _wav(p, 16000, np.zeros(0, np.int16))
    elif kind == "corrupt":
        p.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    else:
        _wav(p, 4000, np.zeros(8000, np.int16))
    res = run_cli("predict", APP.id, str(p))
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in res.stderr, res.stderr


def test_context_augmentation_keeps_the_command_whole():
    """Training copies with a neighbouring word: the command's own samples are untouched, the neighbour
    lands before or after it with at least the minimum pause, and it is cut at the window's edge."""
    P = APP.pipeline
    rng = np.random.default_rng(3)
    t = np.arange(16000) / 16000
    sides = set()
    for k in range(40):
        w = (rng.normal(0, 1e-3, 16000)).astype(np.float32)
        a = int(rng.uniform(0.15, 0.55) * 16000)
        w[a : a + 5600] += (0.2 * np.sin(2 * np.pi * 300 * t[:5600])).astype(np.float32)
        word = (0.1 * np.sin(2 * np.pi * 700 * t[: int(rng.uniform(0.2, 0.9) * 16000)])).astype(np.float32)
        a0, b0 = P._speech_span(w)
        assert abs(a0 - a) <= 160 and abs(b0 - (a + 5600)) <= 160
        y = P._with_context(w, [word], rng)
        assert y.shape == w.shape and y.dtype == np.float32
        np.testing.assert_array_equal(y[a0:b0], w[a0:b0])
        added = np.flatnonzero(np.abs(y - w) > 0)
        if added.size == 0:
            continue  # no room on either side for that pause
        gap = P.CONTEXT_GAP_S[0] * 16000
        assert added[-1] <= a0 - gap or added[0] >= b0 + gap
        sides.add("before" if added[-1] < a0 else "after")
    assert sides == {"before", "after"}
    assert P._with_context(w, [], rng) is w  # a voice with no other words: unchanged


def test_model_card_counts_misses_and_false_accepts_per_voice():
    """The card's per-voice table: a voice's commands, those with no detection of the right word in time,
    and detections in its non-keyword stream; most misses first."""
    from tinyml.recording import Recording

    P = APP.pipeline
    rate = M.rate
    yes, stop = M.labels.index("yes"), M.labels.index("stop")

    def rec(subject, activity, seconds, events=()):
        return Recording(np.zeros((int(seconds * rate), 1), np.float32), float(rate), ("audio",), subject=subject,
                         activity=activity, events=list(events))

    runs = [(rec("a", "keywords", 20, [(3.0, "yes"), (9.0, "stop")]), None, None),
            (rec("a", "stream", 60), None, None),
            (rec("b", "keywords", 20, [(5.0, "yes")]), None, None),
            (rec("b", "stream", 120), None, None)]
    events = [[(int(3.4 * rate), yes, 200), (int(9.2 * rate), yes, 200)],  # a: stop heard as yes -> a miss
              [(int(30 * rate), stop, 200)],                               # a: one false accept
              [(int(5.1 * rate), yes, 200)],                               # b: heard
              []]
    rows = P._by_voice(M, runs, events).splitlines()
    assert rows == ["| a | 2 | 1 | 1 | 1.0 |", "| b | 1 | 0 | 0 | 2.0 |"]


def test_operating_point_sweeps_the_real_post_processor_and_picks_the_nearest_point():
    """operating_point.py (run by hand on the validation split's real streams) scores each smooth x
    threshold with the app's own post-processor: one window over the threshold is a false accept at
    smooth 1 but not at smooth 3, a command held for 5 windows is heard at both; the choice is the point
    nearest both stream targets."""
    from tinyml.apps import load_module
    from tinyml.recording import Recording

    op = load_module(APP.dir / "operating_point.py", "kws_operating_point")
    n = int(60 * M.rate)
    talk = Recording(np.zeros((n, 1), np.float32), float(M.rate), ("audio",), label="unknown", activity="stream")
    kw = Recording(np.zeros((n, 1), np.float32), float(M.rate), ("audio",), label="unknown", activity="keywords",
                   events=[(20.0, "yes")])
    nw = FeatureExtractor(M).n_windows(n)
    q = lambda p: int(round(p * 256)) - 128  # the committed model's output quantisation (1/256, -128)
    s_talk = np.full((nw, len(M.labels)), q(0.0), np.int8)
    s_talk[:, M.labels.index("unknown")] = q(0.99)
    s_talk[150, M.labels.index("no")] = q(0.99)  # one window: a false accept without smoothing
    s_kw = np.full((nw, len(M.labels)), q(0.0), np.int8)
    s_kw[95:100, M.labels.index("yes")] = q(0.95)  # windows ending 20.0-20.8 s: the word just heard
    rows = op.sweep(APP, [talk, kw], [s_talk, s_kw], 1 / 256, -128, smooths=(1, 3), thresholds=(0.9, 0.97))
    got = {(r["smooth"], r["threshold"]): (r["false_alarms"], r["false_rejects"]) for r in rows}
    assert got == {(1, 0.9): (1, 0.0), (1, 0.97): (1, 1.0), (3, 0.9): (0, 0.0), (3, 0.97): (0, 1.0)}
    assert rows[0]["false_alarms_per_hour"] == pytest.approx(60.0) and rows[0]["commands"] == 1
    best = op.choose(rows, {"max_false_alarms_per_hour": 1.0, "sensitivity": 0.9})
    assert (best["smooth"], best["threshold"]) == (3, 0.9)


def test_the_operating_point_must_still_hear_the_demo_scene():
    """The rule of 2026-12-07: a point at which the committed model misses the demo scene's commands is no
    candidate. hears_demo marks the manifest's point heard (make flash passes there) and a threshold no
    smoothed score reaches (1.0) not heard; choose skips unheard points even when they score best, and says so
    in one line when none is left. Fails if the demo check or the filter is dropped."""
    from tinyml.apps import load_module
    from tinyml.errors import TinymlError

    op = load_module(APP.dir / "operating_point.py", "kws_operating_point_demo")
    pp = M.postprocess
    here = {"smooth": int(pp["smooth"]), "threshold": float(pp["threshold"]), "suppress_s": float(pp["suppress_s"]),
            "false_alarms_per_hour": 9.0, "false_rejects": 0.5}
    deaf = {**here, "threshold": 1.0, "false_alarms_per_hour": 0.0, "false_rejects": 0.0}
    rows = [here, deaf]
    op.hears_demo(APP, None, rows)
    assert here["demo_heard"] and not deaf["demo_heard"]
    target = {"max_false_alarms_per_hour": 1.0, "sensitivity": 0.9}
    assert op.choose(rows, target) is here  # deaf scores 0 but misses the demo
    with pytest.raises(TinymlError, match="no point hears the demo"):
        op.choose([deaf], target)


def test_validation_only_talkers_never_train(tmp_path):
    """The manifest's validation-only TTS talkers (synthetic-speech val_random_voices) give the validation
    split every command (on and off above all: real Speech Commands has almost none) and unknown words, and
    the speaker split keeps them out of training and test, proved on the clip lists of a split made as the
    data step makes it (the real folders' speaker-hash split, the official test set, reserved TTS talkers)."""
    import shutil

    from tinyml.apps import load_module
    from tinyml.data import split_recordings
    from tinyml.data.source import declared_sources
    from tinyml.paths import datasets_dir

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    synth = next(s for s in declared_sources(M) if s.name == "synthetic-speech")
    assert synth.options.get("val_random_voices", 0) >= 50  # enough talkers to measure on/off recall
    ss = load_module(datasets_dir() / "synthetic-speech" / "dataset.py", "kws_ss")
    assert all(k not in ss.EVALUATION_ONLY for k in (f"{ss.RANDOM_KIND}-v{k:03d}" for k in range(200)))
    sc = load_module(datasets_dir() / "speech-commands" / "dataset.py", "kws_sc")
    fx = load_module(datasets_dir() / "speech-commands" / "fixture.py", "kws_sc_fixture")
    fx.write_fixture(tmp_path / "sc", seed=0)
    fx.write_test_set(tmp_path / "test", seed=0)
    real = sc.load([tmp_path / "sc", tmp_path / "test"], rate=16000, channels=["audio"])
    tts = ss.generate(rate=16000, channels=["audio"], seed=M.dataset["seed"], voices=2, flite=False, random_voices=1,
                      renders_per_command=1, clips_per_render=1, unknown_clips=2, silence_clips=1, stream_minutes=0.0,
                      keyword_stream_minutes=0.0, talkers=["flite-kal16"], val_random_voices=2, workers=1)
    for r in real:
        r.cohort = "speech-commands"
    for r in tts:
        r.cohort = "synthetic-speech"
    ds = M.dataset
    train, val, test = split_recordings(real + tts, test_fraction=ds["test_fraction"], val_fraction=ds["val_fraction"],
                                        seed=ds["seed"])
    held = {r.subject for r in tts if r.split == "val"}
    assert held == {"espeak-random+v000", "espeak-random+v001"}
    spk = [{r.subject for r in s} for s in (train, val, test)]
    assert held <= spk[1] and not held & (spk[0] | spk[2]) and not spk[0] & spk[1]
    assert not {r.source for r in train} & {r.source for r in val if r.subject in held}
    tts_val = {r.label for r in val if r.subject in held and r.activity == "clip"}
    assert tts_val == set(M.labels)  # every command, unknown words and silence
    assert "flite-kal16" in spk[2] and "flite-kal16" not in spk[0] | spk[1]  # reserved: evaluation only


def test_validation_clips_composite_takes_each_class_from_where_it_has_clips():
    """validation_clips.measures: a class with enough real clips is judged on them, on/off/silence on the TTS
    talkers'; a bootstrap draw resamples whole talkers within a class."""
    sys.path.insert(0, str(APP.dir))
    import validation_clips as vc

    rng = np.random.default_rng(0)
    ok_real = np.array([True] * 60 + [False] * 40 + [False, False])  # class 2: 0.6 on 100 clips; class 8: 2 clips
    ok_tts = np.array([True, False, True, True] + [False] * 4)  # class 2: 0.5, class 8: 1.0 (2 clips each)...
    sel_real = {2: np.arange(100), 8: np.array([100, 101])}
    sel_tts = {2: np.array([0, 1]), 8: np.array([2, 3]), 0: np.array([4, 5, 6, 7])}
    v = vc.measures(12, {2}, ok_real, ok_tts, sel_real, sel_tts)
    assert v["composite"] == pytest.approx((0.6 + 1.0 + 0.0) / 3)  # class 2 real, class 8 and 0 from TTS
    assert v["tts"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def _talker_clips(rng, classes, talkers, clips, skill):
    """Made-up clips: (class per clip, talker per clip, top-1 right per clip for two models); each talker has
    their own accuracy (talkers differ: the reason to draw them whole), the second model a little better."""
    y, t, ok_a, ok_b = [], [], [], []
    for c in classes:
        for k in range(talkers):
            n = int(rng.integers(1, clips + 1))
            p = float(np.clip(skill + 0.25 * rng.standard_normal(), 0, 1))
            a = rng.random(n) < p
            y += [c] * n
            t += [f"{c}-{k}"] * n
            ok_a.append(a)
            ok_b.append(a | (rng.random(n) < 0.1))
    return np.array(y), np.array(t), np.concatenate(ok_a), np.concatenate(ok_b)


def test_validation_clips_intervals_draw_talkers_within_each_class_for_every_model_alike():
    """validation_clips.intervals (the core's stratified cluster bootstrap) gives the intervals of the script's own
    sampler it replaced (talkers drawn with replacement within each class, the same draw for every model) to within
    the bootstrap's noise; a model against itself differs by exactly 0 in every draw (paired)."""
    sys.path.insert(0, str(APP.dir))
    import validation_clips as vc

    rng = np.random.default_rng(1)
    yr, tr, ra, rb = _talker_clips(rng, range(2, 10), 40, 3, 0.8)  # the words with real clips
    yt, tt, ta, tb = _talker_clips(rng, range(12), 15, 4, 0.7)  # every class from TTS talkers
    cells = lambda y, t: {c: (t[y == c], np.flatnonzero(y == c)) for c in np.unique(y)}  # noqa: E731 - as _cells
    cr, ct = cells(yr, tr), cells(yt, tt)
    from_real = set(range(2, 10))
    ok = {"base": (ra, ta), "new": (rb, tb)}
    ci = vc.intervals(12, from_real, ok, cr, ct, baseline="base")
    assert set(ci["base"]) == {"composite", "tts"} and set(ci["new"]) == {"composite", "tts", "composite_minus", "tts_minus"}

    def draw(cells_):  # the sampler validation_clips had
        out = {}
        for c, (t, idx) in cells_.items():
            ids = np.unique(t)
            out[c] = np.concatenate([idx[t == k] for k in rng.choice(ids, len(ids))])
        return out

    boot = {k: [] for k in ("base composite", "new composite", "base tts", "new tts")}
    for _ in range(vc.RESAMPLES):
        sr, st = draw(cr), draw(ct)
        for m in ok:
            v = vc.measures(12, from_real, *ok[m], sr, st)
            boot[f"{m} composite"].append(v["composite"])
            boot[f"{m} tts"].append(v["tts"])
    b = {k: np.array(v) for k, v in boot.items()}
    want = {("base", "composite"): b["base composite"], ("new", "tts"): b["new tts"],
            ("new", "composite_minus"): b["new composite"] - b["base composite"]}
    for (m, key), vals in want.items():
        lo, hi = ci[m][key]
        assert lo < hi
        assert np.percentile(vals, [2.5, 97.5]) == pytest.approx([lo, hi], abs=0.006), (m, key)
    same = vc.intervals(12, from_real, {"base": ok["base"], "again": ok["base"]}, cr, ct, baseline="base")
    assert same["again"]["composite_minus"] == same["again"]["tts_minus"] == [0.0, 0.0]
    assert same["again"]["composite"] == ci["base"]["composite"]  # seeded: the same draws
    # the baseline is the one named, not the first in ok's order (it was whichever model ok listed first)
    assert vc.intervals(12, from_real, {"new": ok["new"], "base": ok["base"]}, cr, ct, baseline="base") == ci


def test_held_out_clips_are_grouped_by_speaker_for_the_intervals(tmp_path, monkeypatch):
    """The card's top-1 interval draws whole speakers: the official test set's clips (`<speaker>_nohash_<n>`,
    `_unknown_/<word>_<speaker>_nohash_<n>`) are grouped by the speaker hash in their names, even when the
    core calls the hook on several chunks; its silence clips (no speaker, no source recording) each alone.
    Fails if the groups are per clip (the intervals would be too narrow)."""
    from types import SimpleNamespace

    from tinyml import scoring
    from tinyml.apps import load_module
    from tinyml.paths import datasets_dir

    sc = load_module(datasets_dir() / "speech-commands" / "dataset.py", "kws_sc_groups")
    fxm = load_module(datasets_dir() / "speech-commands" / "fixture.py", "kws_sc_groups_fixture")
    written = fxm.write_test_set(tmp_path / "test", seed=0)
    recs = [r for r in sc.load([tmp_path / "test"], rate=16000, channels=["audio"]) if r.label in M.labels]
    assert len(recs) == len(written)
    fx = FeatureExtractor(M)
    X, y, g = APP.pipeline.make_examples(recs, fx, M, np.random.default_rng(0), False)
    assert len(g) == len(y) == len(recs)
    speaker = [Path(r.source).name.split("_nohash_")[0].split("_")[-1] for r in recs]
    silent = np.array([r.label == "silence" for r in recs])
    assert [str(v) for v, s in zip(g, silent) if not s] == [k for k, s in zip(speaker, silent) if not s]
    assert len(set(g[silent])) == int(silent.sum()) > 1  # each silence clip its own group
    # through the core, a chunk at a time: a speaker's clips stay one group across the hook's calls
    monkeypatch.setattr(scoring, "example_chunks", lambda rs: ([r] for r in rs))
    app = SimpleNamespace(manifest=M)
    ids = np.concatenate([o[2] for o in scoring.held_out_examples(app, APP.pipeline.make_examples, recs, fx)])
    n_groups = len(set(speaker[i] for i in np.flatnonzero(~silent))) + int(silent.sum())
    assert len(np.unique(ids)) == n_groups < len(recs)


def test_training_windows_add_household_sounds_as_silence_and_evaluation_none(tmp_path):
    """Training (augment) adds HOUSEHOLD_SHARE windows of household sounds labelled silence, grouped by
    kind, and leaves evaluation's windows alone; the household draws have their own generator, so the
    windows before them are the same whatever HOUSEHOLD_SHARE is. Fails if they are missing, mislabelled,
    added at evaluation, or shift the other windows' draws."""
    from tinyml.apps import load_module
    from tinyml.paths import datasets_dir

    P = APP.pipeline
    sc = load_module(datasets_dir() / "speech-commands" / "dataset.py", "kws_sc_household")
    fxm = load_module(datasets_dir() / "speech-commands" / "fixture.py", "kws_sc_household_fixture")
    fxm.write_test_set(tmp_path / "test", seed=0)
    recs = [r for r in sc.load([tmp_path / "test"], rate=16000, channels=["audio"]) if r.label in M.labels][:40]
    fx = FeatureExtractor(M)
    X0, y0, g0 = P.make_examples(recs, fx, M, np.random.default_rng(0), False)
    assert not any(str(g).startswith("household:") for g in g0)
    X, y, g = P.make_examples(recs, fx, M, np.random.default_rng(0), True)
    home = np.array([str(v).startswith("household:") for v in g])
    n_other = int((~home).sum())
    assert int(home.sum()) == int(P.HOUSEHOLD_SHARE * n_other) > 0
    assert set(y[home]) == {M.labels.index("silence")}
    assert np.isfinite(X[home]).all() and X[home].std() > 0
    old = P.HOUSEHOLD_SHARE
    try:
        P.HOUSEHOLD_SHARE = 0.0
        X2, y2, g2 = P.make_examples(recs, fx, M, np.random.default_rng(0), True)
    finally:
        P.HOUSEHOLD_SHARE = old
    np.testing.assert_array_equal(X2, X[~home])
    np.testing.assert_array_equal(y2, y[~home])
