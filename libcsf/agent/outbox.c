/*
 * The outbox: every data message, with its seq, in a SQLite file in the
 * state directory until the server acks it (docs/protocol.md, "Delivery").
 * WAL with synchronous=NORMAL: a commit survives the agent being killed
 * (only a power loss can take the last ones). Bounded by payload bytes and
 * age; what the caps push out is counted, and the count is kept in the same
 * transaction as the drop, so it is exact across restarts.
 * This talks to SQLite directly, not through the store module, so the agent
 * never links the server's PostgreSQL backend.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <sqlite3.h>

#include "agent/internal.h"

struct csf__outbox {
	sqlite3 *db;
	char *path;
	uint64_t max_bytes;
	uint64_t max_age_ms;
	csf__outbox_stats st;
};

static const char *const schema =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL, "
	"data BLOB NOT NULL);";

static int db_fail(csf__outbox *ob, const char *what)
{
	return csf__error_set(CSF_EIO, "outbox %s: %s: %s", ob->path, what, sqlite3_errmsg(ob->db));
}

static int exec(csf__outbox *ob, const char *sql)
{
	return sqlite3_exec(ob->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_fail(ob, sql);
}

static int prepare(csf__outbox *ob, sqlite3_stmt **st, const char *sql)
{
	return sqlite3_prepare_v2(ob->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : db_fail(ob, "prepare");
}

/* Run a statement that returns no rows. */
static int run(csf__outbox *ob, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(ob, "write");

	sqlite3_finalize(st);
	return rc;
}

static int meta_set(csf__outbox *ob, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int rc = prepare(ob, &st, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)");

	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	return run(ob, st);
}

static int meta_set_u64(csf__outbox *ob, const char *key, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return meta_set(ob, key, buf);
}

/* A random (version 4) UUID: the boot_id of a new outbox. */
static int new_uuid(char out[37])
{
	unsigned char b[16];
	char hex[33];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return csf__error_set_errno(CSF_EIO, errno, "outbox: no randomness for a boot_id");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	csf__hex_encode(hex, b, sizeof(b));
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return 0;
}

/* Read meta and the totals; a new outbox gets its boot_id here. */
static int load(csf__outbox *ob)
{
	sqlite3_stmt *st;
	int rc = prepare(ob, &st, "SELECT key, value FROM meta");

	if (rc)
		return rc;
	ob->st.next_seq = 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0), *v = (const char *)sqlite3_column_text(st, 1);
		uint64_t n = strtoull(v, NULL, 10);

		if (strcmp(k, "boot_id") == 0)
			snprintf(ob->st.boot_id, sizeof(ob->st.boot_id), "%s", v);
		else if (strcmp(k, "next_seq") == 0)
			ob->st.next_seq = n;
		else if (strcmp(k, "last_acked_seq") == 0)
			ob->st.last_acked_seq = n;
		else if (strcmp(k, "dropped") == 0)
			ob->st.dropped = n;
		else if (strcmp(k, "last_ack_ms") == 0)
			ob->st.last_ack_ms = (int64_t)n;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(ob, "read meta");
	if ((rc = prepare(ob, &st, "SELECT count(*), coalesce(sum(length(data)), 0), max(seq) FROM messages")) != 0)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_fail(ob, "count");
	}
	ob->st.depth = (uint64_t)sqlite3_column_int64(st, 0);
	ob->st.bytes = (uint64_t)sqlite3_column_int64(st, 1);
	if ((uint64_t)sqlite3_column_int64(st, 2) >= ob->st.next_seq) /* a damaged meta: never reuse a seq */
		ob->st.next_seq = (uint64_t)sqlite3_column_int64(st, 2) + 1;
	sqlite3_finalize(st);
	if (ob->st.boot_id[0])
		return 0;
	rc = new_uuid(ob->st.boot_id);
	if (!rc)
		rc = meta_set(ob, "boot_id", ob->st.boot_id);
	if (!rc)
		csf__log(CSF_LOG_INFO, "agent", "new outbox %s, boot_id %s", ob->path, ob->st.boot_id);
	return rc;
}

static int open_db(csf__outbox *ob)
{
	sqlite3_stmt *st;
	int fd, rc, ok;

	/* created here first so that it (and its -wal, -shm, which copy its mode) is 0600 */
	fd = open(ob->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return csf__error_set_errno(CSF_EIO, errno, "outbox: cannot open %s", ob->path);
	close(fd);
	if (sqlite3_open_v2(ob->path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return db_fail(ob, "open");
	sqlite3_busy_timeout(ob->db, 2000);
	rc = exec(ob, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
	if (!rc)
		rc = prepare(ob, &st, "PRAGMA quick_check");
	if (rc)
		return rc;
	ok = sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	if (!ok)
		return csf__error_set(CSF_EIO, "outbox %s: the integrity check failed", ob->path);
	rc = exec(ob, schema);
	return rc ? rc : load(ob);
}

/* Move a damaged outbox aside (PATH.corrupt) with its WAL and SHM files. */
static int move_aside(csf__outbox *ob)
{
	static const char *const ext[] = { "", "-wal", "-shm" };
	char from[CSF__PATH_MAX], to[CSF__PATH_MAX];
	size_t i;

	for (i = 0; i < CSF__ARRAY_SIZE(ext); i++) {
		snprintf(from, sizeof(from), "%s%s", ob->path, ext[i]);
		snprintf(to, sizeof(to), "%s.corrupt%s", ob->path, ext[i]);
		if (rename(from, to) != 0 && errno != ENOENT)
			return csf__error_set_errno(CSF_EIO, errno, "outbox: cannot move %s aside", from);
	}
	return 0;
}

int csf__outbox_open(csf__outbox **out, const char *path, uint64_t max_bytes, uint64_t max_age_ms, int *was_reset)
{
	csf__outbox *ob;
	int rc;

	*out = NULL;
	if (was_reset)
		*was_reset = 0;
	if (strlen(path) + 16 > CSF__PATH_MAX)
		return csf__error_set(CSF_EINVALID, "outbox: path too long: %s", path);
	ob = csf__calloc(1, sizeof(*ob));
	if (!ob || !(ob->path = csf__strdup(path))) {
		csf__free(ob);
		return CSF_ENOMEM;
	}
	ob->max_bytes = max_bytes;
	ob->max_age_ms = max_age_ms;
	rc = open_db(ob);
	if (rc == CSF_EIO) {
		char why[512];

		snprintf(why, sizeof(why), "%s", csf_error_last()->message);
		sqlite3_close(ob->db);
		ob->db = NULL;
		memset(&ob->st, 0, sizeof(ob->st));
		rc = move_aside(ob);
		if (!rc)
			rc = open_db(ob);
		if (!rc) {
			csf__log(CSF_LOG_WARN, "agent", "the outbox was unreadable (%s); it was moved to %s.corrupt and a new "
				 "one started (boot_id %s): the messages it held are lost", why, path, ob->st.boot_id);
			if (was_reset)
				*was_reset = 1;
		}
	}
	if (rc) {
		csf__outbox_close(ob);
		return rc;
	}
	*out = ob;
	return 0;
}

void csf__outbox_set_caps(csf__outbox *ob, uint64_t max_bytes, uint64_t max_age_ms)
{
	ob->max_bytes = max_bytes;
	ob->max_age_ms = max_age_ms;
}

void csf__outbox_close(csf__outbox *ob)
{
	if (!ob)
		return;
	sqlite3_close(ob->db);
	csf__free(ob->path);
	csf__free(ob);
}

uint64_t csf__outbox_next_seq(const csf__outbox *ob)
{
	return ob->st.next_seq;
}

/* Delete the oldest message; *bytes gets its size. 0 when there was none. */
static int drop_oldest(csf__outbox *ob, uint64_t *bytes, int *dropped_one)
{
	sqlite3_stmt *st;
	int rc = prepare(ob, &st, "DELETE FROM messages WHERE seq = (SELECT min(seq) FROM messages) "
				  "RETURNING length(data)");

	*dropped_one = 0;
	if (rc)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*bytes = (uint64_t)sqlite3_column_int64(st, 0);
		*dropped_one = 1;
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(ob, "drop");
}

/* Drop what is older than the age cap and, oldest first, what is over the
 * byte cap; adds to *n and *bytes. Inside the caller's transaction. */
static int enforce_caps(csf__outbox *ob, int64_t now_ms, uint64_t depth, uint64_t total, uint64_t *n,
			uint64_t *bytes)
{
	sqlite3_stmt *st;
	int rc, one;

	if (ob->max_age_ms) {
		if ((rc = prepare(ob, &st, "DELETE FROM messages WHERE created_ms < ?1 RETURNING length(data)")) != 0)
			return rc;
		sqlite3_bind_int64(st, 1, now_ms - (int64_t)ob->max_age_ms);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			(*n)++;
			*bytes += (uint64_t)sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return db_fail(ob, "expire");
	}
	while (ob->max_bytes && total - *bytes > ob->max_bytes && depth > *n) {
		uint64_t b = 0;

		if ((rc = drop_oldest(ob, &b, &one)) != 0)
			return rc;
		if (!one)
			break;
		(*n)++;
		*bytes += b;
	}
	return 0;
}

/* Commit the transaction with the new drop count, then take the deltas. */
static int commit_drops(csf__outbox *ob, uint64_t n, uint64_t bytes, uint64_t added, uint64_t added_bytes)
{
	int rc = 0;

	if (n)
		rc = meta_set_u64(ob, "dropped", ob->st.dropped + n);
	if (!rc)
		rc = exec(ob, "COMMIT");
	if (rc) {
		sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (n)
		csf__log(CSF_LOG_WARN, "agent", "outbox full: dropped the %" PRIu64 " oldest message%s (%" PRIu64
			 " dropped in all)", n, n == 1 ? "" : "s", ob->st.dropped + n);
	ob->st.dropped += n;
	ob->st.depth = ob->st.depth + added - n;
	ob->st.bytes = ob->st.bytes + added_bytes - bytes;
	return 0;
}

int csf__outbox_put(csf__outbox *ob, uint64_t seq, const void *data, size_t len, int64_t created_ms)
{
	uint64_t n = 0, bytes = 0;
	sqlite3_stmt *st;
	int rc;

	if (seq != ob->st.next_seq)
		return csf__misuse("outbox: seq %" PRIu64 " is not the next one (%" PRIu64 ")", seq, ob->st.next_seq);
	if ((rc = exec(ob, "BEGIN IMMEDIATE")) != 0)
		return rc;
	/* one message over the cap alone is dropped by itself, not with everything before it */
	if (ob->max_bytes && len > ob->max_bytes) {
		rc = meta_set_u64(ob, "next_seq", seq + 1);
		if (!rc)
			rc = commit_drops(ob, 1, 0, 1, 0); /* counted as added and dropped */
		else
			sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
		if (!rc)
			ob->st.next_seq = seq + 1;
		return rc;
	}
	rc = prepare(ob, &st, "INSERT INTO messages (seq, created_ms, data) VALUES (?1, ?2, ?3)");
	if (!rc) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
		sqlite3_bind_int64(st, 2, created_ms);
		sqlite3_bind_blob(st, 3, len ? data : "", (int)len, SQLITE_STATIC);
		rc = run(ob, st);
	}
	if (!rc)
		rc = meta_set_u64(ob, "next_seq", seq + 1);
	if (!rc)
		rc = enforce_caps(ob, created_ms, ob->st.depth + 1, ob->st.bytes + len, &n, &bytes);
	if (!rc)
		rc = commit_drops(ob, n, bytes, 1, len);
	else
		sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
	if (!rc)
		ob->st.next_seq = seq + 1;
	return rc;
}

int csf__outbox_expire(csf__outbox *ob, int64_t now_ms)
{
	uint64_t n = 0, bytes = 0;
	int rc = exec(ob, "BEGIN IMMEDIATE");

	if (!rc)
		rc = enforce_caps(ob, now_ms, ob->st.depth, ob->st.bytes, &n, &bytes);
	if (!rc)
		return commit_drops(ob, n, bytes, 0, 0);
	sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int csf__outbox_ack(csf__outbox *ob, uint64_t seq, int64_t now_ms)
{
	uint64_t n = 0, bytes = 0;
	sqlite3_stmt *st;
	int rc;

	if (seq <= ob->st.last_acked_seq && ob->st.last_ack_ms)
		return 0;
	if ((rc = exec(ob, "BEGIN IMMEDIATE")) != 0)
		return rc;
	rc = prepare(ob, &st, "DELETE FROM messages WHERE seq <= ?1 RETURNING length(data)");
	if (!rc) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			n++;
			bytes += (uint64_t)sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
		rc = rc == SQLITE_DONE ? 0 : db_fail(ob, "ack");
	}
	if (!rc)
		rc = meta_set_u64(ob, "last_acked_seq", seq > ob->st.last_acked_seq ? seq : ob->st.last_acked_seq);
	if (!rc)
		rc = meta_set_u64(ob, "last_ack_ms", (uint64_t)now_ms);
	if (!rc)
		rc = exec(ob, "COMMIT");
	if (rc) {
		sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (seq > ob->st.last_acked_seq)
		ob->st.last_acked_seq = seq;
	ob->st.last_ack_ms = now_ms;
	ob->st.depth -= n;
	ob->st.bytes -= bytes;
	return 0;
}

int csf__outbox_each(csf__outbox *ob, uint64_t after, size_t limit, csf__outbox_cb cb, void *payload)
{
	sqlite3_stmt *st;
	int rc = prepare(ob, &st, "SELECT seq, created_ms, data FROM messages WHERE seq > ?1 ORDER BY seq LIMIT ?2");

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = cb((uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 2),
			(size_t)sqlite3_column_bytes(st, 2), sqlite3_column_int64(st, 1), payload);
		if (rc) {
			sqlite3_finalize(st);
			return rc;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(ob, "read");
}

void csf__outbox_stats_get(const csf__outbox *ob, csf__outbox_stats *out)
{
	*out = ob->st;
}
