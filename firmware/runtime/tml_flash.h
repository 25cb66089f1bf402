/* tml_flash.h - constant tables that stay in program memory.
 *
 * On a Harvard core whose loads cannot see flash (the 8-bit AVR), the C startup copies every `const`
 * object into SRAM: a model's weights would never fit its 2 KB. TML_FLASH marks such tables and the
 * pointers that read them. With avr-gcc (GNU C) it is the __flash named address space, so the compiler
 * reads them with LPM; everywhere else it is empty and the code is plain C99. A TML_FLASH pointer can only
 * point into flash: data that may live in RAM (activations, constant operands of ADD/MUL/CONCATENATION)
 * keeps plain pointers, and block copies out of flash are loops, not memcpy.
 * TML_TEXT("...") keeps a fixed message in flash too; a function that takes either a RAM string (from an
 * app) or such a text takes `const TML_ANY char *`.
 */
#ifndef TML_FLASH_H
#define TML_FLASH_H

#if defined(__AVR__) && defined(__FLASH)
#define TML_FLASH __flash
/* A text pointer that may point into RAM or flash (avr-gcc's 24-bit __memx), and a literal kept in flash. */
#define TML_ANY __memx
#define TML_TEXT(s) (__extension__({ static const __flash char tml_text_[] = (s); (const __memx char *)tml_text_; }))
#else
#define TML_FLASH
#define TML_ANY
#define TML_TEXT(s) (s)
#endif

#endif
