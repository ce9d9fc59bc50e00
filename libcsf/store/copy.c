/*
 * Rows in the text format of PostgreSQL's COPY FROM STDIN: fields separated
 * by tabs, rows ended by a newline, NULL as \N, and in text the backslash,
 * tab, newline and carriage return escaped (so no field can end the data
 * with "\."). Other bytes go as they are: the connection's encoding is UTF-8.
 */
#include <math.h>
#include <stdio.h>

#include "store/db.h"

const char *csf__db_format_double(char out[40], double v)
{
	if (isnan(v))
		snprintf(out, 40, "NaN");
	else if (isinf(v))
		snprintf(out, 40, "%sInfinity", v < 0 ? "-" : "");
	else
		snprintf(out, 40, "%.17g", v);
	return out;
}

/* Each field is followed by a tab; the row's end turns the last into a
 * newline. */
int csf__db_copy_text(csf__buf *b, const char *s)
{
	const char *run;
	int rc = 0;

	if (!s)
		return csf__buf_put(b, "\\N\t", 3);
	for (run = s; !rc && *s; s++) {
		const char *esc;

		switch (*s) {
		case '\\': esc = "\\\\"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		default: continue;
		}
		rc = csf__buf_put(b, run, (size_t)(s - run));
		if (!rc)
			rc = csf__buf_put(b, esc, 2);
		run = s + 1;
	}
	if (!rc)
		rc = csf__buf_put(b, run, (size_t)(s - run));
	return rc ? rc : csf__buf_putc(b, '\t');
}

/* The writer formats eight integers a metrics row: digits by hand, not
 * through vsnprintf (the larger part of formatting a row). */
int csf__db_copy_i64(csf__buf *b, int64_t v)
{
	char num[24], *p = num + sizeof(num);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	*--p = '\t';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return csf__buf_put(b, p, (size_t)(num + sizeof(num) - p));
}

int csf__db_copy_double(csf__buf *b, double v)
{
	char num[40];
	int rc = csf__buf_puts(b, csf__db_format_double(num, v));

	return rc ? rc : csf__buf_putc(b, '\t');
}

int csf__db_copy_end_row(csf__buf *b)
{
	if (!b->len || b->ptr[b->len - 1] != '\t')
		return csf__error_set(CSF_EINVALID, "store: a COPY row without fields");
	b->ptr[b->len - 1] = '\n';
	return 0;
}
