/* web_page.c — escaped HTML building and the page shell (see web_page.h). */
#include "deadlined/web_page.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void web_buf_add(struct web_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->n + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void web_buf_free(struct web_buf *b)
{
	free(b->p);
	*b = (struct web_buf){ 0 };
}

static void add_str(struct web_buf *b, const char *s)
{
	web_buf_add(b, s, strlen(s));
}

/* Runs of plain characters are copied whole (a tray page is mostly them). */
static void add_escaped(struct web_buf *b, const char *s)
{
	while (s && *s) {
		size_t plain = strcspn(s, "&<>\"'");

		web_buf_add(b, s, plain);
		s += plain;
		switch (*s) {
		case '&': add_str(b, "&amp;"); break;
		case '<': add_str(b, "&lt;"); break;
		case '>': add_str(b, "&gt;"); break;
		case '"': add_str(b, "&quot;"); break;
		case '\'': add_str(b, "&#39;"); break;
		default: return;
		}
		s++;
	}
}

/* RFC 3986 unreserved characters stay; everything else is %XX. */
static void add_url(struct web_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *u = (const unsigned char *)s; u && *u; u++) {
		if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
		    (*u >= '0' && *u <= '9') || strchr("-._~", *u)) {
			web_buf_add(b, (const char *)u, 1);
		} else {
			char e[3] = { '%', hex[*u >> 4], hex[*u & 15] };

			web_buf_add(b, e, 3);
		}
	}
}

void web_html(struct web_buf *b, const char *fmt, ...)
{
	char num[32];
	va_list ap;

	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++) {
		const char *pct = strchr(f, '%');

		if (!pct) {
			add_str(b, f);
			break;
		}
		web_buf_add(b, f, (size_t)(pct - f));
		f = pct + 1;
		switch (*f) {
		case 's': add_escaped(b, va_arg(ap, const char *)); break;
		case 'u': add_url(b, va_arg(ap, const char *)); break;
		case 'r': add_str(b, va_arg(ap, const char *)); break;
		case 'd': snprintf(num, sizeof num, "%d", va_arg(ap, int)); add_str(b, num); break;
		case 'l':
			f++;   /* %ld */
			snprintf(num, sizeof num, "%ld", va_arg(ap, long));
			add_str(b, num);
			break;
		case '%': add_str(b, "%"); break;
		default: f--; add_str(b, "%"); break;
		}
		if (!*f)
			break;
	}
	va_end(ap);
}

void web_page_begin(struct web_buf *b, const char *title, const char *who)
{
	web_html(b, "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
		 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		 "<title>%s – deadlines</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n"
		 "</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to main content</a>\n"
		 "<header class=\"top\"><div class=\"wrap\"><a class=\"brand\" href=\"/\">"
		 "Deadlines</a>", title);
	if (who)
		web_html(b, "<nav aria-label=\"Main\"><ul><li><a href=\"/\">Tray</a></li>"
			 "<li><a href=\"/cover\">Cover</a></li><li><a href=\"/calendar\">Calendar</a></li>"
			 "<li><a href=\"/report\">Report</a></li>"
			 "</ul></nav>"
			 "<p class=\"who\">Signed in as %s</p>", who);
	web_html(b, "</div></header>\n<main id=\"main\" class=\"wrap\">\n<h1>%s</h1>\n", title);
}

void web_page_end(struct web_buf *b)
{
	add_str(b, "</main>\n<footer class=\"wrap\"><p>deadlined: statutory deadlines from the "
		"case record. Dates are working days unless stated.</p></footer>\n</body>\n</html>\n");
}

/* Plain and quiet, after the GOV.UK Design System: one column, large type,
 * black on white, a yellow focus ring, tables that scroll on a phone. */
const char web_page_css[] =
	"*{box-sizing:border-box}\n"
	"body{margin:0;font:1.1875rem/1.4 Arial,Helvetica,sans-serif;color:#0b0c0c;background:#fff}\n"
	".wrap{max-width:60rem;margin:0 auto;padding:0 1rem}\n"
	".skip{position:absolute;left:-9999px}\n"
	".skip:focus{position:static;display:block;padding:.5rem;background:#fd0;color:#0b0c0c}\n"
	".top{background:#0b0c0c;color:#fff;padding:.5rem 0;border-bottom:.5rem solid #1d70b8}\n"
	".top a{color:#fff}\n"
	".brand{font-weight:bold;font-size:1.5rem;text-decoration:none}\n"
	".top nav ul{list-style:none;margin:.25rem 0;padding:0;display:flex;gap:1rem}\n"
	".who{margin:.25rem 0;font-size:1rem}\n"
	"main{padding-top:1rem;padding-bottom:2rem}\n"
	"h1{font-size:2rem;margin:.5rem 0 1rem}\n"
	"a{color:#1d70b8}a:visited{color:#4c2c92}\n"
	"a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #fd0;"
	"outline-offset:0;box-shadow:inset 0 0 0 2px #0b0c0c}\n"
	".table-wrap{overflow-x:auto}\n"
	"table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}\n"
	"caption{text-align:left;font-weight:bold;margin-bottom:.5rem}\n"
	"th,td{text-align:left;padding:.5rem .75rem .5rem 0;border-bottom:1px solid #b1b4b6;"
	"vertical-align:top}\n"
	"label{display:block;font-weight:bold;margin:.75rem 0 .25rem}\n"
	".hint{color:#505a5f;margin:0 0 .25rem}\n"
	"input[type=text],input[type=date],input[type=email],select,textarea{font:inherit;"
	"border:2px solid #0b0c0c;padding:.3rem;max-width:100%}\n"
	"textarea{width:100%}\n"
	"button{font:inherit;background:#00703c;color:#fff;border:0;padding:.5rem 1rem;"
	"box-shadow:0 2px 0 #002d18;cursor:pointer;margin:1rem 0}\n"
	"button.secondary{background:#f3f2f1;color:#0b0c0c;box-shadow:0 2px 0 #929191}\n"
	".filters{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:flex-end}\n"
	".tag{display:inline-block;padding:.1rem .4rem;font-weight:bold;font-size:1rem}\n"
	".tag-overdue,.tag-escalated{background:#f6d7d2;color:#2a0b06}\n"
	".tag-due-soon{background:#fff7bf;color:#594d00}\n"
	".tag-open{background:#d2e2f1;color:#0c2d4a}\n"
	".tag-other{background:#e8f1f8;color:#0b0c0c}\n"
	".error-summary{border:5px solid #d4351c;padding:1rem;margin-bottom:1rem}\n"
	".error-summary h2{margin-top:0}\n"
	".feed{word-break:break-all;font-size:1rem}\n"
	".notice{border-left:5px solid #1d70b8;padding:.5rem 1rem;background:#f3f2f1}\n"
	".counts{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem}\n"
	".pagination ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}\n"
	".pagination a,.pagination [aria-current]{display:inline-block;padding:.25rem .5rem}\n"
	".pagination [aria-current]{font-weight:bold;background:#1d70b8;color:#fff}\n"
	".visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;"
	"clip:rect(0 0 0 0);white-space:nowrap}\n"
	"footer{border-top:1px solid #b1b4b6;color:#505a5f;font-size:1rem}\n"
	"@media (max-width:40rem){h1{font-size:1.5rem}body{font-size:1rem}}\n";
