"""The core stays generic: no identifier, string or path in shared/ or firmware/ names an app (prose may)."""

from pathlib import Path

import pytest

from tinyml.app_names import core_mentions, mentions

from apptest import APPS, ROOT


def test_core_names_no_app():
    assert APPS, "no apps discovered"
    offenders = core_mentions(APPS, [ROOT / "shared", ROOT / "firmware"])
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("new_id", ["my-gesture", "heart-rate-x", "a1"])
def test_core_names_no_new_app(new_id):
    """A fresh app's id, whatever it is, is not mistaken for a mention (the README's my-gesture was)."""
    offenders = core_mentions([new_id], [ROOT / "shared", ROOT / "firmware"])
    assert not offenders, "\n".join(offenders)


PY = '''"""Docstring: my-gesture is prose."""
# a comment about my-gesture
MSG = "must be kebab-case, e.g. my-gesture"
'''


@pytest.mark.parametrize("name, text, flagged", [
    ("x.py", PY, False),
    ("x.py", PY + 'if app.id == "my-gesture":\n    pass\n', True),
    ("x.py", PY + 'P = f"apps/my-gesture/model/{name}"\n', True),
    ("x.py", PY + "my_gesture_threshold = 3\n", True),
    ("x.py", PY + "a1 = 2.0  # a biquad coefficient\n", False),
    ("x.py", PY + 'APP = "a1"\n', True),
    ("x.c", '/* my-gesture */\nstatic const char *m = "e.g. my-gesture";\n', False),
    ("x.c", "#include \"apps/my-gesture/app.h\"\n", True),
    ("x.h", "#define TML_MY_GESTURE_RATE 50\n", True),
    ("x.mk", "# my-gesture board\nSRC = apps/my-gesture/firmware/app.c\n", True),
    ("x.mk", "# my-gesture board\nSRC = main.c\n", False),
])
def test_guard_flags_code_not_prose(name, text, flagged):
    app_id = "a1" if '"a1"' in text or "a1 =" in text else "my-gesture"
    assert bool(mentions(Path(name), text, [app_id])) == flagged


def test_new_refuses_an_id_the_core_uses_as_a_word(tmp_path):
    from apptest import run_cli, template_repo

    root = template_repo(tmp_path, "_template")
    (root / "shared").symlink_to(ROOT / "shared")
    res = run_cli("new", "window", env={"TINYML_ROOT": str(root)})
    assert res.returncode == 2 and "window" in res.stderr and len(res.stderr.splitlines()) == 1, res.stderr
    assert not (root / "apps" / "window").exists()
