/* Block devices from /proc/diskstats: whole disks only, with rates and the
 * busy share of the interval. A sector here is always 512 bytes. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "collect/system.h"

#define DISK_CLASS_MAX 65536

/* Is major:minor a whole disk? Looked up in /sys/block once per device. */
static int is_whole_disk(csf__system *sys, const csf__diskstat *d, int *whole)
{
	char rel[96], *path, *p;
	size_t i;

	for (i = 0; i < sys->disk_class_n; i++) {
		if (sys->disk_class[i].major == d->major && sys->disk_class[i].minor == d->minor) {
			*whole = sys->disk_class[i].whole;
			return 0;
		}
	}
	if (sys->disk_class_n >= DISK_CLASS_MAX)
		return csf__error_set(CSF_ELIMIT, "system collector: more than %d block devices", DISK_CLASS_MAX);
	if (CSF__ARRAY_RESERVE(sys->disk_class, sys->disk_class_cap, sys->disk_class_n + 1))
		return CSF_ENOMEM;
	/* sysfs spells a '/' in a device name ("cciss/c0d0") as '!' */
	snprintf(rel, sizeof(rel), "block/%s", d->name);
	for (p = rel; *p; p++)
		if (*p == '/' && p > rel + 5)
			*p = '!';
	path = csf__path_concat(sys->sys_path, rel);
	if (!path)
		return CSF_ENOMEM;
	*whole = access(path, F_OK) == 0;
	csf__free(path);
	sys->disk_class[sys->disk_class_n++] = (csf__disk_class){ d->major, d->minor, *whole };
	return 0;
}

static const csf__diskstat *prev_disk(const csf__diskstats *prev, size_t hint, const csf__diskstat *d)
{
	size_t i;

	if (hint < prev->n && prev->v[hint].major == d->major && prev->v[hint].minor == d->minor)
		return &prev->v[hint];
	for (i = 0; i < prev->n; i++)
		if (prev->v[i].major == d->major && prev->v[i].minor == d->minor)
			return &prev->v[i];
	return NULL;
}

int csf__system_disks(csf__system *sys, csf__arena *arena, csf_system *out, double interval)
{
	csf__diskstats *cur = &sys->disk[sys->cur], *prev = &sys->disk[!sys->cur];
	static const csf__diskstat none;
	csf_disk *disks;
	size_t i, n = 0;
	int rc = csf__procfile_read(&sys->f_diskstats, &sys->rd);

	if (!rc)
		rc = csf__parse_diskstats(cur, sys->rd.ptr, sys->rd.len);
	if (rc)
		return rc;
	disks = csf__arena_alloc_items(arena, cur->n, sizeof(*disks), &out->disks);
	if (!disks)
		return CSF_ENOMEM;
	for (i = 0; i < cur->n; i++) {
		const csf__diskstat *d = &cur->v[i], *p;
		csf_disk *o = &disks[n];
		int whole = 0;

		if (d->reads == 0 && d->writes == 0)
			continue; /* never used: idle loop, ram and zram devices */
		rc = is_whole_disk(sys, d, &whole);
		if (rc)
			return rc;
		if (!whole)
			continue;
		p = prev_disk(prev, i, d);
		if (!p)
			p = &none;
		o->name = csf__arena_strdup(arena, d->name);
		if (!o->name)
			return CSF_ENOMEM;
		o->reads = d->reads;
		o->writes = d->writes;
		o->read_bytes = d->sectors_read * 512;
		o->write_bytes = d->sectors_written * 512;
		o->reads_per_sec = csf__rate(d->reads, p->reads, interval);
		o->writes_per_sec = csf__rate(d->writes, p->writes, interval);
		o->read_bytes_per_sec = csf__rate(d->sectors_read, p->sectors_read, interval) * 512;
		o->write_bytes_per_sec = csf__rate(d->sectors_written, p->sectors_written, interval) * 512;
		o->busy_percent = interval > 0
			? (double)csf__delta(d->io_ms, p->io_ms) / (interval * 10.0) : 0.0;
		if (o->busy_percent > 100.0)
			o->busy_percent = 100.0;
		n++;
	}
	out->disks_count = n;
	return 0;
}
