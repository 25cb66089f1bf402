# host: the same main.c and app.c built natively with gcc (Linux, Raspberry Pi class). The link is
# the process's stdin/stdout; tml_port_log goes to stderr. Cost unit: nanoseconds (CLOCK_MONOTONIC).
BOARD_ARCH      = host
BOARD_CC        = gcc
BOARD_CPU_FLAGS =
BOARD_CFLAGS    = -D_POSIX_C_SOURCE=200809L -DTML_BOARD_HOST=1
BOARD_SOURCES   = $(BOARD_DIR)/port.c
BOARD_INCLUDES  = $(BOARD_DIR)
BOARD_LIBS      = -lm
BOARD_OUTPUTS   = elf
BOARD_RUNNER    = host
