"""The model path of the firmware build: a fixture app with a committed int8 .tflite is compiled by
tinyml.compile into build/<app>/gen, built for qemu-m4 and host, and its on-device int8 scores equal
the TFLM reference interpreter's on the same quantized windows; events follow from them."""

from __future__ import annotations

import numpy as np
import pytest
from fwtest import FIXTURE_APPS, need

from tinyml.apps import load_app
from tinyml.device.firmware import build_app
from tinyml.device.runner import open_transport, stream_signal
from tinyml.recording import read_recording

f32 = np.float32


def reference(app, sig):
    from tinyml.reference import TflmModel

    m = app.manifest
    model = TflmModel(app.tflite_path.read_bytes())
    s, zp = f32(model.input.scale), int(model.input.zero_point)
    W, H = int(m.features["window"]), int(m.features["hop"])
    ends = list(range(W, len(sig) + 1, H))
    xs = []
    for end in ends:
        w = np.asarray(sig[end - W : end], np.float32).reshape(-1)
        q = np.floor(w * (f32(1.0) / s) + f32(0.5)).astype(np.int64) + zp
        xs.append(np.clip(q, -128, 127).astype(np.int8))
    scores = model.invoke_batch(np.stack(xs).reshape(len(xs), *model.input.shape[1:]))
    return ends, np.asarray(scores, np.int8).reshape(len(xs), -1)


@pytest.mark.parametrize("board", ["host", "qemu-m4"])
def test_model_app_matches_tflm(board):
    need("gcc") if board == "host" else need("arm-none-eabi-gcc", "qemu-system-arm")
    pytest.importorskip("tflite_micro")
    app = load_app("model-probe", root=FIXTURE_APPS)
    sig = read_recording(app.dir / "demo.csv", app.manifest.channels).signal
    im = build_app(app, board)
    assert im.arena_size and (im.gen_dir / "model.h").is_file() and (im.gen_dir / "model.c").is_file()
    run = stream_signal(open_transport(im.board, im.elf), sig, labels=app.manifest.labels,
                        expect_hash=app.manifest.feature_hash(), timeout_s=60)
    ends, ref = reference(app, sig)
    assert run.times.tolist() == ends
    assert np.array_equal(run.scores_q, ref)
    thr = app.manifest.postprocess["event_threshold"]
    want = [(t, 2, int(s[2])) for t, s in zip(ends, ref) if s[2] > thr]
    assert [(e.t, e.label, e.score) for e in run.events] == want and want
    assert run.hello.out_scale == f32(1 / 256) and run.hello.out_zero_point == -128
    assert run.errors == [] and len(run.timings) == len(ends)


def test_device_parity_with_predict_pipeline():
    """tinyml.device.parity on the fixture: predict's Pipeline (numpy features, TFLM, the app's
    PostProcessor from pipeline.py) against the firmware on qemu-m4, and a broken firmware is caught."""
    need("arm-none-eabi-gcc", "qemu-system-arm")
    pytest.importorskip("tflite_micro")
    from tinyml.device.parity import device_parity

    app = load_app("model-probe", root=FIXTURE_APPS)
    p = device_parity(app, "qemu-m4", app.dir / "demo.csv")
    assert p.ok, p.mismatches
    assert p.windows == 24 and p.python_events and p.python_events == p.device_events
    assert p.summary["cost_unit"] == "instructions" and p.summary["per_inference"] > 1000


def test_device_parity_catches_a_drift(tmp_path):
    need("arm-none-eabi-gcc", "qemu-system-arm")
    pytest.importorskip("tflite_micro")
    import shutil

    from tinyml.device.parity import device_parity

    d = tmp_path / "model-probe"
    shutil.copytree(FIXTURE_APPS / "model-probe", d)
    src = d / "firmware" / "app.c"
    src.write_text(src.read_text().replace("+ 0.5f)", "+ 0.25f)"))  # a rounding drift on the device
    app = load_app("model-probe", root=tmp_path)
    p = device_parity(app, "host", app.dir / "demo.csv")
    assert not p.ok and any("python" in x and "device" in x for x in p.mismatches)
