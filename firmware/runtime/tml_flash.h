/* tml_flash.h - constant tables that stay in program memory.
 *
 * On a Harvard core whose loads cannot see flash (the 8-bit AVR), the C startup copies every `const`
 * object into SRAM: a model's weights would never fit its 2 KB. TML_FLASH marks such tables and the
 * pointers that read them. With avr-gcc (GNU C) it is the __flash named address space, so the compiler
 * reads them with LPM; everywhere else it is empty and the code is plain C99. A TML_FLASH pointer can only
 * point into flash: data that may live in RAM (activations, constant operands of ADD/MUL/CONCATENATION)
 * keeps plain pointers, and block copies out of flash are loops, not memcpy.
 */
#ifndef TML_FLASH_H
#define TML_FLASH_H

#if defined(__AVR__) && defined(__FLASH)
#define TML_FLASH __flash
#else
#define TML_FLASH
#endif

#endif
