/*
 * The database half of a stream's start, run on a worker (a stream's Hello
 * waits for it, its call paused): who the client certificate says the agent
 * is (ours, current, not revoked), or in insecure-dev who the Hello says;
 * and the highest seq already committed for its boot_id.
 */
#include <string.h>

#include "server/internal.h"

static int identify(csf__db *db, csf__admission *a)
{
	static const char *const q =
		"SELECT c.agent_id, c.organization_id, c.revoked_at, c.expires_at, a.revoked_at "
		"FROM agent_certificates c JOIN agents a ON a.id = c.agent_id WHERE c.serial = $1";
	csf__stmt *st;
	int rc = csf__db_stmt(db, &st, q);

	if (!rc) {
		csf__db_bind_text(st, 1, a->cert_serial);
		rc = csf__db_step(st);
	}
	if (rc < 0) {
		snprintf(a->why, sizeof(a->why), "the server cannot check certificates now");
		return CSF_NET_UNAVAILABLE;
	}
	a->status = CSF_NET_UNAUTHENTICATED;
	if (rc == 0 || strcmp(csf__db_col_text(st, 0), a->cert_cn) != 0) {
		snprintf(a->why, sizeof(a->why), "this certificate was not issued to an agent of this server");
	} else if (!csf__db_col_null(st, 2) || !csf__db_col_null(st, 4)) {
		snprintf(a->why, sizeof(a->why), "this agent's identity was revoked; enroll it again");
	} else if (strcmp(a->hello_agent_id, csf__db_col_text(st, 0)) != 0) {
		a->status = CSF_NET_PERMISSION_DENIED;
		snprintf(a->why, sizeof(a->why), "agent_id does not match the client certificate");
	} else {
		snprintf(a->agent_id, sizeof(a->agent_id), "%s", csf__db_col_text(st, 0));
		snprintf(a->org_id, sizeof(a->org_id), "%s", csf__db_col_text(st, 1));
		a->status = CSF_NET_OK;
	}
	csf__db_reset(st);
	return a->status;
}

/* insecure-dev has no certificates: trust the Hello's agent_id if the agent
 * exists and is not revoked. */
static int identify_insecure(csf__db *db, csf__admission *a)
{
	static const char *const q = "SELECT organization_id, revoked_at FROM agents WHERE id = $1";
	csf__stmt *st;
	int rc = csf__db_stmt(db, &st, q);

	if (!rc) {
		csf__db_bind_text(st, 1, a->hello_agent_id);
		rc = csf__db_step(st);
	}
	if (rc <= 0 || !csf__db_col_null(st, 1)) {
		snprintf(a->why, sizeof(a->why), rc < 0 ? "the server cannot check agents now" : "unknown or revoked agent");
		if (rc >= 0)
			csf__db_reset(st);
		return rc < 0 ? CSF_NET_UNAVAILABLE : CSF_NET_UNAUTHENTICATED;
	}
	snprintf(a->agent_id, sizeof(a->agent_id), "%s", a->hello_agent_id);
	snprintf(a->org_id, sizeof(a->org_id), "%s", csf__db_col_text(st, 0));
	csf__db_reset(st);
	return CSF_NET_OK;
}

static uint64_t committed_seq(csf__db *db, const char *agent_id, const char *boot_id)
{
	static const char *const q = "SELECT acked_seq FROM agent_streams WHERE agent_id = $1 AND boot_id = $2";
	csf__stmt *st;
	uint64_t seq;

	if (csf__db_stmt(db, &st, q) != 0)
		return 0; /* the agent then replays what it holds: ingest drops what is stored */
	csf__db_bind_text(st, 1, agent_id);
	csf__db_bind_text(st, 2, boot_id);
	seq = csf__db_step(st) == 1 ? (uint64_t)csf__db_col_i64(st, 0) : 0;
	csf__db_reset(st);
	return seq;
}

void csf__admit(csf__db *db, csf__admission *a)
{
	a->status = a->insecure ? identify_insecure(db, a) : identify(db, a);
	if (a->status == CSF_NET_OK)
		a->acked_seq = committed_seq(db, a->agent_id, a->boot_id);
}
