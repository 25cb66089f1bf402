"""Install the Debian packages a verb needs, once, saying so first (sudo when not root).

The build and emulator tools (`make flash/run/bench/test`) and the speech synthesisers (`make test`)
install with a message; a real board's flashing tool (openocd, bossac) is installed only when the user
says yes, at a prompt or with --yes (YES=1), never silently. README.md, System packages, lists every
package each verb installs (a test keeps it in step with NEEDS and the boards' BOARD_FLASH_PKG).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from . import hints
from .errors import TinymlError

# Python.h of the interpreter running this (a venv's base Python): Debian's python3.X-dev when missing
_PY_HEADERS = str(Path(sysconfig.get_paths()["include"]) / "Python.h")
_PY_DEV = f"python{sys.version_info[0]}.{sys.version_info[1]}-dev"

# purpose -> {executable (or absolute path) that proves it is installed: debian package}
NEEDS: dict[str, dict[str, str]] = {
    "firmware": {
        "arm-none-eabi-gcc": "gcc-arm-none-eabi",
        "qemu-system-arm": "qemu-system-arm",
        "gcc": "gcc",
        # the 8-bit AVR board: toolchain, C library, and simavr (library + headers) for its simulator
        "avr-gcc": "gcc-avr",
        "/usr/lib/avr/include/avr/io.h": "avr-libc",
        "simavr": "simavr",
        "/usr/include/simavr/sim_avr.h": "libsimavr-dev",
        "/usr/include/libelf.h": "libelf-dev",
    },
    "audio": {"espeak-ng": "espeak-ng", "flite": "flite", "sox": "sox", "text2wave": "festival",
              "/usr/share/festival/voices/english/kal_diphone": "festvox-kallpc16k",
              "/usr/share/festival/voices/english/ked_diphone": "festvox-kdlpc16k",
              "/usr/share/festival/voices/us/cmu_us_slt_arctic_hts": "festvox-us-slt-hts",
              # recorded talkers of other languages, who read English with their accent
              "/usr/share/festival/voices/finnish/suo_fi_lj_diphone": "festvox-suopuhe-lj",
              "/usr/share/festival/voices/finnish/hy_fi_mv_diphone": "festvox-suopuhe-mv",
              "/usr/share/festival/voices/czech/czech_dita": "festvox-czech-dita",
              "/usr/share/festival/voices/czech/czech_machac": "festvox-czech-machac",
              "/usr/share/festival/voices/czech/czech_krb": "festvox-czech-krb",
              "/usr/share/festival/voices/italian/lp_diphone": "festvox-italp16k",
              "/usr/share/festival/voices/italian/pc_diphone": "festvox-itapc16k",
              "/usr/share/festival/voices/catalan/upc_ca_ona_hts": "festvox-ca-ona-hts"},
    "mqtt": {"mosquitto": "mosquitto", "mosquitto_passwd": "mosquitto", "openssl": "openssl"},
    "eim": {"gcc": "gcc"},
    # the dashboard needs no browser to run; its test opens the page in a headless one
    "dashboard": {"chromium": "chromium"},
    # pip builds PyAudio (which Edge Impulse's SDK imports) from source: PortAudio's headers and Python's own
    "edge-impulse": {"/usr/include/portaudio.h": "portaudio19-dev", "gcc": "gcc", _PY_HEADERS: _PY_DEV},
    # more recorded talkers for the synthetic speech corpus, in Debian's non-free section (enabled first,
    # after asking): RHVoice's English voices and SVOX Pico
    "voices": {"RHVoice-test": "rhvoice", "/usr/share/RHVoice/voices/bdl": "rhvoice-english",
               "pico2wave": "libttspico-utils"},
}
# purposes whose packages live in Debian's contrib/non-free sections, which a stock system does not enable
NON_FREE = {"voices"}
# the suite builds firmware, makes TTS speech, runs a broker, drives .eim models through Edge Impulse's SDK and opens
# the dashboard in a headless browser
NEEDS["test"] = {**NEEDS["firmware"], **NEEDS["audio"], **NEEDS["mqtt"], **NEEDS["edge-impulse"], **NEEDS["dashboard"]}
EXTRA_PACKAGES = {"firmware": ["libnewlib-arm-none-eabi"], "test": ["libnewlib-arm-none-eabi"]}
WHY = {
    "firmware": "building the firmware and emulating the boards",
    "audio": "the speech synthesisers the synthetic speech dataset uses",
    "test": "the test suite (firmware toolchain, emulator and speech synthesisers)",
    "mqtt": "the MQTT broker (mosquitto) and the tools its tests make passwords and certificates with",
    "eim": "building Edge Impulse Linux models (.eim) with the host compiler",
    "dashboard": "a headless browser that the dashboard's test opens its page in",
    "edge-impulse": "building PyAudio, which Edge Impulse's Linux SDK imports (pip install -e \".[edge-impulse]\")",
    "voices": "more speech voices for the synthetic speech dataset (RHVoice, SVOX Pico: Debian non-free)",
}
SOURCES = "/etc/apt/sources.list.d/debian.sources"


def missing_packages(purpose: str) -> list[str]:
    if purpose not in NEEDS:
        raise TinymlError(f"unknown purpose {purpose!r}; allowed: {', '.join(NEEDS)}")
    missing = [pkg for exe, pkg in NEEDS[purpose].items()
               if not (os.path.exists(exe) if exe.startswith("/") else shutil.which(exe))]
    if missing:
        missing += EXTRA_PACKAGES.get(purpose, [])
    return sorted(set(missing))


def ensure(purpose: str, yes: bool = False) -> None:
    """Install what `purpose` needs and is missing, after saying what and why; a purpose in NON_FREE first
    enables Debian's contrib and non-free sections, when the user agrees (a prompt, or yes)."""
    missing = missing_packages(purpose)
    if missing:
        if purpose in NON_FREE:
            enable_non_free(missing, WHY[purpose], yes)
        install(missing, WHY.get(purpose, purpose))


def enable_non_free(packages: list[str], why: str, yes: bool = False) -> None:
    """Add contrib and non-free to the Debian sources (deb822 file) when `packages` have no install
    candidate, after asking at a terminal or with yes; otherwise one line saying how."""
    res = subprocess.run(["apt-cache", "policy", *packages], capture_output=True, text=True, check=False)
    if res.returncode == 0 and res.stdout.count("Candidate: (none)") == 0 and res.stdout.count("Candidate:") >= len(packages):
        return
    how = f"sed -i 's/^Components: main$/Components: main contrib non-free/' {SOURCES} && apt-get update"
    if not yes and sys.stdin.isatty() and sys.stderr.isatty():
        sys.stderr.write(f"{why} needs {' '.join(packages)} from Debian's contrib/non-free sections, which are not "
                         f"enabled; enable them now ({how})? [y/N] ")
        sys.stderr.flush()
        yes = sys.stdin.readline().strip().lower() in ("y", "yes")
    if not yes:
        raise TinymlError(f"{' '.join(packages)} are in Debian's contrib/non-free sections ({why}); enable them: "
                          f"{how}, or give {hints.option('--yes')} to let tinyml do it")
    if os.geteuid() != 0 or not os.path.isfile(SOURCES):
        raise TinymlError(f"cannot enable contrib/non-free here (not root, or no {SOURCES}); as root: {how}")
    text = open(SOURCES).read()
    with open(SOURCES, "w") as f:
        f.write("\n".join("Components: main contrib non-free" if ln.strip() == "Components: main" else ln
                          for ln in text.split("\n")))
    print(f"enabled Debian contrib and non-free in {SOURCES} for {why}", file=sys.stderr)


def ensure_tool(exe: str, package: str, why: str, yes: bool = False) -> None:
    """A tool only some users need (a real board's flasher): installed when the user agrees, at a prompt
    or with --yes; otherwise one line saying how to install it."""
    if shutil.which(exe):
        return
    how = f"apt-get install -y {package}"
    if not yes and sys.stdin.isatty() and sys.stderr.isatty():
        sys.stderr.write(f"{why} needs {exe} (Debian package {package}); install it now with {how}? [y/N] ")
        sys.stderr.flush()
        yes = sys.stdin.readline().strip().lower() in ("y", "yes")
    if not yes:
        raise TinymlError(f"{exe} not found ({why} needs it); install it: {how}, "
                          f"or give {hints.option('--yes')} to let tinyml install it")
    install([package], why)
    if not shutil.which(exe):
        raise TinymlError(f"{exe} still not found after installing {package}")


def install(missing: list[str], why: str) -> None:
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise TinymlError(f"need Debian packages {' '.join(missing)} for {why}; "
                              f"run as root: apt-get install -y {' '.join(missing)}")
        prefix = ["sudo"]
    if not shutil.which("apt-get"):
        raise TinymlError(f"need {' '.join(missing)} for {why} but apt-get is not available; "
                          "install them with your package manager")
    print(f"installing Debian packages for {why}: {' '.join(missing)} "
          f"({'sudo ' if prefix else ''}apt-get install; README.md, System packages, lists them)", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        res = subprocess.run(prefix + cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if res.returncode != 0:
            last = (res.stderr.strip().splitlines() or ["?"])[-1]
            raise TinymlError(f"'{' '.join(cmd)}' failed: {last}")
