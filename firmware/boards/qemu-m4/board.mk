# qemu-m4: Arm MPS2 AN386 (Cortex-M4F) under QEMU. The default board: CI runs it and a newcomer
# "flashes" it with no hardware. Link: CMSDK UART0 on QEMU's -serial stdio. Debug text and exit
# code: semihosting. Cost counter: executed instructions (-icount shift=0, SysTick at 25 MHz).
#
# Format (read by make and by tinyml.device.board): VAR = value / VAR += value, $(BOARD_DIR) and
# $(PORT_DIR) expand to firmware/boards/<b> and firmware/port.
BOARD_ARCH      = cortex-m
BOARD_CC        = arm-none-eabi-gcc
BOARD_CPU_FLAGS = -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard
BOARD_CFLAGS    = -DTML_BOARD_QEMU_M4=1
BOARD_LDSCRIPT  = $(BOARD_DIR)/qemu-m4.ld
BOARD_LDFLAGS   = -nostartfiles --specs=nano.specs -L$(PORT_DIR)/cortexm
BOARD_SOURCES   = $(BOARD_DIR)/startup.c $(BOARD_DIR)/port.c
BOARD_SOURCES  += $(PORT_DIR)/cortexm/cortexm.c $(PORT_DIR)/cortexm/semihost.c
BOARD_INCLUDES  = $(BOARD_DIR) $(PORT_DIR)/cortexm
BOARD_OUTPUTS   = elf
BOARD_RUNNER    = qemu
BOARD_QEMU_MACHINE = mps2-an386
BOARD_CLOCK_HZ  = 25000000
# Cost estimates (ms, duty cycle) assume a real Cortex-M4 at the clock of the STM32L4R5 used in
# published MLPerf Tiny results, at 1 instruction per cycle: an estimate, said so wherever shown.
BOARD_ESTIMATE_CLOCK_HZ = 120000000
# The real-time check (does the whole pipeline keep up with the stream?) is made at the slowest
# Cortex-M4F we target, the nRF52840 of the Nano 33 BLE at 64 MHz, again at 1 instruction per cycle.
BOARD_REALTIME_CLOCK_HZ = 64000000
BOARD_FLASH_ORIGIN = 0x00000000
BOARD_FLASH_SIZE   = 0x00400000
BOARD_RAM_ORIGIN   = 0x20000000
BOARD_RAM_SIZE     = 0x00400000
BOARD_STACK_SIZE   = 0x4000
