/*
 * What REST clients put in URLs: times (Unix seconds or RFC 3339), steps
 * ("60", "5m") and list cursors. Each refuses what it does not fully
 * understand; tests/fuzz/fuzz_rest_params.c runs them on arbitrary input.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

/* a step longer than this is nonsense, and the product must not overflow */
#define MAX_STEP_DAYS 36600ll

int csf__parse_time_ms(const char *v, int64_t *out)
{
	int Y, M, D, h, mi, sec, n = 0, oh = 0, om = 0;
	int64_t ms = 0;
	const char *p;
	char *end;

	if (*v && strspn(v, "0123456789") == strlen(v) && strlen(v) <= 12) {
		*out = strtoll(v, &end, 10) * 1000;
		return 0;
	}
	if (sscanf(v, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &Y, &M, &D, &h, &mi, &sec, &n) != 6 || n != 19)
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	p = v + 19;
	if (*p == '.') {
		int digits = 0;

		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		if (!digits)
			return -1;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
			return -1;
		oh *= sign;
		om *= sign;
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = ((csf__days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 + sec) -
		(oh * 3600 + om * 60)) * 1000 + ms;
	return 0;
}

int csf__parse_step_ms(const char *v, int64_t *out)
{
	char *end;
	long long n;
	int64_t unit = 1000;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || n <= 0 || n > MAX_STEP_DAYS * 86400)
		return -1;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': unit = 60000; break;
	case 'h': unit = 3600000; break;
	case 'd': unit = 86400000; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	*out = n * unit;
	return 0;
}

int csf__cursor_encode(char *out, size_t cap, const char *name, const char *id)
{
	size_t nl = strlen(name), il = strlen(id);

	if (cap < 2 * (nl + 1 + il) + 1)
		return -1;
	csf__hex_encode(out, name, nl);
	memcpy(out + 2 * nl, "1f", 2);
	csf__hex_encode(out + 2 * nl + 2, id, il);
	return 0;
}

int csf__cursor_decode(const char *hex, char *name, size_t ncap, char *id, size_t icap)
{
	char buf[600], *sep;
	size_t n = strlen(hex), i;

	if (n % 2 || n / 2 >= sizeof(buf))
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = csf__hex_value(hex[2 * i]), lo = hi < 0 ? -1 : csf__hex_value(hex[2 * i + 1]);

		if (lo < 0 || (hi | lo) == 0)
			return -1; /* not hex, or a NUL */
		buf[i] = (char)(hi << 4 | lo);
	}
	buf[n / 2] = '\0';
	sep = strchr(buf, '\x1f');
	if (!sep || (size_t)(sep - buf) >= ncap || strlen(sep + 1) >= icap)
		return -1;
	*sep = '\0';
	memcpy(name, buf, (size_t)(sep - buf) + 1);
	memcpy(id, sep + 1, strlen(sep + 1) + 1);
	return 0;
}
