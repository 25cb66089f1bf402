"""Build C sources into a host shared library (for ctypes) with a content-hash cache under build/host.

Python tests call the C runtime and DSP twins through these libraries to compare them with numpy and TFLM.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from .errors import TinymlError
from .paths import build_dir

WARN = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wvla", "-ffp-contract=off"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


def build_shared_lib(
    name: str,
    sources: list[Path],
    include_dirs: list[Path] = (),
    defines: dict[str, str | int] | None = None,
    opt: str = "-O2",
    extra_flags: list[str] = (),
) -> Path:
    """Compile `sources` into build/host/<name>-<hash>.so; rebuilt only when an input changes."""
    cc = os.environ.get("CC", "gcc")
    if not shutil.which(cc):
        raise TinymlError(f"C compiler {cc!r} not found; install gcc")
    flags = [*WARN, opt, "-fPIC", "-shared", *extra_flags]
    flags += [f"-I{d}" for d in include_dirs]
    flags += [f"-D{k}={v}" for k, v in (defines or {}).items()]
    h = hashlib.sha256(" ".join(flags).encode())
    for src in sorted({Path(s) for s in sources}):
        h.update(src.read_bytes())
    for d in include_dirs:
        for hdr in sorted(Path(d).glob("*.h")):
            h.update(hdr.read_bytes())
    out = build_dir("host", f"{name}-{h.hexdigest()[:12]}.so")
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        cmd = [cc, *flags, *map(str, sources), "-o", str(tmp), "-lm"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise TinymlError(f"C build of {name} failed:\n{res.stderr}")
        tmp.replace(out)
    return out


def load_shared_lib(path: Path) -> ctypes.CDLL:
    return ctypes.CDLL(str(path))


def asan_runtime() -> str | None:
    """Path of libasan to LD_PRELOAD when a sanitized library is loaded into a plain python process."""
    res = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True)
    p = res.stdout.strip()
    return p if p and os.path.isabs(p) else None
