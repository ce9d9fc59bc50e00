/*
 * server: the 1-minute and 1-hour rollups and retention (rollup.c), the day
 * partitions retention drops on PostgreSQL (store/partitions.c) and
 * GET /api/v1/agents/{id}/metrics (rest_metrics.c), on a real csf_server:
 * over SQLite (the default file in its data directory) or, with
 * CSF_TEST_DB=postgresql, over a database of its own (csf_unit_rollup) on
 * the cluster of the tests/pg fixture (CSF_TEST_PG_DIR holds its url).
 *
 * Raw samples go straight into s->db and every expected value is computed
 * here from the samples inserted; the rollup and retention run with chosen
 * clocks. Times are relative to D, the start of today (UTC), so that the
 * REST route, which picks its source by the real clock, sees the data as
 * recent.
 */
#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "server/internal.h"
#include "store/db.h"
#include "csf_check.h"

#define MINUTE INT64_C(60000)
#define HOUR INT64_C(3600000)
#define DAY INT64_C(86400000)
#define PASSWORD "rollup test password"
#define ORG_B "org-b"


/* One raw sample; `who` is agent A (0, organization "default") or B (1). */
typedef struct sample {
	int who;
	int64_t t;
	double cpu;
	int64_t mem, mem_total, disk, disk_total, rx, tx;
} sample;

/* What a bucket of raw samples implies. */
typedef struct agg {
	int64_t samples;
	double cpu_sum, cpu_max, mem_sum, disk_sum;
	int64_t mem_max, mem_total_max, disk_max, disk_total_max, rx_max, tx_max, rx_min, tx_min;
} agg;

static const char *const agent_ids[] = { "agent-a", "agent-b" };

static int pg;
static char pg_admin_url[512], pg_url[512];

/* the current test's server and what it was given */
static csf_server *S;
static char data_dir[64];
static pthread_t server_thread;
static int serving;
static int64_t D;
static sample rows[1024];
static size_t nrows;

/* ------------------------------------------------------------ helpers */

static const char *org_of(int who)
{
	return who ? ORG_B : S->default_org;
}

static void near(double got, double want, double tol, const char *what, int64_t t)
{
	if (fabs(got - want) > tol * fmax(1.0, fabs(want)))
		fail_msg("%s at D%+" PRId64 "ms: %.9g, wanted %.9g", what, t - D, got, want);
}

static void put(int who, int64_t t, double cpu, int64_t mem, int64_t mem_total, int64_t disk, int64_t disk_total,
		int64_t rx, int64_t tx)
{
	static const char q[] =
		"INSERT INTO agent_metrics (agent_id, organization_id, \"timestamp\", boot_id, seq, cpu_usage_percent, "
		"memory_total_bytes, memory_used_bytes, disk_total_bytes, disk_used_bytes, network_rx_bytes, "
		"network_tx_bytes, custom_metrics) VALUES ($1, $2, $4, 'boot', $5, $3, $6, $7, $8, $9, $10, $11, '{}')";
	sample x = { who, t, cpu, mem, mem_total, disk, disk_total, rx, tx };
	const int64_t ints[] = { t, (int64_t)nrows + 1, mem_total, mem, disk_total, disk, rx, tx };
	csf__stmt *st;
	int i;

	assert_true(nrows < sizeof(rows) / sizeof(rows[0]));
	OK(csf__db_stmt(S->db, &st, q));
	csf__db_bind_text(st, 1, agent_ids[who]);
	csf__db_bind_text(st, 2, org_of(who));
	csf__db_bind_double(st, 3, cpu);
	for (i = 0; i < 8; i++)
		csf__db_bind_i64(st, 4 + i, ints[i]);
	OK(csf__db_run(st));
	rows[nrows++] = x;
}

/* A plain sample: the totals and counters follow from `cpu`. */
static void put_simple(int who, int64_t t, double cpu)
{
	put(who, t, cpu, (int64_t)(cpu * 100), 10000, (int64_t)cpu * 7, 1000, (int64_t)nrows * 10, (int64_t)nrows * 3);
}

/* the first value of the bucket, or one beyond what it holds */
#define KEEP(field, v, cmp)                          \
	do {                                         \
		if (!a.samples || (v) cmp a.field)  \
			a.field = (v);               \
	} while (0)

static agg expect(int who, int64_t lo, int64_t hi)
{
	agg a;
	size_t i;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < nrows; i++) {
		const sample *x = &rows[i];

		if (x->who != who || x->t < lo || x->t >= hi)
			continue;
		KEEP(cpu_max, x->cpu, >);
		KEEP(mem_max, x->mem, >);
		KEEP(mem_total_max, x->mem_total, >);
		KEEP(disk_max, x->disk, >);
		KEEP(disk_total_max, x->disk_total, >);
		KEEP(rx_max, x->rx, >);
		KEEP(tx_max, x->tx, >);
		KEEP(rx_min, x->rx, <);
		KEEP(tx_min, x->tx, <);
		a.cpu_sum += x->cpu;
		a.mem_sum += (double)x->mem;
		a.disk_sum += (double)x->disk;
		a.samples++;
	}
	return a;
}
#undef KEEP

static void add_org(const char *id, const char *name)
{
	static const char q[] = "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)";
	csf__stmt *st;

	OK(csf__db_stmt(S->db, &st, q));
	csf__db_bind_text(st, 1, id);
	csf__db_bind_text(st, 2, name);
	csf__db_bind_i64(st, 3, D);
	OK(csf__db_run(st));
}

static void add_agent(int who)
{
	static const char q[] =
		"INSERT INTO agents (id, organization_id, name, registered_at, updated_at) VALUES ($1, $2, $1, $3, $3)";
	csf__stmt *st;

	OK(csf__db_stmt(S->db, &st, q));
	csf__db_bind_text(st, 1, agent_ids[who]);
	csf__db_bind_text(st, 2, org_of(who));
	csf__db_bind_i64(st, 3, D);
	OK(csf__db_run(st));
}

#define ROLLUP_COLS                                                                                      \
	"organization_id, samples, cpu_avg, cpu_max, mem_used_avg, mem_used_max, mem_total_max, disk_used_avg, " \
	"disk_used_max, disk_total_max, net_rx_max, net_tx_max"
static const char q_row_1m[] = "SELECT " ROLLUP_COLS " FROM agent_metrics_1m WHERE agent_id = $1 AND bucket = $2";
static const char q_row_1h[] = "SELECT " ROLLUP_COLS " FROM agent_metrics_1h WHERE agent_id = $1 AND bucket = $2";

/* The 1m (or 1h) row of agent `who` at `bucket` holds what the raw samples
 * of that minute (hour) imply, or is absent when there are none. */
static void check_rollup(int hour, int who, int64_t bucket)
{
	int64_t width = hour ? HOUR : MINUTE;
	agg e = expect(who, bucket, bucket + width);
	csf__stmt *st;
	int rc;

	OK(csf__db_stmt(S->db, &st, hour ? q_row_1h : q_row_1m));
	csf__db_bind_text(st, 1, agent_ids[who]);
	csf__db_bind_i64(st, 2, bucket);
	rc = csf__db_step(st);
	if (rc < 0)
		fail_msg("reading a rollup: %s", csf_error_last()->message);
	if (!e.samples) {
		if (rc)
			fail_msg("%s row for %s at D%+" PRId64 "ms, which has no samples", hour ? "1h" : "1m",
				 agent_ids[who], bucket - D);
		return;
	}
	if (!rc)
		fail_msg("no %s row for %s at D%+" PRId64 "ms", hour ? "1h" : "1m", agent_ids[who], bucket - D);
	assert_string_equal(csf__db_col_text(st, 0), org_of(who));
	if (csf__db_col_i64(st, 1) != e.samples)
		fail_msg("%s samples at D%+" PRId64 "ms: %" PRId64 ", wanted %" PRId64, hour ? "1h" : "1m",
			 bucket - D, csf__db_col_i64(st, 1), e.samples);
	near(csf__db_col_double(st, 2), e.cpu_sum / (double)e.samples, 1e-9, "cpu_avg", bucket);
	near(csf__db_col_double(st, 3), e.cpu_max, 1e-9, "cpu_max", bucket);
	near(csf__db_col_double(st, 4), e.mem_sum / (double)e.samples, 1e-9, "mem_used_avg", bucket);
	assert_int_equal(csf__db_col_i64(st, 5), e.mem_max);
	assert_int_equal(csf__db_col_i64(st, 6), e.mem_total_max);
	near(csf__db_col_double(st, 7), e.disk_sum / (double)e.samples, 1e-9, "disk_used_avg", bucket);
	assert_int_equal(csf__db_col_i64(st, 8), e.disk_max);
	assert_int_equal(csf__db_col_i64(st, 9), e.disk_total_max);
	assert_int_equal(csf__db_col_i64(st, 10), e.rx_max);
	assert_int_equal(csf__db_col_i64(st, 11), e.tx_max);
	OK(csf__db_run(st));
}

/* The rollup rows of [lo, hi), both agents: one for every minute (hour)
 * holding samples, with what they imply, and no other. */
static void check_rollups(int64_t lo, int64_t hi)
{
	static const char q_n_1m[] = "SELECT count(*) FROM agent_metrics_1m WHERE bucket >= $1 AND bucket < $2";
	static const char q_n_1h[] = "SELECT count(*) FROM agent_metrics_1h WHERE bucket >= $1 AND bucket < $2";
	int hour;

	for (hour = 0; hour < 2; hour++) {
		int64_t width = hour ? HOUR : MINUTE, n = 0;
		size_t i, k;
		csf__stmt *st;

		for (i = 0; i < nrows; i++) {
			int64_t b = rows[i].t / width * width;

			if (b < lo || b >= hi)
				continue;
			for (k = 0; k < i; k++)
				if (rows[k].who == rows[i].who && rows[k].t / width * width == b)
					break;
			if (k < i)
				continue; /* that bucket was checked */
			check_rollup(hour, rows[i].who, b);
			n++;
		}
		OK(csf__db_stmt(S->db, &st, hour ? q_n_1h : q_n_1m));
		csf__db_bind_i64(st, 1, lo);
		csf__db_bind_i64(st, 2, hi);
		assert_int_equal(csf__db_step(st), 1);
		assert_int_equal(csf__db_col_i64(st, 0), n);
		OK(csf__db_run(st));
	}
}

static int64_t query_i64(const char *sql, int64_t arg)
{
	csf__stmt *st;
	int64_t v;

	OK(csf__db_stmt(S->db, &st, sql));
	if (strstr(sql, "$1"))
		csf__db_bind_i64(st, 1, arg);
	if (csf__db_step(st) != 1)
		fail_msg("%s returned no row (%s)", sql, csf_error_last()->message);
	v = csf__db_col_i64(st, 0);
	OK(csf__db_run(st));
	return v;
}

static const char q_raw_at[] = "SELECT count(*) FROM agent_metrics WHERE \"timestamp\" = $1";
static const char q_1m_at[] = "SELECT count(*) FROM agent_metrics_1m WHERE bucket = $1";
static const char q_1h_at[] = "SELECT count(*) FROM agent_metrics_1h WHERE bucket = $1";
static const char q_1m_samples[] = "SELECT samples FROM agent_metrics_1m WHERE bucket = $1";

/* The rows of both rollup tables, as text (to see that nothing changed). */
static char *dump_rollups(void)
{
	static const char q_1m[] = "SELECT agent_id, bucket, " ROLLUP_COLS " FROM agent_metrics_1m ORDER BY agent_id, bucket";
	static const char q_1h[] = "SELECT agent_id, bucket, " ROLLUP_COLS " FROM agent_metrics_1h ORDER BY agent_id, bucket";
	const char *const qs[] = { q_1m, q_1h };
	csf__buf b = CSF__BUF_INIT(64u << 20);
	size_t k;
	int i, rc;

	for (k = 0; k < 2; k++) {
		csf__stmt *st;

		OK(csf__db_stmt(S->db, &st, qs[k]));
		while ((rc = csf__db_step(st)) == 1)
			for (i = 0; i < 14; i++)
				OK(csf__buf_printf(&b, "%s%c", csf__db_col_text(st, i), i == 13 ? '\n' : ' '));
		assert_int_equal(rc, 0);
		OK(csf__buf_printf(&b, "--\n"));
	}
	return b.ptr;
}

/* Insert a rollup row with dummy values (for retention). */
static void put_rollup(int hour, int64_t bucket)
{
#define PUT_ROLLUP(table)                                                                              \
	"INSERT INTO " table " (agent_id, organization_id, bucket, samples, cpu_avg, cpu_max, mem_used_avg, " \
	"mem_used_max, mem_total_max, disk_used_avg, disk_used_max, disk_total_max, net_rx_max, net_tx_max) " \
	"VALUES ($1, $2, $3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)"
	static const char q_1m[] = PUT_ROLLUP("agent_metrics_1m");
	static const char q_1h[] = PUT_ROLLUP("agent_metrics_1h");
	csf__stmt *st;

	OK(csf__db_stmt(S->db, &st, hour ? q_1h : q_1m));
	csf__db_bind_text(st, 1, agent_ids[0]);
	csf__db_bind_text(st, 2, org_of(0));
	csf__db_bind_i64(st, 3, bucket);
	OK(csf__db_run(st));
}

static void partition_name(int64_t day_ms, char out[32])
{
	time_t secs = (time_t)(day_ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(out, 32, "agent_metrics_p%Y%m%d", &tm);
}

/* PostgreSQL: the partitions of agent_metrics, comma-separated, by name. */
static char *partitions(void)
{
	static const char q[] =
		"SELECT c.relname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
		"JOIN pg_catalog.pg_class p ON p.oid = i.inhparent WHERE p.relname = 'agent_metrics' ORDER BY c.relname";
	csf__buf b = CSF__BUF_INIT(1u << 20);
	csf__stmt *st;
	int rc;

	OK(csf__db_stmt(S->db, &st, q));
	while ((rc = csf__db_step(st)) == 1)
		OK(csf__buf_printf(&b, "%s%s", b.len ? "," : "", csf__db_col_text(st, 0)));
	assert_int_equal(rc, 0);
	return b.ptr;
}

/* The default partition and the day partitions [first, last] (days as
 * ms), as partitions() lists them. */
static char *partitions_wanted(int64_t first, int64_t last)
{
	csf__buf b = CSF__BUF_INIT(1u << 20);
	char name[32];
	int64_t d;

	OK(csf__buf_printf(&b, "agent_metrics_default"));
	for (d = first; d <= last; d += DAY) {
		partition_name(d, name);
		OK(csf__buf_printf(&b, ",%s", name));
	}
	return b.ptr;
}

static void check_partitions(int64_t first, int64_t last)
{
	char *got, *want;

	if (!pg)
		return;
	got = partitions();
	want = partitions_wanted(first, last);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

/* -------------------------------------------------------------- HTTP */

static void *serve(void *arg)
{
	csf_server_run(arg);
	return NULL;
}

static void start_serving(void)
{
	assert_int_equal(pthread_create(&server_thread, NULL, serve, S), 0);
	serving = 1;
}

static void stop_serving(void)
{
	if (!serving)
		return;
	csf_server_stop(S);
	pthread_join(server_thread, NULL);
	serving = 0;
}

/* One request on its own connection; the status, and the body in *out
 * (free it). */
static int http(const char *method, const char *target, const char *token, const char *body, char **out)
{
	struct sockaddr_in a;
	char head[1024];
	char *buf = NULL;
	const char *p;
	size_t len = 0, cap = 0;
	int fd, n, status = 0;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)csf_server_http_port(S));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		     method, target, token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "",
		     body ? strlen(body) : 0);
	assert_true(n > 0 && (size_t)n < sizeof(head));
	assert_int_equal(write(fd, head, (size_t)n), n);
	if (body)
		assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		r = read(fd, buf + len, cap - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	assert_non_null(buf);
	buf[len] = '\0';
	p = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1 || !p)
		fail_msg("not an HTTP response: %.200s", buf);
	memmove(buf, p + 4, strlen(p + 4) + 1);
	*out = buf;
	return status;
}

static char *login(void)
{
	char *body, *token;
	const char *v;
	json_t *j;

	assert_int_equal(http("POST", "/api/v1/auth/login", NULL,
			      "{\"username\": \"admin\", \"password\": \"" PASSWORD "\"}", &body), 200);
	j = json_loads(body, 0, NULL);
	v = json_string_value(json_object_get(j, "token"));
	assert_non_null(v);
	token = strdup(v);
	assert_non_null(token);
	json_decref(j);
	free(body);
	return token;
}

/* GET the metrics of agent `who` (Unix seconds; step NULL: the default). */
static int get_metrics(const char *token, int who, int64_t from, int64_t to, const char *step, json_t **out)
{
	char target[256], *body;
	int status;

	snprintf(target, sizeof(target), "/api/v1/agents/%s/metrics?from=%" PRId64 "&to=%" PRId64 "%s%s",
		 agent_ids[who], from / 1000, to / 1000, step ? "&step=" : "", step ? step : "");
	status = http("GET", target, token, NULL, &body);
	*out = json_loads(body, 0, NULL);
	if (!*out)
		fail_msg("not JSON: %.200s", body);
	free(body);
	return status;
}

static double num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		fail_msg("%s is not a number", key);
	return json_number_value(v);
}

static int64_t integer(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", key);
	return json_integer_value(v);
}

/* A counter's rate from one bucket to the next, as the route computes it:
 * null when it went down. */
static void check_rate(const json_t *b, const char *key, int64_t delta, double span_s, int64_t t)
{
	const json_t *v = json_object_get(b, key);

	if (delta < 0) {
		assert_true(json_is_null(v));
		return;
	}
	near(num(b, key), (double)delta / span_s, 5e-4, key, t);
}

/*
 * GET the metrics of agent A over [from, to) and check the answer: the
 * source, the step, and one bucket for every `step` (aligned on multiples
 * of it) holding samples, with what those samples imply. `from`, `to` and
 * `step` are whole minutes (hours for "1h"), so a rollup row falls in one
 * bucket whole.
 */
static void check_metrics(const char *token, int64_t from, int64_t to, const char *step_arg, const char *source,
			  int64_t step)
{
	int64_t t, prev_t = 0, prev_rx = 0, prev_tx = 0;
	const json_t *buckets;
	json_t *j;
	size_t i = 0;

	assert_int_equal(get_metrics(token, 0, from, to, step_arg, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "source")), source);
	assert_int_equal(integer(j, "step"), step);
	assert_int_equal(integer(j, "from"), from);
	assert_int_equal(integer(j, "to"), to);
	buckets = json_object_get(j, "buckets");
	assert_true(json_is_array(buckets));
	for (t = from / step * step; t < to; t += step) {
		agg e = expect(0, t < from ? from : t, t + step > to ? to : t + step);
		const json_t *b;

		if (!e.samples)
			continue;
		b = json_array_get(buckets, i);
		if (!b)
			fail_msg("%s: no bucket at D%+" PRId64 "ms", source, t - D);
		if (integer(b, "t") != t)
			fail_msg("%s: bucket at D%+" PRId64 "ms, wanted D%+" PRId64 "ms", source, integer(b, "t") - D,
				 t - D);
		assert_int_equal(integer(b, "samples"), e.samples);
		near(num(b, "cpu_avg"), e.cpu_sum / (double)e.samples, 5e-4, "cpu_avg", t);
		near(num(b, "cpu_max"), e.cpu_max, 5e-4, "cpu_max", t);
		near(num(b, "memory_used_avg"), e.mem_sum / (double)e.samples, 5e-4, "memory_used_avg", t);
		assert_int_equal(integer(b, "memory_used_max"), e.mem_max);
		assert_int_equal(integer(b, "memory_total"), e.mem_total_max);
		near(num(b, "disk_used_avg"), e.disk_sum / (double)e.samples, 5e-4, "disk_used_avg", t);
		assert_int_equal(integer(b, "disk_used_max"), e.disk_max);
		assert_int_equal(integer(b, "disk_total"), e.disk_total_max);
		assert_int_equal(integer(b, "network_rx_bytes"), e.rx_max);
		assert_int_equal(integer(b, "network_tx_bytes"), e.tx_max);
		if (i) {
			check_rate(b, "network_rx_rate", e.rx_max - prev_rx, (double)(t - prev_t) / 1000, t);
			check_rate(b, "network_tx_rate", e.tx_max - prev_tx, (double)(t - prev_t) / 1000, t);
		} else if (!strcmp(source, "raw")) {
			/* the first bucket: from its own lowest value */
			check_rate(b, "network_rx_rate", e.rx_max - e.rx_min, (double)step / 1000, t);
			check_rate(b, "network_tx_rate", e.tx_max - e.tx_min, (double)step / 1000, t);
		}
		prev_t = t;
		prev_rx = e.rx_max;
		prev_tx = e.tx_max;
		i++;
	}
	assert_int_equal(json_array_size(buckets), i);
	assert_true(i > 0);
	json_decref(j);
}

static void check_error(const char *token, int who, int64_t from, int64_t to, const char *step, int status)
{
	json_t *j;

	assert_int_equal(get_metrics(token, who, from, to, step, &j), status);
	assert_non_null(json_object_get(j, "error"));
	json_decref(j);
}

/* ----------------------------------------------------------- fixtures */

static int admin_exec(const char *sql)
{
	csf__db *db = NULL;
	int rc = csf__db_open(&db, pg_admin_url);

	if (!rc)
		rc = csf__db_exec(db, sql);
	if (rc)
		fprintf(stderr, "server_rollup_test: %s\n", csf_error_last()->message);
	csf__db_close(db);
	return rc;
}

static int group_setup(void **state)
{
	const char *kind = getenv("CSF_TEST_DB");

	(void)state;
	pg = kind && !strcmp(kind, "postgresql");
	if (pg) {
		const char *dir = getenv("CSF_TEST_PG_DIR");
		char path[512];
		FILE *f;
		int got;

		snprintf(path, sizeof(path), "%s/url", dir ? dir : ".");
		f = fopen(path, "r");
		got = f && fscanf(f, "%511s", pg_admin_url) == 1;
		if (f)
			fclose(f);
		if (!got) {
			fprintf(stderr, "server_rollup_test: cannot read %s (CSF_TEST_PG_DIR)\n", path);
			return -1;
		}
		if (admin_exec("DROP DATABASE IF EXISTS csf_unit_rollup WITH (FORCE)") ||
		    admin_exec("CREATE DATABASE csf_unit_rollup"))
			return -1;
		strcpy(pg_url, pg_admin_url);
		strcpy(strrchr(pg_url, '/') + 1, "csf_unit_rollup");
	}
	printf("rollup tests on %s\n", pg ? "PostgreSQL" : "SQLite");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return pg ? admin_exec("DROP DATABASE IF EXISTS csf_unit_rollup WITH (FORCE)") : 0;
}

/* A server on an empty database (with these retention days; 0: default),
 * agent A in organization "default", B in another. */
static int start_server(uint32_t raw_days, uint32_t m_days, uint32_t h_days)
{
	csf_server_options o;
	csf__db *db = NULL;

	D = csf__now_ms() / DAY * DAY;
	nrows = 0;
	if (pg) {
		int rc = csf__db_open(&db, pg_url);

		if (!rc)
			rc = csf__db_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
		csf__db_close(db);
		if (rc)
			return -1;
	}
	strcpy(data_dir, "/tmp/csf-rollup-XXXXXX");
	if (!mkdtemp(data_dir))
		return -1;
	csf_server_options_init(&o, CSF_SERVER_OPTIONS_VERSION);
	o.data_dir = data_dir;
	o.db_url = pg ? pg_url : NULL;
	o.http_listen = "127.0.0.1:0";
	o.agent_listen = "127.0.0.1:0";
	o.admin_password = PASSWORD;
	o.retention_raw_days = raw_days;
	o.retention_1m_days = m_days;
	o.retention_1h_days = h_days;
	if (csf_server_new(&S, &o) != 0) {
		fprintf(stderr, "server_rollup_test: csf_server_new: %s\n", csf_error_last()->message);
		return -1;
	}
	add_org(ORG_B, "b");
	add_agent(0);
	add_agent(1);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return start_server(0, 0, 0);
}

static int setup_short_retention(void **state)
{
	(void)state;
	return start_server(2, 5, 10);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	stop_serving();
	csf_server_free(S);
	S = NULL;
	nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* -------------------------------------------------------------- data */

/* H: yesterday 10:00. Minutes with 3, 1, 2 and 1 samples in hour H (so
 * the hour's average weighted by samples, 40, is not the average of the
 * minutes' averages, 47.5), samples on the minute and hour boundaries, and
 * agent B in the same minutes. */
static int64_t load_detail(void)
{
	int64_t h = D - DAY + 10 * HOUR;

	put(0, h + 5000, 10, 1000, 8000, 100, 1000, 1000, 500);
	put(0, h + 20000, 20, 2000, 8000, 200, 1000, 1500, 600);
	put(0, h + 59999, 60, 6000, 9000, 300, 1000, 2100, 700);
	put(0, h + MINUTE, 90, 3000, 9000, 400, 1000, 2500, 800);
	put(0, h + 30 * MINUTE, 0, 500, 9000, 50, 2000, 2600, 900);
	put(0, h + 30 * MINUTE + 30000, 60, 1500, 9000, 150, 2000, 2700, 950);
	put(0, h + HOUR - 1, 40, 4000, 9000, 250, 2000, 2800, 990);
	put(0, h + HOUR, 70, 7000, 9000, 350, 2000, 100, 10); /* counters reset */
	put(0, h + HOUR + MINUTE + 10000, 30, 3000, 9500, 330, 2000, 200, 20);
	put(1, h + 10000, 99, 123, 456, 7, 8, 9, 10);
	put(1, h + HOUR, 1, 2, 3, 4, 5, 6, 7);
	return h;
}

/* ------------------------------------------------------------- tests */

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(S->o.retention_raw_days, 7);
	assert_int_equal(S->o.retention_1m_days, 90);
	assert_int_equal(S->o.retention_1h_days, 730);
}

static void test_minute_and_hour_rollups(void **state)
{
	int64_t h = load_detail();

	(void)state;
	csf__rollup_touch(S, h + 5000);
	OK(csf__rollup_run(S, S->db, D + 30000));
	check_rollups(h - HOUR, h + 3 * HOUR);
	/* by hand, the numbers the comment of load_detail promises */
	assert_int_equal(query_i64("SELECT samples FROM agent_metrics_1h WHERE agent_id = 'agent-a' AND bucket = $1", h),
			 7);
	assert_int_equal(query_i64("SELECT count(*) FROM agent_metrics_1h WHERE agent_id = 'agent-a' AND "
				   "bucket = $1 AND cpu_avg > 39.999999 AND cpu_avg < 40.000001", h),
			 1);
	assert_int_equal(query_i64("SELECT count(*) FROM agent_metrics_1m WHERE bucket < $1", D), 8);
	assert_int_equal(query_i64("SELECT count(*) FROM agent_metrics_1h WHERE bucket < $1", D), 4);
}

static void test_rollup_is_idempotent(void **state)
{
	int64_t h = load_detail();
	char *before, *after;

	(void)state;
	csf__rollup_touch(S, h);
	OK(csf__rollup_run(S, S->db, D + 30000));
	before = dump_rollups();
	csf__rollup_touch(S, h);
	OK(csf__rollup_run(S, S->db, D + 30000));
	after = dump_rollups();
	assert_string_equal(before, after);
	free(after);
	OK(csf__rollup_run(S, S->db, D + 5 * MINUTE)); /* nothing recent, nothing touched */
	after = dump_rollups();
	assert_string_equal(before, after);
	free(after);
	free(before);
}

static void test_recent_minutes_and_late_rows(void **state)
{
	int64_t h = load_detail(), now = D + 3 * HOUR + 30000;

	(void)state;
	csf__rollup_touch(S, h);
	OK(csf__rollup_run(S, S->db, now));
	/* the last ten complete minutes are recomputed untouched; the
	 * current one waits until it is complete */
	put_simple(0, D + 3 * HOUR - 10 * MINUTE + 5000, 11);
	put_simple(0, D + 3 * HOUR - 11 * MINUTE + 5000, 12);
	put_simple(0, D + 3 * HOUR + 1000, 13);
	OK(csf__rollup_run(S, S->db, now));
	assert_int_equal(query_i64(q_1m_at, D + 3 * HOUR - 10 * MINUTE), 1);
	assert_int_equal(query_i64(q_1m_at, D + 3 * HOUR - 11 * MINUTE), 0);
	assert_int_equal(query_i64(q_1m_at, D + 3 * HOUR), 0);
	OK(csf__rollup_run(S, S->db, now + MINUTE));
	assert_int_equal(query_i64(q_1m_at, D + 3 * HOUR), 1);

	/* late rows in an old minute that has a row, and in one that has
	 * none: folded in once they are touched */
	put_simple(0, h + MINUTE + 30000, 50);
	put_simple(0, h + 45 * MINUTE, 5);
	OK(csf__rollup_run(S, S->db, now + MINUTE));
	assert_int_equal(query_i64(q_1m_samples, h + MINUTE), 1);
	assert_int_equal(query_i64(q_1m_at, h + 45 * MINUTE), 0);
	csf__rollup_touch(S, h + 45 * MINUTE);
	csf__rollup_touch(S, h + MINUTE + 30000);
	csf__rollup_touch(S, D + 3 * HOUR - 11 * MINUTE + 5000);
	OK(csf__rollup_run(S, S->db, now + MINUTE));
	assert_int_equal(query_i64(q_1m_samples, h + MINUTE), 2);
	check_rollups(h - HOUR, D + 4 * HOUR);
	assert_int_equal(query_i64("SELECT samples FROM agent_metrics_1h WHERE agent_id = 'agent-a' AND bucket = $1", h),
			 9);
}

/* One sample a day at noon, days D-1 .. D-`days` (each in its own
 * partition on PostgreSQL), and one at D-20 (in the DEFAULT partition: no
 * day partition covers it). */
static void load_days(int days)
{
	int k;

	OK(csf__db_metrics_partitions_ensure(S->db, D - days * DAY, days));
	for (k = 1; k <= days; k++)
		put_simple(0, D - k * DAY + 12 * HOUR, k);
	put_simple(0, D - 20 * DAY, 20);
}

static void test_rollup_stops_at_raw_retention(void **state)
{
	(void)state;
	load_days(10);
	put_simple(0, D - 7 * DAY, 1);
	put_simple(0, D - 7 * DAY - 1, 2);
	csf__rollup_touch(S, D - 20 * DAY);
	OK(csf__rollup_run(S, S->db, D));
	assert_int_equal(query_i64(q_1m_at, D - 7 * DAY), 1);
	assert_int_equal(query_i64(q_1m_at, D - 7 * DAY - MINUTE), 0);
	assert_int_equal(query_i64(q_1m_at, D - 8 * DAY + 12 * HOUR), 0);
	check_rollups(D - 7 * DAY, D);
}

static void test_rollup_leaves_minutes_retention_cut(void **state)
{
	int64_t m = D - 7 * DAY;

	(void)state;
	/* a minute with a sample on each side of the cutoff retention at
	 * D + 30s makes, rolled up while both were there */
	put_simple(0, m + 10000, 10);
	put_simple(0, m + 40000, 20);
	csf__rollup_touch(S, m);
	OK(csf__rollup_run(S, S->db, D));
	assert_int_equal(query_i64(q_1m_samples, m), 2);
	OK(csf__retention_run(S, S->db, D + 30000));
	assert_int_equal(query_i64(q_raw_at, m + 10000), 0);
	assert_int_equal(query_i64(q_raw_at, m + 40000), 1);
	/* an agent replays far older samples: the minute half gone to
	 * retention keeps the rollup it had */
	put_simple(0, D - 9 * DAY, 1);
	csf__rollup_touch(S, D - 9 * DAY);
	OK(csf__rollup_run(S, S->db, D + 30000));
	assert_int_equal(query_i64(q_1m_samples, m), 2);
	assert_int_equal(query_i64("SELECT samples FROM agent_metrics_1h WHERE bucket = $1", m), 2);
}

static void test_retention_defaults(void **state)
{
	(void)state;
	load_days(10);
	put_simple(0, D - 7 * DAY, 1);     /* on the cutoff: kept */
	put_simple(0, D - 7 * DAY - 1, 2); /* a millisecond older: gone */
	put_rollup(0, D - 91 * DAY);
	put_rollup(0, D - 90 * DAY - MINUTE);
	put_rollup(0, D - 90 * DAY);
	put_rollup(0, D - 89 * DAY);
	put_rollup(1, D - 731 * DAY);
	put_rollup(1, D - 730 * DAY - HOUR);
	put_rollup(1, D - 730 * DAY);
	put_rollup(1, D - 729 * DAY);
	check_partitions(D - 10 * DAY, D);

	OK(csf__retention_run(S, S->db, D));
	assert_int_equal(query_i64("SELECT count(*) FROM agent_metrics WHERE \"timestamp\" < $1", D - 7 * DAY), 0);
	assert_int_equal(query_i64("SELECT count(*) FROM agent_metrics WHERE \"timestamp\" >= $1", D - 7 * DAY), 8);
	assert_int_equal(query_i64(q_raw_at, D - 7 * DAY), 1);
	assert_int_equal(query_i64(q_raw_at, D - 7 * DAY + 12 * HOUR), 1);
	assert_int_equal(query_i64(q_raw_at, D - DAY + 12 * HOUR), 1);
	/* whole days dropped; today and three days ahead made */
	check_partitions(D - 7 * DAY, D + 3 * DAY);
	assert_int_equal(query_i64(q_1m_at, D - 91 * DAY), 0);
	assert_int_equal(query_i64(q_1m_at, D - 90 * DAY - MINUTE), 0);
	assert_int_equal(query_i64(q_1m_at, D - 90 * DAY), 1);
	assert_int_equal(query_i64(q_1m_at, D - 89 * DAY), 1);
	assert_int_equal(query_i64(q_1h_at, D - 731 * DAY), 0);
	assert_int_equal(query_i64(q_1h_at, D - 730 * DAY - HOUR), 0);
	assert_int_equal(query_i64(q_1h_at, D - 730 * DAY), 1);
	assert_int_equal(query_i64(q_1h_at, D - 729 * DAY), 1);

	/* again, the same clock: nothing more goes */
	OK(csf__retention_run(S, S->db, D));
	assert_int_equal(query_i64("SELECT count(*) FROM agent_metrics WHERE \"timestamp\" >= $1", 0), 8);
	assert_int_equal(query_i64("SELECT count(*) FROM agent_metrics_1m WHERE bucket >= $1", 0), 2);
	assert_int_equal(query_i64("SELECT count(*) FROM agent_metrics_1h WHERE bucket >= $1", 0), 2);
	check_partitions(D - 7 * DAY, D + 3 * DAY);
}

static void test_retention_configured(void **state)
{
	(void)state;
	assert_int_equal(S->o.retention_raw_days, 2);
	assert_int_equal(S->o.retention_1m_days, 5);
	assert_int_equal(S->o.retention_1h_days, 10);
	load_days(4);
	put_rollup(0, D - 6 * DAY);
	put_rollup(0, D - 4 * DAY);
	put_rollup(1, D - 11 * DAY);
	put_rollup(1, D - 9 * DAY);
	/* the rollup reaches back as far as raw samples are kept */
	csf__rollup_touch(S, D - 20 * DAY);
	OK(csf__rollup_run(S, S->db, D));
	assert_int_equal(query_i64(q_1m_at, D - 2 * DAY + 12 * HOUR), 1);
	assert_int_equal(query_i64(q_1m_at, D - 3 * DAY + 12 * HOUR), 0);

	OK(csf__retention_run(S, S->db, D));
	assert_int_equal(query_i64("SELECT count(*) FROM agent_metrics WHERE \"timestamp\" >= $1", 0), 2);
	assert_int_equal(query_i64(q_raw_at, D - 2 * DAY + 12 * HOUR), 1);
	check_partitions(D - 2 * DAY, D + 3 * DAY);
	assert_int_equal(query_i64(q_1m_at, D - 6 * DAY), 0);
	assert_int_equal(query_i64(q_1m_at, D - 4 * DAY), 1);
	assert_int_equal(query_i64(q_1m_at, D - 2 * DAY + 12 * HOUR), 1);
	assert_int_equal(query_i64(q_1h_at, D - 11 * DAY), 0);
	assert_int_equal(query_i64(q_1h_at, D - 9 * DAY), 1);
}

static void test_rest_metrics(void **state)
{
	int64_t h = load_detail(), t;
	char *token;
	int k = 0;

	(void)state;
	/* three days of a sample every 20 minutes, 7 past the hour */
	for (t = D - 3 * DAY + 7 * MINUTE; t < D; t += 20 * MINUTE, k++)
		put(0, t, (k * 37) % 100, 1000 + (k * 7919) % 5000, 8000 + (k % 3) * 1000, 100 + (k * 13) % 900,
		    2000, 5000 + k * 1000 - (k % 50 == 49) * 4000, 7000 + k * 500);
	csf__rollup_touch(S, D - 3 * DAY);
	OK(csf__rollup_run(S, S->db, D + 30000));
	start_serving();
	token = login();

	/* short range, fine step: raw samples */
	check_metrics(token, h, h + 3 * MINUTE, "30", "raw", 30000);
	check_metrics(token, h - HOUR, h + 2 * HOUR, NULL, "raw", 45000);
	check_metrics(token, D - DAY, D - DAY + 6 * HOUR, "30", "raw", 30000);
	/* a step of a minute or more, or a range over six hours: 1m, in
	 * steps of whole minutes */
	check_metrics(token, h - HOUR, h + 2 * HOUR, "5m", "1m", 5 * MINUTE);
	check_metrics(token, D - DAY, D - DAY + 6 * HOUR + MINUTE, "30", "1m", MINUTE);
	check_metrics(token, D - 3 * DAY, D, NULL, "1m", 18 * MINUTE);
	check_metrics(token, D - DAY, D - DAY + 7 * HOUR, NULL, "1m", 2 * MINUTE);
	check_metrics(token, D - 7 * DAY, D, "30m", "1m", 30 * MINUTE);
	/* a step of an hour or more, or a range over seven days: 1h, in
	 * steps of whole hours */
	check_metrics(token, D - 2 * DAY, D, "1h", "1h", HOUR);
	check_metrics(token, D - 7 * DAY - HOUR, D, "30m", "1h", HOUR);
	check_metrics(token, D - 10 * DAY, D, NULL, "1h", HOUR);
	check_metrics(token, D - 11 * DAY, D, NULL, "1h", 2 * HOUR);
	/* ranges older than what retention keeps */
	{
		json_t *j;

		assert_int_equal(get_metrics(token, 0, D - 8 * DAY, D - 8 * DAY + HOUR, NULL, &j), 200);
		assert_string_equal(json_string_value(json_object_get(j, "source")), "1m");
		json_decref(j);
		assert_int_equal(get_metrics(token, 0, D - 100 * DAY, D - 100 * DAY + HOUR, NULL, &j), 200);
		assert_string_equal(json_string_value(json_object_get(j, "source")), "1h");
		json_decref(j);
	}
	/* refusals: no token, another organization's agent, bad arguments */
	check_error(NULL, 0, h, h + HOUR, NULL, 401);
	check_error(token, 1, h, h + HOUR, NULL, 404);
	check_error(token, 0, h, h, NULL, 400);
	check_error(token, 0, h, h + HOUR, "5x", 400);
	check_error(token, 0, h, h + 6 * HOUR, "1", 400);
	check_error(token, 0, h, h + HOUR, "9999999999999999d", 400);
	free(token);
	stop_serving();
}

/* The server again on the same data directory and database. */
static void restart_server(void)
{
	csf_server_options o;

	csf_server_free(S);
	csf_server_options_init(&o, CSF_SERVER_OPTIONS_VERSION);
	o.data_dir = data_dir;
	o.db_url = pg ? pg_url : NULL;
	o.http_listen = "127.0.0.1:0";
	o.agent_listen = "127.0.0.1:0";
	S = NULL;
	OK(csf_server_new(&S, &o));
}

/* Which minutes need rolling up is kept in memory: a restart starts from the
 * last minute rolled up (or the first sample), not just the recent minutes. */
static void test_rollup_resumes_after_a_restart(void **state)
{
	int64_t h = load_detail();

	(void)state;
	restart_server();
	assert_int_equal(S->rollup_dirty_from, h + 5000); /* nothing rolled up yet: from the first sample */
	OK(csf__rollup_run(S, S->db, D + 30000));
	put_simple(0, D + 20000, 42);
	restart_server();
	assert_int_equal(S->rollup_dirty_from, query_i64("SELECT max(bucket) FROM agent_metrics_1m WHERE $1 = 1", 1));
	OK(csf__rollup_run(S, S->db, D + 20 * MINUTE)); /* the last minute rolled up, and any after it */
	check_rollups(h - HOUR, D + 20 * MINUTE);
}

static void test_retention_must_not_shrink(void **state)
{
	static const uint32_t bad[][3] = { { 10, 5, 730 }, { 7, 90, 30 } };
	csf_server_options o;
	csf_server *s = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		csf_server_options_init(&o, CSF_SERVER_OPTIONS_VERSION);
		o.data_dir = "/nonexistent/never-made";
		o.retention_raw_days = bad[i][0];
		o.retention_1m_days = bad[i][1];
		o.retention_1h_days = bad[i][2];
		assert_int_equal(csf_server_new(&s, &o), CSF_EINVALID);
		assert_null(s);
		assert_non_null(strstr(csf_error_last()->message, "retention must not shrink"));
	}
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		TEST(test_defaults),
		TEST(test_minute_and_hour_rollups),
		TEST(test_rollup_is_idempotent),
		TEST(test_recent_minutes_and_late_rows),
		TEST(test_rollup_stops_at_raw_retention),
		TEST(test_rollup_leaves_minutes_retention_cut),
		TEST(test_retention_defaults),
		cmocka_unit_test_setup_teardown(test_retention_configured, setup_short_retention, teardown),
		TEST(test_rest_metrics),
		TEST(test_rollup_resumes_after_a_restart),
		cmocka_unit_test(test_retention_must_not_shrink),
	};
#undef TEST

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
