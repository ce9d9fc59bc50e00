/*
 * GET /api/v1/agents/{id}/metrics?from=&to=&step=
 * Buckets of `step` with averages and maxima, from the raw samples, the
 * 1-minute or the 1-hour rollups depending on the range and the step (and on
 * what retention still holds). from/to: Unix seconds or RFC 3339 (default:
 * the last 15 minutes); step: seconds or a duration ("60s", "5m", "1h";
 * default: about 240 buckets).
 */
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

#define MAX_BUCKETS 5000

typedef enum source { RAW, ROLLUP_1M, ROLLUP_1H } source;

static source pick(const csf_server *s, int64_t from, int64_t to, int64_t step, int64_t now)
{
	int64_t range = to - from;

	if (step >= 3600000 || range > 7ll * 86400000 ||
	    from < now - (int64_t)s->o.retention_1m_days * 86400000)
		return ROLLUP_1H;
	if (step >= 60000 || range > 6ll * 3600000 || from < now - (int64_t)s->o.retention_raw_days * 86400000)
		return ROLLUP_1M;
	return RAW;
}

static void metrics(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const q_agent =
		"SELECT 1 FROM agents WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL";
	static const char *const q_raw =
		"SELECT (\"timestamp\" / $3) * $3 AS b, count(*), avg(cpu_usage_percent), max(cpu_usage_percent), "
		"avg(memory_used_bytes), max(memory_used_bytes), max(memory_total_bytes), avg(disk_used_bytes), "
		"max(disk_used_bytes), max(disk_total_bytes), max(network_rx_bytes), max(network_tx_bytes), "
		"min(network_rx_bytes), min(network_tx_bytes) FROM agent_metrics "
		"WHERE agent_id = $1 AND organization_id = $2 AND \"timestamp\" >= $4 AND \"timestamp\" < $5 "
		"GROUP BY b ORDER BY b";
#define ROLLUP_QUERY(table) \
	"SELECT (bucket / $3) * $3 AS b, sum(samples), sum(cpu_avg * samples) / sum(samples), max(cpu_max), " \
	"sum(mem_used_avg * samples) / sum(samples), max(mem_used_max), max(mem_total_max), " \
	"sum(disk_used_avg * samples) / sum(samples), max(disk_used_max), max(disk_total_max), " \
	"max(net_rx_max), max(net_tx_max), min(net_rx_max), min(net_tx_max) FROM " table \
	" WHERE agent_id = $1 AND organization_id = $2 AND bucket >= $4 AND bucket < $5 GROUP BY b ORDER BY b"
	static const char *const q_1m = ROLLUP_QUERY("agent_metrics_1m");
	static const char *const q_1h = ROLLUP_QUERY("agent_metrics_1h");
	static const char *const names[] = { "raw", "1m", "1h" };
	csf_server *s = payload;
	const char *id = csf__http_param(p, "id");
	int64_t now = csf__now_ms(), from, to, step = 0, prev_t = 0, prev_rx = -1, prev_tx = -1;
	csf__principal who;
	char v[64];
	csf__buf body = CSF__BUF_INIT(64u << 20);
	csf__json j;
	csf__stmt *st;
	source src;
	int rc;

	if (csf__rest_auth(s, x, req, CSF__VIEWER, &who))
		return;
	to = now;
	if (csf__http_request_query(req, "to", v, sizeof(v)) && csf__parse_time_ms(v, &to) != 0) {
		csf__http_respond_error(x, 400, "invalid_argument", "to must be Unix seconds or RFC 3339");
		return;
	}
	from = to - 15 * 60000;
	if (csf__http_request_query(req, "from", v, sizeof(v)) && csf__parse_time_ms(v, &from) != 0) {
		csf__http_respond_error(x, 400, "invalid_argument", "from must be Unix seconds or RFC 3339");
		return;
	}
	if (from >= to) {
		csf__http_respond_error(x, 400, "invalid_argument", "from must be before to");
		return;
	}
	if (csf__http_request_query(req, "step", v, sizeof(v)) && csf__parse_step_ms(v, &step) != 0) {
		csf__http_respond_error(x, 400, "invalid_argument", "step must be seconds or a duration like 60s, 5m, 1h");
		return;
	}
	if (!step) {
		step = (to - from) / 240;
		step = step < 1000 ? 1000 : (step + 999) / 1000 * 1000;
	}
	if ((to - from) / step > MAX_BUCKETS) {
		csf__http_respond_error(x, 400, "invalid_argument", "that range and step make more than 5000 buckets");
		return;
	}
	src = pick(s, from, to, step, now);
	/* a rollup's rows cannot be cut: its buckets hold whole minutes (hours) */
	if (src != RAW) {
		int64_t unit = src == ROLLUP_1M ? 60000 : 3600000;

		step = (step + unit - 1) / unit * unit;
	}
	if (csf__rest_agent_row(s, x, q_agent, who.org_id, id, &st))
		return;
	csf__db_reset(st);
	rc = csf__db_stmt(csf__rest_db(s, x), &st, src == RAW ? q_raw : src == ROLLUP_1M ? q_1m : q_1h);
	if (rc) {
		csf__rest_fail(x, rc);
		return;
	}
	csf__db_bind_text(st, 1, id);
	csf__db_bind_text(st, 2, who.org_id);
	csf__db_bind_i64(st, 3, step);
	csf__db_bind_i64(st, 4, from);
	csf__db_bind_i64(st, 5, to);
	csf__json_init(&j, &body);
	csf__json_begin_object(&j);
	csf__json_key(&j, "agent_id"); csf__json_string(&j, id);
	csf__json_key(&j, "from"); csf__json_i64(&j, from);
	csf__json_key(&j, "to"); csf__json_i64(&j, to);
	csf__json_key(&j, "step"); csf__json_i64(&j, step);
	csf__json_key(&j, "source"); csf__json_string(&j, names[src]);
	csf__json_key(&j, "buckets");
	csf__json_begin_array(&j);
	while ((rc = csf__db_step(st)) == 1) {
		int64_t t = csf__db_col_i64(st, 0), rx = csf__db_col_i64(st, 10), tx = csf__db_col_i64(st, 11);
		double span = prev_rx >= 0 ? (double)(t - prev_t) / 1000 : (double)step / 1000;
		int64_t drx = prev_rx >= 0 ? rx - prev_rx : rx - csf__db_col_i64(st, 12);
		int64_t dtx = prev_tx >= 0 ? tx - prev_tx : tx - csf__db_col_i64(st, 13);

		csf__json_begin_object(&j);
		csf__json_key(&j, "t"); csf__json_i64(&j, t);
		csf__json_key(&j, "samples"); csf__json_i64(&j, csf__db_col_i64(st, 1));
		csf__json_key(&j, "cpu_avg"); csf__json_double(&j, csf__db_col_double(st, 2));
		csf__json_key(&j, "cpu_max"); csf__json_double(&j, csf__db_col_double(st, 3));
		csf__json_key(&j, "memory_used_avg"); csf__json_double(&j, csf__db_col_double(st, 4));
		csf__json_key(&j, "memory_used_max"); csf__json_i64(&j, csf__db_col_i64(st, 5));
		csf__json_key(&j, "memory_total"); csf__json_i64(&j, csf__db_col_i64(st, 6));
		csf__json_key(&j, "disk_used_avg"); csf__json_double(&j, csf__db_col_double(st, 7));
		csf__json_key(&j, "disk_used_max"); csf__json_i64(&j, csf__db_col_i64(st, 8));
		csf__json_key(&j, "disk_total"); csf__json_i64(&j, csf__db_col_i64(st, 9));
		csf__json_key(&j, "network_rx_bytes"); csf__json_i64(&j, rx);
		csf__json_key(&j, "network_tx_bytes"); csf__json_i64(&j, tx);
		/* counters: the rate from one bucket's last value to the next;
		 * a counter that went down was reset, and that bucket has none */
		csf__json_key(&j, "network_rx_rate");
		if (drx >= 0 && span > 0) csf__json_double(&j, (double)drx / span); else csf__json_null(&j);
		csf__json_key(&j, "network_tx_rate");
		if (dtx >= 0 && span > 0) csf__json_double(&j, (double)dtx / span); else csf__json_null(&j);
		csf__json_end_object(&j);
		prev_t = t;
		prev_rx = rx;
		prev_tx = tx;
	}
	csf__json_end_array(&j);
	csf__json_end_object(&j);
	if (rc < 0) {
		csf__buf_free(&body);
		csf__rest_fail(x, rc);
	} else if (csf__json_finish(&j) != 0) {
		csf__rest_fail(x, csf_error_last()->code);
	} else {
		csf__rest_json(x, 200, &body);
	}
}

int csf__rest_agent_metrics_routes(csf_server *s)
{
	return csf__rest_route(s, "GET", "/api/v1/agents/{id}/metrics", metrics);
}
