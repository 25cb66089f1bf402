# nucleo-l4r5zi: ST NUCLEO-L4R5ZI (STM32L4R5ZI, Cortex-M4F, 2 MB flash, 640 KB SRAM), the board of
# published MLPerf Tiny results. Clock: 120 MHz from HSI16 via the PLL (range 1 boost, 5 wait states).
# Link: LPUART1 on PG7/PG8, wired to the ST-LINK virtual COM port, 115200 8N1, RX by interrupt into a
# ring buffer. Cost counter: DWT cycle counter (cycles). Flash: openocd through the on-board ST-LINK
# (alternative: st-flash --reset write firmware.bin 0x08000000).
BOARD_ARCH      = cortex-m
BOARD_CC        = arm-none-eabi-gcc
BOARD_CPU_FLAGS = -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard
BOARD_CFLAGS    = -DTML_BOARD_NUCLEO_L4R5ZI=1
BOARD_LDSCRIPT  = $(BOARD_DIR)/stm32l4r5zi.ld
BOARD_LDFLAGS   = -nostartfiles --specs=nano.specs -L$(PORT_DIR)/cortexm
BOARD_SOURCES   = $(BOARD_DIR)/startup.c $(BOARD_DIR)/port.c $(PORT_DIR)/cortexm/cortexm.c
BOARD_SOURCES  += $(PORT_DIR)/cortexm/serial_board.c $(FIRMWARE_DIR)/runtime/tml_ring.c
BOARD_INCLUDES  = $(BOARD_DIR) $(PORT_DIR)/cortexm $(FIRMWARE_DIR)/runtime
BOARD_OUTPUTS   = elf bin hex
BOARD_RUNNER    = serial
BOARD_BAUD      = 115200
BOARD_CLOCK_HZ  = 120000000
BOARD_FLASH_ORIGIN = 0x08000000
BOARD_FLASH_SIZE   = 0x00200000
BOARD_RAM_ORIGIN   = 0x20000000
BOARD_RAM_SIZE     = 0x000A0000
BOARD_STACK_SIZE   = 0x4000
BOARD_FLASH_CMD = openocd -f interface/stlink.cfg -f target/stm32l4x.cfg -c "program {elf} verify reset exit"
BOARD_FLASH_PKG = openocd
BOARD_DEFAULT_PORT = /dev/ttyACM0
