/* text.h — untrusted text: the one rule for control characters.
 *
 * Text from the case database or a configuration is UTF-8 to us; a byte
 * that starts no valid sequence (a stray byte, an overlong form, a
 * surrogate, a sequence cut short) is shown as U+FFFD.  A control
 * character is a C0 or C1 control, DEL, or U+2028 / U+2029: each can end
 * a line somewhere (NEL is U+0085), so none may reach a header, a subject
 * or a line of its own.  render (HTML, JSON, subjects) and mailmsg
 * (headers) both clean text here.
 */
#ifndef DEADLINED_TEXT_H
#define DEADLINED_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length of the UTF-8 sequence starting s and its code point, or 0
 * when s starts none. */
size_t text_utf8_next(const char *s, uint32_t *cp);

bool text_is_control(uint32_t cp);

/* s on one line: valid UTF-8, each run of spaces and control characters
 * one space, trimmed at both ends; NULL s gives "".  NULL when out of
 * memory. */
char *text_one_line(const char *s);

#endif
