/* CPU usage from /proc/stat tick deltas, load averages, and memory. */
#include "collect/system.h"

static void usage_of(csf_cpu_usage *u, const csf__cpu_ticks *c, const csf__cpu_ticks *p)
{
	double d[8], total = 0;
	const uint64_t cur[8] = { c->user, c->nice, c->system, c->idle,
				  c->iowait, c->irq, c->softirq, c->steal };
	const uint64_t prev[8] = { p->user, p->nice, p->system, p->idle,
				   p->iowait, p->irq, p->softirq, p->steal };
	int i;

	for (i = 0; i < 8; i++) {
		d[i] = (double)csf__delta(cur[i], prev[i]);
		total += d[i];
	}
	if (total <= 0) {
		*u = (csf_cpu_usage){ 0 };
		u->idle = 100.0;
		return;
	}
	u->user = 100.0 * d[0] / total;
	u->nice = 100.0 * d[1] / total;
	u->system = 100.0 * d[2] / total;
	u->idle = 100.0 * d[3] / total;
	u->iowait = 100.0 * d[4] / total;
	u->irq = 100.0 * d[5] / total;
	u->softirq = 100.0 * d[6] / total;
	u->steal = 100.0 * d[7] / total;
	u->usage = 100.0 * (total - d[3] - d[4]) / total;
}

static const csf__cpu_ticks *prev_ticks(const csf__proc_stat *prev, size_t hint, uint32_t id)
{
	static const csf__cpu_ticks zero;
	size_t i;

	if (hint < prev->ncpus && prev->cpus[hint].id == id)
		return &prev->cpus[hint].t;
	for (i = 0; i < prev->ncpus; i++)
		if (prev->cpus[i].id == id)
			return &prev->cpus[i].t;
	return &zero;
}

int csf__system_cpu(csf__system *sys, csf__arena *arena, csf_cpu *out, double interval,
		    const double load[3])
{
	const csf__proc_stat *cur = &sys->stat[sys->cur], *prev = &sys->stat[!sys->cur];
	csf_cpu_core *cores;
	size_t i;

	usage_of(&out->total, &cur->total, &prev->total);
	cores = csf__arena_alloc_items(arena, cur->ncpus, sizeof(*cores), &out->cores);
	if (!cores)
		return CSF_ENOMEM;
	for (i = 0; i < cur->ncpus; i++) {
		cores[i].id = cur->cpus[i].id;
		usage_of(&cores[i].usage, &cur->cpus[i].t, prev_ticks(prev, i, cur->cpus[i].id));
	}
	out->cores_count = cur->ncpus;
	out->load1 = load[0];
	out->load5 = load[1];
	out->load15 = load[2];
	out->context_switches = cur->ctxt;
	out->context_switches_per_sec = csf__rate(cur->ctxt, prev->ctxt, interval);
	out->procs_running = cur->procs_running;
	out->procs_blocked = cur->procs_blocked;
	return 0;
}

int csf__system_memory(csf__system *sys, csf_memory *out)
{
	csf__meminfo m;
	int rc = csf__procfile_read(&sys->f_meminfo, &sys->rd);

	if (!rc)
		rc = csf__parse_meminfo(&m, sys->rd.ptr, sys->rd.len);
	if (rc)
		return rc;
	out->total = m.total;
	out->free = m.free;
	out->buffers = m.buffers;
	out->cached = m.cached + m.sreclaimable;
	/* Before Linux 3.14 there is no MemAvailable: estimate it as free(1)
	 * did then, from free memory and the page cache. */
	out->available = m.has_available ? m.available : m.free + m.buffers + out->cached;
	if (out->available > m.total)
		out->available = m.total;
	out->used = m.total - out->available;
	out->used_percent = m.total ? 100.0 * (double)out->used / (double)m.total : 0.0;
	out->swap_total = m.swap_total;
	out->swap_free = m.swap_free <= m.swap_total ? m.swap_free : m.swap_total;
	out->swap_used = out->swap_total - out->swap_free;
	return 0;
}
