/*
 * Accept-Encoding (RFC 9110 §12.5.3), sans I/O: whether a request allows a
 * content coding. Static files use it to pick a precompressed variant.
 */
#include <string.h>
#include <strings.h>

#include "net/http1.h"

/* A qvalue is "0", "0.d{0,3}", "1" or "1.0{0,3}"; anything else counts as
 * q=1 (lenient: a malformed weight does not refuse a coding). */
static int q_is_zero(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p < 2 || strncasecmp(p, "q=", 2) != 0)
		return 0;
	p += 2;
	if (p >= end || *p != '0')
		return 0;
	for (p++; p < end && (*p == '.' || *p == '0'); p++)
		;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p == end;
}

int csf__http_accepts_encoding(const char *value, const char *coding)
{
	size_t want = strlen(coding);
	int star = 0, named = -1;
	const char *p = value;

	if (!value)
		return 0;
	while (*p) {
		const char *end = strchr(p, ',');
		const char *semi, *tok, *tok_end;
		int zero = 0;

		if (!end)
			end = p + strlen(p);
		semi = memchr(p, ';', (size_t)(end - p));
		for (tok = p; tok < end && (*tok == ' ' || *tok == '\t'); tok++)
			;
		tok_end = semi ? semi : end;
		while (tok_end > tok && (tok_end[-1] == ' ' || tok_end[-1] == '\t'))
			tok_end--;
		/* parameters: only q matters; any q=0 among them refuses */
		while (semi && !zero) {
			const char *next = memchr(semi + 1, ';', (size_t)(end - semi - 1));

			zero = q_is_zero(semi + 1, next ? next : end);
			semi = next;
		}
		if ((size_t)(tok_end - tok) == want && strncasecmp(tok, coding, want) == 0)
			named = !zero;
		else if (tok_end - tok == 1 && *tok == '*')
			star = !zero;
		p = *end ? end + 1 : end;
	}
	return named >= 0 ? named : star;
}
