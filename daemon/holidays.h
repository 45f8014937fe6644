/* holidays.h — the calendar module's private holiday tables. */
#ifndef DEADLINED_HOLIDAYS_H
#define DEADLINED_HOLIDAYS_H

#include <stddef.h>

struct holiday_entry {
	short year, month, mday;
	const char *name;
};

#define HOLIDAYS_EW_FIRST_YEAR 2017
#define HOLIDAYS_EW_LAST_YEAR 2027

extern const struct holiday_entry holidays_ew[];
extern const size_t holidays_ew_count;

#endif
