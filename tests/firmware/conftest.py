"""Firmware tests: fixtures that skip cleanly when the cross toolchain or QEMU is missing."""

from __future__ import annotations

import pytest
from fwtest import need


@pytest.fixture
def arm():
    need("arm-none-eabi-gcc", "qemu-system-arm")


@pytest.fixture
def native():
    need("gcc")
