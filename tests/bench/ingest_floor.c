/*
 * The floor of the ingest benchmark (csf-ingest-loadgen floor, see
 * ingest_loadgen.c): the rows a path run wrote, checked, read into memory
 * and written again straight into the same database, timed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "core/internal.h"
#include "ingest_floor.h"
#include "net_bench_common.h"

/* what the path run wrote: these agents, seq 1..k_msgs each */
static size_t n_agents;
static uint64_t k_msgs;

static void die(const char *what)
{
	fprintf(stderr, "ingest-loadgen: floor: %s failed\n", what);
	exit(1);
}

#define COLUMNS                                                                                               \
	"agent_id, organization_id, \"timestamp\", boot_id, seq, cpu_usage_percent, memory_total_bytes, "      \
	"memory_used_bytes, disk_total_bytes, disk_used_bytes, network_rx_bytes, network_tx_bytes, custom_metrics"
#define N_COLUMNS 13

/* Rows, agents, lowest and highest seq, (agent, boot, seq) keys seen twice. */
static const char verify_sql[] =
	"SELECT count(*), count(DISTINCT agent_id), coalesce(min(seq), 0), coalesce(max(seq), 0), "
	"(SELECT count(*) FROM (SELECT 1 FROM agent_metrics GROUP BY agent_id, boot_id, seq HAVING count(*) > 1) d) "
	"FROM agent_metrics";

static int check_counts(const char *when, const long long v[5])
{
	int ok = (uint64_t)v[0] == n_agents * k_msgs && (size_t)v[1] == n_agents && v[2] == 1 &&
		 (uint64_t)v[3] == k_msgs && v[4] == 0;

	printf("verify %s rows=%lld agents=%lld seq=%lld..%lld duplicated_keys=%lld expected_rows=%llu %s\n", when,
	       v[0], v[1], v[2], v[3], v[4], (unsigned long long)(n_agents * k_msgs), ok ? "ok" : "MISMATCH");
	fflush(stdout);
	return ok ? 0 : -1;
}

static void print_floor(const char *how, uint64_t rows, uint64_t us)
{
	printf("floor method=%s rows=%llu secs=%.3f rows_per_s=%.0f\n", how, (unsigned long long)rows,
	       (double)us / 1e6, (double)rows / ((double)us / 1e6));
	fflush(stdout);
}

/* SQLite: a row as the server binds it (text, int64, double). */
typedef struct sq_row {
	char *text[N_COLUMNS];
	int64_t i64[N_COLUMNS];
	double d;
} sq_row;

static void sq_check(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "ingest-loadgen: sqlite: %s: %s\n", what, sqlite3_errmsg(db));
		exit(1);
	}
}

static int sq_verify(sqlite3 *db, const char *when)
{
	sqlite3_stmt *st;
	long long v[5];
	int i;

	sq_check(db, sqlite3_prepare_v2(db, verify_sql, -1, &st, NULL), "verify");
	sq_check(db, sqlite3_step(st), "verify");
	for (i = 0; i < 5; i++)
		v[i] = sqlite3_column_int64(st, i);
	sqlite3_finalize(st);
	return check_counts(when, v);
}

static int is_text(int col)
{
	return col == 0 || col == 1 || col == 3 || col == 12;
}

int ingest_floor_sqlite(const char *path, size_t agents, uint64_t msgs)
{
	static const char insert[] =
		"INSERT INTO agent_metrics (" COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	sqlite3 *db;
	sqlite3_stmt *st;
	sq_row *rows;
	csf__arena arena;
	size_t n = 0, cap = agents * msgs, i;
	uint64_t t0;
	int c;

	n_agents = agents;
	k_msgs = msgs;
	/* the server's connection settings (store/db_sqlite.c) */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		sq_check(db, SQLITE_ERROR, path);
	sqlite3_busy_timeout(db, 5000);
	sq_check(db, sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
				  NULL, NULL, NULL), "pragmas");
	if (sq_verify(db, "path") != 0)
		return 1;
	rows = calloc(cap, sizeof(*rows));
	if (!rows)
		return 1;
	csf__arena_init(&arena, 1u << 20);
	sq_check(db, sqlite3_prepare_v2(db, "SELECT " COLUMNS " FROM agent_metrics", -1, &st, NULL), "read");
	while (n < cap && sqlite3_step(st) == SQLITE_ROW) {
		for (c = 0; c < N_COLUMNS; c++) {
			const unsigned char *t = is_text(c) ? sqlite3_column_text(st, c) : NULL;

			if (is_text(c) && !(rows[n].text[c] = csf__arena_strdup(&arena, t ? (const char *)t : "")))
				die("read");
			else if (c == 5)
				rows[n].d = sqlite3_column_double(st, c);
			else if (!is_text(c))
				rows[n].i64[c] = sqlite3_column_int64(st, c);
		}
		n++;
	}
	sqlite3_finalize(st);
	/* start from an empty file, as the run did */
	sq_check(db, sqlite3_exec(db, "DELETE FROM agent_metrics; VACUUM; PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
				  NULL), "empty the table");

	t0 = bench_mono_us();
	sq_check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), "begin");
	sq_check(db, sqlite3_prepare_v3(db, insert, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL), "insert");
	for (i = 0; i < n; i++) {
		for (c = 0; c < N_COLUMNS; c++) {
			if (is_text(c))
				sqlite3_bind_text(st, c + 1, rows[i].text[c], -1, SQLITE_STATIC);
			else if (c == 5)
				sqlite3_bind_double(st, c + 1, rows[i].d);
			else
				sqlite3_bind_int64(st, c + 1, rows[i].i64[c]);
		}
		sq_check(db, sqlite3_step(st), "insert");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sq_check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
	print_floor("sqlite-one-transaction-prepared-insert", n, bench_mono_us() - t0);

	c = sq_verify(db, "floor");
	sqlite3_close(db);
	csf__arena_free(&arena);
	free(rows);
	return c ? 1 : 0;
}

static PGresult *pg_exec(PGconn *db, const char *sql, ExecStatusType want)
{
	PGresult *r = PQexec(db, sql);

	if (PQresultStatus(r) != want) {
		fprintf(stderr, "ingest-loadgen: postgresql: %.40s: %s", sql, PQerrorMessage(db));
		exit(1);
	}
	return r;
}

/* The result of a COPY once its data is through. */
static int pg_copy_done(PGconn *db)
{
	PGresult *r;
	int rc = 0;

	while ((r = PQgetResult(db)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "ingest-loadgen: postgresql: COPY: %s", PQerrorMessage(db));
			rc = 1;
		}
		PQclear(r);
	}
	return rc;
}

static int pg_verify(PGconn *db, const char *when)
{
	PGresult *r = pg_exec(db, verify_sql, PGRES_TUPLES_OK);
	long long v[5];
	int i;

	for (i = 0; i < 5; i++)
		v[i] = atoll(PQgetvalue(r, 0, i));
	PQclear(r);
	return check_counts(when, v);
}

int ingest_floor_postgres(const char *dburl, size_t agents, uint64_t msgs)
{
	PGconn *db = PQconnectdb(dburl);
	csf__buf data = CSF__BUF_INIT(SIZE_MAX);
	uint64_t t0;
	size_t off;
	char *chunk;
	int n, rc;

	n_agents = agents;
	k_msgs = msgs;
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "ingest-loadgen: postgresql: %s", PQerrorMessage(db));
		return 1;
	}
	if (pg_verify(db, "path") != 0)
		return 1;
	PQclear(pg_exec(db, "COPY (SELECT " COLUMNS " FROM agent_metrics) TO STDOUT", PGRES_COPY_OUT));
	while ((n = PQgetCopyData(db, &chunk, 0)) > 0) {
		if (csf__buf_put(&data, chunk, (size_t)n) != 0)
			die("copy out");
		PQfreemem(chunk);
	}
	if (n != -1 || pg_copy_done(db) != 0)
		return 1;
	PQclear(pg_exec(db, "TRUNCATE agent_metrics", PGRES_COMMAND_OK));

	t0 = bench_mono_us();
	PQclear(pg_exec(db, "COPY agent_metrics (" COLUMNS ") FROM STDIN", PGRES_COPY_IN));
	for (off = 0; off < data.len; off += 65536) {
		size_t len = data.len - off < 65536 ? data.len - off : 65536;

		if (PQputCopyData(db, data.ptr + off, (int)len) != 1)
			break;
	}
	rc = PQputCopyEnd(db, NULL) == 1 ? 0 : 1;
	rc |= pg_copy_done(db);
	print_floor("postgresql-copy", n_agents * k_msgs, bench_mono_us() - t0);

	rc |= pg_verify(db, "floor");
	PQfinish(db);
	csf__buf_free(&data);
	return rc;
}
