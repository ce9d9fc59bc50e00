/* /proc/self/mountinfo (proc(5)):
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 * Paths escape space, tab, newline and backslash as \ooo. */
#include "collect/procfs.h"
#include "collect/scan.h"

#define MOUNTINFO_MAX 100000
#define MOUNTINFO_STRINGS_MAX (64u << 20)

/* Append the unescaped word to mi->strings; store its offset. */
static int put_field(csf__mountinfo *mi, const char *w, size_t n, size_t *off)
{
	size_t i;
	int rc;

	*off = mi->strings.len;
	for (i = 0; i < n; i++) {
		char c = w[i];

		if (c == '\\' && i + 3 < n &&
		    w[i + 1] >= '0' && w[i + 1] <= '3' &&
		    w[i + 2] >= '0' && w[i + 2] <= '7' &&
		    w[i + 3] >= '0' && w[i + 3] <= '7') {
			c = (char)(((w[i + 1] - '0') << 6) | ((w[i + 2] - '0') << 3) | (w[i + 3] - '0'));
			i += 3;
		}
		if (c == '\0')
			return csf__error_set(CSF_EPARSE, "proc mountinfo: NUL in a path");
		rc = csf__buf_putc(&mi->strings, c);
		if (rc)
			return rc;
	}
	return csf__buf_putc(&mi->strings, '\0');
}

int csf__parse_mountinfo(csf__mountinfo *mi, const char *buf, size_t len)
{
	csf__scan s = csf__scan_make(buf, len);
	int line = 0, rc;

	mi->n = 0;
	if (!mi->strings.max)
		mi->strings.max = MOUNTINFO_STRINGS_MAX;
	csf__buf_clear(&mi->strings);
	for (; !csf__scan_eof(&s); csf__scan_next_line(&s)) {
		uint64_t id, parent;
		uint32_t major, minor;
		const char *w;
		size_t n, root, mnt, fstype, source;
		csf__mount *m;

		line++;
		rc = 0;
		csf__scan_blanks(&s);
		if (csf__scan_at_eol(&s))
			continue;
		if (csf__scan_u64(&s, &id) || csf__scan_u64(&s, &parent) ||
		    csf__scan_u32(&s, &major) || !CSF__SCAN_LIT(&s, ":") ||
		    csf__scan_u32(&s, &minor))
			goto bad;
		if (csf__scan_word(&s, &w, &n) || (rc = put_field(mi, w, n, &root)) != 0)
			goto word;
		if (csf__scan_word(&s, &w, &n) || (rc = put_field(mi, w, n, &mnt)) != 0)
			goto word;
		/* mount options, then optional fields up to the lone "-" */
		do {
			if (csf__scan_word(&s, &w, &n))
				goto bad;
		} while (!(n == 1 && w[0] == '-'));
		if (csf__scan_word(&s, &w, &n) || (rc = put_field(mi, w, n, &fstype)) != 0)
			goto word;
		if (csf__scan_word(&s, &w, &n) || (rc = put_field(mi, w, n, &source)) != 0)
			goto word;
		if (mi->n >= MOUNTINFO_MAX)
			return csf__error_set(CSF_ELIMIT, "proc mountinfo: more than %d mounts", MOUNTINFO_MAX);
		if (CSF__ARRAY_RESERVE(mi->v, mi->cap, mi->n + 1))
			return CSF_ENOMEM;
		m = &mi->v[mi->n++];
		m->major = major;
		m->minor = minor;
		m->root = root;
		m->mountpoint = mnt;
		m->fstype = fstype;
		m->source = source;
	}
	return 0;
word:
	if (rc == CSF_ELIMIT)
		return csf__error_set(CSF_ELIMIT, "proc mountinfo: line %d: paths longer than %zu bytes in all",
				      line, mi->strings.max);
	if (rc)
		return rc;
bad:
	return csf__error_set(CSF_EPARSE, "proc mountinfo: line %d: malformed", line);
}

void csf__mountinfo_free(csf__mountinfo *mi)
{
	csf__free(mi->v);
	mi->v = NULL;
	mi->n = mi->cap = 0;
	csf__buf_free(&mi->strings);
}
