/* The backend-independent half of the SQL interface: choosing a backend by
 * URL, the per-connection statement cache, transaction state, and the
 * checks every call makes before a backend sees it. */
#include <string.h>

#include "store/backend.h"

/* how often a broken connection may try to come back by itself */
#define RECONNECT_EVERY_MS 1000

/* ------------------------------------------------------------- messages */

const char *csf__db_sql_excerpt(const char *sql, char *out, size_t cap)
{
	const char *p = sql;
	size_t n = 0;
	int space = 0;

	if (cap == 0)
		return out;
	/* skip blanks and "--" comments before the statement */
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (p[0] != '-' || p[1] != '-')
			break;
		while (*p && *p != '\n')
			p++;
	}
	for (; *p && *p != ';'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			space = 1;
			continue;
		}
		if (n + (size_t)space + 1 >= cap)
			break;
		if (space && n)
			out[n++] = ' ';
		space = 0;
		out[n++] = *p;
	}
	if (*p && *p != ';' && cap > 4) {
		n = n < cap - 4 ? n : cap - 4;
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/* ------------------------------------------------------------ open/close */

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int csf__db_open(csf__db **out, const char *url)
{
	const csf__db_backend *be;
	csf__db *db = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!out || !url)
		return csf__error_set(CSF_EINVALID, "store: open needs an output pointer and a URL");
	if (has_prefix(url, "sqlite:")) {
		be = &csf__db_sqlite_backend;
	} else if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
		be = &csf__db_postgres_backend;
	} else {
		/* name the scheme only: the rest may hold a password */
		size_t n = strcspn(url, ":/@");

		return csf__error_set(CSF_EINVALID,
				      "store: unsupported database URL scheme \"%.*s\" "
				      "(expected sqlite:PATH or postgresql://...)",
				      (int)(n < 20 ? n : 20), url);
	}
	rc = be->open(&db, url);
	if (rc)
		return rc;
	db->be = be;
	db->gen = 1;
	*out = db;
	return 0;
}

static void finalize_all(csf__db *db)
{
	size_t i;

	for (i = 0; i < db->cache_cap; i++) {
		csf__stmt *st = db->cache[i];

		if (st && st->gen) {
			db->be->finalize(st);
			st->gen = 0;
		}
	}
}

void csf__db_close(csf__db *db)
{
	size_t i;

	if (!db)
		return;
	finalize_all(db);
	for (i = 0; i < db->cache_cap; i++)
		csf__free(db->cache[i]);
	csf__free(db->cache);
	db->be->close(db);
}

csf__db_kind csf__db_kind_of(const csf__db *db)
{
	return db->be->kind;
}

/* ---------------------------------------------------------- transactions */

static void note_failure(csf__db *db)
{
	if (db->in_tx)
		db->tx_failed = 1;
	if (csf_error_last()->code == CSF_EIO)
		db->broken = 1;
}

/* A connection that broke is re-established when new work starts outside
 * a transaction (after a failed attempt, not again for RECONNECT_EVERY_MS),
 * so a database restart heals by itself; inside a transaction the caller
 * rolls back first. */
static int heal(csf__db *db)
{
	uint64_t now;
	int rc;

	if (db->in_tx)
		return 0;
	if (!db->broken && db->be->alive && db->be->alive(db) != 0)
		db->broken = 1;
	if (!db->broken)
		return 0;
	now = csf__time_mono_ms();
	if (now < db->retry_at)
		return csf__error_set(CSF_EIO, "store: the database connection is down (retrying)");
	rc = csf__db_reconnect(db);
	db->retry_at = rc ? now + RECONNECT_EVERY_MS : 0;
	return rc;
}

int csf__db_exec(csf__db *db, const char *sql)
{
	int rc;

	if (!db || !sql)
		return csf__error_set(CSF_EINVALID, "store: exec needs a connection and SQL");
	rc = heal(db);
	if (!rc)
		rc = db->be->exec(db, sql);
	if (rc)
		note_failure(db);
	return rc;
}

static void stmt_reset(csf__stmt *st);

void csf__db_release(csf__db *db)
{
	size_t i;

	if (!db)
		return;
	for (i = 0; i < db->cache_cap; i++) {
		csf__stmt *st = db->cache[i];

		if (st && st->gen == db->gen && st->state != CSF__STMT_READY)
			stmt_reset(st);
	}
}

int csf__db_begin(csf__db *db)
{
	int rc;

	if (!db)
		return csf__error_set(CSF_EINVALID, "store: begin needs a connection");
	if (db->in_tx)
		return csf__error_set(CSF_EINVALID, "store: a transaction is already open");
	/* a half-read statement pins an old snapshot, which SQLite cannot
	 * turn into a write transaction once another connection has written */
	csf__db_release(db);
	rc = heal(db);
	if (!rc)
		rc = db->be->begin(db);
	if (rc) {
		note_failure(db);
		return rc;
	}
	db->in_tx = 1;
	db->tx_failed = 0;
	return 0;
}

int csf__db_commit(csf__db *db)
{
	int rc;

	if (!db)
		return csf__error_set(CSF_EINVALID, "store: commit needs a connection");
	if (!db->in_tx)
		return csf__error_set(CSF_EINVALID, "store: commit without a transaction");
	if (db->tx_failed) {
		db->in_tx = db->tx_failed = 0;
		rc = db->be->rollback(db);
		if (rc == CSF_EIO) {
			note_failure(db);
			return rc; /* the connection is gone: the caller retries */
		}
		return csf__error_set(CSF_ERROR,
				      "store: commit refused: a statement of the transaction failed, "
				      "so it was rolled back");
	}
	db->in_tx = db->tx_failed = 0;
	/* as at begin: a statement left half-read would keep this connection
	 * on the committed snapshot and blind to other connections' writes */
	csf__db_release(db);
	rc = db->be->commit(db);
	if (rc)
		note_failure(db);
	return rc;
}

int csf__db_rollback(csf__db *db)
{
	int rc;

	if (!db)
		return csf__error_set(CSF_EINVALID, "store: rollback needs a connection");
	if (!db->in_tx)
		return 0;
	db->in_tx = db->tx_failed = 0;
	csf__db_release(db);
	rc = db->be->rollback(db);
	if (rc)
		note_failure(db);
	return rc;
}

void csf__db_abort(csf__db *db)
{
	const csf_error *e = csf_error_last();
	char message[512];
	int code = e->code;

	if (!db || !db->in_tx)
		return;
	strncpy(message, e->message, sizeof(message) - 1);
	message[sizeof(message) - 1] = '\0';
	csf__db_rollback(db);
	csf__error_set(code, "%s", message);
}

/* ----------------------------------------------------- statement cache */

static size_t slot_of(const void *key, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)key;

	h ^= h >> 29;
	h *= UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(h >> 32) & (cap - 1);
}

static csf__stmt *cache_find(const csf__db *db, const char *sql)
{
	size_t i;

	if (!db->cache_cap)
		return NULL;
	for (i = slot_of(sql, db->cache_cap); db->cache[i]; i = (i + 1) & (db->cache_cap - 1))
		if (db->cache[i]->sql == sql)
			return db->cache[i];
	return NULL;
}

static void cache_put(csf__stmt **slots, size_t cap, csf__stmt *st)
{
	size_t i;

	for (i = slot_of(st->sql, cap); slots[i]; i = (i + 1) & (cap - 1))
		;
	slots[i] = st;
}

/* Room for one more entry, keeping the table at most half full. Statements
 * come from static strings, so the cache is bounded by the program. */
static int cache_reserve(csf__db *db)
{
	csf__stmt **slots;
	size_t cap, i;

	if (2 * (db->cache_len + 1) <= db->cache_cap)
		return 0;
	cap = db->cache_cap ? 2 * db->cache_cap : 64;
	slots = csf__calloc(cap, sizeof(*slots));
	if (!slots)
		return CSF_ENOMEM;
	for (i = 0; i < db->cache_cap; i++)
		if (db->cache[i])
			cache_put(slots, cap, db->cache[i]);
	csf__free(db->cache);
	db->cache = slots;
	db->cache_cap = cap;
	return 0;
}

static void stmt_reset(csf__stmt *st)
{
	st->db->be->reset(st);
	st->state = CSF__STMT_READY;
	st->changes = 0;
}

int csf__db_stmt(csf__db *db, csf__stmt **out, const char *sql)
{
	csf__stmt *st;
	int rc;

	if (!db || !out || !sql)
		return csf__error_set(CSF_EINVALID, "store: stmt needs a connection, an output and SQL");
	*out = NULL;
	rc = heal(db);
	if (rc)
		return rc;
	st = cache_find(db, sql);
	if (st && st->gen == db->gen) {
		stmt_reset(st);
		*out = st;
		return 0;
	}
	if (!st) {
		rc = cache_reserve(db);
		if (rc)
			return rc;
		st = csf__calloc(1, db->be->stmt_size);
		if (!st)
			return CSF_ENOMEM;
		st->db = db;
		st->sql = sql;
		rc = db->be->prepare(st);
		if (rc) {
			db->be->finalize(st);
			csf__free(st);
			note_failure(db);
			return rc;
		}
		cache_put(db->cache, db->cache_cap, st);
		db->cache_len++;
	} else {
		/* prepared on a connection before a reconnect */
		rc = db->be->prepare(st);
		if (rc) {
			db->be->finalize(st);
			note_failure(db);
			return rc;
		}
	}
	st->gen = db->gen;
	st->state = CSF__STMT_READY;
	st->changes = 0;
	*out = st;
	return 0;
}

void csf__db_reset(csf__stmt *st)
{
	if (st && st->gen)
		stmt_reset(st);
}

/* --------------------------------------------------------------- binding */

static int bind(csf__stmt *st, int i, const csf__db_value *v)
{
	if (!st)
		return csf__error_set(CSF_EINVALID, "store: bind needs a statement");
	if (st->gen != st->db->gen)
		return csf__error_set(CSF_EINVALID,
				      "store: statement from before a reconnect: ask csf__db_stmt again");
	if (st->state != CSF__STMT_READY)
		stmt_reset(st);
	return st->db->be->bind(st, i, v);
}

int csf__db_bind_i64(csf__stmt *st, int i, int64_t v)
{
	csf__db_value val = { CSF__DB_I64, v, 0, NULL, 0 };

	return bind(st, i, &val);
}

int csf__db_bind_double(csf__stmt *st, int i, double v)
{
	csf__db_value val = { CSF__DB_DOUBLE, 0, v, NULL, 0 };

	return bind(st, i, &val);
}

int csf__db_bind_text(csf__stmt *st, int i, const char *s)
{
	csf__db_value val = { CSF__DB_TEXT, 0, 0, s, s ? strlen(s) : 0 };

	if (!s)
		val.type = CSF__DB_NULL;
	return bind(st, i, &val);
}

int csf__db_bind_blob(csf__stmt *st, int i, const void *p, size_t n)
{
	csf__db_value val = { CSF__DB_BLOB, 0, 0, p, n };

	if (!p && n)
		return csf__error_set(CSF_EINVALID, "store: blob of %zu bytes at NULL", n);
	return bind(st, i, &val);
}

int csf__db_bind_null(csf__stmt *st, int i)
{
	csf__db_value val = { CSF__DB_NULL, 0, 0, NULL, 0 };

	return bind(st, i, &val);
}

/* ------------------------------------------------------------- stepping */

int csf__db_step(csf__stmt *st)
{
	int rc;

	if (!st)
		return csf__error_set(CSF_EINVALID, "store: step needs a statement");
	if (st->gen != st->db->gen)
		return csf__error_set(CSF_EINVALID,
				      "store: statement from before a reconnect: ask csf__db_stmt again");
	if (st->state == CSF__STMT_DONE)
		return 0;
	rc = st->db->be->step(st);
	if (rc == 1) {
		st->state = CSF__STMT_ROWS;
		return 1;
	}
	st->state = CSF__STMT_DONE;
	if (rc < 0)
		note_failure(st->db);
	return rc;
}

int csf__db_run(csf__stmt *st)
{
	int rc;

	while ((rc = csf__db_step(st)) == 1)
		;
	return rc;
}

int csf__db_copy(csf__db *db, const char *sql, const char *data, size_t len, int64_t *rows)
{
	int64_t n = 0;
	int rc;

	if (rows)
		*rows = 0;
	if (!db || !sql || (!data && len))
		return csf__error_set(CSF_EINVALID, "store: copy needs a connection, SQL and data");
	if (!db->be->copy)
		return csf__error_set(CSF_EUNSUPPORTED, "store: COPY is PostgreSQL's; SQLite has none");
	if (!db->in_tx)
		return csf__error_set(CSF_EINVALID, "store: copy outside a transaction");
	rc = db->be->copy(db, sql, data ? data : "", len, &n);
	if (rc)
		note_failure(db);
	else if (rows)
		*rows = n;
	return rc;
}

int64_t csf__db_changes(csf__stmt *st)
{
	return st ? st->changes : 0;
}

/* ------------------------------------------------------------- columns */

static int has_col(csf__stmt *st, int i)
{
	return st && st->state == CSF__STMT_ROWS && i >= 0 && i < st->db->be->col_count(st);
}

int csf__db_col_null(csf__stmt *st, int i)
{
	return has_col(st, i) ? st->db->be->col_null(st, i) : 1;
}

int64_t csf__db_col_i64(csf__stmt *st, int i)
{
	return has_col(st, i) ? st->db->be->col_i64(st, i) : 0;
}

double csf__db_col_double(csf__stmt *st, int i)
{
	return has_col(st, i) ? st->db->be->col_double(st, i) : 0.0;
}

const char *csf__db_col_text(csf__stmt *st, int i)
{
	return has_col(st, i) ? st->db->be->col_text(st, i) : "";
}

const void *csf__db_col_blob(csf__stmt *st, int i, size_t *len)
{
	size_t n = 0;
	const void *p = "";

	if (has_col(st, i))
		p = st->db->be->col_blob(st, i, &n);
	if (len)
		*len = n;
	return p;
}

/* ---------------------------------------------------------- connection */

int csf__db_ping(csf__db *db)
{
	if (!db)
		return csf__error_set(CSF_EINVALID, "store: ping needs a connection");
	return csf__db_exec(db, "SELECT 1");
}

int csf__db_reconnect(csf__db *db)
{
	int rc;

	if (!db)
		return csf__error_set(CSF_EINVALID, "store: reconnect needs a connection");
	finalize_all(db);
	db->in_tx = db->tx_failed = 0;
	db->gen++;
	rc = db->be->reconnect(db);
	if (rc)
		return rc;
	db->broken = 0;
	csf__log(CSF_LOG_INFO, "store", "reconnected to the database");
	return 0;
}
