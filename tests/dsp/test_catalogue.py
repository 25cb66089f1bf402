"""docs/dsp-blocks.md is the registry's own catalogue: a block added or changed without regenerating the page
fails here (regenerate: python -m tinyml.dsp.catalogue > docs/dsp-blocks.md)."""

from pathlib import Path

from tinyml.dsp import BLOCKS
from tinyml.dsp.catalogue import catalogue

PAGE = Path(__file__).resolve().parents[2] / "docs" / "dsp-blocks.md"


def test_the_committed_page_is_the_registrys_catalogue():
    assert PAGE.read_text() == catalogue(), \
        "docs/dsp-blocks.md is stale: python -m tinyml.dsp.catalogue > docs/dsp-blocks.md"


def test_every_block_and_parameter_is_on_the_page():
    text = catalogue()
    for name, block in BLOCKS.items():
        assert f"## `{name}`" in text
        for p in block.params:
            assert f"| `{p}` |" in text
    assert "`tml_band_envelope`" in text and "`tml_qrs_detect_step`" in text  # twins found in tml_dsp.h
