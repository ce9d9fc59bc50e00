/* The human-readable table of `csf-agent collect`. */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "agent.h"

/* "1.5 GiB": binary units, one decimal below 100. */
static const char *bytes(char *buf, size_t n, double v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%.0f B", v);
	else
		snprintf(buf, n, v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

static const char *duration(char *buf, size_t n, double s)
{
	uint64_t t = (uint64_t)s;

	if (t >= 86400)
		snprintf(buf, n, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m", t / 86400, t % 86400 / 3600, t % 3600 / 60);
	else if (t >= 3600)
		snprintf(buf, n, "%" PRIu64 "h %" PRIu64 "m", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, n, "%" PRIu64 "m %" PRIu64 "s", t / 60, t % 60);
	return buf;
}

static void host(FILE *out, const csf_system *s)
{
	const csf_host *h = s->host;
	char b1[32], b2[32];
	time_t boot = (time_t)h->boot_time;
	struct tm tm;

	strftime(b2, sizeof(b2), "%Y-%m-%d %H:%M:%S", localtime_r(&boot, &tm));
	fprintf(out, "Host       %s  %s  kernel %s  %s\n", h->hostname,
		h->os_pretty[0] ? h->os_pretty : h->os_name, h->kernel, h->arch);
	fprintf(out, "CPU        %s  %u logical / %u physical\n", h->cpu_model[0] ? h->cpu_model : "(unknown model)",
		h->cpu_logical, h->cpu_physical);
	fprintf(out, "Uptime     %s  (booted %s)\n", duration(b1, sizeof(b1), h->uptime_seconds), b2);
	fprintf(out, "Interval   %.1f s%s\n", s->interval_seconds,
		s->interval_seconds == h->uptime_seconds ? "  (averages since boot)" : "");
}

static void usage_row(FILE *out, const char *name, const csf_cpu_usage *u)
{
	fprintf(out, "  %-7s %6.1f%% %6.1f%% %6.1f%% %6.1f%% %6.1f%% %6.1f%%\n", name, u->usage,
		u->user + u->nice, u->system + u->irq + u->softirq, u->iowait, u->steal, u->idle);
}

static void cpu(FILE *out, const csf_cpu *c)
{
	char name[16];
	size_t i;

	fprintf(out, "\nCPU        %7s %7s %7s %7s %7s %7s\n", "usage", "user", "system", "iowait", "steal", "idle");
	usage_row(out, "all", &c->total);
	for (i = 0; i < c->cores_count; i++) {
		snprintf(name, sizeof(name), "cpu%u", c->cores[i]->id);
		usage_row(out, name, &c->cores[i]->usage);
	}
	fprintf(out, "Load       %.2f %.2f %.2f   context switches %.0f/s   running %u  blocked %u\n",
		c->load1, c->load5, c->load15, c->context_switches_per_sec, c->procs_running, c->procs_blocked);
}

static void memory(FILE *out, const csf_memory *m)
{
	char a[16], b[16], c[16], d[16], e[16];

	fprintf(out, "\nMemory     total %s  used %s (%.1f%%)  available %s  buffers/cached %s\n",
		bytes(a, sizeof(a), (double)m->total), bytes(b, sizeof(b), (double)m->used), m->used_percent,
		bytes(c, sizeof(c), (double)m->available), bytes(d, sizeof(d), (double)(m->buffers + m->cached)));
	fprintf(out, "Swap       total %s  used %s\n", bytes(e, sizeof(e), (double)m->swap_total),
		bytes(a, sizeof(a), (double)m->swap_used));
}

static void filesystems(FILE *out, const csf_system *s)
{
	char a[16], b[16], c[16];
	size_t i;

	fprintf(out, "\n%-24s %-8s %10s %10s %10s %6s %7s\n", "Filesystem", "type", "size", "used", "avail",
		"use%", "inodes%");
	for (i = 0; i < s->filesystems_count; i++) {
		const csf_filesystem *f = s->filesystems[i];
		double ipct = f->inodes_total ? 100.0 * (double)f->inodes_used / (double)f->inodes_total : 0;

		fprintf(out, "%-24s %-8s %10s %10s %10s %5.1f%% %6.1f%%\n", f->mountpoint, f->fstype,
			bytes(a, sizeof(a), (double)f->total_bytes), bytes(b, sizeof(b), (double)f->used_bytes),
			bytes(c, sizeof(c), (double)f->available_bytes), f->used_percent, ipct);
	}
}

static void disks(FILE *out, const csf_system *s)
{
	char a[16], b[16];
	size_t i;

	fprintf(out, "\n%-24s %8s %8s %12s %12s %6s\n", "Disk", "reads/s", "writes/s", "read/s", "written/s", "busy");
	for (i = 0; i < s->disks_count; i++) {
		const csf_disk *d = s->disks[i];

		fprintf(out, "%-24s %8.1f %8.1f %12s %12s %5.1f%%\n", d->name, d->reads_per_sec, d->writes_per_sec,
			bytes(a, sizeof(a), d->read_bytes_per_sec), bytes(b, sizeof(b), d->write_bytes_per_sec),
			d->busy_percent);
	}
}

static void net_row(FILE *out, const char *name, const csf_net_counters *rx, const csf_net_counters *tx)
{
	char a[16], b[16];

	fprintf(out, "%-24s %12s %12s %9.1f %9.1f %8" PRIu64 " %8" PRIu64 "\n", name,
		bytes(a, sizeof(a), rx->bytes_per_sec), bytes(b, sizeof(b), tx->bytes_per_sec),
		rx->packets_per_sec, tx->packets_per_sec, rx->errors + tx->errors, rx->drops + tx->drops);
}

static void network(FILE *out, const csf_network *n)
{
	size_t i;

	fprintf(out, "\n%-24s %12s %12s %9s %9s %8s %8s\n", "Interface", "rx/s", "tx/s", "rx pkt/s", "tx pkt/s",
		"errors", "drops");
	for (i = 0; i < n->interfaces_count; i++)
		net_row(out, n->interfaces[i]->name, &n->interfaces[i]->rx, &n->interfaces[i]->tx);
	net_row(out, "(total, without lo)", &n->rx_total, &n->tx_total);
}

static void process_list(FILE *out, const char *title, csf_process *const *v, size_t n)
{
	char a[16];
	size_t i;

	fprintf(out, "%-10s %8s %-12s %-16s %7s %10s\n", title, "pid", "user", "name", "cpu", "rss");
	for (i = 0; i < n; i++)
		fprintf(out, "%-10s %8d %-12.12s %-16.16s %6.1f%% %10s\n", "", (int)v[i]->pid, v[i]->user, v[i]->name,
			v[i]->cpu_percent, bytes(a, sizeof(a), (double)v[i]->rss_bytes));
}

static void processes(FILE *out, const csf_processes *p)
{
	fprintf(out, "\nProcesses  %u (%u threads)\n", p->count, p->threads);
	process_list(out, "Top CPU", p->top_cpu, p->top_cpu_count);
	process_list(out, "Top memory", p->top_memory, p->top_memory_count);
}

void agent_print_snapshot(FILE *out, const csf_snapshot *snap)
{
	const csf_system *s = snap->system;
	size_t i;

	if (s) {
		host(out, s);
		cpu(out, s->cpu);
		memory(out, s->memory);
		filesystems(out, s);
		disks(out, s);
		network(out, s->network);
		if (s->processes)
			processes(out, s->processes);
	}
	for (i = 0; i < snap->metrics_count; i++)
		fprintf(out, "%s%-40s %g\n", i == 0 ? "\nMetrics\n" : "", snap->metrics[i]->name,
			snap->metrics[i]->value);
}
