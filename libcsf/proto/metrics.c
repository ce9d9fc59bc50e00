/*
 * A collector snapshot (include/csf/collect.h) as the protocol's
 * MetricsSnapshot and HostFacts. Everything is built in the caller's arena,
 * so an error needs no unwinding: the caller frees the arena.
 */
#include <string.h>

#include "proto/envelope.h"

/* Allocate a message of ptr's type in the arena and run its init. */
#define NEW_MSG(arena, ptr, init) \
	(((ptr) = csf__arena_alloc((arena), sizeof(*(ptr)))) != NULL ? (init(ptr), 1) : 0)

static int null_element(const char *what, size_t i)
{
	return csf__error_set(CSF_EINVALID, "metrics: the snapshot's %s[%zu] is NULL", what, i);
}

static int str(char **out, csf__arena *arena, const char *s)
{
	*out = csf__pb_arena_strdup_utf8(arena, s);
	return *out ? 0 : CSF_ENOMEM;
}

static int cpu_usage(Csf__V1__CpuUsage **out, csf__arena *arena, const csf_cpu_usage *u)
{
	Csf__V1__CpuUsage *m;

	if (!NEW_MSG(arena, m, csf__v1__cpu_usage__init))
		return CSF_ENOMEM;
	m->usage = u->usage;
	m->user = u->user;
	m->nice = u->nice;
	m->system = u->system;
	m->iowait = u->iowait;
	m->irq = u->irq;
	m->softirq = u->softirq;
	m->steal = u->steal;
	m->idle = u->idle;
	*out = m;
	return 0;
}

static int cpu(Csf__V1__CpuMetrics **out, csf__arena *arena, const csf_cpu *c)
{
	Csf__V1__CpuMetrics *m;
	Csf__V1__CpuCore *cores;
	size_t i;
	int rc;

	if (!NEW_MSG(arena, m, csf__v1__cpu_metrics__init))
		return CSF_ENOMEM;
	if ((rc = cpu_usage(&m->total, arena, &c->total)) != 0)
		return rc;
	if (c->cores_count) {
		cores = csf__arena_alloc_items(arena, c->cores_count, sizeof(*cores), &m->cores);
		if (!cores)
			return CSF_ENOMEM;
		for (i = 0; i < c->cores_count; i++) {
			if (!c->cores[i])
				return null_element("cpu.cores", i);
			csf__v1__cpu_core__init(&cores[i]);
			cores[i].id = c->cores[i]->id;
			if ((rc = cpu_usage(&cores[i].usage, arena, &c->cores[i]->usage)) != 0)
				return rc;
		}
		m->n_cores = c->cores_count;
	}
	m->load1 = c->load1;
	m->load5 = c->load5;
	m->load15 = c->load15;
	m->context_switches = c->context_switches;
	m->context_switches_per_sec = c->context_switches_per_sec;
	m->procs_running = c->procs_running;
	m->procs_blocked = c->procs_blocked;
	*out = m;
	return 0;
}

static int memory(Csf__V1__MemoryMetrics **out, csf__arena *arena, const csf_memory *mem)
{
	Csf__V1__MemoryMetrics *m;

	if (!NEW_MSG(arena, m, csf__v1__memory_metrics__init))
		return CSF_ENOMEM;
	m->total = mem->total;
	m->used = mem->used;
	m->available = mem->available;
	m->free = mem->free;
	m->buffers = mem->buffers;
	m->cached = mem->cached;
	m->swap_total = mem->swap_total;
	m->swap_used = mem->swap_used;
	*out = m;
	return 0;
}

static int filesystems(Csf__V1__MetricsSnapshot *m, csf__arena *arena, const csf_system *sys)
{
	Csf__V1__FilesystemMetrics *v;
	size_t i;
	int rc;

	if (!sys->filesystems_count)
		return 0;
	v = csf__arena_alloc_items(arena, sys->filesystems_count, sizeof(*v), &m->filesystems);
	if (!v)
		return CSF_ENOMEM;
	for (i = 0; i < sys->filesystems_count; i++) {
		const csf_filesystem *f = sys->filesystems[i];

		if (!f)
			return null_element("filesystems", i);
		csf__v1__filesystem_metrics__init(&v[i]);
		if ((rc = str(&v[i].device, arena, f->device)) != 0 ||
		    (rc = str(&v[i].mountpoint, arena, f->mountpoint)) != 0 ||
		    (rc = str(&v[i].fstype, arena, f->fstype)) != 0)
			return rc;
		v[i].total_bytes = f->total_bytes;
		v[i].used_bytes = f->used_bytes;
		v[i].available_bytes = f->available_bytes;
		v[i].inodes_total = f->inodes_total;
		v[i].inodes_used = f->inodes_used;
	}
	m->n_filesystems = sys->filesystems_count;
	return 0;
}

static int disks(Csf__V1__MetricsSnapshot *m, csf__arena *arena, const csf_system *sys)
{
	Csf__V1__DiskMetrics *v;
	size_t i;
	int rc;

	if (!sys->disks_count)
		return 0;
	v = csf__arena_alloc_items(arena, sys->disks_count, sizeof(*v), &m->disks);
	if (!v)
		return CSF_ENOMEM;
	for (i = 0; i < sys->disks_count; i++) {
		const csf_disk *d = sys->disks[i];

		if (!d)
			return null_element("disks", i);
		csf__v1__disk_metrics__init(&v[i]);
		if ((rc = str(&v[i].name, arena, d->name)) != 0)
			return rc;
		v[i].reads = d->reads;
		v[i].writes = d->writes;
		v[i].read_bytes = d->read_bytes;
		v[i].write_bytes = d->write_bytes;
		v[i].reads_per_sec = d->reads_per_sec;
		v[i].writes_per_sec = d->writes_per_sec;
		v[i].read_bytes_per_sec = d->read_bytes_per_sec;
		v[i].write_bytes_per_sec = d->write_bytes_per_sec;
		v[i].busy_percent = d->busy_percent;
	}
	m->n_disks = sys->disks_count;
	return 0;
}

static int net_counters(Csf__V1__NetCounters **out, csf__arena *arena, const csf_net_counters *c)
{
	Csf__V1__NetCounters *m;

	if (!NEW_MSG(arena, m, csf__v1__net_counters__init))
		return CSF_ENOMEM;
	m->bytes = c->bytes;
	m->packets = c->packets;
	m->errors = c->errors;
	m->drops = c->drops;
	m->bytes_per_sec = c->bytes_per_sec;
	m->packets_per_sec = c->packets_per_sec;
	*out = m;
	return 0;
}

static int network(Csf__V1__MetricsSnapshot *m, csf__arena *arena, const csf_network *net)
{
	Csf__V1__InterfaceMetrics *v;
	size_t i;
	int rc;

	if ((rc = net_counters(&m->rx_total, arena, &net->rx_total)) != 0 ||
	    (rc = net_counters(&m->tx_total, arena, &net->tx_total)) != 0)
		return rc;
	if (!net->interfaces_count)
		return 0;
	v = csf__arena_alloc_items(arena, net->interfaces_count, sizeof(*v), &m->interfaces);
	if (!v)
		return CSF_ENOMEM;
	for (i = 0; i < net->interfaces_count; i++) {
		const csf_interface *ifc = net->interfaces[i];

		if (!ifc)
			return null_element("network.interfaces", i);
		csf__v1__interface_metrics__init(&v[i]);
		if ((rc = str(&v[i].name, arena, ifc->name)) != 0 ||
		    (rc = net_counters(&v[i].rx, arena, &ifc->rx)) != 0 ||
		    (rc = net_counters(&v[i].tx, arena, &ifc->tx)) != 0)
			return rc;
	}
	m->n_interfaces = net->interfaces_count;
	return 0;
}

static int process_list(Csf__V1__ProcessInfo ***out, size_t *n_out, csf__arena *arena,
			csf_process *const *list, size_t n, const char *what)
{
	Csf__V1__ProcessInfo *v;
	size_t i;
	int rc;

	if (!n)
		return 0;
	v = csf__arena_alloc_items(arena, n, sizeof(*v), out);
	if (!v)
		return CSF_ENOMEM;
	for (i = 0; i < n; i++) {
		if (!list[i])
			return null_element(what, i);
		csf__v1__process_info__init(&v[i]);
		v[i].pid = list[i]->pid;
		if ((rc = str(&v[i].name, arena, list[i]->name)) != 0 ||
		    (rc = str(&v[i].user, arena, list[i]->user)) != 0)
			return rc;
		v[i].cpu_percent = list[i]->cpu_percent;
		v[i].rss_bytes = list[i]->rss_bytes;
	}
	*n_out = n;
	return 0;
}

static int processes(Csf__V1__ProcessMetrics **out, csf__arena *arena, const csf_processes *p)
{
	Csf__V1__ProcessMetrics *m;
	int rc;

	if (!NEW_MSG(arena, m, csf__v1__process_metrics__init))
		return CSF_ENOMEM;
	m->count = p->count;
	m->threads = p->threads;
	if ((rc = process_list(&m->top_cpu, &m->n_top_cpu, arena, p->top_cpu, p->top_cpu_count,
			       "processes.top_cpu")) != 0 ||
	    (rc = process_list(&m->top_memory, &m->n_top_memory, arena, p->top_memory,
			       p->top_memory_count, "processes.top_memory")) != 0)
		return rc;
	*out = m;
	return 0;
}

static int custom(Csf__V1__MetricsSnapshot *m, csf__arena *arena, const csf_snapshot *snap)
{
	Csf__V1__MetricsSnapshot__CustomEntry *v;
	size_t i;
	int rc;

	if (!snap->metrics_count)
		return 0;
	v = csf__arena_alloc_items(arena, snap->metrics_count, sizeof(*v), &m->custom);
	if (!v)
		return CSF_ENOMEM;
	for (i = 0; i < snap->metrics_count; i++) {
		if (!snap->metrics[i])
			return null_element("metrics", i);
		csf__v1__metrics_snapshot__custom_entry__init(&v[i]);
		if ((rc = str(&v[i].key, arena, snap->metrics[i]->name)) != 0)
			return rc;
		v[i].value = snap->metrics[i]->value;
	}
	m->n_custom = snap->metrics_count;
	return 0;
}

static int system_part(Csf__V1__MetricsSnapshot *m, csf__arena *arena, const csf_system *sys)
{
	int rc = 0;

	m->interval_seconds = sys->interval_seconds;
	if (sys->host)
		m->uptime_seconds = sys->host->uptime_seconds;
	if (sys->cpu && (rc = cpu(&m->cpu, arena, sys->cpu)) != 0)
		return rc;
	if (sys->memory && (rc = memory(&m->memory, arena, sys->memory)) != 0)
		return rc;
	if ((rc = filesystems(m, arena, sys)) != 0 || (rc = disks(m, arena, sys)) != 0)
		return rc;
	if (sys->network && (rc = network(m, arena, sys->network)) != 0)
		return rc;
	if (sys->processes)
		rc = processes(&m->processes, arena, sys->processes);
	return rc;
}

int csf__pb_metrics_from_snapshot(Csf__V1__MetricsSnapshot **out, csf__arena *arena,
				  const csf_snapshot *snap)
{
	Csf__V1__MetricsSnapshot *m;
	int rc;

	if (!out || !arena || !snap)
		return csf__misuse("csf__pb_metrics_from_snapshot: NULL argument");
	*out = NULL;
	if (!snap->system && !snap->metrics_count)
		return csf__error_set(CSF_EINVALID, "metrics: the snapshot has no system part and no metrics");
	if (!NEW_MSG(arena, m, csf__v1__metrics_snapshot__init))
		return CSF_ENOMEM;
	m->timestamp_ms = snap->timestamp_ms;
	if (snap->system && (rc = system_part(m, arena, snap->system)) != 0)
		return rc;
	if ((rc = custom(m, arena, snap)) != 0)
		return rc;
	*out = m;
	return 0;
}

int csf__pb_host_facts_from_snapshot(Csf__V1__HostFacts **out, csf__arena *arena,
				     const csf_snapshot *snap)
{
	Csf__V1__HostFacts *m;
	const csf_host *h;
	int rc;

	if (!out || !arena || !snap)
		return csf__misuse("csf__pb_host_facts_from_snapshot: NULL argument");
	*out = NULL;
	if (!snap->system || !snap->system->host)
		return csf__error_set(CSF_EINVALID, "host facts: the snapshot has no host part");
	h = snap->system->host;
	if (!NEW_MSG(arena, m, csf__v1__host_facts__init))
		return CSF_ENOMEM;
	if ((rc = str(&m->hostname, arena, h->hostname)) != 0 ||
	    (rc = str(&m->os_id, arena, h->os_id)) != 0 ||
	    (rc = str(&m->os_name, arena, h->os_name)) != 0 ||
	    (rc = str(&m->os_version, arena, h->os_version)) != 0 ||
	    (rc = str(&m->os_pretty, arena, h->os_pretty)) != 0 ||
	    (rc = str(&m->kernel, arena, h->kernel)) != 0 ||
	    (rc = str(&m->arch, arena, h->arch)) != 0 ||
	    (rc = str(&m->cpu_model, arena, h->cpu_model)) != 0)
		return rc;
	/* the system collector reads Linux's /proc; other systems get their own */
	if ((rc = str(&m->os_type, arena, "linux")) != 0)
		return rc;
	m->cpu_logical = h->cpu_logical;
	m->cpu_physical = h->cpu_physical;
	if (snap->system->memory)
		m->memory_total_bytes = snap->system->memory->total;
	m->boot_time = h->boot_time;
	*out = m;
	return 0;
}
