/*
 * What db.c asks of a backend (db_sqlite.c, db_postgres.c): the layout a
 * connection and a statement share, and the operations a backend provides.
 * A backend's own connection and statement structs start with these
 * shared parts, so db.c allocates `stmt_size` bytes and the backend casts.
 * Only the store module includes this header.
 */
#ifndef CSF_STORE_BACKEND_H
#define CSF_STORE_BACKEND_H

#include "store/db.h"

typedef enum csf__db_type {
	CSF__DB_NULL,
	CSF__DB_I64,
	CSF__DB_DOUBLE,
	CSF__DB_TEXT, /* ptr, len: UTF-8 without the terminating NUL */
	CSF__DB_BLOB  /* ptr, len */
} csf__db_type;

typedef struct csf__db_value {
	csf__db_type type;
	int64_t i64;
	double d;
	const void *ptr;
	size_t len;
} csf__db_value;

typedef struct csf__db_backend csf__db_backend;

struct csf__db {
	const csf__db_backend *be;
	/* Bumped by every reconnect: a statement prepared on an older
	 * generation is prepared again before it is handed out. */
	unsigned int gen;
	int in_tx;
	/* A statement in the open transaction failed: PostgreSQL has aborted
	 * the transaction, so SQLite is made to refuse the commit as well. */
	int tx_failed;
	/* The connection failed (CSF_EIO): reconnect before the next work. */
	int broken;
	uint64_t retry_at; /* monotonic ms: no reconnect attempt before */
	/* The statement cache: open addressing on the SQL text's address. */
	csf__stmt **cache;
	size_t cache_cap, cache_len;
};

enum { CSF__STMT_READY, CSF__STMT_ROWS, CSF__STMT_DONE };

struct csf__stmt {
	csf__db *db;
	const char *sql;
	unsigned int gen; /* connection generation it is prepared on; 0: none */
	int state;
	int64_t changes;
};

struct csf__db_backend {
	csf__db_kind kind;
	size_t stmt_size;
	/* Allocates the whole connection (the backend's struct). */
	int (*open)(csf__db **out, const char *url);
	/* Frees it; every statement has been finalized. */
	void (*close)(csf__db *db);
	/* Every statement has been finalized. */
	int (*reconnect)(csf__db *db);
	int (*exec)(csf__db *db, const char *sql);
	int (*begin)(csf__db *db);
	int (*commit)(csf__db *db);
	int (*rollback)(csf__db *db);
	/* Prepare st->sql on the current connection; resources of an earlier
	 * preparation have been released by finalize. */
	int (*prepare)(csf__stmt *st);
	/* Release the backend's resources, not the struct. NULL-safe parts. */
	void (*finalize)(csf__stmt *st);
	/* Forget rows and bindings. */
	void (*reset)(csf__stmt *st);
	int (*bind)(csf__stmt *st, int i, const csf__db_value *v);
	/* 1 row, 0 done (st->changes set), < 0 error (error set). */
	int (*step)(csf__stmt *st);
	int (*col_count)(csf__stmt *st);
	int (*col_null)(csf__stmt *st, int i);
	int64_t (*col_i64)(csf__stmt *st, int i);
	double (*col_double)(csf__stmt *st, int i);
	const char *(*col_text)(csf__stmt *st, int i);
	const void *(*col_blob)(csf__stmt *st, int i, size_t *len);
	/* csf__db_copy, in a transaction; NULL: not supported. */
	int (*copy)(csf__db *db, const char *sql, const char *data, size_t len, int64_t *rows);
	/* Without a round trip: 0, or CSF_EIO if the server is known to have
	 * closed the idle connection (restart, shutdown). NULL: always alive. */
	int (*alive)(csf__db *db);
};

extern const csf__db_backend csf__db_sqlite_backend;
extern const csf__db_backend csf__db_postgres_backend;

/*
 * The start of a statement for an error message ("INSERT INTO users (id,
 * organization_id, ..."): comments skipped, whitespace collapsed, cut at
 * the end of the statement or `cap`. Statements hold no values (those are
 * bound), so this never shows a secret. Returns `out`.
 */
const char *csf__db_sql_excerpt(const char *sql, char *out, size_t cap);

#endif
