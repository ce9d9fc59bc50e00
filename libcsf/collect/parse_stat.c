/* /proc/stat: CPU time per state, context switches, boot time, run queue. */
#include "collect/procfs.h"
#include "collect/scan.h"

#define STAT_MAX_CPUS 8192

static int parse_ticks(csf__scan *s, csf__cpu_ticks *t)
{
	uint64_t *fields[] = { &t->user, &t->nice, &t->system, &t->idle,
			       &t->iowait, &t->irq, &t->softirq, &t->steal };
	size_t i;

	/* Linux 2.4 had 4 fields, 2.6.0 7, 2.6.11 added steal; guest and
	 * guest_nice (2.6.24, 2.6.33) are already counted in user and nice. */
	*t = (csf__cpu_ticks){ 0 };
	for (i = 0; i < CSF__ARRAY_SIZE(fields); i++) {
		csf__scan_blanks(s);
		if (csf__scan_at_eol(s))
			break;
		if (csf__scan_u64(s, fields[i]))
			return -1;
	}
	return i >= 4 ? 0 : -1;
}

static int add_cpu(csf__proc_stat *st, uint32_t id, const csf__cpu_ticks *t)
{
	if (st->ncpus >= STAT_MAX_CPUS)
		return csf__error_set(CSF_ELIMIT, "proc stat: more than %d cpu lines", STAT_MAX_CPUS);
	if (CSF__ARRAY_RESERVE(st->cpus, st->cap, st->ncpus + 1))
		return CSF_ENOMEM;
	st->cpus[st->ncpus].id = id;
	st->cpus[st->ncpus].t = *t;
	st->ncpus++;
	return 0;
}

int csf__parse_proc_stat(csf__proc_stat *st, const char *buf, size_t len)
{
	csf__scan s = csf__scan_make(buf, len);
	enum { HAVE_CPU = 1, HAVE_CTXT = 2, HAVE_BTIME = 4, HAVE_RUNNING = 8, HAVE_BLOCKED = 16 };
	unsigned have = 0;
	int line = 0, rc;

	st->ncpus = 0;
	for (; !csf__scan_eof(&s); csf__scan_next_line(&s)) {
		line++;
		if (CSF__SCAN_LIT(&s, "cpu")) {
			csf__cpu_ticks t;
			uint32_t id;

			if (s.p < s.end && *s.p == ' ') {
				if (parse_ticks(&s, &st->total))
					goto bad;
				have |= HAVE_CPU;
				continue;
			}
			if (csf__scan_u32(&s, &id) || parse_ticks(&s, &t))
				goto bad;
			rc = add_cpu(st, id, &t);
			if (rc)
				return rc;
		} else if (CSF__SCAN_LIT(&s, "ctxt ")) {
			if (csf__scan_u64(&s, &st->ctxt))
				goto bad;
			have |= HAVE_CTXT;
		} else if (CSF__SCAN_LIT(&s, "btime ")) {
			if (csf__scan_u64(&s, &st->btime))
				goto bad;
			have |= HAVE_BTIME;
		} else if (CSF__SCAN_LIT(&s, "procs_running ")) {
			if (csf__scan_u32(&s, &st->procs_running))
				goto bad;
			have |= HAVE_RUNNING;
		} else if (CSF__SCAN_LIT(&s, "procs_blocked ")) {
			if (csf__scan_u32(&s, &st->procs_blocked))
				goto bad;
			have |= HAVE_BLOCKED;
		}
	}
	if (!(have & HAVE_CPU))
		return csf__error_set(CSF_EPARSE, "proc stat: no aggregate cpu line");
	if (st->ncpus == 0)
		return csf__error_set(CSF_EPARSE, "proc stat: no per-cpu lines");
	if (have != (HAVE_CPU | HAVE_CTXT | HAVE_BTIME | HAVE_RUNNING | HAVE_BLOCKED))
		return csf__error_set(CSF_EPARSE, "proc stat: truncated (ctxt, btime or procs_* missing)");
	return 0;
bad:
	return csf__error_set(CSF_EPARSE, "proc stat: line %d: malformed", line);
}

void csf__proc_stat_free(csf__proc_stat *st)
{
	csf__free(st->cpus);
	st->cpus = NULL;
	st->ncpus = st->cap = 0;
}
