/* The PostgreSQL backend over libpq: statements prepared once per
 * connection under generated names, parameters sent as text, each result
 * read whole, bytea decoded on demand, SQLSTATEs mapped to libcsf codes.
 * libpq allocates with its own allocator; what this file keeps (parameter
 * copies, decoded bytea) goes through libcsf's. Error messages about a
 * connection are scrubbed of the URL's password. */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/backend.h"

#define BYTEA_OID 17 /* pg_type.oid of bytea, fixed since forever */

typedef struct pg_db {
	csf__db base;
	PGconn *conn;
	unsigned int next_name;
} pg_db;

/* A bytea column decoded for the row `row` of the current result. */
typedef struct pg_blob {
	char *ptr;
	size_t len, cap;
	int row;
} pg_blob;

typedef struct pg_stmt {
	csf__stmt base;
	char name[24];
	int nparams;
	char **values; /* nparams text values, NULL for SQL NULL */
	int nfields;
	pg_blob *blobs; /* nfields */
	PGresult *res;  /* the rows, while they are read */
	int row, nrows;
} pg_stmt;

static pg_db *db_of(csf__db *db)
{
	return (pg_db *)db;
}

static pg_stmt *stmt_of(csf__stmt *st)
{
	return (pg_stmt *)st;
}

/* ------------------------------------------------------------- messages */

/* libpq's messages span lines ("...failed\n\tThis probably means..."). */
static void one_line(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	int space = 0;

	for (; src && *src && n + 1 < cap; src++) {
		if (*src == ' ' || *src == '\t' || *src == '\n' || *src == '\r') {
			space = 1;
			continue;
		}
		if (space && n && n + 2 < cap)
			dst[n++] = ' ';
		space = 0;
		dst[n++] = *src;
	}
	dst[n] = '\0';
}

/* Blank out each occurrence of `secret` (of length n). A password of a
 * character or two garbles the message; better that than showing it. */
static void scrub_n(char *s, const char *secret, size_t n)
{
	char *p;

	if (n == 0)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		if (n >= 3) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + n, strlen(p + n) + 1);
		} else {
			memset(p, '*', n);
		}
	}
}

static void scrub(char *s, const char *secret)
{
	if (secret)
		scrub_n(s, secret, strlen(secret));
}

/*
 * Remove the URL's password from a connection error. libpq's own parse of
 * it (PQpass) is scrubbed by the caller; here the raw text as RFC 3986
 * reads the authority, and when that finds no user info although the URL
 * has an '@' (a password with a raw '/', which libpq reads as host, port
 * and database), every piece of the text between the first ':' and that '@'.
 */
static void scrub_url_password(char *msg, const char *url)
{
	const char *p = strstr(url, "://"), *end, *q, *at = NULL, *last_at = NULL, *colon;

	if (!p)
		return;
	p += 3;
	end = p + strcspn(p, "/?#");
	for (q = p; q < end; q++)
		if (*q == '@')
			at = q;
	for (q = p; *q; q++)
		if (*q == '@')
			last_at = q;
	if (at && (colon = memchr(p, ':', (size_t)(at - p))) != NULL)
		scrub_n(msg, colon + 1, (size_t)(at - colon - 1));
	if (!at && last_at && (colon = memchr(p, ':', (size_t)(last_at - p))) != NULL) {
		const char *piece = colon + 1;

		scrub_n(msg, piece, (size_t)(last_at - piece));
		while (piece < last_at) {
			size_t n = strcspn(piece, "/?#@:");

			if (piece + n > last_at)
				n = (size_t)(last_at - piece);
			if (n) {
				char frag[256];

				if (n >= sizeof(frag))
					n = sizeof(frag) - 1;
				memcpy(frag, piece, n);
				frag[n] = '\0';
				scrub(msg, frag);
			}
			piece += n + 1;
		}
	}
}

static int connect_error(int code, const char *what, const char *libpq_msg, const char *url,
			 const char *password)
{
	char msg[400];

	one_line(msg, sizeof(msg), libpq_msg && *libpq_msg ? libpq_msg : "no reason given");
	scrub(msg, password);
	if (url)
		scrub_url_password(msg, url);
	return csf__error_set(code, "store: %s: %s", what, msg);
}

static int code_of_state(const char *state)
{
	if (!state)
		return CSF_ERROR;
	if (strcmp(state, "23505") == 0)
		return CSF_EEXISTS;
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
		return CSF_EINVALID;
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	    strcmp(state, "57P03") == 0)
		return CSF_EIO;
	if (strcmp(state, "57014") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)
		return CSF_ETIMEOUT;
	if (strncmp(state, "42", 2) == 0)
		return CSF_EPARSE;
	return CSF_ERROR;
}

/*
 * The failure of `sql`. Only the primary message is shown: PostgreSQL's
 * DETAIL repeats values ("Key (key_sha256)=(...) already exists").
 */
static int result_error(pg_db *d, const PGresult *res, const char *sql)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
	const char *start = sql;
	char what[80], msg[300];
	int code = code_of_state(state);

	if (PQstatus(d->conn) != CONNECTION_OK)
		code = CSF_EIO;
	else if (!res)
		code = CSF_ENOMEM;
	if (primary)
		one_line(msg, sizeof(msg), primary);
	else if (res && *PQresultErrorMessage(res))
		one_line(msg, sizeof(msg), PQresultErrorMessage(res));
	else
		one_line(msg, sizeof(msg), PQerrorMessage(d->conn));
	if (pos) {
		/* in a script, name the statement the error is in */
		long at = strtol(pos, NULL, 10);

		if (at > 0 && (size_t)at <= strlen(sql)) {
			start = sql + at - 1;
			while (start > sql && start[-1] != ';')
				start--;
		}
	}
	csf__db_sql_excerpt(start, what, sizeof(what));
	if (state)
		return csf__error_set(code, "store: %s: %s (SQLSTATE %s)", what, msg, state);
	return csf__error_set(code, "store: %s: %s", what, msg);
}

/* ------------------------------------------------------------ connection */

/* Notices ("relation ... already exists, skipping") go to the log: the
 * default notice processor would print them on stderr. */
static void on_notice(void *payload, const PGresult *res)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	int warn = severity && strcmp(severity, "WARNING") == 0;

	(void)payload;
	csf__log(warn ? CSF_LOG_WARN : CSF_LOG_DEBUG, "store", "postgresql: %s", msg ? msg : "(notice)");
}

static int pg_open(csf__db **out, const char *url)
{
	/* Defaults first, then the URL (it overrides them), then what the
	 * code relies on: text comes and goes as UTF-8. */
	static const char *const keys[] = {
		"connect_timeout", "application_name", "dbname", "client_encoding", NULL
	};
	const char *values[] = { "10", "csf", url, "UTF8", NULL };
	PQconninfoOption *opts;
	char *err = NULL;
	pg_db *d;
	int rc;

	opts = PQconninfoParse(url, &err);
	if (!opts) {
		if (!err)
			return csf__error_set(CSF_ENOMEM, "store: out of memory parsing the PostgreSQL URL");
		rc = connect_error(CSF_EINVALID, "invalid PostgreSQL URL", err, url, NULL);
		PQfreemem(err);
		return rc;
	}
	PQconninfoFree(opts);
	d = csf__calloc(1, sizeof(*d));
	if (!d)
		return CSF_ENOMEM;
	d->conn = PQconnectdbParams(keys, values, 1);
	if (!d->conn) {
		csf__free(d);
		return csf__error_set(CSF_ENOMEM, "store: out of memory connecting to PostgreSQL");
	}
	if (PQstatus(d->conn) != CONNECTION_OK) {
		rc = connect_error(CSF_EIO, "cannot connect to PostgreSQL", PQerrorMessage(d->conn), url,
				   PQpass(d->conn));
		PQfinish(d->conn);
		csf__free(d);
		return rc;
	}
	PQsetNoticeReceiver(d->conn, on_notice, NULL);
	*out = &d->base;
	return 0;
}

static void pg_close(csf__db *db)
{
	pg_db *d = db_of(db);

	PQfinish(d->conn);
	csf__free(d);
}

static int pg_reconnect(csf__db *db)
{
	pg_db *d = db_of(db);

	PQreset(d->conn);
	if (PQstatus(d->conn) != CONNECTION_OK)
		return connect_error(CSF_EIO, "cannot reconnect to PostgreSQL", PQerrorMessage(d->conn),
				     NULL, PQpass(d->conn));
	return 0;
}

/* A server that stops or restarts sends its idle clients a FATAL message and
 * closes. Nothing else arrives unasked on our connections (no LISTEN), so
 * an idle socket with something to read is one the server gave up on. */
static int pg_alive(csf__db *db)
{
	pg_db *d = db_of(db);
	struct pollfd p = { PQsocket(d->conn), POLLIN, 0 };

	if (PQstatus(d->conn) == CONNECTION_OK && p.fd >= 0 && poll(&p, 1, 0) == 0)
		return 0;
	return csf__error_set(CSF_EIO, "store: the PostgreSQL server closed the connection");
}

static int pg_exec(csf__db *db, const char *sql)
{
	pg_db *d = db_of(db);
	PGresult *res = PQexec(d->conn, sql);
	int rc = 0;

	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		break;
	default:
		rc = result_error(d, res, sql);
	}
	PQclear(res);
	return rc;
}

static int pg_begin(csf__db *db)
{
	return pg_exec(db, "BEGIN");
}

static int pg_commit(csf__db *db)
{
	pg_db *d = db_of(db);
	PGresult *res = PQexec(d->conn, "COMMIT");
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = result_error(d, res, "COMMIT");
	else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
		/* COMMIT of an aborted transaction "succeeds" as a rollback */
		rc = csf__error_set(CSF_ERROR, "store: COMMIT: the transaction had failed and was rolled back");
	PQclear(res);
	return rc;
}

static int pg_rollback(csf__db *db)
{
	return pg_exec(db, "ROLLBACK");
}

/* ------------------------------------------------------------ statements */

static int pg_prepare(csf__stmt *base)
{
	pg_stmt *st = stmt_of(base);
	pg_db *d = db_of(base->db);
	PGresult *res;
	int rc = 0, i;

	snprintf(st->name, sizeof(st->name), "csf_%u", ++d->next_name);
	res = PQprepare(d->conn, st->name, base->sql, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = result_error(d, res, base->sql);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	res = PQdescribePrepared(d->conn, st->name);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = result_error(d, res, base->sql);
		PQclear(res);
		return rc;
	}
	st->nparams = PQnparams(res);
	st->nfields = PQnfields(res);
	PQclear(res);
	if (st->nparams) {
		st->values = csf__calloc((size_t)st->nparams, sizeof(*st->values));
		if (!st->values)
			return CSF_ENOMEM;
	}
	if (st->nfields) {
		st->blobs = csf__calloc((size_t)st->nfields, sizeof(*st->blobs));
		if (!st->blobs)
			return CSF_ENOMEM;
		for (i = 0; i < st->nfields; i++)
			st->blobs[i].row = -1;
	}
	st->row = -1;
	return 0;
}

static void pg_reset(csf__stmt *base)
{
	pg_stmt *st = stmt_of(base);
	int i;

	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
	st->nrows = 0;
	for (i = 0; st->values && i < st->nparams; i++) {
		csf__free(st->values[i]);
		st->values[i] = NULL;
	}
	for (i = 0; st->blobs && i < st->nfields; i++) {
		csf__free(st->blobs[i].ptr);
		st->blobs[i] = (pg_blob){ NULL, 0, 0, -1 };
	}
}

static void pg_finalize(csf__stmt *base)
{
	pg_stmt *st = stmt_of(base);

	pg_reset(base);
	csf__free(st->values);
	csf__free(st->blobs);
	st->values = NULL;
	st->blobs = NULL;
	st->nparams = st->nfields = 0;
}

static char *hex_text(const uint8_t *p, size_t n)
{
	char *s, *o;

	if (n > (SIZE_MAX - 3) / 2) {
		csf__error_set(CSF_ELIMIT, "store: blob of %zu bytes is too large", n);
		return NULL;
	}
	s = csf__malloc(2 * n + 3);
	if (!s)
		return NULL;
	o = s;
	*o++ = '\\';
	*o++ = 'x';
	csf__hex_encode(o, p, n);
	return s;
}

static int pg_bind(csf__stmt *base, int i, const csf__db_value *v)
{
	pg_stmt *st = stmt_of(base);
	char num[40], what[80];
	char *s = NULL;

	if (i < 1 || i > st->nparams)
		return csf__error_set(CSF_EINVALID, "store: %s: no parameter $%d (it has %d)",
				      csf__db_sql_excerpt(base->sql, what, sizeof(what)), i, st->nparams);
	switch (v->type) {
	case CSF__DB_NULL:
		break;
	case CSF__DB_I64:
		snprintf(num, sizeof(num), "%" PRId64, v->i64);
		s = csf__strdup(num);
		break;
	case CSF__DB_DOUBLE:
		s = csf__strdup(csf__db_format_double(num, v->d));
		break;
	case CSF__DB_TEXT:
		s = csf__strndup(v->ptr, v->len);
		break;
	case CSF__DB_BLOB:
		/* bytea's text input: \x and hex digits */
		s = hex_text(v->ptr, v->len);
		break;
	}
	if (v->type != CSF__DB_NULL && !s)
		return csf_error_last()->code;
	csf__free(st->values[i - 1]);
	st->values[i - 1] = s;
	return 0;
}

static int64_t changes_of(PGresult *res)
{
	if (strncmp(PQcmdStatus(res), "SELECT", 6) == 0)
		return 0;
	return strtoll(PQcmdTuples(res), NULL, 10);
}

static int pg_step(csf__stmt *base)
{
	pg_stmt *st = stmt_of(base);
	pg_db *d = db_of(base->db);

	if (!st->res) {
		PGresult *res = PQexecPrepared(d->conn, st->name, st->nparams,
					       (const char *const *)st->values, NULL, NULL, 0);
		int rc, i;

		switch (PQresultStatus(res)) {
		case PGRES_COMMAND_OK:
			base->changes = changes_of(res);
			PQclear(res);
			return 0;
		case PGRES_TUPLES_OK:
			st->res = res;
			st->row = -1;
			st->nrows = PQntuples(res);
			base->changes = changes_of(res);
			for (i = 0; st->blobs && i < st->nfields; i++)
				st->blobs[i].row = -1;
			break;
		default:
			rc = result_error(d, res, base->sql);
			PQclear(res);
			return rc;
		}
	}
	if (++st->row < st->nrows)
		return 1;
	PQclear(st->res);
	st->res = NULL;
	return 0;
}

/* All of `data` in one COPY; libpq sends it as it fills its buffer. */
static int pg_copy(csf__db *db, const char *sql, const char *data, size_t len, int64_t *rows)
{
	pg_db *d = db_of(db);
	PGresult *res = PQexec(d->conn, sql);
	size_t off, n;
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		rc = result_error(d, res, sql);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	for (off = 0; off < len && !rc; off += n) {
		n = len - off < INT32_MAX ? len - off : INT32_MAX;
		if (PQputCopyData(d->conn, data + off, (int)n) != 1)
			rc = connect_error(CSF_EIO, "COPY", PQerrorMessage(d->conn), NULL, PQpass(d->conn));
	}
	if (PQputCopyEnd(d->conn, rc ? "the client could not send the rows" : NULL) != 1 && !rc)
		rc = connect_error(CSF_EIO, "COPY", PQerrorMessage(d->conn), NULL, PQpass(d->conn));
	/* the outcome, then NULL */
	while ((res = PQgetResult(d->conn)) != NULL) {
		if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = result_error(d, res, sql);
		else if (!rc)
			*rows = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	return rc;
}

static int pg_col_count(csf__stmt *base)
{
	pg_stmt *st = stmt_of(base);

	return st->res ? PQnfields(st->res) : 0;
}

static int pg_col_null(csf__stmt *base, int i)
{
	pg_stmt *st = stmt_of(base);

	return PQgetisnull(st->res, st->row, i);
}

static int64_t pg_col_i64(csf__stmt *base, int i)
{
	pg_stmt *st = stmt_of(base);
	const char *v = PQgetvalue(st->res, st->row, i);

	if (v[0] == 't' && v[1] == '\0') /* a boolean */
		return 1;
	return strtoll(v, NULL, 10);
}

static double pg_col_double(csf__stmt *base, int i)
{
	pg_stmt *st = stmt_of(base);

	return strtod(PQgetvalue(st->res, st->row, i), NULL);
}

static const char *pg_col_text(csf__stmt *base, int i)
{
	pg_stmt *st = stmt_of(base);

	return PQgetvalue(st->res, st->row, i);
}


/* bytea's text output, hex ("\x0001ff") or, if the server is set to it,
 * escape ("\000\001\377", backslash doubled); at most n bytes out. */
static int bytea_decode(const char *in, size_t n, char *out, size_t *len)
{
	size_t i, o = 0;

	if (n >= 2 && in[0] == '\\' && in[1] == 'x') {
		for (i = 2; i + 1 < n; i += 2) {
			int hi = csf__hex_value(in[i]), lo = csf__hex_value(in[i + 1]);

			if (hi < 0 || lo < 0)
				return CSF_EPARSE;
			out[o++] = (char)(hi << 4 | lo);
		}
		if (i != n)
			return CSF_EPARSE;
	} else {
		for (i = 0; i < n;) {
			if (in[i] != '\\') {
				out[o++] = in[i++];
			} else if (i + 1 < n && in[i + 1] == '\\') {
				out[o++] = '\\';
				i += 2;
			} else if (i + 3 < n && in[i + 1] >= '0' && in[i + 1] <= '3' &&
				   in[i + 2] >= '0' && in[i + 2] <= '7' && in[i + 3] >= '0' && in[i + 3] <= '7') {
				out[o++] = (char)((in[i + 1] - '0') << 6 | (in[i + 2] - '0') << 3 | (in[i + 3] - '0'));
				i += 4;
			} else {
				return CSF_EPARSE;
			}
		}
	}
	*len = o;
	return 0;
}

static const void *pg_col_blob(csf__stmt *base, int i, size_t *len)
{
	pg_stmt *st = stmt_of(base);
	const char *v;
	size_t n;
	pg_blob *b;

	*len = 0;
	if (PQgetisnull(st->res, st->row, i))
		return "";
	v = PQgetvalue(st->res, st->row, i);
	n = (size_t)PQgetlength(st->res, st->row, i);
	if (PQftype(st->res, i) != BYTEA_OID || i >= st->nfields) {
		*len = n;
		return v;
	}
	b = &st->blobs[i];
	if (b->row != st->row) {
		if (n + 1 > b->cap) {
			char *p = csf__realloc(b->ptr, n + 1);

			if (!p)
				return NULL;
			b->ptr = p;
			b->cap = n + 1;
		}
		if (bytea_decode(v, n, b->ptr, &b->len)) {
			csf__error_set(CSF_EPARSE, "store: column %d: malformed bytea from the server", i);
			return NULL;
		}
		b->row = st->row;
	}
	*len = b->len;
	return b->ptr;
}

const csf__db_backend csf__db_postgres_backend = {
	.kind = CSF__DB_POSTGRES,
	.stmt_size = sizeof(pg_stmt),
	.open = pg_open,
	.close = pg_close,
	.reconnect = pg_reconnect,
	.exec = pg_exec,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.reset = pg_reset,
	.bind = pg_bind,
	.step = pg_step,
	.col_count = pg_col_count,
	.col_null = pg_col_null,
	.col_i64 = pg_col_i64,
	.col_double = pg_col_double,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.alive = pg_alive,
	.copy = pg_copy,
};
