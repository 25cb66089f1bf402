"""Host harness: build a compiled model with the runtime kernels into a shared library and run it from Python.

Used by the tests and by parity checks against the TFLM interpreter.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from .. import cbuild
from ..errors import TinymlError
from ..paths import build_dir
from .codegen import CompiledModel, compile_tflite, runtime_dir, runtime_sources


def build_model_lib(tflite_bytes: bytes, sanitize: bool = False, defines: dict | None = None,
                    opt: str = "-O2", kernels: str = "auto", tight: bool = False) -> tuple[CompiledModel, Path]:
    """kernels / tight: as compile_tflite (tests run the generic kernels, and the in-place edge)."""
    key = hashlib.sha256(tflite_bytes + f"{kernels}{tight}".encode()).hexdigest()[:16]
    gen = build_dir("host", "models", key)
    cm = compile_tflite(tflite_bytes, gen, kernels=kernels, tight=tight)
    flags = list(cbuild.SANITIZE) if sanitize else []
    lib = cbuild.build_shared_lib(f"model-{key}{'-san' if sanitize else ''}", [cm.c_path, *runtime_sources()],
                                  include_dirs=[gen, runtime_dir()], defines=defines,
                                  opt="-O1" if sanitize else opt, extra_flags=flags)
    return cm, lib


class HostModel:
    """Our generated C for one model, loaded into this process. invoke(int8 input) -> int8 output."""

    def __init__(self, tflite_bytes: bytes, defines: dict | None = None, opt: str = "-O2", kernels: str = "auto",
                 tight: bool = False):
        self.compiled, self.lib_path = build_model_lib(tflite_bytes, defines=defines, opt=opt, kernels=kernels,
                                                       tight=tight)
        self.lib = cbuild.load_shared_lib(self.lib_path)
        self.lib.tml_model_input.restype = ctypes.c_void_p
        self.lib.tml_model_output.restype = ctypes.c_void_p
        self.lib.tml_model_invoke.restype = ctypes.c_int
        cm = self.compiled
        self.input_shape = cm.input_shape
        self.output_shape = cm.output_shape
        self.output_dtype = np.float32 if cm.output_is_float else np.int8

    def invoke(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.int8)
        cm = self.compiled
        if x.size != cm.input_size:
            raise TinymlError(f"input has {x.size} values, the model takes {cm.input_size}")
        ctypes.memmove(self.lib.tml_model_input(), x.ctypes.data, x.size)
        rc = self.lib.tml_model_invoke()
        if rc != 0:
            raise TinymlError(f"tml_model_invoke returned {rc}")
        buf = (ctypes.c_char * cm.output_size).from_address(self.lib.tml_model_output())
        return np.frombuffer(bytes(buf), dtype=self.output_dtype).reshape(self.output_shape).copy()

    def invoke_many(self, xs: np.ndarray) -> np.ndarray:
        return np.stack([self.invoke(x) for x in xs])


_SAN_CHILD = r"""
import ctypes, sys, numpy as np
lib = ctypes.CDLL(sys.argv[1])
lib.tml_model_input.restype = ctypes.c_void_p
lib.tml_model_output.restype = ctypes.c_void_p
n_in, n_out = int(sys.argv[2]), int(sys.argv[3])
xs = np.fromfile(sys.argv[4], dtype=np.int8).reshape(-1, n_in)
outs = []
for x in xs:
    ctypes.memmove(lib.tml_model_input(), x.ctypes.data, n_in)
    assert lib.tml_model_invoke() == 0
    outs.append(bytes((ctypes.c_char * n_out).from_address(lib.tml_model_output())))
open(sys.argv[5], "wb").write(b"".join(outs))
"""


def run_sanitized(tflite_bytes: bytes, xs: np.ndarray, kernels: str = "auto", tight: bool = False) -> np.ndarray:
    """Run the model built with ASan+UBSan in a child python (libasan preloaded); return raw output bytes."""
    cm, lib = build_model_lib(tflite_bytes, sanitize=True, kernels=kernels, tight=tight)
    asan = cbuild.asan_runtime()
    if not asan:
        raise TinymlError("libasan not found (gcc -print-file-name=libasan.so)")
    d = lib.parent / (lib.stem + ".io")
    d.mkdir(exist_ok=True)
    fin, fout = d / "in.bin", d / "out.bin"
    np.ascontiguousarray(xs, dtype=np.int8).tofile(fin)
    env = dict(os.environ, LD_PRELOAD=asan, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    res = subprocess.run([sys.executable, "-c", _SAN_CHILD, str(lib), str(cm.input_size), str(cm.output_size),
                          str(fin), str(fout)], capture_output=True, text=True, env=env, timeout=300)
    if res.returncode != 0:
        raise TinymlError(f"sanitized run failed (rc {res.returncode}):\n{res.stderr[-4000:]}")
    return np.frombuffer(fout.read_bytes(), dtype=np.int8).reshape(len(xs), -1)


def describe(cm: CompiledModel) -> str:
    return json.dumps({"arena": cm.arena_size, "macs": cm.macs, "layers": [L.op for L in cm.layers]})
