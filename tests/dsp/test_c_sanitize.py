"""The DSP C twins under -fsanitize=address,undefined (a standalone driver with exact-size heap buffers,
run as a subprocess), and a warnings-clean cross-compile for Cortex-M4F."""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tinyml.cbuild import SANITIZE, WARN, asan_runtime
from tinyml.dsp.ctwin import include_dir, sources
from tinyml.paths import build_dir

DRIVER = Path(__file__).parent / "c" / "sanitize_driver.c"


def _build(cmd_prefix, srcs, out_name, extra):
    h = hashlib.sha256(" ".join(extra).encode())
    for p in [*srcs, include_dir() / "tml_dsp.h"]:
        h.update(p.read_bytes())
    out = build_dir("host", f"{out_name}-{h.hexdigest()[:12]}")
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        res = subprocess.run([*cmd_prefix, *extra, *map(str, srcs), "-o", str(tmp), "-lm"], capture_output=True,
                             text=True)
        assert res.returncode == 0, res.stderr
        tmp.replace(out)
    return out


@pytest.mark.skipif(asan_runtime() is None, reason="gcc has no libasan on this machine")
def test_driver_clean_under_asan_ubsan():
    exe = _build(["gcc"], [DRIVER, *sources()], "dsp_sanitize_driver",
                 [*WARN, *SANITIZE, "-O1", "-g", f"-I{include_dir()}"])
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"}
    env.pop("LD_PRELOAD", None)
    res = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("ok ") and int(res.stdout.split()[1]) > 1000, res.stdout


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no arm-none-eabi-gcc")
def test_cortex_m4_build_is_warning_clean(tmp_path):
    flags = [*WARN, "-Wdouble-promotion", "-Wconversion", "-O2", "-mcpu=cortex-m4", "-mthumb",
             "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", f"-I{include_dir()}"]
    for src in sources():
        res = subprocess.run(["arm-none-eabi-gcc", *flags, "-c", str(src), "-o", str(tmp_path / (src.stem + ".o"))],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
