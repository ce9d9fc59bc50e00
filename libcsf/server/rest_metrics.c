/*
 * GET /api/v1/agents/{id}/metrics?from=&to=&step=
 * Buckets of `step` with averages and maxima, from the raw samples, the
 * 1-minute or the 1-hour rollups depending on the range and the step (and on
 * what retention still holds). from/to: Unix seconds or RFC 3339 (default:
 * the last 15 minutes); step: seconds or a duration ("60s", "5m", "1h";
 * default: about 240 buckets).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

#define MAX_BUCKETS 5000

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Unix seconds, or RFC 3339 ("2026-12-04T20:00:00Z", fractions and offsets
 * allowed); into milliseconds. */
int csf__parse_time_ms(const char *v, int64_t *out)
{
	int Y, M, D, h, mi, sec, n = 0, oh = 0, om = 0;
	int64_t ms = 0;
	const char *p;
	char *end;

	if (*v && strspn(v, "0123456789") == strlen(v) && strlen(v) <= 12) {
		*out = strtoll(v, &end, 10) * 1000;
		return 0;
	}
	if (sscanf(v, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &Y, &M, &D, &h, &mi, &sec, &n) != 6 || n != 19)
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	p = v + 19;
	if (*p == '.') {
		int digits = 0;

		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		if (!digits)
			return -1;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
			return -1;
		oh *= sign;
		om *= sign;
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = ((days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 + sec) -
		(oh * 3600 + om * 60)) * 1000 + ms;
	return 0;
}

/* "60", "60s", "5m", "1h", "1d" into milliseconds. */
static int parse_step_ms(const char *v, int64_t *out)
{
	char *end;
	long long n = strtoll(v, &end, 10);
	int64_t unit = 1000;

	if (end == v || n <= 0)
		return -1;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': unit = 60000; break;
	case 'h': unit = 3600000; break;
	case 'd': unit = 86400000; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	*out = n * unit;
	return 0;
}

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
	if (csf__http_request_query(req, "step", v, sizeof(v)) && parse_step_ms(v, &step) != 0) {
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
	/* a rollup's buckets cannot be cut finer than the rollup */
	if (src == ROLLUP_1M && step < 60000)
		step = 60000;
	if (src == ROLLUP_1H && step < 3600000)
		step = 3600000;
	rc = csf__db_stmt(s->db, &st, q_agent);
	if (!rc) {
		csf__db_bind_text(st, 1, who.org_id);
		csf__db_bind_text(st, 2, id);
		rc = csf__db_step(st);
	}
	if (rc <= 0) {
		if (rc < 0)
			csf__rest_fail(x, rc);
		else
			csf__http_respond_error(x, 404, "not_found", "no such agent");
		return;
	}
	csf__db_reset(st);
	rc = csf__db_stmt(s->db, &st, src == RAW ? q_raw : src == ROLLUP_1M ? q_1m : q_1h);
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
	return csf__net_server_add_route(s->http, "GET", "/api/v1/agents/{id}/metrics", metrics, s);
}
