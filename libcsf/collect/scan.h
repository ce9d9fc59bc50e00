/*
 * A bounded scanner for the line-oriented text of /proc and /sys. Input is
 * never assumed NUL-terminated; every read checks the end.
 */
#ifndef CSF_COLLECT_SCAN_H
#define CSF_COLLECT_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct csf__scan {
	const char *p;
	const char *end;
} csf__scan;

static inline csf__scan csf__scan_make(const char *buf, size_t len)
{
	csf__scan s = { buf, buf + len };
	return s;
}

static inline int csf__scan_eof(const csf__scan *s) { return s->p >= s->end; }

/* Skip blanks (space, tab) but not newlines. */
static inline void csf__scan_blanks(csf__scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
		s->p++;
}

static inline int csf__scan_at_eol(const csf__scan *s)
{
	return s->p >= s->end || *s->p == '\n';
}

/* Move past the next newline (or to the end). */
static inline void csf__scan_next_line(csf__scan *s)
{
	const char *nl = s->p < s->end ? memchr(s->p, '\n', (size_t)(s->end - s->p)) : NULL;

	s->p = nl ? nl + 1 : s->end;
}

/* The rest of the current line, without the newline. */
static inline size_t csf__scan_line_len(const csf__scan *s)
{
	const char *nl = s->p < s->end ? memchr(s->p, '\n', (size_t)(s->end - s->p)) : NULL;

	return (size_t)((nl ? nl : s->end) - s->p);
}

/* An unsigned decimal after optional blanks. Returns 0, or -1 when there
 * are no digits or the value overflows. */
static inline int csf__scan_u64(csf__scan *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *start;

	csf__scan_blanks(s);
	start = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		unsigned d = (unsigned)(*s->p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		s->p++;
	}
	if (s->p == start)
		return -1;
	*out = v;
	return 0;
}

static inline int csf__scan_u32(csf__scan *s, uint32_t *out)
{
	uint64_t v;

	if (csf__scan_u64(s, &v) || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A signed decimal after optional blanks. */
static inline int csf__scan_i64(csf__scan *s, int64_t *out)
{
	int neg = 0;
	uint64_t v;

	csf__scan_blanks(s);
	if (s->p < s->end && *s->p == '-') {
		neg = 1;
		s->p++;
	}
	if (csf__scan_u64(s, &v) || v > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* A non-negative decimal with an optional fraction ("12.34"). */
static inline int csf__scan_decimal(csf__scan *s, double *out)
{
	uint64_t ip, fp = 0;
	double scale = 1.0;

	if (csf__scan_u64(s, &ip))
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
			if (scale < 1e15) {
				fp = fp * 10 + (uint64_t)(*s->p - '0');
				scale *= 10.0;
			}
			s->p++;
		}
	}
	*out = (double)ip + (double)fp / scale;
	return 0;
}

/* A run of non-blank, non-newline bytes after optional blanks. */
static inline int csf__scan_word(csf__scan *s, const char **word, size_t *len)
{
	csf__scan_blanks(s);
	*word = s->p;
	while (s->p < s->end && *s->p != ' ' && *s->p != '\t' && *s->p != '\n')
		s->p++;
	*len = (size_t)(s->p - *word);
	return *len ? 0 : -1;
}

/* Does the current position start with the literal `lit`? Consumes it if so. */
static inline int csf__scan_lit(csf__scan *s, const char *lit, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return 0;
	s->p += n;
	return 1;
}

#define CSF__SCAN_LIT(s, lit) csf__scan_lit((s), (lit), sizeof(lit) - 1)

#endif
