"""Real-board images: UF2 conversion and checks of a Cortex-M image (vector table, sections, fit)."""

from __future__ import annotations

import struct
from pathlib import Path

from .board import Board
from .elf import Elf

UF2_MAGIC0, UF2_MAGIC1, UF2_MAGIC_END = 0x0A324655, 0x9E5D5157, 0x0AB16F30
UF2_FLAG_FAMILY = 0x00002000
UF2_PAYLOAD = 256


def write_uf2(binary: bytes, base: int, family: int, out: Path) -> Path:
    """Microsoft UF2: 512-byte blocks of 256 payload bytes each, with the family id flag."""
    n = (len(binary) + UF2_PAYLOAD - 1) // UF2_PAYLOAD
    blocks = []
    for i in range(n):
        chunk = binary[i * UF2_PAYLOAD : (i + 1) * UF2_PAYLOAD]
        hdr = struct.pack("<IIIIIIII", UF2_MAGIC0, UF2_MAGIC1, UF2_FLAG_FAMILY, base + i * UF2_PAYLOAD,
                          UF2_PAYLOAD, i, n, family)
        data = chunk.ljust(476, b"\0")
        blocks.append(hdr + data + struct.pack("<I", UF2_MAGIC_END))
    Path(out).write_bytes(b"".join(blocks))
    return Path(out)


def read_uf2(path: Path) -> list[tuple[int, bytes, int]]:
    """(address, payload, family) per block; raises ValueError on a malformed block."""
    raw = Path(path).read_bytes()
    if len(raw) % 512:
        raise ValueError("UF2 size is not a multiple of 512")
    out = []
    for i in range(len(raw) // 512):
        b = raw[i * 512 : (i + 1) * 512]
        m0, m1, flags, addr, size, no, total, fam = struct.unpack_from("<IIIIIIII", b)
        (mend,) = struct.unpack_from("<I", b, 508)
        if (m0, m1, mend) != (UF2_MAGIC0, UF2_MAGIC1, UF2_MAGIC_END) or no != i or size > 476:
            raise ValueError(f"bad UF2 block {i}")
        out.append((addr, b[32 : 32 + size], fam))
    return out


def check_cortexm_image(elf_path: Path, board: Board) -> dict:
    """The facts a real board needs before it can boot: returns them, with a list of problems."""
    elf = Elf(elf_path)
    flash0, flash_n = board.num("FLASH_ORIGIN"), board.num("FLASH_SIZE")
    ram0, ram_n = board.num("RAM_ORIGIN"), board.num("RAM_SIZE")
    problems = []
    vec = elf.section(".isr_vector")
    if vec is None or vec.size < 8:
        return {"problems": ["no .isr_vector section"]}
    sp, reset = struct.unpack("<II", elf.read(vec, 0, 8))
    if vec.addr != flash0:
        problems.append(f"vector table at 0x{vec.addr:08x}, not at the flash origin 0x{flash0:08x}")
    if not ram0 < sp <= ram0 + ram_n:
        problems.append(f"initial SP 0x{sp:08x} is outside RAM")
    if sp % 8:
        problems.append(f"initial SP 0x{sp:08x} is not 8-byte aligned")
    if not reset & 1:
        problems.append(f"reset vector 0x{reset:08x} lacks the Thumb bit")
    if not flash0 <= (reset & ~1) < flash0 + flash_n:
        problems.append(f"reset vector 0x{reset:08x} is outside flash")
    if elf.entry & ~1 != reset & ~1:
        problems.append("ELF entry point differs from the reset vector")
    sizes = elf.sizes()
    flash_used = sizes["text"] + sizes["rodata"] + sizes["data"]
    if flash_used > flash_n:
        problems.append(f"image needs {flash_used} bytes of flash, the board has {flash_n}")
    for s in elf.sections:
        if not s.alloc or s.size == 0:
            continue
        in_flash = flash0 <= s.addr and s.addr + s.size <= flash0 + flash_n
        in_ram = ram0 <= s.addr and s.addr + s.size <= ram0 + ram_n
        if s.kind in ("text", "rodata") and not in_flash:
            problems.append(f"section {s.name} at 0x{s.addr:08x} is not in flash")
        if s.kind in ("data", "bss") and not in_ram:
            problems.append(f"section {s.name} at 0x{s.addr:08x} is not in RAM")
    return {"initial_sp": sp, "reset": reset, "vector_addr": vec.addr, "sizes": sizes, "flash_used": flash_used,
            "problems": problems}
