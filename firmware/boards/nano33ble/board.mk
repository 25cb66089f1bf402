# nano33ble: Arduino Nano 33 BLE / BLE Sense (nRF52840, Cortex-M4F, 1 MB flash, 256 KB RAM).
# Linked at 0x10000 behind the Arduino bootloader. Clock: 64 MHz core, HFXO started for an accurate
# UART. Link: UARTE0 on the D1/TX (P1.03) and D0/RX (P1.10) pins, 115200 8N1, so PORT= is a 3.3 V
# USB-serial adapter on those pins (the board's own USB port is the nRF52840's USB device, which this
# firmware does not drive). Cost counter: DWT cycles. Flash: bossac through the Arduino bootloader
# (double-tap reset to enter it); also a UF2 image for UF2 bootloaders.
BOARD_ARCH      = cortex-m
BOARD_CC        = arm-none-eabi-gcc
BOARD_CPU_FLAGS = -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard
BOARD_CFLAGS    = -DTML_BOARD_NANO33BLE=1
BOARD_LDSCRIPT  = $(BOARD_DIR)/nrf52840_app.ld
BOARD_LDFLAGS   = -nostartfiles --specs=nano.specs -L$(PORT_DIR)/cortexm
BOARD_SOURCES   = $(BOARD_DIR)/startup.c $(BOARD_DIR)/port.c $(PORT_DIR)/cortexm/cortexm.c
BOARD_SOURCES  += $(PORT_DIR)/cortexm/serial_board.c $(FIRMWARE_DIR)/runtime/tml_ring.c
BOARD_INCLUDES  = $(BOARD_DIR) $(PORT_DIR)/cortexm $(FIRMWARE_DIR)/runtime
BOARD_OUTPUTS   = elf bin hex uf2
BOARD_UF2_FAMILY = 0xADA52840
BOARD_RUNNER    = serial
BOARD_BAUD      = 115200
BOARD_CLOCK_HZ  = 64000000
BOARD_FLASH_ORIGIN = 0x00010000
BOARD_FLASH_SIZE   = 0x000F0000
BOARD_RAM_ORIGIN   = 0x20000000
BOARD_RAM_SIZE     = 0x00040000
BOARD_STACK_SIZE   = 0x4000
BOARD_FLASH_CMD = bossac -d --port={port} -U -i -e -w {bin} -R
BOARD_FLASH_PKG = bossa-cli
BOARD_DEFAULT_PORT = /dev/ttyACM0
