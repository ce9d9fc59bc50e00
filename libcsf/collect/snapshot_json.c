/* The JSON form of a snapshot, documented in docs/collect-json.md. Field
 * names are a contract: add fields, never rename or remove them. */
#include "collect/snapshot.h"

#define JSON_MAX (256u << 20)
#define JSON_SCHEMA 1

static void usage(csf__json *j, const csf_cpu_usage *u)
{
	csf__json_key(j, "usage_percent"); csf__json_double(j, u->usage);
	csf__json_key(j, "user"); csf__json_double(j, u->user);
	csf__json_key(j, "nice"); csf__json_double(j, u->nice);
	csf__json_key(j, "system"); csf__json_double(j, u->system);
	csf__json_key(j, "iowait"); csf__json_double(j, u->iowait);
	csf__json_key(j, "irq"); csf__json_double(j, u->irq);
	csf__json_key(j, "softirq"); csf__json_double(j, u->softirq);
	csf__json_key(j, "steal"); csf__json_double(j, u->steal);
	csf__json_key(j, "idle"); csf__json_double(j, u->idle);
}

static void host(csf__json *j, const csf_host *h)
{
	csf__json_key(j, "host");
	csf__json_begin_object(j);
	csf__json_key(j, "hostname"); csf__json_string(j, h->hostname);
	csf__json_key(j, "os_id"); csf__json_string(j, h->os_id);
	csf__json_key(j, "os_name"); csf__json_string(j, h->os_name);
	csf__json_key(j, "os_version"); csf__json_string(j, h->os_version);
	csf__json_key(j, "os_pretty"); csf__json_string(j, h->os_pretty);
	csf__json_key(j, "kernel"); csf__json_string(j, h->kernel);
	csf__json_key(j, "arch"); csf__json_string(j, h->arch);
	csf__json_key(j, "cpu_model"); csf__json_string(j, h->cpu_model);
	csf__json_key(j, "cpu_logical"); csf__json_u64(j, h->cpu_logical);
	csf__json_key(j, "cpu_physical"); csf__json_u64(j, h->cpu_physical);
	csf__json_key(j, "boot_time"); csf__json_i64(j, h->boot_time);
	csf__json_key(j, "uptime_seconds"); csf__json_double(j, h->uptime_seconds);
	csf__json_end_object(j);
}

static void cpu(csf__json *j, const csf_cpu *c)
{
	size_t i;

	csf__json_key(j, "cpu");
	csf__json_begin_object(j);
	usage(j, &c->total);
	csf__json_key(j, "load1"); csf__json_double(j, c->load1);
	csf__json_key(j, "load5"); csf__json_double(j, c->load5);
	csf__json_key(j, "load15"); csf__json_double(j, c->load15);
	csf__json_key(j, "context_switches"); csf__json_u64(j, c->context_switches);
	csf__json_key(j, "context_switches_per_sec"); csf__json_double(j, c->context_switches_per_sec);
	csf__json_key(j, "procs_running"); csf__json_u64(j, c->procs_running);
	csf__json_key(j, "procs_blocked"); csf__json_u64(j, c->procs_blocked);
	csf__json_key(j, "cores");
	csf__json_begin_array(j);
	for (i = 0; i < c->cores_count; i++) {
		csf__json_begin_object(j);
		csf__json_key(j, "id"); csf__json_u64(j, c->cores[i]->id);
		usage(j, &c->cores[i]->usage);
		csf__json_end_object(j);
	}
	csf__json_end_array(j);
	csf__json_end_object(j);
}

static void memory(csf__json *j, const csf_memory *m)
{
	csf__json_key(j, "memory");
	csf__json_begin_object(j);
	csf__json_key(j, "total"); csf__json_u64(j, m->total);
	csf__json_key(j, "used"); csf__json_u64(j, m->used);
	csf__json_key(j, "available"); csf__json_u64(j, m->available);
	csf__json_key(j, "free"); csf__json_u64(j, m->free);
	csf__json_key(j, "buffers"); csf__json_u64(j, m->buffers);
	csf__json_key(j, "cached"); csf__json_u64(j, m->cached);
	csf__json_key(j, "used_percent"); csf__json_double(j, m->used_percent);
	csf__json_key(j, "swap_total"); csf__json_u64(j, m->swap_total);
	csf__json_key(j, "swap_used"); csf__json_u64(j, m->swap_used);
	csf__json_key(j, "swap_free"); csf__json_u64(j, m->swap_free);
	csf__json_end_object(j);
}

static void filesystems(csf__json *j, const csf_system *s)
{
	size_t i;

	csf__json_key(j, "filesystems");
	csf__json_begin_array(j);
	for (i = 0; i < s->filesystems_count; i++) {
		const csf_filesystem *f = s->filesystems[i];

		csf__json_begin_object(j);
		csf__json_key(j, "device"); csf__json_string(j, f->device);
		csf__json_key(j, "mountpoint"); csf__json_string(j, f->mountpoint);
		csf__json_key(j, "fstype"); csf__json_string(j, f->fstype);
		csf__json_key(j, "total_bytes"); csf__json_u64(j, f->total_bytes);
		csf__json_key(j, "used_bytes"); csf__json_u64(j, f->used_bytes);
		csf__json_key(j, "available_bytes"); csf__json_u64(j, f->available_bytes);
		csf__json_key(j, "used_percent"); csf__json_double(j, f->used_percent);
		csf__json_key(j, "inodes_total"); csf__json_u64(j, f->inodes_total);
		csf__json_key(j, "inodes_used"); csf__json_u64(j, f->inodes_used);
		csf__json_key(j, "inodes_free"); csf__json_u64(j, f->inodes_free);
		csf__json_end_object(j);
	}
	csf__json_end_array(j);
	csf__json_key(j, "filesystems_total_bytes"); csf__json_u64(j, s->filesystems_total_bytes);
	csf__json_key(j, "filesystems_used_bytes"); csf__json_u64(j, s->filesystems_used_bytes);
}

static void disks(csf__json *j, const csf_system *s)
{
	size_t i;

	csf__json_key(j, "disks");
	csf__json_begin_array(j);
	for (i = 0; i < s->disks_count; i++) {
		const csf_disk *d = s->disks[i];

		csf__json_begin_object(j);
		csf__json_key(j, "name"); csf__json_string(j, d->name);
		csf__json_key(j, "reads"); csf__json_u64(j, d->reads);
		csf__json_key(j, "writes"); csf__json_u64(j, d->writes);
		csf__json_key(j, "read_bytes"); csf__json_u64(j, d->read_bytes);
		csf__json_key(j, "write_bytes"); csf__json_u64(j, d->write_bytes);
		csf__json_key(j, "reads_per_sec"); csf__json_double(j, d->reads_per_sec);
		csf__json_key(j, "writes_per_sec"); csf__json_double(j, d->writes_per_sec);
		csf__json_key(j, "read_bytes_per_sec"); csf__json_double(j, d->read_bytes_per_sec);
		csf__json_key(j, "write_bytes_per_sec"); csf__json_double(j, d->write_bytes_per_sec);
		csf__json_key(j, "busy_percent"); csf__json_double(j, d->busy_percent);
		csf__json_end_object(j);
	}
	csf__json_end_array(j);
}

static void counters(csf__json *j, const char *key, const csf_net_counters *c)
{
	csf__json_key(j, key);
	csf__json_begin_object(j);
	csf__json_key(j, "bytes"); csf__json_u64(j, c->bytes);
	csf__json_key(j, "packets"); csf__json_u64(j, c->packets);
	csf__json_key(j, "errors"); csf__json_u64(j, c->errors);
	csf__json_key(j, "drops"); csf__json_u64(j, c->drops);
	csf__json_key(j, "bytes_per_sec"); csf__json_double(j, c->bytes_per_sec);
	csf__json_key(j, "packets_per_sec"); csf__json_double(j, c->packets_per_sec);
	csf__json_end_object(j);
}

static void network(csf__json *j, const csf_network *n)
{
	size_t i;

	csf__json_key(j, "network");
	csf__json_begin_object(j);
	counters(j, "rx_total", &n->rx_total);
	counters(j, "tx_total", &n->tx_total);
	csf__json_key(j, "interfaces");
	csf__json_begin_array(j);
	for (i = 0; i < n->interfaces_count; i++) {
		csf__json_begin_object(j);
		csf__json_key(j, "name"); csf__json_string(j, n->interfaces[i]->name);
		counters(j, "rx", &n->interfaces[i]->rx);
		counters(j, "tx", &n->interfaces[i]->tx);
		csf__json_end_object(j);
	}
	csf__json_end_array(j);
	csf__json_end_object(j);
}

static void process_list(csf__json *j, const char *key, csf_process *const *v, size_t n)
{
	size_t i;

	csf__json_key(j, key);
	csf__json_begin_array(j);
	for (i = 0; i < n; i++) {
		csf__json_begin_object(j);
		csf__json_key(j, "pid"); csf__json_i64(j, v[i]->pid);
		csf__json_key(j, "name"); csf__json_string(j, v[i]->name);
		csf__json_key(j, "user"); csf__json_string(j, v[i]->user);
		csf__json_key(j, "cpu_percent"); csf__json_double(j, v[i]->cpu_percent);
		csf__json_key(j, "rss_bytes"); csf__json_u64(j, v[i]->rss_bytes);
		csf__json_end_object(j);
	}
	csf__json_end_array(j);
}

static void processes(csf__json *j, const csf_processes *p)
{
	csf__json_key(j, "processes");
	if (!p) {
		csf__json_null(j);
		return;
	}
	csf__json_begin_object(j);
	csf__json_key(j, "count"); csf__json_u64(j, p->count);
	csf__json_key(j, "threads"); csf__json_u64(j, p->threads);
	process_list(j, "top_cpu", p->top_cpu, p->top_cpu_count);
	process_list(j, "top_memory", p->top_memory, p->top_memory_count);
	csf__json_end_object(j);
}

int csf_snapshot_to_json(char **out, size_t *out_len, const csf_snapshot *snap)
{
	csf__buf b = CSF__BUF_INIT(JSON_MAX);
	csf__json j;
	size_t i;
	int rc;

	if (!out || !snap)
		return csf__misuse("csf_snapshot_to_json: out or snapshot is NULL");
	*out = NULL;
	csf__json_init(&j, &b);
	csf__json_begin_object(&j);
	csf__json_key(&j, "schema"); csf__json_u64(&j, JSON_SCHEMA);
	csf__json_key(&j, "timestamp_ms"); csf__json_i64(&j, snap->timestamp_ms);
	if (snap->system) {
		const csf_system *s = snap->system;

		csf__json_key(&j, "interval_seconds"); csf__json_double(&j, s->interval_seconds);
		host(&j, s->host);
		cpu(&j, s->cpu);
		memory(&j, s->memory);
		filesystems(&j, s);
		disks(&j, s);
		network(&j, s->network);
		processes(&j, s->processes);
	}
	csf__json_key(&j, "metrics");
	csf__json_begin_object(&j);
	for (i = 0; i < snap->metrics_count; i++) {
		csf__json_key(&j, snap->metrics[i]->name);
		csf__json_real(&j, snap->metrics[i]->value);
	}
	csf__json_end_object(&j);
	csf__json_end_object(&j);
	rc = csf__json_finish(&j);
	if (rc) {
		csf__buf_free(&b);
		return rc;
	}
	*out = csf__buf_detach(&b, out_len);
	return 0;
}
