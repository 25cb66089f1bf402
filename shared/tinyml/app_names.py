"""Find where code names an app: the check behind "shared/ and firmware/ never name an app".

Code names an app through an identifier (`heart_rate_x_limit`, `TML_HEART_RATE_X`), a string that is
the id (`if app.id == "heart-rate-x"`), or a path through the app's folder (`"apps/heart-rate-x/model"`).
Prose does not: comments, docstrings and words inside a message ("e.g. my-gesture") are left alone, so
the README's own `make new app=my-gesture` example keeps the suite green.

A one-word id (`a1`) is also an ordinary variable name (a biquad's a1), so for it identifiers are not
checked; strings and paths still are, and `tinyml new` refuses an id that the core already uses as a
string (`window`), since the core could not then be told apart from a mention.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

CODE_SUFFIXES = {".py", ".c", ".h", ".mk", ".ld", ".s", ".S", ".toml"}
_C_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')
_C_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SEP = re.compile(r"[/\\]")


def _parts(app_id: str) -> list[str]:
    return app_id.split("-")


def identifier_names(ident: str, app_id: str) -> bool:
    """`heart_rate_x_max` or `TML_HEART_RATE_X` names `heart-rate-x`: its '_'-separated words hold the id's words
    in a row. Only for ids of two words or more (see the module doc)."""
    want = _parts(app_id)
    if len(want) < 2:
        return False
    words = ident.lower().split("_")
    return any(words[i:i + len(want)] == want for i in range(len(words) - len(want) + 1))


def string_names(text: str, app_id: str) -> bool:
    """A string is the id (or its '_' spelling), or a path with the id as one of its folders or files."""
    spellings = {app_id, app_id.replace("-", "_")}
    if text.strip() in spellings:
        return True
    for word in text.split():
        if not _SEP.search(word):
            continue
        for comp in _SEP.split(word.strip("'\"`,;:()[]{}")):
            if comp in spellings or comp.split(".")[0] in spellings:
                return True
    return False


def _python_tokens(text: str):
    """(kind, text) of identifiers and string contents; docstrings and comments are skipped."""
    prev = tokenize.NEWLINE
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            kind = tok.type
            if kind == tokenize.NAME:
                yield "ident", tok.string
            elif kind == tokenize.STRING:
                if prev not in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
                    yield "string", _unquote(tok.string)  # a string statement on its own line is a docstring
            elif kind == getattr(tokenize, "FSTRING_MIDDLE", None):  # Python 3.12+ splits f-strings
                yield "string", tok.string
            if kind not in (tokenize.COMMENT, tokenize.NL):
                prev = kind
    except (tokenize.TokenError, SyntaxError):
        return


def _unquote(s: str) -> str:
    s = s.lstrip("rbfuRBFU")
    q = s[:3] if s[:3] in ('"""', "'''") else s[:1]
    return s[len(q):-len(q)] if len(s) >= 2 * len(q) else s


def _c_tokens(text: str):
    code = _C_COMMENT.sub(" ", text)
    for mo in _C_STRING.finditer(code):
        yield "string", mo.group(0)[1:-1]
    for ident in _IDENT.findall(_C_STRING.sub(" ", code)):
        yield "ident", ident


def _word_tokens(text: str):
    """Makefiles, linker scripts, assembly, TOML: '#' comments dropped, every word is a possible path."""
    for line in text.splitlines():
        line = re.sub(r"(^|\s)[#;@].*", "", line) if not line.lstrip().startswith('"') else line
        line = _C_COMMENT.sub(" ", line)
        for word in line.split():
            yield "string", word.strip("'\"")
            for ident in _IDENT.findall(word):
                yield "ident", ident


def tokens(path: Path, text: str):
    if path.suffix == ".py":
        return _python_tokens(text)
    if path.suffix in (".c", ".h"):
        return _c_tokens(text)
    return _word_tokens(text)


def mentions(path: Path, text: str, app_ids) -> list[str]:
    """'<how> <token>' for each place `text` (the file `path`) names one of `app_ids`."""
    found = []
    for kind, tok in tokens(path, text):
        for app_id in app_ids:
            if (identifier_names(tok, app_id) if kind == "ident" else string_names(tok, app_id)):
                found.append(f"names {app_id!r} in the {'identifier' if kind == 'ident' else 'string'} {tok!r}")
    return found


def code_files(folder: Path):
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts:
            yield p


def core_mentions(app_ids, folders) -> list[str]:
    """Every place under `folders` (shared/, firmware/) where code names one of `app_ids`."""
    out = []
    for folder in folders:
        folder = Path(folder)
        for p in code_files(folder):
            for m in mentions(p, p.read_text(errors="ignore"), app_ids):
                out.append(f"{p.relative_to(folder.parent)} {m}")
    return out
