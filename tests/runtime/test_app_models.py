"""Every committed int8 model of every app ([model] and each [models.<name>]): identical int8 outputs to
TFLM on hundreds of inputs (host build), and on the emulated Cortex-M4 (DSP kernels) for a few."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tinyml.apps import discover, load_app
from tinyml.compile import HostModel
from tinyml.compile.reference import TflmModel


def _app_models():
    """"app" for the primary model, "app/name" for a further one: every committed model."""
    out = []
    for a in discover():
        app = load_app(a)
        if app.tflite_path.is_file():
            out += [a, *(f"{a}/{n}" for n in app.manifest.models)]
    return out


def _model_bytes(model_app: str) -> bytes:
    app_id, _, name = model_app.partition("/")
    app = load_app(app_id)
    return (app.model_path(name) if name else app.tflite_path).read_bytes()


APPS = _app_models()


@pytest.mark.skipif(not APPS, reason="no app has a committed int8 model yet")
@pytest.mark.parametrize("model_app", APPS)
def test_app_model_bit_exact_on_host(model_app):
    data = _model_bytes(model_app)
    ours, ref = HostModel(data), TflmModel(data)
    rng = np.random.default_rng(0)
    xs = rng.integers(-128, 128, (300, *ours.input_shape), dtype=np.int8)
    xs[150:] = np.clip(np.round(rng.normal(0, 30, xs[150:].shape)), -128, 127).astype(np.int8)
    ya, yb = ours.invoke_many(xs), ref.invoke_many(xs)
    if ya.dtype == np.float32:
        ya, yb = ya.view(np.int32), yb.view(np.int32)
    assert (ya == yb).all(), f"{int((ya != yb).sum())} of {ya.size} outputs differ from TFLM"


@pytest.mark.skipif(not APPS or not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")),
                    reason="needs an app model, arm-none-eabi-gcc and qemu-system-arm")
@pytest.mark.parametrize("model_app", APPS)
def test_app_model_bit_exact_on_m4(model_app):
    from tinyml.compile.cortexm import build_runner, run_runner

    data = _model_bytes(model_app)
    ref = TflmModel(data)
    shape = ref.it.get_input_details(0)["shape"][1:]
    xs = np.random.default_rng(1).integers(-128, 128, (16, *shape), dtype=np.int8)
    res = run_runner(build_runner(data, xs, dsp=True, opt="-O2", tag=f"app-{model_app.replace('/', '-')}"))
    assert (res.outputs == ref.invoke_many(xs).reshape(len(xs), -1).view(np.int8)).all()
