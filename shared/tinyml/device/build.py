"""Build firmware ELFs (and BIN/HEX/UF2) for a board with its own toolchain.

Every board compiles with -Wall -Wextra -Werror -ffp-contract=off, -ffunction-sections
-fdata-sections and -fstack-usage (one .su file per object, read by `tinyml size`), and links with
--gc-sections. Objects are cached by a hash of their flags and inputs under the output folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import TinymlError
from .board import Board, load_board, port_dir

WARN = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wvla", "-ffp-contract=off"]
SECTIONS = ["-ffunction-sections", "-fdata-sections", "-fstack-usage", "-fcallgraph-info=su"]


@dataclass(frozen=True)
class Image:
    board: str
    elf: Path
    outputs: dict[str, Path]  # "elf", "bin", "hex", "uf2" -> file
    objects: list[Path]

    @property
    def su_files(self) -> list[Path]:
        return [o.with_suffix(".su") for o in self.objects if o.with_suffix(".su").is_file()]

    @property
    def ci_files(self) -> list[Path]:
        return [o.with_suffix(".ci") for o in self.objects if o.with_suffix(".ci").is_file()]


def _tool(board: Board, name: str) -> str:
    """arm-none-eabi-gcc -> arm-none-eabi-objcopy; gcc -> objcopy."""
    cc = board.cc
    prefix = cc[: -len("gcc")] if cc.endswith("gcc") else ""
    return prefix + name


def _need(exe: str) -> None:
    if not shutil.which(exe):
        raise TinymlError(f"{exe} not found; run: tinyml system-deps firmware (or make app=<id> flash)")


def _run(cmd: list[str], what: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        msg = (res.stderr or res.stdout).strip()
        raise TinymlError(f"{what} failed:\n{' '.join(cmd)}\n{msg}")


def compile_flags(board: Board, include_dirs, defines, opt: str) -> list[str]:
    # A compiler older than GCC 10 (avr-gcc 5) has no call-graph output: BOARD_NO_CALLGRAPH = 1, and
    # stack.py reads the calls from the disassembly instead.
    sections = [f for f in SECTIONS if not (f.startswith("-fcallgraph-info") and board.get("NO_CALLGRAPH"))]
    flags = [*board.words("CPU_FLAGS"), *WARN, opt, "-g", *sections, *board.words("CFLAGS")]
    incs = [port_dir(), *board.include_dirs, *map(Path, include_dirs)]
    flags += [f"-I{d}" for d in incs]
    for k, v in (defines or {}).items():
        flags.append(f"-D{k}" if v is None else f"-D{k}={v}")
    return flags


def build_elf(
    board: str | Board,
    sources,
    include_dirs=(),
    defines: dict | None = None,
    out_dir: Path | str = "build/fw",
    opt: str = "-Os",
    name: str = "firmware",
) -> Path:
    """Compile `sources` plus the board's startup/port and the weak port defaults; link `name`.elf.

    Returns the ELF path. BIN/HEX/UF2 for boards that list them in BOARD_OUTPUTS come from
    `build_image`, which wraps this.
    """
    return build_image(board, sources, include_dirs, defines, out_dir, opt, name).elf


def build_image(
    board: str | Board,
    sources,
    include_dirs=(),
    defines: dict | None = None,
    out_dir: Path | str = "build/fw",
    opt: str = "-Os",
    name: str = "firmware",
    fast_sources=(),
    fast_opt: str = "-O2",
) -> Image:
    """fast_sources (the compute kernels) compile with fast_opt, the rest with opt: the inner loops run
    millions of times per second, the rest once per window, so only the kernels are worth the bytes."""
    b = load_board(board) if isinstance(board, str) else board
    _need(b.cc)
    out = Path(out_dir)
    obj_dir = out / "obj"
    obj_dir.mkdir(parents=True, exist_ok=True)
    cflags = compile_flags(b, include_dirs, defines, opt)
    fast_flags = compile_flags(b, include_dirs, defines, fast_opt)
    fast = {Path(f).resolve() for f in fast_sources}
    all_src = [*map(Path, sources), *b.sources, port_dir() / "tml_port_weak.c"]
    seen: set[Path] = set()
    objects: list[Path] = []
    hdr_hash = _headers_hash([port_dir(), *b.include_dirs, *map(Path, include_dirs)])
    for src in all_src:
        src = src.resolve()
        if src in seen:
            continue
        seen.add(src)
        if not src.is_file():
            raise TinymlError(f"source {src} not found")
        flags = fast_flags if src in fast else cflags
        h = hashlib.sha256("\0".join([b.cc, *flags, str(src), hdr_hash]).encode())
        h.update(src.read_bytes())
        obj = obj_dir / f"{src.stem}-{h.hexdigest()[:10]}.o"
        if not obj.is_file():
            tmp = obj.with_name(f"{obj.stem}.{os.getpid()}.o")
            _run([b.cc, *flags, "-c", str(src), "-o", str(tmp)], f"compiling {src.name} for {b.name}")
            tmp.replace(obj)
            for ext in (".su", ".ci"):  # per-function stack use and the call graph, for tinyml size
                aux = tmp.with_suffix(ext)
                if aux.is_file():
                    aux.replace(obj.with_suffix(ext))
        objects.append(obj)

    # Link and convert under temporary names, then rename: parallel builds of the same image (pytest
    # -n 2) never see a half-written file.
    tag = f".{os.getpid()}.tmp"
    elf = out / f"{name}.elf"
    tmp_elf = out / f"{name}{tag}.elf"
    ldflags = [*b.words("CPU_FLAGS"), "-Wl,--gc-sections", *b.words("LDFLAGS")]
    if b.ldscript:
        ldflags.append(f"-T{b.ldscript}")
    ldflags.append(f"-Wl,-Map={out / (name + tag + '.map')}")
    libs = b.words("LIBS") or ["-lm"]
    _run([b.cc, *ldflags, *map(str, objects), *libs, "-o", str(tmp_elf)], f"linking {elf.name} for {b.name}")
    done: dict[str, tuple[Path, Path]] = {"elf": (tmp_elf, elf)}
    objcopy = _tool(b, "objcopy")
    for kind in b.outputs:
        if kind == "elf":
            continue
        dst = out / f"{name}.{kind}"
        tmp = out / f"{name}{tag}.{kind}"
        if kind in ("bin", "hex"):
            _need(objcopy)
            fmt = "binary" if kind == "bin" else "ihex"
            _run([objcopy, "-O", fmt, str(tmp_elf), str(tmp)], f"objcopy {dst.name}")
        elif kind == "uf2":
            from .image import write_uf2

            if "bin" not in done:
                raise TinymlError(f"{b.dir / 'board.mk'}: BOARD_OUTPUTS must list bin before uf2")
            write_uf2(done["bin"][0].read_bytes(), b.num("FLASH_ORIGIN"), int(b.get("UF2_FAMILY"), 0), tmp)
        else:
            raise TinymlError(f"{b.dir / 'board.mk'}: unknown output {kind!r}; allowed: elf bin hex uf2")
        done[kind] = (tmp, dst)
    (out / f"{name}{tag}.map").replace(out / f"{name}.map")
    outputs = {}
    for kind, (tmp, dst) in done.items():
        tmp.replace(dst)
        outputs[kind] = dst
    return Image(b.name, elf, outputs, objects)


def _headers_hash(dirs) -> str:
    h = hashlib.sha256()
    for d in dirs:
        d = Path(d)
        if d.is_dir():
            for hdr in sorted(d.rglob("*.h")):
                h.update(str(hdr).encode())
                h.update(hdr.read_bytes())
    return h.hexdigest()
