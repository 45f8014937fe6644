/* web_page.h — HTML for deadlined-web, escaped by default.
 *
 * A page is built in a growing buffer.  web_html() is a small printf whose
 * %s escapes its argument for HTML text and attribute values (& < > " '),
 * so case data cannot become markup; %u percent-encodes a URL component
 * (then safe in an attribute too); %r inserts a string as it is and is for
 * the program's own literals only; %d and %ld print numbers; %% is %.
 * Out of memory is sticky: the buffer reports it once, at the end.
 */
#ifndef DEADLINED_WEB_PAGE_H
#define DEADLINED_WEB_PAGE_H

#include <stdbool.h>
#include <stddef.h>

struct web_buf {
	char *p;
	size_t n, cap;
	bool oom;
};

void web_buf_add(struct web_buf *b, const char *s, size_t n);
void web_buf_free(struct web_buf *b);
void web_html(struct web_buf *b, const char *fmt, ...);

/* The shell every page shares: a skip link, a header naming who is signed
 * in (NULL: nobody), a main landmark with the title as its h1. */
void web_page_begin(struct web_buf *b, const char *title, const char *who);
void web_page_end(struct web_buf *b);

/* The one style sheet, served at /style.css. */
extern const char web_page_css[];

#endif
