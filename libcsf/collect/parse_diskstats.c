/* /proc/diskstats: "major minor name" then 11 (up to 4.17), 15 (4.18: discards)
 * or 17 (5.5: flushes) counters; before 2.6.25 partitions had only 4.
 * See Documentation/admin-guide/iostats.rst. */
#include "collect/procfs.h"
#include "collect/scan.h"

#define DISKSTATS_MAX 65536

int csf__parse_diskstats(csf__diskstats *ds, const char *buf, size_t len)
{
	csf__scan s = csf__scan_make(buf, len);
	int line = 0;

	ds->n = 0;
	for (; !csf__scan_eof(&s); csf__scan_next_line(&s)) {
		uint64_t v[17];
		uint32_t major, minor;
		const char *name;
		size_t n, i;
		csf__diskstat *d;

		line++;
		csf__scan_blanks(&s);
		if (csf__scan_at_eol(&s))
			continue;
		if (csf__scan_u32(&s, &major) || csf__scan_u32(&s, &minor) ||
		    csf__scan_word(&s, &name, &n))
			goto bad;
		if (n >= sizeof(ds->v->name))
			return csf__error_set(CSF_EPARSE, "proc diskstats: line %d: device name too long", line);
		for (i = 0; i < CSF__ARRAY_SIZE(v); i++) {
			csf__scan_blanks(&s);
			if (csf__scan_at_eol(&s))
				break;
			if (csf__scan_u64(&s, &v[i]))
				goto bad;
		}
		if (i != 4 && i != 11 && i != 15 && i != 17)
			goto bad;
		csf__scan_blanks(&s);
		if (!csf__scan_at_eol(&s))
			goto bad;
		if (ds->n >= DISKSTATS_MAX)
			return csf__error_set(CSF_ELIMIT, "proc diskstats: more than %d devices", DISKSTATS_MAX);
		if (CSF__ARRAY_RESERVE(ds->v, ds->cap, ds->n + 1))
			return CSF_ENOMEM;
		d = &ds->v[ds->n++];
		d->major = major;
		d->minor = minor;
		memcpy(d->name, name, n);
		d->name[n] = '\0';
		if (i == 4) {
			d->reads = v[0];
			d->sectors_read = v[1];
			d->writes = v[2];
			d->sectors_written = v[3];
			d->io_ms = 0;
			continue;
		}
		d->reads = v[0];
		d->sectors_read = v[2];
		d->writes = v[4];
		d->sectors_written = v[6];
		d->io_ms = v[9];
	}
	return 0;
bad:
	return csf__error_set(CSF_EPARSE, "proc diskstats: line %d: malformed", line);
}

void csf__diskstats_free(csf__diskstats *ds)
{
	csf__free(ds->v);
	ds->v = NULL;
	ds->n = ds->cap = 0;
}
