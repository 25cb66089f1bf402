"""Just enough ELF reading (32/64-bit, little-endian) for sizes, symbols and vector-table checks."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import TinymlError

SHT_PROGBITS, SHT_SYMTAB, SHT_NOBITS = 1, 2, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4


@dataclass
class Section:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int

    @property
    def alloc(self) -> bool:
        return bool(self.flags & SHF_ALLOC)

    @property
    def kind(self) -> str:
        """text, rodata, data, bss, or '' for non-allocated sections."""
        if not self.alloc:
            return ""
        if self.type == SHT_NOBITS:
            return "bss"
        if self.flags & SHF_EXECINSTR:
            return "text"
        if self.flags & SHF_WRITE:
            return "data"
        return "rodata"


@dataclass
class Segment:
    type: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int


class Elf:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.data = self.path.read_bytes()
        d = self.data
        if d[:4] != b"\x7fELF" or d[5] != 1:
            raise TinymlError(f"{self.path}: not a little-endian ELF file")
        self.bits = 64 if d[4] == 2 else 32
        if self.bits == 32:
            (_t, self.machine, _v, self.entry, phoff, shoff, _f, _eh, phentsize, phnum, shentsize, shnum,
             shstrndx) = struct.unpack_from("<HHIIIIIHHHHHH", d, 16)
        else:
            (_t, self.machine, _v, self.entry, phoff, shoff, _f, _eh, phentsize, phnum, shentsize, shnum,
             shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", d, 16)
        raw = []
        for i in range(shnum):
            o = shoff + i * shentsize
            if self.bits == 32:
                name, typ, flags, addr, off, size = struct.unpack_from("<IIIIII", d, o)
            else:
                name, typ, flags, addr, off, size = struct.unpack_from("<IIQQQQ", d, o)
            link = struct.unpack_from("<I", d, o + (24 if self.bits == 32 else 40))[0]
            raw.append((name, typ, flags, addr, off, size, link))
        strtab = raw[shstrndx] if raw else None
        self.sections: list[Section] = []
        self._links: list[int] = []
        for name, typ, flags, addr, off, size, link in raw:
            nm = self._str(strtab[4], name) if strtab else ""
            self.sections.append(Section(nm, typ, flags, addr, off, size))
            self._links.append(link)
        self.segments: list[Segment] = []
        for i in range(phnum):
            o = phoff + i * phentsize
            if self.bits == 32:
                typ, off, vaddr, paddr, filesz, memsz = struct.unpack_from("<IIIIII", d, o)
            else:
                typ, _fl, off, vaddr, paddr, filesz, memsz = struct.unpack_from("<IIQQQQQ", d, o)
            self.segments.append(Segment(typ, off, vaddr, paddr, filesz, memsz))

    def _str(self, table_off: int, idx: int) -> str:
        end = self.data.index(b"\0", table_off + idx)
        return self.data[table_off + idx : end].decode("ascii", "replace")

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def read(self, sec: Section, offset: int, size: int) -> bytes:
        return self.data[sec.offset + offset : sec.offset + offset + size]

    def symbols(self) -> dict[str, tuple[int, int, int]]:
        """name -> (value, size, section index); undefined symbols have section index 0."""
        out: dict[str, tuple[int, int, int]] = {}
        for i, s in enumerate(self.sections):
            if s.type != SHT_SYMTAB:
                continue
            strtab = self.sections[self._links[i]]
            ent = 16 if self.bits == 32 else 24
            for k in range(s.size // ent):
                o = s.offset + k * ent
                if self.bits == 32:
                    name, value, size, _info, _other, shndx = struct.unpack_from("<IIIBBH", self.data, o)
                else:
                    name, _info, _other, shndx, value, size = struct.unpack_from("<IBBHQQ", self.data, o)
                if name:
                    out.setdefault(self._str(strtab.offset, name), (value, size, shndx))
        return out

    def sizes(self, exclude: tuple[str, ...] = (".stack",)) -> dict[str, int]:
        """Bytes by kind over allocated sections (the reserved .stack is reported separately)."""
        out = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
        for s in self.sections:
            if s.kind and s.name not in exclude:
                out[s.kind] += s.size
        return out
