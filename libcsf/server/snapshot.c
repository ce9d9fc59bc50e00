/*
 * agent_snapshots, the writer's side: each agent's newest metrics message
 * as the agent sent it (filesystems, interfaces, top processes: what the
 * metrics rows do not keep). The loop attaches a message's bytes to its item
 * at most every few seconds per agent (session.c); after the batch holding
 * it committed, the writer upserts them here in a transaction of their own,
 * so the data and its marks never fail with a snapshot; the batch's acks go
 * out after this short transaction (the loop frees the items once acked).
 */
#include "server/internal.h"

/* Only a newer sample replaces the row: a replayed outbox sends older ones. */
static const char upsert[] =
	"INSERT INTO agent_snapshots (agent_id, organization_id, \"timestamp\", message) VALUES ($1, $2, $3, $4) "
	"ON CONFLICT (agent_id) DO UPDATE SET organization_id = excluded.organization_id, "
	"\"timestamp\" = excluded.\"timestamp\", message = excluded.message "
	"WHERE agent_snapshots.\"timestamp\" <= excluded.\"timestamp\"";

static int store_one(csf__db *db, const csf__ingest_item *it, uint64_t *written)
{
	csf__stmt *st;
	int rc = csf__db_stmt(db, &st, upsert);

	if (rc)
		return rc;
	if (csf__db_bind_text(st, 1, it->agent_id) || csf__db_bind_text(st, 2, it->org_id) ||
	    csf__db_bind_i64(st, 3, it->row.ts) ||
	    csf__db_bind_blob(st, 4, it->snapshot, it->snapshot_len))
		return csf_error_last()->code;
	rc = csf__db_run(st);
	if (!rc)
		*written += (uint64_t)csf__db_changes(st);
	return rc;
}

void csf__snapshots_store(csf_server *s, csf__db *db, const csf__ingest_item *items)
{
	const csf__ingest_item *it;
	uint64_t written = 0, tried = 0;
	int rc = 0;

	for (it = items; it && !tried; it = it->next)
		tried = it->snapshot != NULL;
	if (!tried)
		return;
	rc = csf__db_begin(db);
	for (it = items; it && !rc; it = it->next)
		if (it->snapshot)
			rc = store_one(db, it, &written);
	if (!rc)
		rc = csf__db_commit(db);
	if (rc) {
		csf__db_abort(db);
		__atomic_add_fetch(&s->stats.snapshot_failures, 1, __ATOMIC_RELAXED);
		/* the metrics rows committed; the next snapshot (within seconds
		 * while the agent streams) replaces this one */
		csf__log(CSF_LOG_WARN, "server", "ingest: agent snapshots not stored: %s", csf_error_last()->message);
		return;
	}
	__atomic_add_fetch(&s->stats.snapshots_written, written, __ATOMIC_RELAXED);
}
