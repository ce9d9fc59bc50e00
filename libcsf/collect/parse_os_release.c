/* os-release(5): KEY=value lines; values may be quoted as in a shell. */
#include "collect/procfs.h"
#include "collect/scan.h"

/* Copy a value, removing shell quoting, truncated to fit. */
static void unquote(char *dst, size_t cap, const char *v, size_t n)
{
	size_t o = 0, i = 0;
	char quote = 0;

	if (n && (v[0] == '"' || v[0] == '\'')) {
		quote = v[0];
		i = 1;
	}
	for (; i < n; i++) {
		char c = v[i];

		if (quote && c == quote)
			break;
		if (quote == '"' && c == '\\' && i + 1 < n)
			c = v[++i];
		if (o + 1 < cap)
			dst[o++] = c;
	}
	dst[o] = '\0';
}

int csf__parse_os_release(csf__os_release *os, const char *buf, size_t len)
{
	static const struct {
		const char *key;
		size_t len;
		size_t off;
		size_t cap;
	} keys[] = {
#define K(name, field) { name "=", sizeof(name), offsetof(csf__os_release, field), \
			  sizeof(((csf__os_release *)0)->field) }
		K("ID", id), K("NAME", name), K("VERSION_ID", version_id),
		K("PRETTY_NAME", pretty_name),
#undef K
	};
	csf__scan s = csf__scan_make(buf, len);
	int found = 0;

	memset(os, 0, sizeof(*os));
	for (; !csf__scan_eof(&s); csf__scan_next_line(&s)) {
		size_t i;

		for (i = 0; i < CSF__ARRAY_SIZE(keys); i++) {
			if (!csf__scan_lit(&s, keys[i].key, keys[i].len))
				continue;
			unquote((char *)os + keys[i].off, keys[i].cap, s.p, csf__scan_line_len(&s));
			found = 1;
			break;
		}
	}
	if (!found)
		return csf__error_set(CSF_EPARSE, "os-release: no ID, NAME, VERSION_ID or PRETTY_NAME");
	return 0;
}
