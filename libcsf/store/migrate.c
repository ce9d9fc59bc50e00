/*
 * Schema migrations: schema_migrations records each version applied; each
 * migration runs in a transaction of its own together with its record, so
 * a crash leaves the database at one version or the next, never between.
 * Servers sharing a PostgreSQL database serialize on an advisory lock held
 * by each of these transactions (SQLite's BEGIN IMMEDIATE already does).
 */
#include <string.h>

#include "store/db.h"

/* pg_advisory_xact_lock key of schema migrations ("CSF" 'm'). */
#define MIGRATE_LOCK "4346460109"

static const char create_sql[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations (\n"
	"  version INTEGER PRIMARY KEY,\n"
	"  name TEXT NOT NULL,\n"
	"  applied_at BIGINT NOT NULL\n"
	")";
static const char lock_sql[] = "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")";
static const char version_sql[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
static const char record_sql[] =
	"INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";
static const char exists_sqlite_sql[] =
	"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
static const char exists_postgres_sql[] =
	"SELECT count(*) FROM pg_catalog.pg_tables "
	"WHERE schemaname = current_schema() AND tablename = 'schema_migrations'";

static int query_int(csf__db *db, const char *sql, int *out)
{
	csf__stmt *st;
	int rc = csf__db_stmt(db, &st, sql);

	if (rc)
		return rc;
	rc = csf__db_step(st);
	if (rc == 1) {
		*out = (int)csf__db_col_i64(st, 0);
		rc = csf__db_run(st);
	} else if (rc == 0) {
		rc = csf__error_set(CSF_ERROR, "store: %s returned no row", sql);
	}
	return rc;
}

int csf__db_schema_version(csf__db *db, int *version)
{
	int exists = 0, rc;

	if (!db || !version)
		return csf__error_set(CSF_EINVALID, "store: schema_version needs a connection and an output");
	rc = query_int(db, csf__db_kind_of(db) == CSF__DB_SQLITE ? exists_sqlite_sql : exists_postgres_sql,
		       &exists);
	if (rc)
		return rc;
	*version = 0;
	return exists ? query_int(db, version_sql, version) : 0;
}

static const csf__migration *next_migration(int version)
{
	size_t i;

	for (i = 0; i < csf__migrations_count; i++)
		if (csf__migrations[i].version > version)
			return &csf__migrations[i];
	return NULL;
}

/* Prefix the last error with the migration that failed. */
static int migration_failed(const csf__migration *m, int rc)
{
	char why[400];

	strncpy(why, csf_error_last()->message, sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	return csf__error_set(rc, "store: migration %d (%s) failed: %s", m->version, m->name, why);
}

static int apply(csf__db *db, const csf__migration *m)
{
	int sqlite = csf__db_kind_of(db) == CSF__DB_SQLITE;
	csf__stmt *st;
	int rc;

	rc = csf__db_exec(db, sqlite ? m->sqlite_sql : m->postgres_sql);
	if (rc)
		return migration_failed(m, rc);
	rc = csf__db_stmt(db, &st, record_sql);
	if (!rc)
		rc = csf__db_bind_i64(st, 1, m->version);
	if (!rc)
		rc = csf__db_bind_text(st, 2, m->name);
	if (!rc)
		rc = csf__db_bind_i64(st, 3, csf__time_unix_ms());
	if (!rc)
		rc = csf__db_run(st);
	return rc;
}

int csf__db_migrate(csf__db *db, int *from, int *to)
{
	int newest = csf__migrations[csf__migrations_count - 1].version;
	int first = -1, version = 0, rc;

	if (!db)
		return csf__error_set(CSF_EINVALID, "store: migrate needs a connection");
	for (;;) {
		const csf__migration *m;

		rc = csf__db_begin(db);
		if (rc)
			return rc;
		if (csf__db_kind_of(db) == CSF__DB_POSTGRES) {
			csf__stmt *st;

			rc = csf__db_stmt(db, &st, lock_sql);
			if (!rc)
				rc = csf__db_run(st);
		}
		if (!rc)
			rc = csf__db_exec(db, create_sql);
		if (!rc)
			rc = query_int(db, version_sql, &version);
		if (rc)
			goto fail;
		if (first < 0)
			first = version;
		if (version > newest) {
			rc = csf__error_set(CSF_EUNSUPPORTED,
					    "store: the database schema is version %d, newer than this "
					    "program's %d: upgrade csf",
					    version, newest);
			goto fail;
		}
		m = next_migration(version);
		if (!m)
			break;
		rc = apply(db, m);
		if (rc)
			goto fail;
		rc = csf__db_commit(db);
		if (rc)
			return rc;
		csf__log(CSF_LOG_INFO, "store", "schema migrated to version %d (%s)", m->version, m->name);
		version = m->version;
	}
	rc = csf__db_commit(db);
	if (rc)
		return rc;
	if (from)
		*from = first;
	if (to)
		*to = version;
	return 0;
fail:
	csf__db_abort(db);
	return rc;
}
