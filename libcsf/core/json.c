/* A streaming JSON writer over a bounded buffer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

#define JSON_MAX_DEPTH 64

void csf__json_init(csf__json *j, csf__buf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

static void put(csf__json *j, const char *s, size_t n)
{
	if (!j->err)
		j->err = csf__buf_put(j->out, s, n);
}

/* Separate values: a comma unless this is the first value at this level. */
static void before_value(csf__json *j)
{
	uint64_t bit = (uint64_t)1 << j->depth;

	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->need_comma & bit)
		put(j, ",", 1);
	j->need_comma |= bit;
}

static void open_level(csf__json *j, char c)
{
	before_value(j);
	if (j->depth + 1 >= JSON_MAX_DEPTH) {
		if (!j->err)
			j->err = csf__error_set(CSF_ELIMIT, "json: nesting deeper than %d", JSON_MAX_DEPTH);
		return;
	}
	put(j, &c, 1);
	j->depth++;
	j->need_comma &= ~((uint64_t)1 << j->depth);
}

static void close_level(csf__json *j, char c)
{
	if (j->depth == 0) {
		if (!j->err)
			j->err = csf__error_set(CSF_EINVALID, "json: unbalanced close");
		return;
	}
	j->depth--;
	put(j, &c, 1);
}

void csf__json_begin_object(csf__json *j) { open_level(j, '{'); }
void csf__json_end_object(csf__json *j) { close_level(j, '}'); }
void csf__json_begin_array(csf__json *j) { open_level(j, '['); }
void csf__json_end_array(csf__json *j) { close_level(j, ']'); }

/* Length of the valid UTF-8 sequence at s (0 when invalid). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;
		if (c == 0xF4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

static void write_string(csf__json *j, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *run = s;

	put(j, "\"", 1);
	while (*s) {
		size_t n = utf8_len(s);
		const char *esc = NULL;
		char hex[8];

		if (n && *s >= 0x20 && *s != '"' && *s != '\\') {
			s += n;
			continue;
		}
		put(j, (const char *)run, (size_t)(s - run));
		if (!n)
			esc = "\xEF\xBF\xBD"; /* U+FFFD */
		else if (*s == '"')
			esc = "\\\"";
		else if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (*s == '\t')
			esc = "\\t";
		else if (*s == '\r')
			esc = "\\r";
		else {
			snprintf(hex, sizeof(hex), "\\u%04x", *s);
			esc = hex;
		}
		put(j, esc, strlen(esc));
		s++;
		run = s;
	}
	put(j, (const char *)run, (size_t)(s - run));
	put(j, "\"", 1);
}

void csf__json_key(csf__json *j, const char *key)
{
	before_value(j);
	write_string(j, key);
	put(j, ":", 1);
	j->after_key = 1;
}

void csf__json_string(csf__json *j, const char *s)
{
	before_value(j);
	write_string(j, s ? s : "");
}

static void put_number(csf__json *j, const char *fmt, ...) CSF__PRINTF(2, 3);
static void put_number(csf__json *j, const char *fmt, ...)
{
	char num[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(num, sizeof(num), fmt, ap);
	va_end(ap);
	before_value(j);
	put(j, num, n > 0 && (size_t)n < sizeof(num) ? (size_t)n : 0);
}

void csf__json_u64(csf__json *j, uint64_t v) { put_number(j, "%llu", (unsigned long long)v); }
void csf__json_i64(csf__json *j, int64_t v) { put_number(j, "%lld", (long long)v); }

void csf__json_double(csf__json *j, double v)
{
	char num[64];
	size_t n;

	if (!isfinite(v)) {
		csf__json_null(j);
		return;
	}
	if (fabs(v) >= 1e15) {
		put_number(j, "%.17g", v);
		return;
	}
	n = (size_t)snprintf(num, sizeof(num), "%.3f", v);
	while (n > 1 && num[n - 1] == '0')
		n--;
	if (num[n - 1] == '.')
		n--;
	if (n == 2 && num[0] == '-' && num[1] == '0')
		num[0] = '0', n = 1; /* no "-0" */
	before_value(j);
	put(j, num, n);
}

void csf__json_raw(csf__json *j, const char *json)
{
	before_value(j);
	if (json && *json)
		put(j, json, strlen(json));
	else
		put(j, "null", 4);
}

void csf__json_real(csf__json *j, double v)
{
	if (!isfinite(v))
		csf__json_null(j);
	else
		put_number(j, "%.15g", v);
}

void csf__json_bool(csf__json *j, int v)
{
	before_value(j);
	put(j, v ? "true" : "false", v ? 4 : 5);
}

void csf__json_null(csf__json *j)
{
	before_value(j);
	put(j, "null", 4);
}

int csf__json_finish(csf__json *j)
{
	if (!j->err && j->depth != 0)
		j->err = csf__error_set(CSF_EINVALID, "json: %u levels left open", j->depth);
	return j->err;
}
