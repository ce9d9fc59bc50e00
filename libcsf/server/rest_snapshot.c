/*
 * GET /api/v1/agents/{id}/snapshot
 * The agent's newest stored metrics message in full: filesystems, disks,
 * interfaces, top processes, CPU and memory. agent_snapshots keeps it as the
 * agent sent it (snapshot.c); it is decoded here, on request, so ingest
 * never pays for the parts only this page reads.
 */
#include "server/internal.h"

static void counters(csf__json *j, const char *key, const Csf__V1__NetCounters *c)
{
	csf__json_key(j, key);
	if (!c) {
		csf__json_null(j);
		return;
	}
	csf__json_begin_object(j);
	csf__json_key(j, "bytes"); csf__json_u64(j, c->bytes);
	csf__json_key(j, "packets"); csf__json_u64(j, c->packets);
	csf__json_key(j, "errors"); csf__json_u64(j, c->errors);
	csf__json_key(j, "drops"); csf__json_u64(j, c->drops);
	csf__json_key(j, "bytes_per_sec"); csf__json_double(j, c->bytes_per_sec);
	csf__json_key(j, "packets_per_sec"); csf__json_double(j, c->packets_per_sec);
	csf__json_end_object(j);
}

static void process_list(csf__json *j, const char *key, Csf__V1__ProcessInfo *const *v, size_t n)
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

static void host(csf__json *j, const Csf__V1__MetricsSnapshot *m)
{
	const Csf__V1__CpuMetrics *c = m->cpu;
	const Csf__V1__MemoryMetrics *mem = m->memory;

	csf__json_key(j, "interval_seconds"); csf__json_double(j, m->interval_seconds);
	csf__json_key(j, "uptime_seconds"); csf__json_double(j, m->uptime_seconds);
	csf__json_key(j, "cpu");
	if (c) {
		csf__json_begin_object(j);
		csf__json_key(j, "usage_percent"); csf__json_double(j, c->total ? c->total->usage : 0);
		csf__json_key(j, "cores"); csf__json_u64(j, c->n_cores);
		csf__json_key(j, "load1"); csf__json_double(j, c->load1);
		csf__json_key(j, "load5"); csf__json_double(j, c->load5);
		csf__json_key(j, "load15"); csf__json_double(j, c->load15);
		csf__json_end_object(j);
	} else {
		csf__json_null(j);
	}
	csf__json_key(j, "memory");
	if (mem) {
		csf__json_begin_object(j);
		csf__json_key(j, "total_bytes"); csf__json_u64(j, mem->total);
		csf__json_key(j, "used_bytes"); csf__json_u64(j, mem->used);
		csf__json_key(j, "available_bytes"); csf__json_u64(j, mem->available);
		csf__json_key(j, "swap_total_bytes"); csf__json_u64(j, mem->swap_total);
		csf__json_key(j, "swap_used_bytes"); csf__json_u64(j, mem->swap_used);
		csf__json_end_object(j);
	} else {
		csf__json_null(j);
	}
}

static void storage(csf__json *j, const Csf__V1__MetricsSnapshot *m)
{
	size_t i;

	csf__json_key(j, "filesystems");
	csf__json_begin_array(j);
	for (i = 0; i < m->n_filesystems; i++) {
		const Csf__V1__FilesystemMetrics *f = m->filesystems[i];

		csf__json_begin_object(j);
		csf__json_key(j, "device"); csf__json_string(j, f->device);
		csf__json_key(j, "mountpoint"); csf__json_string(j, f->mountpoint);
		csf__json_key(j, "fstype"); csf__json_string(j, f->fstype);
		csf__json_key(j, "total_bytes"); csf__json_u64(j, f->total_bytes);
		csf__json_key(j, "used_bytes"); csf__json_u64(j, f->used_bytes);
		csf__json_key(j, "available_bytes"); csf__json_u64(j, f->available_bytes);
		csf__json_key(j, "inodes_total"); csf__json_u64(j, f->inodes_total);
		csf__json_key(j, "inodes_used"); csf__json_u64(j, f->inodes_used);
		csf__json_end_object(j);
	}
	csf__json_end_array(j);
	csf__json_key(j, "disks");
	csf__json_begin_array(j);
	for (i = 0; i < m->n_disks; i++) {
		const Csf__V1__DiskMetrics *d = m->disks[i];

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

static void network_and_processes(csf__json *j, const Csf__V1__MetricsSnapshot *m)
{
	const Csf__V1__ProcessMetrics *p = m->processes;
	size_t i;

	csf__json_key(j, "interfaces");
	csf__json_begin_array(j);
	for (i = 0; i < m->n_interfaces; i++) {
		csf__json_begin_object(j);
		csf__json_key(j, "name"); csf__json_string(j, m->interfaces[i]->name);
		counters(j, "rx", m->interfaces[i]->rx);
		counters(j, "tx", m->interfaces[i]->tx);
		csf__json_end_object(j);
	}
	csf__json_end_array(j);
	csf__json_key(j, "processes");
	if (!p) {
		csf__json_null(j);
		return;
	}
	csf__json_begin_object(j);
	csf__json_key(j, "count"); csf__json_u64(j, p->count);
	csf__json_key(j, "threads"); csf__json_u64(j, p->threads);
	process_list(j, "top_cpu", p->top_cpu, p->n_top_cpu);
	process_list(j, "top_memory", p->top_memory, p->n_top_memory);
	csf__json_end_object(j);
}

static void snapshot(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	/* the agent scopes the request; a LEFT JOIN tells "no such agent"
	 * from "no metrics yet" */
	static const char *const q =
		"SELECT s.\"timestamp\", s.message FROM agents a LEFT JOIN agent_snapshots s ON s.agent_id = a.id "
		"WHERE a.organization_id = $1 AND a.id = $2 AND a.revoked_at IS NULL";
	csf_server *s = payload;
	const char *id = csf__http_param(p, "id");
	Csf__V1__AgentMessage *m = NULL;
	csf__principal who;
	csf__buf body = CSF__BUF_INIT(16u << 20);
	csf__json j;
	csf__stmt *st;
	const void *bytes;
	size_t len = 0;
	int64_t ts;
	int rc;

	if (csf__rest_auth(s, x, req, CSF__VIEWER, &who))
		return;
	if (csf__rest_agent_row(s, x, q, who.org_id, id, &st))
		return;
	if (csf__db_col_null(st, 1)) {
		csf__db_reset(st);
		csf__http_respond_error(x, 404, "not_found", "the agent has sent no metrics yet");
		return;
	}
	ts = csf__db_col_i64(st, 0);
	bytes = csf__db_col_blob(st, 1, &len);
	rc = bytes ? csf__pb_agent_message_decode(&m, bytes, len) : csf_error_last()->code;
	csf__db_reset(st);
	if (!rc && m->body_case != CSF__V1__AGENT_MESSAGE__BODY_METRICS)
		rc = csf__error_set(CSF_EPARSE, "the stored snapshot is not a metrics message");
	if (rc) {
		csf__log(CSF_LOG_WARN, "server", "agent %s: stored snapshot unreadable: %s", id,
			 csf_error_last()->message);
		csf__pb_free(m ? &m->base : NULL);
		csf__http_respond_error(x, 500, "internal", "the stored snapshot cannot be read");
		return;
	}
	csf__json_init(&j, &body);
	csf__json_begin_object(&j);
	csf__json_key(&j, "agent_id"); csf__json_string(&j, id);
	csf__json_key(&j, "timestamp"); csf__json_i64(&j, ts);
	host(&j, m->metrics);
	storage(&j, m->metrics);
	network_and_processes(&j, m->metrics);
	csf__json_end_object(&j);
	csf__pb_free(&m->base);
	if (csf__json_finish(&j) != 0)
		csf__rest_fail(x, csf_error_last()->code);
	else
		csf__rest_json(x, 200, &body);
}

int csf__rest_agent_snapshot_routes(csf_server *s)
{
	return csf__rest_route(s, "GET", "/api/v1/agents/{id}/snapshot", snapshot);
}
