/*
 * Time partitions of agent_metrics on PostgreSQL, so retention drops a
 * day's table instead of deleting its rows one by one: daily partitions
 * agent_metrics_pYYYYMMDD over [day start, next day start) in Unix ms
 * (UTC days), beside the DEFAULT partition that catches whatever no day
 * covers. On SQLite the table is one table and retention is a DELETE.
 *
 * A new partition is built beside the parent and then attached: ATTACH
 * takes a weaker lock on agent_metrics than CREATE TABLE ... PARTITION OF
 * (ingest keeps running), and rows of the new day that already landed in
 * the DEFAULT partition move over first (otherwise PostgreSQL refuses the
 * new partition).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"

#define DAY_MS INT64_C(86400000)
/* 10000-01-01: names keep four digits of year */
#define MAX_MS INT64_C(253402300800000)
#define NAME_PREFIX "agent_metrics_p"

/* pg_advisory_xact_lock key of partition maintenance ("CSF" 'p'). */
#define PARTITION_LOCK "4346460112"

static const char lock_sql[] = "SELECT pg_advisory_xact_lock(" PARTITION_LOCK ")";
static const char exists_sql[] =
	"SELECT count(*) FROM pg_catalog.pg_class c "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = current_schema() AND c.relname = $1";
static const char list_sql[] =
	"SELECT c.relname FROM pg_catalog.pg_inherits i "
	"JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
	"JOIN pg_catalog.pg_class p ON p.oid = i.inhparent "
	"JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace "
	"WHERE n.nspname = current_schema() AND p.relname = 'agent_metrics' "
	"ORDER BY c.relname";
static const char delete_sql[] = "DELETE FROM agent_metrics WHERE \"timestamp\" < $1";

static void partition_name(int64_t day, char out[32])
{
	unsigned m, d;
	int y;

	csf__civil_from_days(day, &y, &m, &d);
	snprintf(out, 32, NAME_PREFIX "%04d%02u%02u", y, m, d);
}

/* The day of a partition's name; -1 for any other name. */
static int64_t day_of_name(const char *name)
{
	size_t plen = strlen(NAME_PREFIX), i;
	unsigned v[8], m, d;
	int64_t day;
	int y;

	if (strncmp(name, NAME_PREFIX, plen) != 0 || strlen(name) != plen + 8)
		return -1;
	for (i = 0; i < 8; i++) {
		char c = name[plen + i];

		if (c < '0' || c > '9')
			return -1;
		v[i] = (unsigned)(c - '0');
	}
	y = (int)(v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3]);
	m = v[4] * 10 + v[5];
	d = v[6] * 10 + v[7];
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	day = csf__days_from_civil(y, m, d);
	{
		char again[32];

		partition_name(day, again); /* rejects 20240231 and the like */
		if (strcmp(again, name) != 0)
			return -1;
	}
	return day;
}

/* --------------------------------------------------------------- ensure */

static int run_lock(csf__db *db)
{
	csf__stmt *st;
	int rc = csf__db_stmt(db, &st, lock_sql);

	return rc ? rc : csf__db_run(st);
}

static int ensure_day(csf__db *db, int64_t day)
{
	int64_t lo = day * DAY_MS, hi = lo + DAY_MS;
	char name[32], sql[1024];
	csf__stmt *st;
	int64_t exists = 0;
	int rc;

	partition_name(day, name);
	rc = csf__db_begin(db);
	if (rc)
		return rc;
	rc = run_lock(db);
	if (!rc)
		rc = csf__db_stmt(db, &st, exists_sql);
	if (!rc)
		rc = csf__db_bind_text(st, 1, name);
	if (!rc && (rc = csf__db_step(st)) == 1) {
		exists = csf__db_col_i64(st, 0);
		rc = csf__db_run(st);
	}
	if (rc)
		goto fail;
	if (!exists) {
		/* the name and bounds are digits we made: nothing to quote */
		snprintf(sql, sizeof(sql),
			 "CREATE TABLE %s (LIKE agent_metrics INCLUDING DEFAULTS INCLUDING CONSTRAINTS);\n"
			 "WITH moved AS (DELETE FROM agent_metrics_default\n"
			 "  WHERE \"timestamp\" >= %" PRId64 " AND \"timestamp\" < %" PRId64 " RETURNING *)\n"
			 "INSERT INTO %s SELECT * FROM moved;\n"
			 "ALTER TABLE agent_metrics ATTACH PARTITION %s\n"
			 "  FOR VALUES FROM (%" PRId64 ") TO (%" PRId64 ")",
			 name, lo, hi, name, name, lo, hi);
		rc = csf__db_exec(db, sql);
		if (rc)
			goto fail;
	}
	rc = csf__db_commit(db);
	if (!rc && !exists)
		csf__log(CSF_LOG_INFO, "store", "created partition %s", name);
	return rc;
fail:
	csf__db_abort(db);
	return rc;
}

int csf__db_metrics_partitions_ensure(csf__db *db, int64_t day_from_ms, int days_ahead)
{
	int64_t day;
	int k, rc;

	if (!db)
		return csf__error_set(CSF_EINVALID, "store: partitions_ensure needs a connection");
	if (day_from_ms < 0 || day_from_ms >= MAX_MS - 367 * DAY_MS || days_ahead < 0 || days_ahead > 366)
		return csf__error_set(CSF_EINVALID,
				      "store: partitions_ensure: day %" PRId64 " ms and %d days ahead are "
				      "out of range (0..9998 AD, 0..366 days)",
				      day_from_ms, days_ahead);
	if (csf__db_kind_of(db) != CSF__DB_POSTGRES)
		return 0;
	day = day_from_ms / DAY_MS;
	for (k = 0; k <= days_ahead; k++) {
		rc = ensure_day(db, day + k);
		if (rc)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ retention */

/* The days of the partitions that end at or before `cutoff_ms`. */
static int list_expired(csf__db *db, int64_t cutoff_ms, int64_t **days, size_t *n)
{
	size_t cap = 0;
	csf__stmt *st;
	int rc;

	*days = NULL;
	*n = 0;
	rc = csf__db_stmt(db, &st, list_sql);
	if (rc)
		return rc;
	while ((rc = csf__db_step(st)) == 1) {
		int64_t day = day_of_name(csf__db_col_text(st, 0));

		if (day < 0 || (day + 1) * DAY_MS > cutoff_ms)
			continue;
		rc = CSF__ARRAY_RESERVE(*days, cap, *n + 1);
		if (rc)
			break;
		(*days)[(*n)++] = day;
	}
	csf__db_reset(st);
	if (rc) {
		csf__free(*days);
		*days = NULL;
		*n = 0;
	}
	return rc;
}

static int drop_day(csf__db *db, int64_t day)
{
	char name[32], sql[96];
	int rc;

	partition_name(day, name);
	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", name);
	rc = csf__db_begin(db);
	if (rc)
		return rc;
	rc = run_lock(db);
	if (!rc)
		rc = csf__db_exec(db, sql);
	if (rc) {
		csf__db_abort(db);
		return rc;
	}
	rc = csf__db_commit(db);
	if (!rc)
		csf__log(CSF_LOG_INFO, "store", "dropped partition %s", name);
	return rc;
}

int csf__db_metrics_partitions_drop_before(csf__db *db, int64_t cutoff_ms, int *dropped)
{
	int64_t *days = NULL;
	csf__stmt *st;
	size_t n = 0, i;
	int rc;

	if (dropped)
		*dropped = 0;
	if (!db)
		return csf__error_set(CSF_EINVALID, "store: partitions_drop_before needs a connection");
	if (csf__db_kind_of(db) == CSF__DB_POSTGRES) {
		rc = list_expired(db, cutoff_ms, &days, &n);
		for (i = 0; !rc && i < n; i++) {
			rc = drop_day(db, days[i]);
			if (!rc && dropped)
				(*dropped)++;
		}
		csf__free(days);
		if (rc)
			return rc;
	}
	/* SQLite's rows, and on PostgreSQL those in the DEFAULT partition or
	 * in the day that holds the cutoff (pruning skips every other) */
	rc = csf__db_stmt(db, &st, delete_sql);
	if (!rc)
		rc = csf__db_bind_i64(st, 1, cutoff_ms);
	if (!rc)
		rc = csf__db_run(st);
	return rc;
}
