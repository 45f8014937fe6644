/* text.c — untrusted text: UTF-8 and control characters (see text.h). */
#include "deadlined/text.h"

#include <stdlib.h>
#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD"   /* U+FFFD */

size_t text_utf8_next(const char *str, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len;
	uint32_t min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, *cp = s[0] & 0x1F, min = 0x80;
	else if ((s[0] & 0xF0) == 0xE0)
		len = 3, *cp = s[0] & 0x0F, min = 0x800;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, *cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	/* The NUL at the end fails the continuation test. */
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3F);
	}
	if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return len;
}

bool text_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0x2028 || cp == 0x2029;
}

char *text_one_line(const char *s)
{
	/* Each byte becomes at most the three of U+FFFD. */
	size_t max = s ? strlen(s) * 3 + 1 : 1;
	char *out = malloc(max), *o = out;
	bool gap = false;
	uint32_t cp = 0;
	size_t n;

	if (!out)
		return NULL;
	for (; s && *s; s += n) {
		n = text_utf8_next(s, &cp);
		if (n && (cp == ' ' || text_is_control(cp))) {
			gap = o > out;
			continue;
		}
		if (gap)
			*o++ = ' ';
		gap = false;
		if (n == 0) {
			memcpy(o, REPLACEMENT, 3);
			o += 3;
			n = 1;
		} else {
			memcpy(o, s, n);
			o += n;
		}
	}
	*o = '\0';
	return out;
}
