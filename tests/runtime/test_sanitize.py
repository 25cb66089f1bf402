"""The host build of generated models + kernels under AddressSanitizer and UndefinedBehaviorSanitizer
(-fno-sanitize-recover: any finding aborts), run in a child python with libasan preloaded; outputs must
still equal TFLM's."""

from __future__ import annotations

import numpy as np
import pytest

from specs import make_inputs, random_spec
from tinyml import cbuild
from tinyml.compile import parse_tflite, run_sanitized, zoo
from tinyml.compile.reference import TflmModel

pytestmark = pytest.mark.skipif(cbuild.asan_runtime() is None, reason="libasan not available")

# One model per kernel family: conv (im2col, 1x1, strided), depthwise (multiplier), FC rows, pools, MEAN,
# softmax, logistic, add, mul, concat, pad, and the DS-CNN.
SEEDS = [0, 1, 3, 4, 6, 7, 8, 9, 10, 11, 12, 14, 16, 19]


def _models():
    return [(f"random-{s}", random_spec(s)) for s in SEEDS] + [("ds-cnn", zoo.ds_cnn_spec())]


@pytest.mark.parametrize("name,spec", _models(), ids=[n for n, _ in _models()])
def test_sanitized_build_matches_tflm(name, spec):
    b = zoo.tflite_for_spec(spec)
    m = parse_tflite(b)
    shape = m.tensors[m.inputs[0]].shape[1:]
    xs = make_inputs(spec, shape, 24 if name != "ds-cnn" else 6, spec.get("seed", 0))
    out = run_sanitized(b, xs)
    ref = TflmModel(b).invoke_many(xs).reshape(len(xs), -1).view(np.int8)
    assert (out == ref).all()


def test_sanitizer_is_really_on(tmp_path):
    """A deliberate out-of-bounds read in a library built the same way must abort the child."""
    import subprocess
    import sys

    src = tmp_path / "oob.c"
    src.write_text("#include <stdint.h>\nint oob(int i) { int8_t a[4] = {1, 2, 3, 4}; volatile int8_t *p = a; "
                   "return p[i]; }\n")
    lib = cbuild.build_shared_lib("oob-test", [src], opt="-O1", extra_flags=list(cbuild.SANITIZE))
    code = f"import ctypes; ctypes.CDLL({str(lib)!r}).oob(9)"
    env = {"LD_PRELOAD": cbuild.asan_runtime(), "ASAN_OPTIONS": "detect_leaks=0", "PATH": "/usr/bin:/bin"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert res.returncode != 0 and ("AddressSanitizer" in res.stderr or "runtime error" in res.stderr)
