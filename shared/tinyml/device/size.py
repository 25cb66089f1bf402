"""Flash and RAM of an app's firmware on each board, and the checks that it fits.

flash = text + rodata + data (the initialised-data image lives in flash too)
RAM   = data + bss (the model arena, ring buffers and link buffers are all static) + the static
        stack peak (stack.py). The reserved stack must hold that peak, and the whole RAM figure
        must fit the smallest supported Cortex-M board.
No dynamic allocation: an image that links malloc/free is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..apps import App
from ..errors import TinymlError
from .board import Board, list_boards, load_board
from .elf import Elf
from .firmware import AppImage, build_app
from .stack import analyse, graph_from_disassembly


def disassemble(board: Board, elf) -> str:
    import subprocess

    from .build import _tool

    res = subprocess.run([_tool(board, "objdump"), "-d", str(elf)], capture_output=True, text=True)
    return res.stdout

ALLOC_SYMBOLS = ("malloc", "calloc", "realloc", "free", "_malloc_r", "_sbrk", "_sbrk_r")


@dataclass
class SizeReport:
    board: str
    text: int
    rodata: int
    data: int
    bss: int
    stack_peak: int
    stack_exact: bool
    stack_reserved: int | None
    arena: int | None
    flash_capacity: int | None
    ram_capacity: int | None
    stack_path: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def flash(self) -> int:
        return self.text + self.rodata + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss + self.stack_peak

    def as_dict(self) -> dict:
        return {"board": self.board, "flash": self.flash, "ram": self.ram, "text": self.text, "rodata": self.rodata,
                "data": self.data, "bss": self.bss, "stack_peak": self.stack_peak, "stack_exact": self.stack_exact,
                "stack_reserved": self.stack_reserved, "arena": self.arena, "flash_capacity": self.flash_capacity,
                "ram_capacity": self.ram_capacity, "problems": self.problems}


def allocation_symbols(elf: Elf) -> list[str]:
    names = elf.symbols()
    found = []
    for n in names:
        base = n.split("@", 1)[0]
        if base in ALLOC_SYMBOLS:
            found.append(base)
    return sorted(set(found))


def image_size(im: AppImage) -> SizeReport:
    b = im.board
    elf = Elf(im.elf)
    s = elf.sizes()
    cortex = b.arch == "cortex-m"
    avr = b.arch == "avr"
    if b.get("NO_CALLGRAPH"):  # no .ci files: the calls come from the linked image's disassembly
        graph = graph_from_disassembly(disassemble(b, im.elf), im.image.su_files, call_bytes=2 if avr else 0)
        st = analyse([], entry="main", isr_pattern=r"__vector_\d+$" if avr else None, graph=graph,
                     isr_frame=2 if avr else 0)
    else:
        st = analyse(im.image.ci_files, entry="Reset_Handler" if cortex else "main",
                     isr_pattern=r".*_(Handler|IRQHandler)$" if cortex else None,
                     fp="-mfloat-abi=hard" in b.get("CPU_FLAGS"))
    reserved = int(b.get("STACK_SIZE"), 0) if b.get("STACK_SIZE") else None
    r = SizeReport(b.name, s["text"], s["rodata"], s["data"], s["bss"], st.peak, st.exact, reserved, im.arena_size,
                   b.flash_size, b.ram_size, st.path)
    bad = allocation_symbols(elf)
    if bad:
        r.problems.append(f"links dynamic allocation ({', '.join(bad)}); firmware must use static buffers only")
    if st.recursion:
        r.problems.append(f"recursion ({', '.join(st.recursion)}): the stack peak is unbounded")
    if cortex or avr:
        if reserved is not None and st.peak > reserved:
            r.problems.append(f"static stack peak {st.peak} B exceeds the reserved stack {reserved} B")
        if b.flash_size and r.flash > b.flash_size:
            r.problems.append(f"flash {r.flash} B exceeds {b.flash_size} B")
        if b.ram_size and r.ram > b.ram_size:
            r.problems.append(f"RAM {r.ram} B exceeds {b.ram_size} B")
    return r


_NO_ROOM = re.compile(r"section `([^']+)' (?:will not fit in|is not within) region `([^']+)'")


def does_not_fit(link_error: str, board: Board | str, name: str) -> str | None:
    """The linker's "section .bss will not fit in region RAM" (avr: "is not within region data") as one line: a
    board too small for the image is the user's choice of board, not a build to debug. None for other errors."""
    mm = _NO_ROOM.search(link_error)
    if not mm:
        return None
    b = load_board(board) if isinstance(board, str) else board
    section, region = mm.groups()
    if region.lower() in ("ram", "data"):
        room = f"RAM ({b.ram_size:,} B)" if b.ram_size else "RAM"
    elif region.lower() in ("flash", "rom", "text"):
        room = f"flash ({b.flash_size:,} B)" if b.flash_size else "flash"
    else:
        room = f"region {region}"
    return f"{name} does not fit {b.name}: section {section} overflows its {room}; choose a larger board"


def build_to_fit(app: App, board: Board | str) -> AppImage:
    """build_app, with an image too big for the board said in one line."""
    try:
        return build_app(app, board)
    except TinymlError as e:
        raise TinymlError(does_not_fit(str(e), board, app.id) or str(e)) from None


def smallest_ram_board() -> Board | None:
    cands = [load_board(n) for n in list_boards()]
    cands = [b for b in cands if b.arch == "cortex-m" and b.ram_size]
    return min(cands, key=lambda b: b.ram_size) if cands else None


def default_boards(app: App) -> list[str]:
    """Every discovered board, except those too small for most apps (BOARD_OPT_IN = 1 in board.mk: the
    8-bit AVR), which an app gets only by naming them in its [firmware] boards."""
    listed = set(app.manifest.firmware.get("boards") or [])
    return [n for n in list_boards() if n in listed or not load_board(n).get("OPT_IN")]


def size_all(app: App, boards: list[str] | None = None) -> tuple[list[SizeReport], list[str]]:
    """Build for every board (default: default_boards) and report; plus app-wide problems."""
    names = boards or default_boards(app)
    reports = [image_size(build_to_fit(app, n)) for n in names]
    problems = []
    small = smallest_ram_board()
    cortex = [r for r in reports if load_board(r.board).arch == "cortex-m"]
    if small is not None and cortex:
        need = max(r.ram for r in cortex)
        if need > small.ram_size:
            worst = max(cortex, key=lambda r: r.ram)
            problems.append(f"needs {need} B of RAM (data + bss incl. arena and buffers + stack peak, on {worst.board}); "
                            f"the smallest board {small.name} has {small.ram_size} B")
    return reports, problems
