"""app_config.h from the manifest: compiled into a C program that prints what it sees, compared
with the manifest's values (floats bit-exact as float32)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from fwtest import copy_fixture, fixture_app, need

from tinyml.apps import load_app
from tinyml.device.config import app_config_h, config_defines, write_app_config
from tinyml.errors import TinymlError

PROBE = r"""
#include <stdio.h>
#include <string.h>
#include "app_config.h"
static const char *labels[] = TML_CFG_LABELS;
static const float weights[] = TML_CFG_POSTPROCESS_WEIGHTS;
static const int matrix[TML_CFG_POSTPROCESS_MATRIX_ROWS][TML_CFG_POSTPROCESS_MATRIX_COLS] = TML_CFG_POSTPROCESS_MATRIX;
static const char *channels[] = TML_CFG_SIGNAL_CHANNELS;
static const int events[] = TML_CFG_EVENT_LABELS;
int main(void) {
    printf("%s|%s|%d|%d\n", TML_CFG_APP_ID, TML_CFG_FEATURE_HASH, TML_CFG_N_CHANNELS, TML_CFG_N_LABELS);
    printf("%s,%s|%s,%s|%d\n", labels[0], labels[1], channels[0], channels[1], events[0]);
    printf("%a|%a|%a|%a\n", (double)TML_CFG_POSTPROCESS_THRESHOLD, (double)weights[1], (double)TML_CFG_SIGNAL_RATE,
           (double)(2 - TML_CFG_POSTPROCESS_OFFSET));
    printf("%d|%d|%d|%d\n", TML_CFG_FEATURES_WINDOW, TML_CFG_FEATURES_HOP, matrix[1][0], TML_CFG_POSTPROCESS_ENABLED);
    printf("%s|%d\n", TML_CFG_POSTPROCESS_NOTE, TML_CFG_LABEL_LOUD);
    printf("%s|%d|%d\n", TML_CFG_FEATURES_CHAIN_0_BLOCK, TML_CFG_FEATURES_CHAIN_0_SIZE, TML_CFG_FEATURES_CHAIN_LEN);
    return 0;
}
"""


def test_config_compiles_and_carries_the_manifest(tmp_path):
    need("gcc")
    d = copy_fixture(tmp_path)
    toml = d / "app.toml"
    text = toml.read_text().replace("threshold = 2.5", "threshold = 0.1\noffset = -3.25")
    text = text.replace("hop = 10", 'hop = 10\nchain = [{ block = "window", size = 25 }]')
    toml.write_text(text)
    app = load_app("mean-alarm", root=d.parent)
    m = app.manifest
    gen = write_app_config(m, tmp_path / "gen")
    (tmp_path / "probe.c").write_text(PROBE)
    exe = tmp_path / "probe"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{gen.parent}", str(tmp_path / "probe.c"),
                    "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == f"mean-alarm|{m.feature_hash()}|2|2"
    assert out[1] == "quiet,loud|x,y|1"
    th, w, rate, off = (float.fromhex(x) for x in out[2].split("|"))
    assert th == float(np.float32(0.1))  # float32-exact, not the double 0.1
    assert w == 0.5 and rate == 50.0
    assert off == 2 - float(np.float32(-3.25))  # a negative macro is parenthesised: 2 - (-3.25)
    assert out[3] == "25|10|3|1"
    assert out[4] == 'quoted "text"|1'
    assert out[5] == "window|25|1"


def test_config_is_generated_from_the_manifest_only():
    app = fixture_app()
    d = config_defines(app.manifest)
    assert d["TML_CFG_FEATURE_HASH"] == f'"{app.manifest.feature_hash()}"'
    assert "mean-alarm" in app_config_h(app.manifest)
    # every scalar of [signal], [features] and [postprocess] is there
    for section in ("signal", "features", "postprocess"):
        for k, v in getattr(app.manifest, section).items():
            if v is None or isinstance(v, (list, dict)):
                continue
            assert f"TML_CFG_{section.upper()}_{k.upper()}" in d


def test_config_refuses_names_that_collide(tmp_path):
    d = copy_fixture(tmp_path)
    toml = d / "app.toml"
    toml.write_text(toml.read_text().replace("threshold = 2.5", 'threshold = 2.5\n"thresh-old" = 1\nthresh_old = 2'))
    app = load_app("mean-alarm", root=d.parent)
    with pytest.raises(TinymlError, match="C name"):
        config_defines(app.manifest)
