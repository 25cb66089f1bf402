"""Firmware on devices: boards, builds, QEMU and host runners, the device link, flash/run/size verbs.

    board.py     boards discovered by firmware/boards/<b>/board.mk (load_board, list_boards)
    build.py     build_elf / build_image: any C sources + the board's startup/port, -Werror, .su/.ci files
    qemu.py      run_qemu(elf, timeout_s=..., stdin=...) -> returncode, stdout (serial), stderr (semihosting)
    config.py    app_config.h from the manifest (TML_CFG_*), with the feature hash
    firmware.py  build_app(app, board): app_config.h + model.c/.h (tinyml.compile) + main.c + runtime + app
    link.py      the device link protocol (Python twin of firmware/runtime/tml_link.h) and transports
    runner.py    open_transport + stream_signal: replay a signal, collect scores/events/timing/errors
    parity.py    device_parity(app, board): predict's pipeline vs the firmware, window by window
    size.py      flash/RAM per board, static stack peak (stack.py), no-malloc and RAM-fit checks
    image.py     UF2 and Cortex-M image checks; elf.py: a small ELF reader
    commands.py  `tinyml flash|run|size`
"""
