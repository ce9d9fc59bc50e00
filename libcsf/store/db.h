/*
 * One small SQL interface over two backends: SQLite (embedded, the default)
 * and PostgreSQL (libpq). Queries are written once with $1, $2, ...
 * placeholders (SQLite gets them as ?1, ?2, ...); where the dialects
 * differ, callers pick with csf__db_kind(). Values are int64, double, text
 * (UTF-8) or blob; times are int64 Unix milliseconds, booleans 0/1, JSON is
 * text (TEXT in SQLite, JSONB in PostgreSQL).
 *
 * A csf__db is one connection, used by one thread at a time. Statements are
 * prepared once per connection and cached by their SQL text's address, so
 * queries are static strings.
 */
#ifndef CSF_STORE_DB_H
#define CSF_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "csf/store.h"

typedef enum csf__db_kind {
	CSF__DB_SQLITE = 1,
	CSF__DB_POSTGRES = 2
} csf__db_kind;

typedef struct csf__db csf__db;
typedef struct csf__stmt csf__stmt;

/*
 * Open a connection. `url` is "sqlite:PATH" (created if missing; WAL mode,
 * foreign keys on, a busy timeout) or "postgresql://..." / "postgres://..."
 * (libpq connection URI). Errors: CSF_EINVALID (bad URL), CSF_EIO (cannot
 * connect or open; the message says why, never with a password), CSF_ENOMEM.
 */
int csf__db_open(csf__db **out, const char *url);
void csf__db_close(csf__db *db);
csf__db_kind csf__db_kind_of(const csf__db *db);

/* Run SQL with no parameters and no rows (DDL; several statements allowed). */
int csf__db_exec(csf__db *db, const char *sql);

/*
 * Transactions. Nested begin is an error (CSF_EINVALID), so is a commit
 * with no transaction open; a rollback with none open does nothing.
 * SQLite begins IMMEDIATE (writers queue on the busy timeout rather than
 * fail at their first write). Once a statement inside a transaction has
 * failed, the transaction is lost on both backends (PostgreSQL aborts it,
 * and SQLite is made to match): commit rolls back and returns CSF_ERROR
 * (CSF_EIO when the connection is gone).
 * Write "INSERT ... ON CONFLICT DO NOTHING" rather than trying and
 * catching CSF_EEXISTS inside a transaction.
 */
/* Reset every statement of the connection that is part way through its
 * rows, letting go of the read snapshot it holds (begin does it first). */
void csf__db_release(csf__db *db);
int csf__db_begin(csf__db *db);
int csf__db_commit(csf__db *db);
int csf__db_rollback(csf__db *db);
/* Roll back if a transaction is open, keeping the calling thread's last
 * error as it was (for cleanup paths). */
void csf__db_abort(csf__db *db);

/*
 * The cached prepared statement for `sql` (prepared on first use), reset and
 * with its bindings cleared. The statement belongs to the connection: do not
 * finalize it. One SQL statement per text. Asking again for the same text
 * resets the statement, so a query cannot be nested inside itself.
 * Errors: CSF_EPARSE (bad SQL), CSF_EIO (connection), CSF_ENOMEM.
 */
int csf__db_stmt(csf__db *db, csf__stmt **out, const char *sql);
/* Done with a statement before its last row: forget its rows (on SQLite a
 * statement left in the middle of its rows holds a read snapshot). */
void csf__db_reset(csf__stmt *st);

/* Bind parameter `i` (1-based). Text and blobs are copied. */
int csf__db_bind_i64(csf__stmt *st, int i, int64_t v);
int csf__db_bind_double(csf__stmt *st, int i, double v);
int csf__db_bind_text(csf__stmt *st, int i, const char *s); /* NULL binds NULL */
int csf__db_bind_blob(csf__stmt *st, int i, const void *p, size_t n);
int csf__db_bind_null(csf__stmt *st, int i);

/*
 * Run the statement or fetch its next row: 1 a row is ready, 0 done (and
 * 0 again until the statement is reset), < 0 an error: CSF_EEXISTS (a
 * unique constraint), CSF_EINVALID (another constraint: CHECK, NOT NULL,
 * a foreign key, malformed JSON or a value of the wrong type), CSF_EIO (the
 * connection broke: csf__db_reconnect() and retry the transaction),
 * CSF_ETIMEOUT (busy, a lock or deadlock, or a statement timeout: retry),
 * CSF_ERROR otherwise; the message says which, naming the statement and
 * constraint but never a value. PostgreSQL sends every row at the first
 * step, so page large reads with LIMIT.
 */
int csf__db_step(csf__stmt *st);

/* Columns of the current row (0-based). Text and blobs stay valid until the
 * next step or reset of the statement. A NULL (or a column that does not
 * exist) reads as 0 / "" / empty. Read BLOB/BYTEA columns with col_blob;
 * on PostgreSQL it decodes them, and returns NULL (CSF_ENOMEM) if that
 * allocation fails. */
int csf__db_col_null(csf__stmt *st, int i);
int64_t csf__db_col_i64(csf__stmt *st, int i);
double csf__db_col_double(csf__stmt *st, int i);
const char *csf__db_col_text(csf__stmt *st, int i);
const void *csf__db_col_blob(csf__stmt *st, int i, size_t *len);

/* Rows changed by the last INSERT/UPDATE/DELETE the statement ran. */
int64_t csf__db_changes(csf__stmt *st);

/* One-shot convenience: step a statement to its end (rows are discarded). */
int csf__db_run(csf__stmt *st);

/*
 * Bulk load: `sql` is "COPY table (columns) FROM STDIN" and `data` its rows
 * in COPY's text format, built with the csf__db_copy_* functions below.
 * One round trip and no statement per row: PostgreSQL parses and plans
 * nothing per row, where a multi-row INSERT has it bind and convert every
 * parameter. PostgreSQL only (CSF_EUNSUPPORTED on SQLite, where a prepared
 * INSERT costs no more), inside a transaction (CSF_EINVALID otherwise).
 * `*rows` (may be NULL) receives the rows written. Errors as csf__db_step:
 * a bad row fails the whole COPY and the transaction.
 */
int csf__db_copy(csf__db *db, const char *sql, const char *data, size_t len, int64_t *rows);

/* Append one field to a COPY row (text: escaped; NULL is SQL NULL), or end
 * the row (CSF_EINVALID when it has no field). CSF_ENOMEM, or CSF_ELIMIT at
 * the buffer's maximum. */
int csf__db_copy_text(csf__buf *row, const char *s);
int csf__db_copy_i64(csf__buf *row, int64_t v);
int csf__db_copy_double(csf__buf *row, double v);
int csf__db_copy_end_row(csf__buf *row);

/* A double as PostgreSQL reads it back exactly: %.17g, NaN, [-]Infinity. */
const char *csf__db_format_double(char out[40], double v);

/* Is the connection usable? Cheap (SELECT 1). */
int csf__db_ping(csf__db *db);
/* Re-establish a broken connection (statements are prepared again). A
 * connection that failed with CSF_EIO also does this by itself when new
 * work starts outside a transaction (csf__db_stmt, _begin, _exec), at most
 * once a second; until it succeeds those return CSF_EIO. */
int csf__db_reconnect(csf__db *db);

/* The connection behind a public csf_store handle (store.c). */
csf__db *csf__store_db(csf_store *s);

/* ------------------------------------------------------------ migrations */

typedef struct csf__migration {
	int version;             /* 1, 2, 3 ... never reused */
	const char *name;
	const char *sqlite_sql;
	const char *postgres_sql;
} csf__migration;

/* The schema's migrations, in order (store/schema.c). */
extern const csf__migration csf__migrations[];
extern const size_t csf__migrations_count;

/*
 * Bring the schema to the newest version, each migration in its own
 * transaction, recorded in schema_migrations. `*from` and `*to` (may be
 * NULL) receive the versions before and after. A database newer than this
 * program is refused (CSF_EUNSUPPORTED). Concurrent servers on one
 * PostgreSQL serialize on an advisory lock.
 */
int csf__db_migrate(csf__db *db, int *from, int *to);
int csf__db_schema_version(csf__db *db, int *version);

/* ------------------------------------------------------------ retention */

/*
 * PostgreSQL keeps agent_metrics in daily partitions (UTC days) named
 * agent_metrics_pYYYYMMDD, with a DEFAULT partition for rows no day
 * partition covers. Ensure creates the partitions of the day holding
 * `day_from_ms` and of the `days_ahead` days after it (0..366) and skips
 * those that exist; rows already in the DEFAULT partition for a new day
 * move into it. A no-op on SQLite. Call it ahead of time (at start and
 * daily, a few days ahead), outside a transaction.
 * Errors: CSF_EINVALID (a negative time or days_ahead out of range), and
 * those of csf__db_step.
 */
int csf__db_metrics_partitions_ensure(csf__db *db, int64_t day_from_ms, int days_ahead);

/*
 * Retention: no agent_metrics row older than `cutoff_ms` remains. On
 * PostgreSQL the day partitions that end at or before the cutoff are
 * dropped (`*dropped`, may be NULL, counts them) and older rows left in
 * the DEFAULT partition or in the partition holding the cutoff are
 * deleted; on SQLite the older rows are deleted (`*dropped` is 0).
 * Outside a transaction. The rollup tables are not touched.
 */
int csf__db_metrics_partitions_drop_before(csf__db *db, int64_t cutoff_ms, int *dropped);

#endif
