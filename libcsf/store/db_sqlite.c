/* The SQLite backend: one file in WAL mode with foreign keys enforced, a
 * busy timeout for writers that queue, and $N placeholders rewritten to
 * SQLite's ?N. SQLite allocates with its own allocator; only what this
 * file copies goes through libcsf's. */
#include <ctype.h>
#include <string.h>

#include <sqlite3.h>

#include "store/backend.h"

#define BUSY_TIMEOUT_MS 5000

typedef struct sqlite_db {
	csf__db base;
	sqlite3 *h;
	char *path;
} sqlite_db;

typedef struct sqlite_stmt {
	csf__stmt base;
	sqlite3_stmt *h;
} sqlite_stmt;

static sqlite_db *db_of(csf__db *db)
{
	return (sqlite_db *)db;
}

static sqlite_stmt *stmt_of(csf__stmt *st)
{
	return (sqlite_stmt *)st;
}

/* ---------------------------------------------------------------- errors */

static int code_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
		    rc == SQLITE_CONSTRAINT_ROWID)
			return CSF_EEXISTS;
		return CSF_EINVALID;
	case SQLITE_MISMATCH:
		return CSF_EINVALID;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return CSF_ETIMEOUT;
	case SQLITE_NOMEM:
		return CSF_ENOMEM;
	case SQLITE_TOOBIG:
		return CSF_ELIMIT;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_PROTOCOL:
		return CSF_EIO;
	}
	return CSF_ERROR;
}

/* The failure of `sql` on `h`, whose last error is `rc`, as `code`. */
static int fail_as(int code, sqlite3 *h, int rc, const char *sql)
{
	char what[80];

	return csf__error_set(code, "store: %s: %s", csf__db_sql_excerpt(sql, what, sizeof(what)),
			      h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
}

static int fail(sqlite3 *h, int rc, const char *sql)
{
	return fail_as(code_of(rc), h, rc, sql);
}

/* Preparing: a plain SQLITE_ERROR is a syntax error or an unknown name. */
static int fail_prepare(sqlite3 *h, int rc, const char *sql)
{
	int code = code_of(rc);

	return fail_as(code == CSF_ERROR ? CSF_EPARSE : code, h, rc, sql);
}

static int not_connected(void)
{
	return csf__error_set(CSF_EIO, "store: sqlite: not connected (reconnect failed)");
}

/* ------------------------------------------------------------ connection */

/* Every statement of `sql` run to its end, rows ignored. */
static int exec_on(sqlite3 *h, const char *sql)
{
	const char *p = sql;

	while (*p) {
		sqlite3_stmt *s = NULL;
		const char *tail = NULL;
		int rc = sqlite3_prepare_v2(h, p, -1, &s, &tail);

		if (rc != SQLITE_OK)
			return fail_prepare(h, rc, p);
		if (!s)
			break; /* only blanks and comments were left */
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			;
		rc = rc == SQLITE_DONE ? 0 : fail(h, rc, p);
		sqlite3_finalize(s);
		if (rc)
			return rc;
		p = tail;
	}
	return 0;
}

static int sq_connect(sqlite_db *d)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int rc;

	rc = sqlite3_open_v2(d->path, &d->h, flags, NULL);
	if (rc != SQLITE_OK) {
		rc = csf__error_set(code_of(rc) == CSF_ENOMEM ? CSF_ENOMEM : CSF_EIO,
				    "store: sqlite: cannot open %s: %s", d->path,
				    d->h ? sqlite3_errmsg(d->h) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(d->h, 1);
	/* "x" is always a name, never a string literal: a misspelt quoted
	 * column fails instead of comparing against a constant */
	sqlite3_db_config(d->h, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	sqlite3_db_config(d->h, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
	sqlite3_busy_timeout(d->h, BUSY_TIMEOUT_MS);
	/* the first read: a file that is not a database fails here */
	rc = exec_on(d->h, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; "
			   "PRAGMA synchronous = NORMAL");
	if (rc) {
		rc = csf__error_set(rc == CSF_ENOMEM || rc == CSF_ETIMEOUT ? rc : CSF_EIO,
				    "store: sqlite: cannot open %s: %s", d->path, sqlite3_errmsg(d->h));
		goto fail;
	}
	return 0;
fail:
	sqlite3_close_v2(d->h);
	d->h = NULL;
	return rc;
}

static int sq_open(csf__db **out, const char *url)
{
	const char *path = url + strlen("sqlite:");
	sqlite_db *d;
	int rc;

	if (!*path)
		return csf__error_set(CSF_EINVALID, "store: sqlite URL without a path (expected sqlite:PATH)");
	d = csf__calloc(1, sizeof(*d));
	if (!d)
		return CSF_ENOMEM;
	d->path = csf__strdup(path);
	if (!d->path) {
		csf__free(d);
		return CSF_ENOMEM;
	}
	rc = sq_connect(d);
	if (rc) {
		csf__free(d->path);
		csf__free(d);
		return rc;
	}
	*out = &d->base;
	return 0;
}

static void sq_close(csf__db *db)
{
	sqlite_db *d = db_of(db);

	sqlite3_close_v2(d->h);
	csf__free(d->path);
	csf__free(d);
}

static int sq_reconnect(csf__db *db)
{
	sqlite_db *d = db_of(db);

	sqlite3_close_v2(d->h);
	d->h = NULL;
	return sq_connect(d);
}

static int sq_exec(csf__db *db, const char *sql)
{
	sqlite_db *d = db_of(db);

	return d->h ? exec_on(d->h, sql) : not_connected();
}

static int sq_begin(csf__db *db)
{
	return sq_exec(db, "BEGIN IMMEDIATE");
}

static int sq_commit(csf__db *db)
{
	sqlite_db *d = db_of(db);
	int rc = sq_exec(db, "COMMIT");

	if (rc && d->h && !sqlite3_get_autocommit(d->h)) {
		/* a COMMIT that failed (busy) leaves the transaction open */
		char why[400];

		strncpy(why, csf_error_last()->message, sizeof(why) - 1);
		why[sizeof(why) - 1] = '\0';
		exec_on(d->h, "ROLLBACK");
		csf__error_set(rc, "%s", why);
	}
	return rc;
}

static int sq_rollback(csf__db *db)
{
	sqlite_db *d = db_of(db);

	/* some errors (a full disk, an I/O error) already rolled back */
	if (d->h && sqlite3_get_autocommit(d->h))
		return 0;
	return sq_exec(db, "ROLLBACK");
}

/* ------------------------------------------------------------ statements */

/* $N -> ?N outside quotes and comments; the length does not change. */
static void rewrite_placeholders(char *sql)
{
	char *p = sql;

	while (*p) {
		if (*p == '\'' || *p == '"' || *p == '`') {
			char q = *p++;

			while (*p && *p != q)
				p++;
			if (*p)
				p++;
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			p += 2;
			while (*p && !(p[0] == '*' && p[1] == '/'))
				p++;
			if (*p)
				p += 2;
		} else {
			if (*p == '$' && isdigit((unsigned char)p[1]))
				*p = '?';
			p++;
		}
	}
}

static int only_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ';')
		p++;
	return *p == '\0';
}

static int sq_prepare(csf__stmt *st)
{
	sqlite_db *d = db_of(st->db);
	sqlite_stmt *s = stmt_of(st);
	const char *tail = NULL;
	char *sql, what[80];
	int rc;

	if (!d->h)
		return not_connected();
	sql = csf__strdup(st->sql);
	if (!sql)
		return CSF_ENOMEM;
	rewrite_placeholders(sql);
	rc = sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->h, &tail);
	if (rc != SQLITE_OK) {
		rc = fail_prepare(d->h, rc, st->sql);
	} else if (!s->h) {
		rc = csf__error_set(CSF_EPARSE, "store: no SQL statement in \"%s\"",
				    csf__db_sql_excerpt(st->sql, what, sizeof(what)));
	} else if (!only_blanks(tail)) {
		rc = csf__error_set(CSF_EPARSE, "store: %s: more than one statement",
				    csf__db_sql_excerpt(st->sql, what, sizeof(what)));
	}
	csf__free(sql);
	return rc;
}

static void sq_finalize(csf__stmt *st)
{
	sqlite_stmt *s = stmt_of(st);

	sqlite3_finalize(s->h);
	s->h = NULL;
}

static void sq_reset(csf__stmt *st)
{
	sqlite_stmt *s = stmt_of(st);

	sqlite3_reset(s->h);
	sqlite3_clear_bindings(s->h);
}

static int sq_bind(csf__stmt *st, int i, const csf__db_value *v)
{
	sqlite_stmt *s = stmt_of(st);
	char what[80];
	int rc = SQLITE_OK;

	switch (v->type) {
	case CSF__DB_NULL:
		rc = sqlite3_bind_null(s->h, i);
		break;
	case CSF__DB_I64:
		rc = sqlite3_bind_int64(s->h, i, v->i64);
		break;
	case CSF__DB_DOUBLE:
		rc = sqlite3_bind_double(s->h, i, v->d);
		break;
	case CSF__DB_TEXT:
		rc = sqlite3_bind_text64(s->h, i, v->ptr, v->len, SQLITE_TRANSIENT, SQLITE_UTF8);
		break;
	case CSF__DB_BLOB:
		/* a NULL pointer would bind SQL NULL, not an empty blob */
		rc = sqlite3_bind_blob64(s->h, i, v->len ? v->ptr : "", v->len, SQLITE_TRANSIENT);
		break;
	}
	if (rc == SQLITE_OK)
		return 0;
	if (rc == SQLITE_RANGE)
		return csf__error_set(CSF_EINVALID, "store: %s: no parameter $%d (it has %d)",
				      csf__db_sql_excerpt(st->sql, what, sizeof(what)), i,
				      sqlite3_bind_parameter_count(s->h));
	return fail(db_of(st->db)->h, rc, st->sql);
}

static int sq_step(csf__stmt *st)
{
	sqlite_stmt *s = stmt_of(st);
	sqlite3 *h = db_of(st->db)->h;
	int rc = sqlite3_step(s->h);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE) {
		st->changes = sqlite3_stmt_readonly(s->h) ? 0 : sqlite3_changes64(h);
		sqlite3_reset(s->h); /* let go of locks and the read snapshot now */
		return 0;
	}
	rc = fail(h, rc, st->sql);
	sqlite3_reset(s->h);
	return rc;
}

static int sq_col_count(csf__stmt *st)
{
	return sqlite3_data_count(stmt_of(st)->h);
}

static int sq_col_null(csf__stmt *st, int i)
{
	return sqlite3_column_type(stmt_of(st)->h, i) == SQLITE_NULL;
}

static int64_t sq_col_i64(csf__stmt *st, int i)
{
	return sqlite3_column_int64(stmt_of(st)->h, i);
}

static double sq_col_double(csf__stmt *st, int i)
{
	return sqlite3_column_double(stmt_of(st)->h, i);
}

static const char *sq_col_text(csf__stmt *st, int i)
{
	const unsigned char *p = sqlite3_column_text(stmt_of(st)->h, i);

	return p ? (const char *)p : "";
}

static const void *sq_col_blob(csf__stmt *st, int i, size_t *len)
{
	sqlite3_stmt *h = stmt_of(st)->h;
	const void *p = sqlite3_column_blob(h, i);

	*len = p ? (size_t)sqlite3_column_bytes(h, i) : 0;
	return p ? p : "";
}

const csf__db_backend csf__db_sqlite_backend = {
	.kind = CSF__DB_SQLITE,
	.stmt_size = sizeof(sqlite_stmt),
	.open = sq_open,
	.close = sq_close,
	.reconnect = sq_reconnect,
	.exec = sq_exec,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.reset = sq_reset,
	.bind = sq_bind,
	.step = sq_step,
	.col_count = sq_col_count,
	.col_null = sq_col_null,
	.col_i64 = sq_col_i64,
	.col_double = sq_col_double,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
};
