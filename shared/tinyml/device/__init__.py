"""Firmware on devices: boards, builds, QEMU and host runners, the device link, flash/run/size verbs."""
