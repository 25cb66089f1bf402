# avr-uno: Arduino Uno class, ATmega328P (8-bit AVR, 32 KB flash, 2 KB SRAM, 16 MHz, no FPU, no divider).
# Built with Debian's avr-gcc/avr-libc; "flashing" without hardware runs it under simavr with USART0 as
# the device link (firmware/port/avr/simavr_link.c). Link: USART0 (the Uno's USB serial) at 250000 baud
# 8N1 (exact at 16 MHz with U2X), receive by interrupt into a 32-byte ring. Cost counter: CPU cycles
# (Timer1 at clk/1 + overflow count), exact under simavr and on the chip. Flash: avrdude through the
# Uno's bootloader (arduino protocol, 115200 baud).
BOARD_ARCH      = avr
# An 8-bit core: the model compiler selects the generic int8 kernels (the packed ones' 32-bit arithmetic is
# library calls here; tinyml.compile.lower.kernels_for).
BOARD_WORD_BITS = 8
# Too small for most apps: `tinyml size` builds it only for apps whose [firmware] boards name it.
BOARD_OPT_IN    = 1
BOARD_CC        = avr-gcc
BOARD_CPU_FLAGS = -mmcu=atmega328p
# GNU C99 for the __flash address space (model weights stay in program memory: TML_FLASH);
# avr-gcc 5 has no -fcallgraph-info (the static stack comes from the disassembly, see stack.py).
BOARD_CFLAGS    = -std=gnu99 -DF_CPU=16000000UL -DTML_BOARD_AVR_UNO=1 -DTML_BOARD_BAUD=250000UL
# 2 KB of SRAM: link frames of at most 72 payload bytes (the hello holds app ids up to 23 characters), one SAMPLES frame in flight, and ring indices
# of one byte (an 8-bit core reads them in one access, so the receive interrupt never tears them).
BOARD_CFLAGS   += -DTML_LINK_MAX_PAYLOAD=72u -DTML_LINK_WINDOW=1 -DTML_LINK_READ_CHUNK=16 -DTML_RING_INDEX_T=uint8_t
BOARD_CFLAGS   += -mcall-prologues
BOARD_NO_CALLGRAPH = 1
BOARD_SOURCES   = $(BOARD_DIR)/port.c $(FIRMWARE_DIR)/runtime/tml_ring.c
BOARD_INCLUDES  = $(BOARD_DIR) $(FIRMWARE_DIR)/runtime
BOARD_LIBS      = -lm
BOARD_OUTPUTS   = elf hex
BOARD_RUNNER    = simavr
BOARD_SIM_MCU   = atmega328p
BOARD_SIM_SOURCES = $(PORT_DIR)/avr/simavr_link.c
BOARD_BAUD      = 250000
BOARD_CLOCK_HZ  = 16000000
BOARD_FLASH_ORIGIN = 0x0000
BOARD_FLASH_SIZE   = 0x7E00
BOARD_RAM_ORIGIN   = 0x800100
BOARD_RAM_SIZE     = 0x0800
BOARD_FLASH_CMD = avrdude -p atmega328p -c arduino -P {port} -b 115200 -D -U flash:w:{hex}:i
BOARD_FLASH_PKG = avrdude
BOARD_DEFAULT_PORT = /dev/ttyACM0
