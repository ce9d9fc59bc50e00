/*
 * The writer: one thread, its own database connection. It takes what the
 * loop queued, writes it in one transaction per batch, and records per
 * (agent_id, boot_id) the highest seq committed, in the same transaction.
 * A message at or below that mark is a replay and is skipped, so ingest is
 * idempotent; acks go out only for what committed. When the database is
 * unreachable the batch waits (nothing is acked) and the writer reconnects
 * with backoff; agents keep the messages in their outboxes meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "server/internal.h"

/* Rows per transaction at most. A commit writes every page it touched, and
 * with many agents a small batch touches a page (of the (agent_id,
 * timestamp) index, of agent_streams) per row: when the writer falls behind,
 * the batches it then takes grow up to this and the cost per row falls. */
#define BATCH_MAX 16384
/* Metrics rows go to PostgreSQL in COPYs of about COPY_FLUSH bytes (a
 * row is about 200 bytes; one with its custom metrics at their 1 MiB JSON
 * maximum, escaped, still fits COPY_MAX). */
#define COPY_FLUSH ((size_t)1 << 20)
#define COPY_MAX ((size_t)8 << 20)
#define MARKS_MAX 200000

typedef struct mark {
	uint32_t hash; /* of the two ids: compared before them */
	char agent_id[CSF__ID_LEN];
	char boot_id[CSF__BOOT_ID_MAX];
	uint64_t seq;
	uint8_t used;
} mark;

/* Open-addressing map (agent_id, boot_id) -> seq. A batch looks each item's
 * stream up two or three times: the callers hash its ids once. */
typedef struct marks {
	mark *v;
	size_t cap, n;
} marks;

typedef struct completion {
	char agent_id[CSF__ID_LEN];
	char boot_id[CSF__BOOT_ID_MAX];
	uint64_t seq;
} completion;

/*
 * On PostgreSQL rows go out several to a statement: a statement per row
 * costs a round trip. Each multi-row statement exists in the sizes of
 * chunk_rows; n rows are written in the biggest chunks that fit. The
 * statement cache keys on the SQL text, so each size is one prepared
 * statement per connection. SQLite takes them one a statement: it has no
 * round trip to save, and a statement that may change several rows inside
 * a transaction keeps a statement journal (the first image of every page
 * it touches, spilled to a temporary file past 64 KiB), which cost its
 * writer more than the statements saved.
 */
static const size_t chunk_rows[] = { 64, 8, 1 };
#define CHUNKS CSF__ARRAY_SIZE(chunk_rows)

/* A statement that writes several rows: head, the rows' parameters, tail. */
typedef struct multi_row {
	const char *head;
	const char *tail;
	int columns;
} multi_row;

static const multi_row metrics_insert = {
	"INSERT INTO agent_metrics (agent_id, organization_id, \"timestamp\", boot_id, seq, cpu_usage_percent, "
	"memory_total_bytes, memory_used_bytes, disk_total_bytes, disk_used_bytes, network_rx_bytes, "
	"network_tx_bytes, custom_metrics) VALUES ",
	"", 13
};
static const multi_row marks_upsert = {
	"INSERT INTO agent_streams (agent_id, boot_id, acked_seq, updated_at) VALUES ",
	" ON CONFLICT (agent_id, boot_id) DO UPDATE SET acked_seq = excluded.acked_seq, updated_at = excluded.updated_at",
	4
};

/* Its text for each chunk size; they live as long as the connection that
 * caches their statements. */
typedef struct multi_sql {
	char *sql[CHUNKS];
	int columns;
} multi_sql;

static int multi_sql_build(multi_sql *out, const multi_row *m)
{
	size_t k, r;
	int c, param, rc = 0;

	out->columns = m->columns;
	for (k = 0; k < CHUNKS && !rc; k++) {
		csf__buf b = CSF__BUF_INIT(1u << 16);

		rc = csf__buf_puts(&b, m->head);
		for (r = 0, param = 1; r < chunk_rows[k] && !rc; r++)
			for (c = 0; c < m->columns && !rc; c++)
				rc = csf__buf_printf(&b, "%s$%d%s", c ? "" : r ? ", (" : "(", param++,
						     c + 1 < m->columns ? ", " : ")");
		if (!rc)
			rc = csf__buf_puts(&b, m->tail);
		out->sql[k] = rc ? NULL : csf__buf_detach(&b, NULL);
		csf__buf_free(&b);
	}
	return rc;
}

static void multi_sql_free(multi_sql *m)
{
	size_t k;

	for (k = 0; k < CHUNKS; k++)
		csf__free(m->sql[k]);
}

struct csf__ingest {
	csf_server *srv;
	csf__db *db;
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	csf__ingest_item *head, *tail;
	size_t depth;              /* queued + being written; read by the loop without the lock: atomic */
	int stop;
	int wake[2];
	struct event *ev;
	completion *done;          /* under mu */
	size_t done_n, done_cap;
	csf__ingest_item *committed_items; /* under mu: for the loop to free */
	marks committed;           /* writer thread only */
	multi_sql metrics_sql, marks_sql;
	csf__buf copy;             /* writer thread: a batch's rows for COPY, kept between batches */
	/* writer thread: the batch's new metrics rows, and its streams' marks */
	const csf__ingest_item *metrics[BATCH_MAX];
	const mark *stream_marks[BATCH_MAX];
};

static uint32_t mark_hash(const char *a, const char *b)
{
	uint32_t h = 2166136261u;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h;
}

static mark *mark_slot(marks *m, const char *agent, const char *boot, uint32_t hash, int insert)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		mark *e = &m->v[i];

		if (!e->used)
			return insert ? e : NULL;
		if (e->hash == hash && strcmp(e->agent_id, agent) == 0 && strcmp(e->boot_id, boot) == 0)
			return e;
	}
}

static int mark_set(marks *m, const char *agent, const char *boot, uint32_t hash, uint64_t seq)
{
	mark *e;

	if ((m->n + 1) * 2 > m->cap) {
		marks bigger = { NULL, m->cap ? m->cap * 2 : 1024, 0 };
		size_t i;

		if (m->n >= MARKS_MAX) {
			/* bounded: forget them all; they are in agent_streams */
			memset(m->v, 0, m->cap * sizeof(*m->v));
			m->n = 0;
		} else {
			bigger.v = csf__calloc(bigger.cap, sizeof(*bigger.v));
			if (!bigger.v)
				return CSF_ENOMEM;
			for (i = 0; i < m->cap; i++)
				if (m->v[i].used)
					*mark_slot(&bigger, m->v[i].agent_id, m->v[i].boot_id, m->v[i].hash, 1) = m->v[i];
			bigger.n = m->n;
			csf__free(m->v);
			*m = bigger;
		}
	}
	e = mark_slot(m, agent, boot, hash, 1);
	if (!e->used) {
		e->hash = hash;
		snprintf(e->agent_id, sizeof(e->agent_id), "%s", agent);
		snprintf(e->boot_id, sizeof(e->boot_id), "%s", boot);
		e->used = 1;
		m->n++;
	}
	e->seq = seq;
	return 0;
}

csf__ingest_item *csf__ingest_item_new(csf__arena *arena)
{
	csf__arena own;
	csf__ingest_item *it;

	if (!arena) {
		csf__arena_init(&own, sizeof(*it));
		arena = &own;
	}
	it = csf__arena_alloc(arena, sizeof(*it));
	if (!it) {
		csf__arena_free(arena);
		return NULL;
	}
	it->arena = *arena;
	csf__arena_init(arena, 0);
	return it;
}

void csf__ingest_item_free(csf__ingest_item *it)
{
	csf__arena a;

	if (!it)
		return;
	a = it->arena; /* the item is in it */
	csf__arena_free(&a);
}

/* The time of the sample: the agent's, else when sent or received. */
static int64_t metrics_ts(const csf__ingest_item *it)
{
	const Csf__V1__AgentMessage *m = it->msg;

	if (m->metrics->timestamp_ms > 0)
		return m->metrics->timestamp_ms;
	return m->sent_at_ms > 0 ? m->sent_at_ms : it->received_ms;
}

static void metrics_row_of(const csf__ingest_item *it, csf__metrics_row *r)
{
	const Csf__V1__MetricsSnapshot *m = it->msg->metrics;
	size_t k;

	r->disk_total = r->disk_used = 0;
	for (k = 0; k < m->n_filesystems; k++) {
		r->disk_total += (int64_t)m->filesystems[k]->total_bytes;
		r->disk_used += (int64_t)m->filesystems[k]->used_bytes;
	}
	r->ts = metrics_ts(it);
	r->cpu = m->cpu && m->cpu->total ? m->cpu->total->usage : 0.0;
	r->mem_total = m->memory ? (int64_t)m->memory->total : 0;
	r->mem_used = m->memory ? (int64_t)m->memory->used : 0;
	r->rx = m->rx_total ? (int64_t)m->rx_total->bytes : 0;
	r->tx = m->tx_total ? (int64_t)m->tx_total->bytes : 0;
	r->n_custom = m->n_custom;
}

/* ----------------------------------------------------------- the loop side */

int csf__ingest_push(csf__ingest *in, csf__ingest_item *it)
{
	if (it->kind == CSF__INGEST_MESSAGE && it->msg->body_case == CSF__V1__AGENT_MESSAGE__BODY_METRICS)
		metrics_row_of(it, &it->row);
	it->next = NULL;
	pthread_mutex_lock(&in->mu);
	if (in->tail) {
		in->tail->next = it;
	} else {
		in->head = it;
		pthread_cond_signal(&in->cv); /* the writer waits only on an empty queue */
	}
	in->tail = it;
	__atomic_add_fetch(&in->depth, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&in->mu);
	return 0;
}

size_t csf__ingest_depth(const csf__ingest *in)
{
	return in ? __atomic_load_n(&in->depth, __ATOMIC_RELAXED) : 0;
}

static void free_items(csf__ingest_item *it)
{
	csf__ingest_item *next;

	for (; it; it = next) {
		next = it->next;
		csf__ingest_item_free(it);
	}
}

/* Committed: send the acks, and free the items on the thread that allocated
 * them (on the loop thread). A message is dozens of small allocations; freed
 * by the writer they would land in the other thread's tcache and arena, and
 * the loop's next allocations would pay for the imbalance (malloc_consolidate). */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
	csf__ingest *in = arg;
	completion *done;
	csf__ingest_item *items;
	size_t n, i;
	char buf[256];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&in->mu);
	done = in->done;
	n = in->done_n;
	in->done = NULL;
	in->done_n = in->done_cap = 0;
	items = in->committed_items;
	in->committed_items = NULL;
	pthread_mutex_unlock(&in->mu);
	for (i = 0; i < n; i++)
		csf__session_acked(in->srv, done[i].agent_id, done[i].boot_id, done[i].seq);
	csf__free(done);
	free_items(items);
}

/* --------------------------------------------------------- the writer side */

/* Bind row `i` of what is being written at parameters first, first + 1... */
typedef int (*bind_row_fn)(csf__stmt *st, int first, size_t i, void *ctx);

static int write_rows(csf__db *db, const multi_sql *m, size_t n, bind_row_fn bind, void *ctx)
{
	size_t done = 0, k, r;
	int rc = 0;

	while (done < n && !rc) {
		csf__stmt *st;

		/* SQLite: one row a statement (see chunk_rows) */
		for (k = csf__db_kind_of(db) == CSF__DB_SQLITE ? CHUNKS - 1 : 0; chunk_rows[k] > n - done; k++)
			;
		rc = csf__db_stmt(db, &st, m->sql[k]);
		for (r = 0; r < chunk_rows[k] && !rc; r++)
			rc = bind(st, (int)r * m->columns + 1, done + r, ctx);
		if (!rc)
			rc = csf__db_run(st);
		done += chunk_rows[k];
	}
	return rc;
}

/* The row's custom metrics as JSON: in `custom`, or "{}" without reading
 * the message when it has none (most). */
static const char *custom_json(const csf__ingest_item *it, csf__buf *custom)
{
	const Csf__V1__MetricsSnapshot *m = it->msg->metrics;
	csf__json j;
	size_t k;

	if (!it->row.n_custom)
		return "{}";
	csf__buf_clear(custom);
	csf__json_init(&j, custom);
	csf__json_begin_object(&j);
	for (k = 0; k < m->n_custom; k++) {
		csf__json_key(&j, m->custom[k]->key);
		csf__json_real(&j, m->custom[k]->value);
	}
	csf__json_end_object(&j);
	return csf__json_finish(&j) ? NULL : custom->ptr;
}

typedef struct metrics_rows {
	const csf__ingest_item *const *items;
	csf__buf custom; /* scratch for a row's JSON (binding copies it) */
} metrics_rows;

static int bind_metrics(csf__stmt *st, int p, size_t i, void *ctx)
{
	metrics_rows *mr = ctx;
	const csf__ingest_item *it = mr->items[i];
	const csf__metrics_row *r = &it->row;
	const char *custom = custom_json(it, &mr->custom);
	int rc = 0;

	if (!custom)
		return csf_error_last()->code;
	rc |= csf__db_bind_text(st, p, it->agent_id);
	rc |= csf__db_bind_text(st, p + 1, it->org_id);
	rc |= csf__db_bind_i64(st, p + 2, r->ts);
	rc |= csf__db_bind_text(st, p + 3, it->boot_id);
	rc |= csf__db_bind_i64(st, p + 4, (int64_t)it->seq);
	rc |= csf__db_bind_double(st, p + 5, r->cpu);
	rc |= csf__db_bind_i64(st, p + 6, r->mem_total);
	rc |= csf__db_bind_i64(st, p + 7, r->mem_used);
	rc |= csf__db_bind_i64(st, p + 8, r->disk_total);
	rc |= csf__db_bind_i64(st, p + 9, r->disk_used);
	rc |= csf__db_bind_i64(st, p + 10, r->rx);
	rc |= csf__db_bind_i64(st, p + 11, r->tx);
	rc |= csf__db_bind_text(st, p + 12, custom);
	return rc ? csf_error_last()->code : 0;
}

/* PostgreSQL: the rows in COPYs (see csf__db_copy). */
static int copy_metrics(csf__ingest *in, size_t n, csf__buf *custom)
{
	static const char *const q =
		"COPY agent_metrics (agent_id, organization_id, \"timestamp\", boot_id, seq, cpu_usage_percent, "
		"memory_total_bytes, memory_used_bytes, disk_total_bytes, disk_used_bytes, network_rx_bytes, "
		"network_tx_bytes, custom_metrics) FROM STDIN";
	csf__buf *b = &in->copy;
	size_t i;
	int rc = 0;

	csf__buf_clear(b);
	for (i = 0; i < n && !rc; i++) {
		const csf__ingest_item *it = in->metrics[i];
		const csf__metrics_row *r = &it->row;
		const char *json = custom_json(it, custom);

		rc = json ? 0 : csf_error_last()->code;
		rc = rc ? rc : csf__db_copy_text(b, it->agent_id);
		rc = rc ? rc : csf__db_copy_text(b, it->org_id);
		rc = rc ? rc : csf__db_copy_i64(b, r->ts);
		rc = rc ? rc : csf__db_copy_text(b, it->boot_id);
		rc = rc ? rc : csf__db_copy_i64(b, (int64_t)it->seq);
		rc = rc ? rc : csf__db_copy_double(b, r->cpu);
		rc = rc ? rc : csf__db_copy_i64(b, r->mem_total);
		rc = rc ? rc : csf__db_copy_i64(b, r->mem_used);
		rc = rc ? rc : csf__db_copy_i64(b, r->disk_total);
		rc = rc ? rc : csf__db_copy_i64(b, r->disk_used);
		rc = rc ? rc : csf__db_copy_i64(b, r->rx);
		rc = rc ? rc : csf__db_copy_i64(b, r->tx);
		rc = rc ? rc : csf__db_copy_text(b, json);
		rc = rc ? rc : csf__db_copy_end_row(b);
		if (!rc && (b->len >= COPY_FLUSH || i + 1 == n)) {
			rc = csf__db_copy(in->db, q, b->ptr, b->len, NULL);
			csf__buf_clear(b);
		}
	}
	return rc;
}

static int write_metrics(csf__ingest *in, size_t n)
{
	metrics_rows mr = { in->metrics, CSF__BUF_INIT(1u << 20) };
	int rc;

	if (!n)
		rc = 0;
	else if (csf__db_kind_of(in->db) == CSF__DB_POSTGRES)
		rc = copy_metrics(in, n, &mr.custom);
	else
		rc = write_rows(in->db, &in->metrics_sql, n, bind_metrics, &mr);
	csf__buf_free(&mr.custom);
	return rc;
}

static const char *level_name(Csf__V1__LogLevel l)
{
	switch (l) {
	case CSF__V1__LOG_LEVEL__LOG_LEVEL_TRACE: return "trace";
	case CSF__V1__LOG_LEVEL__LOG_LEVEL_DEBUG: return "debug";
	case CSF__V1__LOG_LEVEL__LOG_LEVEL_WARN: return "warn";
	case CSF__V1__LOG_LEVEL__LOG_LEVEL_ERROR: return "error";
	default: return "info";
	}
}

static int write_logs(csf__db *db, const csf__ingest_item *it)
{
	static const char *const q =
		"INSERT INTO agent_logs (organization_id, agent_id, level, message, source, context, \"timestamp\") "
		"VALUES ($1, $2, $3, $4, $5, $6, $7)";
	const Csf__V1__LogBatch *b = it->msg->logs;
	size_t i, k;
	int rc = 0;

	for (i = 0; i < b->n_records && !rc; i++) {
		const Csf__V1__LogRecord *r = b->records[i];
		csf__buf ctx = CSF__BUF_INIT(1u << 20);
		csf__json j;
		csf__stmt *st;

		csf__json_init(&j, &ctx);
		csf__json_begin_object(&j);
		for (k = 0; k < r->n_context; k++) {
			csf__json_key(&j, r->context[k]->key);
			csf__json_string(&j, r->context[k]->value);
		}
		csf__json_end_object(&j);
		rc = csf__json_finish(&j);
		if (!rc)
			rc = csf__db_stmt(db, &st, q);
		if (!rc) {
			csf__db_bind_text(st, 1, it->org_id);
			csf__db_bind_text(st, 2, it->agent_id);
			csf__db_bind_text(st, 3, level_name(r->level));
			csf__db_bind_text(st, 4, r->message);
			csf__db_bind_text(st, 5, r->source);
			csf__db_bind_text(st, 6, ctx.ptr);
			csf__db_bind_i64(st, 7, r->timestamp_ms ? r->timestamp_ms : it->received_ms);
			rc = csf__db_run(st);
		}
		csf__buf_free(&ctx);
	}
	return rc;
}

static int write_status(csf__db *db, const csf__ingest_item *it)
{
	static const char *const q_hello =
		"UPDATE agents SET status = 'online', last_heartbeat = $2, updated_at = $3, hostname = $4, "
		"ip_address = $5, agent_version = $6, os_type = $7, os_version = $8, architecture = $9, "
		"outbox_depth = $10, dropped_messages = $11 WHERE id = $1";
	static const char *const q_status =
		"UPDATE agents SET status = $2, updated_at = $3 WHERE id = $1";
	static const char *const q_heartbeat =
		"UPDATE agents SET last_heartbeat = $2, outbox_depth = $3, dropped_messages = $4 "
		"WHERE id = $1 AND (last_heartbeat IS NULL OR last_heartbeat < $2)";
	const Csf__V1__HostFacts *h = it->host;
	int64_t now = csf__now_ms();
	csf__stmt *st;
	int rc = 0;

	if (h) {
		rc = csf__db_stmt(db, &st, q_hello);
		if (rc)
			return rc;
		csf__db_bind_text(st, 1, it->agent_id);
		csf__db_bind_i64(st, 2, it->last_heartbeat ? it->last_heartbeat : now);
		csf__db_bind_i64(st, 3, now);
		csf__db_bind_text(st, 4, h->hostname);
		csf__db_bind_text(st, 5, it->ip_address);
		csf__db_bind_text(st, 6, it->agent_version);
		csf__db_bind_text(st, 7, h->os_type[0] ? h->os_type : "linux");
		csf__db_bind_text(st, 8, h->os_pretty[0] ? h->os_pretty : h->os_version);
		csf__db_bind_text(st, 9, h->arch);
		csf__db_bind_i64(st, 10, (int64_t)(it->outbox_depth & INT64_MAX));
		csf__db_bind_i64(st, 11, (int64_t)(it->dropped_messages & INT64_MAX));
		return csf__db_run(st);
	}
	if (it->status) {
		rc = csf__db_stmt(db, &st, q_status);
		if (!rc) {
			csf__db_bind_text(st, 1, it->agent_id);
			csf__db_bind_text(st, 2, it->status);
			csf__db_bind_i64(st, 3, now);
			rc = csf__db_run(st);
		}
	}
	if (!rc && it->last_heartbeat) {
		rc = csf__db_stmt(db, &st, q_heartbeat);
		if (!rc) {
			csf__db_bind_text(st, 1, it->agent_id);
			csf__db_bind_i64(st, 2, it->last_heartbeat);
			csf__db_bind_i64(st, 3, (int64_t)(it->outbox_depth & INT64_MAX));
			csf__db_bind_i64(st, 4, (int64_t)(it->dropped_messages & INT64_MAX));
			rc = csf__db_run(st);
		}
	}
	return rc;
}

/* The committed mark of a stream: the cache, or agent_streams. */
static int committed_of(csf__ingest *in, const char *agent, const char *boot, uint32_t hash, uint64_t *seq)
{
	static const char *const q = "SELECT acked_seq FROM agent_streams WHERE agent_id = $1 AND boot_id = $2";
	mark *e = mark_slot(&in->committed, agent, boot, hash, 0);
	csf__stmt *st;
	int rc;

	if (e) {
		*seq = e->seq;
		return 0;
	}
	rc = csf__db_stmt(in->db, &st, q);
	if (rc)
		return rc;
	csf__db_bind_text(st, 1, agent);
	csf__db_bind_text(st, 2, boot);
	rc = csf__db_step(st);
	if (rc < 0)
		return rc;
	*seq = rc == 1 ? (uint64_t)csf__db_col_i64(st, 0) : 0;
	csf__db_reset(st);
	return 0;
}

typedef struct marks_rows {
	const mark **v;
	int64_t now;
} marks_rows;

static int bind_mark(csf__stmt *st, int p, size_t i, void *ctx)
{
	const marks_rows *mr = ctx;
	int rc = 0;

	rc |= csf__db_bind_text(st, p, mr->v[i]->agent_id);
	rc |= csf__db_bind_text(st, p + 1, mr->v[i]->boot_id);
	rc |= csf__db_bind_i64(st, p + 2, (int64_t)mr->v[i]->seq);
	rc |= csf__db_bind_i64(st, p + 3, mr->now);
	return rc ? csf_error_last()->code : 0;
}

/* The batch's marks: one row per stream. */
static int write_marks(csf__ingest *in, const marks *batch)
{
	marks_rows mr = { in->stream_marks, csf__now_ms() };
	size_t i, n = 0;

	for (i = 0; i < batch->cap; i++)
		if (batch->v[i].used)
			in->stream_marks[n++] = &batch->v[i];
	return write_rows(in->db, &in->marks_sql, n, bind_mark, &mr);
}

/*
 * Write one batch in one transaction. `batch_marks` receives, per stream, the
 * highest seq covered (new or replayed). Returns 0, or the failure (nothing
 * of the batch is then committed).
 */
static int write_batch(csf__ingest *in, csf__ingest_item *items, marks *batch_marks, uint64_t *rows,
		       uint64_t *dups)
{
	csf__ingest_item *it;
	size_t n_metrics = 0, i;
	int rc = csf__db_begin(in->db);

	for (it = items; it && !rc; it = it->next) {
		mark *bm;
		uint64_t done;
		uint32_t hash;

		if (it->kind == CSF__INGEST_STATUS) {
			rc = write_status(in->db, it);
			continue;
		}
		hash = mark_hash(it->agent_id, it->boot_id);
		bm = mark_slot(batch_marks, it->agent_id, it->boot_id, hash, 0);
		if (bm)
			done = bm->seq;
		else if ((rc = committed_of(in, it->agent_id, it->boot_id, hash, &done)) != 0)
			break;
		if (it->seq <= done) {
			(*dups)++;
		} else {
			switch (it->msg->body_case) {
			case CSF__V1__AGENT_MESSAGE__BODY_METRICS:
				in->metrics[n_metrics++] = it; /* written together below */
				break;
			case CSF__V1__AGENT_MESSAGE__BODY_LOGS:
				rc = write_logs(in->db, it);
				break;
			default:
				/* containers and task updates: stored by the task module
				 * (a later issue); acked so the outbox moves on */
				break;
			}
			(*rows)++;
			done = it->seq;
		}
		if (!rc)
			rc = mark_set(batch_marks, it->agent_id, it->boot_id, hash, done);
	}
	if (!rc)
		rc = write_metrics(in, n_metrics);
	if (!rc)
		rc = write_marks(in, batch_marks);
	if (!rc)
		rc = csf__db_commit(in->db);
	if (rc) {
		csf__db_abort(in->db);
		return rc;
	}
	/* after the commit: a rollup that ran before it would not see the rows */
	for (i = 0; i < n_metrics; i++)
		csf__rollup_touch(in->srv, in->metrics[i]->row.ts);
	return 0;
}

static void post_done(csf__ingest *in, const marks *batch_marks, csf__ingest_item *items, csf__ingest_item *last)
{
	size_t i;
	char one = 1;

	pthread_mutex_lock(&in->mu);
	last->next = in->committed_items;
	in->committed_items = items;
	for (i = 0; i < batch_marks->cap; i++) {
		const mark *m = &batch_marks->v[i];
		completion *c;

		if (!m->used || CSF__ARRAY_RESERVE(in->done, in->done_cap, in->done_n + 1))
			continue; /* out of memory: the next ack covers it */
		c = &in->done[in->done_n++];
		memcpy(c->agent_id, m->agent_id, sizeof(c->agent_id));
		memcpy(c->boot_id, m->boot_id, sizeof(c->boot_id));
		c->seq = m->seq;
	}
	pthread_mutex_unlock(&in->mu);
	if (write(in->wake[1], &one, 1) < 0) {
		/* the pipe is full: a wake-up is pending anyway */
	}
}

/* Put a batch back at the front of the queue (it did not commit). */
static void requeue(csf__ingest *in, csf__ingest_item *items, csf__ingest_item *last)
{
	pthread_mutex_lock(&in->mu);
	last->next = in->head;
	in->head = items;
	if (!in->tail)
		in->tail = last;
	pthread_mutex_unlock(&in->mu);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void *writer(void *arg)
{
	csf__ingest *in = arg;
	unsigned backoff = 100;

	for (;;) {
		csf__ingest_item *items, *last;
		marks batch_marks = { NULL, 0, 0 };
		uint64_t rows = 0, dups = 0, t0;
		size_t n = 0, i;
		int rc;

		pthread_mutex_lock(&in->mu);
		while (!in->head && !in->stop)
			pthread_cond_wait(&in->cv, &in->mu);
		if (!in->head) {
			pthread_mutex_unlock(&in->mu);
			break;
		}
		items = last = in->head;
		for (n = 1; last->next && n < BATCH_MAX; n++)
			last = last->next;
		in->head = last->next;
		if (!in->head)
			in->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&in->mu);

		/* sized by mark_set for the batch's streams, not its items */
		t0 = csf__time_mono_ms();
		rc = write_batch(in, items, &batch_marks, &rows, &dups);
		if (rc) {
			__atomic_add_fetch(&in->srv->stats.commit_failures, 1, __ATOMIC_RELAXED);
			csf__log(CSF_LOG_WARN, "server", "ingest: a batch of %zu did not commit (retrying in %u ms): %s", n,
				 backoff, csf_error_last()->message);
			csf__free(batch_marks.v);
			requeue(in, items, last);
			if (in->stop && backoff >= 1600)
				break; /* stopping and the database is gone: agents replay */
			sleep_ms(backoff);
			if (rc == CSF_EIO && csf__db_reconnect(in->db) != 0)
				csf__log(CSF_LOG_WARN, "server", "ingest: reconnect failed: %s", csf_error_last()->message);
			backoff = backoff < 5000 ? backoff * 2 : 5000;
			continue;
		}
		backoff = 100;
		__atomic_add_fetch(&in->srv->stats.rows_committed, rows, __ATOMIC_RELAXED);
		__atomic_add_fetch(&in->srv->stats.duplicates_skipped, dups, __ATOMIC_RELAXED);
		__atomic_add_fetch(&in->srv->stats.batches_committed, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&in->srv->stats.commit_us_total, (csf__time_mono_ms() - t0) * 1000, __ATOMIC_RELAXED);
		for (i = 0; i < batch_marks.cap; i++)
			if (batch_marks.v[i].used)
				mark_set(&in->committed, batch_marks.v[i].agent_id, batch_marks.v[i].boot_id,
					 batch_marks.v[i].hash, batch_marks.v[i].seq);
		/* after the data committed (a snapshot cannot fail the batch), and
		 * before post_done hands the items to the loop to free */
		csf__snapshots_store(in->srv, in->db, items);
		post_done(in, &batch_marks, items, last);
		csf__free(batch_marks.v);
		__atomic_sub_fetch(&in->depth, n, __ATOMIC_RELAXED);
	}
	return NULL;
}

int csf__ingest_start(csf_server *s, csf__ingest **out)
{
	csf__ingest *in = csf__calloc(1, sizeof(*in));
	int rc, i;

	*out = NULL;
	if (!in)
		return CSF_ENOMEM;
	in->srv = s;
	in->wake[0] = in->wake[1] = -1;
	in->copy = (csf__buf)CSF__BUF_INIT(COPY_MAX);
	pthread_mutex_init(&in->mu, NULL);
	pthread_cond_init(&in->cv, NULL);
	rc = multi_sql_build(&in->metrics_sql, &metrics_insert);
	if (!rc)
		rc = multi_sql_build(&in->marks_sql, &marks_upsert);
	if (!rc)
		rc = csf__db_open(&in->db, s->db_url);
	if (!rc && csf__db_kind_of(in->db) == CSF__DB_SQLITE)
		/* a batch of thousands of rows from as many agents touches
		 * thousands of index pages: keep them in memory between batches
		 * (SQLite's default cache is 2 MiB), and let the WAL grow before
		 * it is checkpointed, so a page rewritten by every batch is copied
		 * to the database once per checkpoint rather than once per batch */
		rc = csf__db_exec(in->db, "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384");
	if (!rc && pipe(in->wake) != 0)
		rc = csf__error_set_errno(CSF_EIO, errno, "ingest: pipe");
	if (!rc) {
		for (i = 0; i < 2; i++)
			fcntl(in->wake[i], F_SETFL, fcntl(in->wake[i], F_GETFL) | O_NONBLOCK);
		in->ev = event_new(csf__net_loop_base(s->loop), in->wake[0], EV_READ | EV_PERSIST, on_done, in);
		if (!in->ev || event_add(in->ev, NULL) != 0)
			rc = csf__error_set(CSF_ENOMEM, "ingest: cannot watch the writer");
	}
	if (!rc && pthread_create(&in->thread, NULL, writer, in) != 0)
		rc = csf__error_set(CSF_EIO, "ingest: cannot start the writer thread");
	if (rc) {
		csf__ingest_stop(in);
		return rc;
	}
	in->started = 1;
	*out = in;
	return 0;
}

void csf__ingest_stop(csf__ingest *in)
{
	if (!in)
		return;
	if (in->started) {
		pthread_mutex_lock(&in->mu);
		in->stop = 1;
		pthread_cond_signal(&in->cv);
		pthread_mutex_unlock(&in->mu);
		pthread_join(in->thread, NULL);
	}
	free_items(in->head); /* left when the database was gone */
	free_items(in->committed_items);
	if (in->ev)
		event_free(in->ev);
	if (in->wake[0] >= 0)
		close(in->wake[0]);
	if (in->wake[1] >= 0)
		close(in->wake[1]);
	csf__free(in->done);
	csf__free(in->committed.v);
	csf__db_close(in->db);
	multi_sql_free(&in->metrics_sql);
	multi_sql_free(&in->marks_sql);
	csf__buf_free(&in->copy);
	pthread_mutex_destroy(&in->mu);
	pthread_cond_destroy(&in->cv);
	csf__free(in);
}
