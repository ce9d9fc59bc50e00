/* The one-line files: /proc/loadavg, /proc/uptime; and /proc/filesystems. */
#include "collect/procfs.h"
#include "collect/scan.h"

int csf__parse_loadavg(double load[3], const char *buf, size_t len)
{
	csf__scan s = csf__scan_make(buf, len);
	int i;

	/* "0.11 0.05 0.01 1/84 2626" */
	for (i = 0; i < 3; i++) {
		csf__scan_blanks(&s);
		if (csf__scan_decimal(&s, &load[i]))
			return csf__error_set(CSF_EPARSE, "proc loadavg: malformed");
	}
	return 0;
}

int csf__parse_uptime(double *uptime, const char *buf, size_t len)
{
	csf__scan s = csf__scan_make(buf, len);

	/* "174.72 316.98": uptime, then idle time summed over CPUs */
	csf__scan_blanks(&s);
	if (csf__scan_decimal(&s, uptime))
		return csf__error_set(CSF_EPARSE, "proc uptime: malformed");
	return 0;
}

int csf__parse_filesystems(csf__buf *out, const char *buf, size_t len)
{
	csf__scan s = csf__scan_make(buf, len);
	int rc;

	csf__buf_clear(out);
	rc = csf__buf_putc(out, '\0');
	for (; !rc && !csf__scan_eof(&s); csf__scan_next_line(&s)) {
		const char *w;
		size_t n;

		/* "nodev\tsysfs" or "\text4" */
		if (CSF__SCAN_LIT(&s, "nodev"))
			continue;
		if (csf__scan_word(&s, &w, &n))
			continue;
		rc = csf__buf_put(out, w, n);
		if (!rc)
			rc = csf__buf_putc(out, '\0');
	}
	if (rc == CSF_ELIMIT)
		return csf__error_set(CSF_ELIMIT, "proc filesystems: type names past %zu bytes", out->max);
	return rc;
}

int csf__filesystems_has(const csf__buf *types, const char *fstype)
{
	size_t n = strlen(fstype);
	const char *p = types->ptr, *end;

	if (!p || n == 0)
		return 0;
	end = p + types->len;
	while (p < end) {
		size_t len = strlen(p);

		if (len == n && memcmp(p, fstype, n) == 0)
			return 1;
		p += len + 1;
	}
	return 0;
}
