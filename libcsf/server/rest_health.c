/* /healthz (the process answers), /readyz (the database answers too) and
 * /metrics (Prometheus text format 0.0.4). Unauthenticated, like their
 * counterparts in other servers: the HTTP listener is on loopback by
 * default (docs/operations.md). */
#include <string.h>

#include "server/internal.h"

static void healthz(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const h[] = { "Content-Type", "application/json", "Cache-Control", "no-store", NULL };
	static const char body[] = "{\"status\":\"ok\"}";

	(void)req;
	(void)p;
	(void)payload;
	csf__http_respond(x, 200, h, body, sizeof(body) - 1);
}

static void readyz(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const h[] = { "Content-Type", "application/json", "Cache-Control", "no-store", NULL };
	static const char ok[] = "{\"status\":\"ok\",\"database\":\"ok\"}";
	csf_server *s = payload;

	(void)req;
	(void)p;
	if (csf__db_ping(csf__rest_db(s, x)) == 0) {
		csf__http_respond(x, 200, h, ok, sizeof(ok) - 1);
		return;
	}
	/* the connection reconnects by itself, so readiness comes back with the database */
	csf__http_respond_error(x, 503, "unavailable", "the database is not reachable");
}

static void metric(csf__buf *b, const char *name, const char *type, const char *help, double value)
{
	csf__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, value);
}

static void summary(csf__buf *b, const char *name, const char *help, double sum_s, uint64_t count)
{
	csf__buf_printf(b, "# HELP %s %s\n# TYPE %s summary\n%s_sum %.6f\n%s_count %llu\n", name, help, name, name,
			sum_s, name, (unsigned long long)count);
}

static void prometheus(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const h[] = { "Content-Type", "text/plain; version=0.0.4; charset=utf-8", "Cache-Control",
					 "no-store", NULL };
	csf_server *s = payload;
	csf__server_stats st;
	csf__pool_stats pool;
	csf__buf b = CSF__BUF_INIT(1u << 20);

	(void)req;
	(void)p;
	st.messages_received = __atomic_load_n(&s->stats.messages_received, __ATOMIC_RELAXED);
	st.rows_committed = __atomic_load_n(&s->stats.rows_committed, __ATOMIC_RELAXED);
	st.duplicates_skipped = __atomic_load_n(&s->stats.duplicates_skipped, __ATOMIC_RELAXED);
	st.batches_committed = __atomic_load_n(&s->stats.batches_committed, __ATOMIC_RELAXED);
	st.commit_failures = __atomic_load_n(&s->stats.commit_failures, __ATOMIC_RELAXED);
	st.commit_us_total = __atomic_load_n(&s->stats.commit_us_total, __ATOMIC_RELAXED);
	st.enrollments = __atomic_load_n(&s->stats.enrollments, __ATOMIC_RELAXED);
	st.enrollment_failures = __atomic_load_n(&s->stats.enrollment_failures, __ATOMIC_RELAXED);
	st.http_requests = __atomic_load_n(&s->stats.http_requests, __ATOMIC_RELAXED);
	st.snapshots_written = __atomic_load_n(&s->stats.snapshots_written, __ATOMIC_RELAXED);
	st.snapshot_failures = __atomic_load_n(&s->stats.snapshot_failures, __ATOMIC_RELAXED);

	csf__buf_printf(&b, "# HELP csf_build_info The running version.\n# TYPE csf_build_info gauge\n"
			    "csf_build_info{version=\"%s\"} 1\n", CSF_VERSION);
	metric(&b, "csf_uptime_seconds", "gauge", "Seconds since the server started.",
	       (double)(csf__time_mono_ms() - s->started_ms) / 1000);
	metric(&b, "csf_agents_connected", "gauge", "Agents with a live stream.", (double)csf__sessions_online(s));
	metric(&b, "csf_agent_connections", "gauge", "Open connections on the agent listener.",
	       (double)csf_net_server_connections(s->agents));
	metric(&b, "csf_ingest_messages_received_total", "counter", "Agent messages received.",
	       (double)st.messages_received);
	metric(&b, "csf_ingest_rows_committed_total", "counter", "Data messages committed.", (double)st.rows_committed);
	metric(&b, "csf_ingest_duplicates_skipped_total", "counter", "Replayed messages already committed.",
	       (double)st.duplicates_skipped);
	metric(&b, "csf_ingest_queue_depth", "gauge", "Messages waiting for the writer.",
	       (double)csf__ingest_depth(s->ingest));
	metric(&b, "csf_ingest_commit_failures_total", "counter", "Batches that did not commit (retried).",
	       (double)st.commit_failures);
	summary(&b, "csf_ingest_commit_seconds", "Time to write and commit a batch.", (double)st.commit_us_total / 1e6,
		st.batches_committed);
	metric(&b, "csf_ingest_snapshots_written_total", "counter", "Agent snapshots stored (agent_snapshots).",
	       (double)st.snapshots_written);
	metric(&b, "csf_ingest_snapshot_failures_total", "counter", "Snapshot writes that failed (not retried).",
	       (double)st.snapshot_failures);
	metric(&b, "csf_enrollments_total", "counter", "Agents enrolled.", (double)st.enrollments);
	metric(&b, "csf_enrollment_failures_total", "counter", "Enrollments refused.", (double)st.enrollment_failures);
	metric(&b, "csf_http_requests_total", "counter", "Authenticated REST requests.", (double)st.http_requests);
	metric(&b, "csf_feed_clients", "gauge", "Browsers on the live feed.", (double)csf__feed_clients(s));
	csf__net_server_pool_stats(s->http, &pool);
	metric(&b, "csf_workers", "gauge", "Worker threads (REST, enrollment, rollups).", (double)pool.workers);
	metric(&b, "csf_workers_busy", "gauge", "Workers running a job now.", (double)pool.busy);
	metric(&b, "csf_worker_queue_depth", "gauge", "Jobs waiting for a worker.", (double)pool.queued);
	summary(&b, "csf_worker_queue_wait_seconds", "Time a job waited for a worker.", (double)pool.wait_us_total / 1e6,
		pool.jobs);
	summary(&b, "csf_worker_job_seconds", "Time a worker spent on a job.", (double)pool.run_us_total / 1e6, pool.jobs);
	csf__http_respond(x, 200, h, b.ptr, b.len);
	csf__buf_free(&b);
}

int csf__rest_health_routes(csf_server *s)
{
	int rc = csf__net_server_add_route(s->http, "GET", "/healthz", healthz, s);

	if (!rc)
		rc = csf__rest_route(s, "GET", "/readyz", readyz);
	if (!rc)
		rc = csf__net_server_add_route(s->http, "GET", "/metrics", prometheus, s);
	return rc;
}
