/*
 * Private pieces of the agent module: the identity in the state directory,
 * the on-disk outbox, the status file and the session with the server.
 */
#ifndef CSF_AGENT_INTERNAL_H
#define CSF_AGENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "csf/agent.h"
#include "csf/net.h"
#include "proto/envelope.h"

#define CSF__AGENT_ID_MAX 129
#define CSF__AGENT_URL_MAX 1024

/* What identity.conf holds, plus the certificate's validity. */
typedef struct csf__identity {
	char agent_id[CSF__AGENT_ID_MAX];
	char org_id[CSF__AGENT_ID_MAX];
	char server_url[CSF__AGENT_URL_MAX];
	char ca_sha256[65];
	char name[256];
	int64_t cert_not_before;  /* Unix seconds, from agent.crt */
	int64_t cert_expires_at;
} csf__identity;

/*
 * Load DIR/identity.conf and the validity of DIR/agent.crt. A renewal cut
 * short by a crash (agent.key.next / agent.crt.next left behind, both whole)
 * is finished first. CSF_ENOTFOUND when DIR holds no identity; CSF_EPARSE
 * (names the file and line) when a file is damaged; CSF_EIO.
 */
int csf__identity_load(csf__identity *id, const char *dir);

/* The same for identity.conf's text in memory (`name` is used in messages);
 * no certificate is read. CSF_EPARSE when it is not a whole identity. */
int csf__identity_parse(csf__identity *id, const char *text, size_t len, const char *name);

/* Write identity.conf (0600, atomically). */
int csf__identity_write(const csf__identity *id, const char *dir);

/*
 * Store a key and its certificate (DER) with the CA chain (DER each):
 * agent.key 0600, agent.crt and ca.crt 0644. `renewal`: both new files are
 * written whole as *.next first and then renamed, so a crash leaves either
 * the old pair or (after csf__identity_load finishes it) the new one.
 * `*not_before`/`*expires_at` (may be NULL) get the certificate's validity.
 */
int csf__identity_store_cert(const char *dir, const char *key_pem, const uint8_t *cert_der, size_t cert_len,
			     const uint8_t *const *chain, const size_t *chain_len, size_t chain_n, int renewal,
			     int64_t *not_before, int64_t *expires_at);

/* HostFacts from a snapshot's host part, with this host's machine id and
 * addresses (loopback and link-local left out), in `arena`. */
int csf__agent_host_facts(Csf__V1__HostFacts **out, csf__arena *arena, const csf_snapshot *snap);

/* The capabilities this agent announces. */
extern const char *const csf__agent_capabilities[];
extern const size_t csf__agent_capabilities_n;

/* ---------------------------------------------------------------- outbox */

typedef struct csf__outbox csf__outbox;

typedef struct csf__outbox_stats {
	char boot_id[37];          /* a UUID (v4) */
	uint64_t next_seq;         /* the seq the next message gets */
	uint64_t last_acked_seq;
	uint64_t depth;            /* messages held */
	uint64_t bytes;            /* their payload bytes */
	uint64_t dropped;          /* dropped to stay inside the caps, since created */
	int64_t last_ack_ms;       /* wall clock of the last ack, 0: none */
} csf__outbox_stats;

/*
 * Open (or create) the outbox at `path` (SQLite, WAL). A file that is not a
 * database, or whose tables are damaged, is moved aside to PATH.corrupt and
 * a new outbox (a new boot_id, seq from 1) takes its place; `*was_reset`
 * (may be NULL) says so. Caps: `max_bytes` of payload and `max_age_ms`
 * (0: none). Errors: CSF_EIO, CSF_ENOMEM.
 */
int csf__outbox_open(csf__outbox **out, const char *path, uint64_t max_bytes, uint64_t max_age_ms,
		     int *was_reset);
void csf__outbox_set_caps(csf__outbox *ob, uint64_t max_bytes, uint64_t max_age_ms);
void csf__outbox_close(csf__outbox *ob);

/* The seq the next csf__outbox_put must use. */
uint64_t csf__outbox_next_seq(const csf__outbox *ob);

/*
 * Store message `seq` (= csf__outbox_next_seq) made at `created_ms`, then
 * drop the oldest messages while the outbox is over its caps (by bytes, or
 * older than the age cap at `created_ms`), counting them; one transaction.
 * A message bigger than max_bytes alone is dropped at once (counted).
 * Errors: CSF_EINVALID (wrong seq), CSF_EIO.
 */
int csf__outbox_put(csf__outbox *ob, uint64_t seq, const void *data, size_t len, int64_t created_ms);

/* Everything up to `seq` was committed by the server: delete it. */
int csf__outbox_ack(csf__outbox *ob, uint64_t seq, int64_t now_ms);

/* Apply the age cap now (also done by every put). */
int csf__outbox_expire(csf__outbox *ob, int64_t now_ms);

/* Call `cb` for the messages with seq > `after`, in seq order, at most
 * `limit` of them; a non-zero return from `cb` stops and is returned. */
typedef int (*csf__outbox_cb)(uint64_t seq, const void *data, size_t len, int64_t created_ms, void *payload);
int csf__outbox_each(csf__outbox *ob, uint64_t after, size_t limit, csf__outbox_cb cb, void *payload);

void csf__outbox_stats_get(const csf__outbox *ob, csf__outbox_stats *out);

/* --------------------------------------------------------------- status */

/* What `csf-agent status` shows; the daemon rewrites DIR/status. */
typedef struct csf__agent_status {
	const char *state;         /* "connecting", "connected", "backoff", "stopped" */
	const char *server_url;
	const char *transport;     /* "grpc", "websocket" or "" */
	const char *agent_id;
	const char *boot_id;
	const char *last_error;    /* "" when none */
	uint64_t last_acked_seq;
	int64_t last_ack_ms;
	uint64_t outbox_depth;
	uint64_t outbox_bytes;
	uint64_t dropped;
	int64_t cert_expires_at;
	int64_t connected_since_ms;
} csf__agent_status;

int csf__agent_status_write(const char *dir, const csf__agent_status *st);

/* -------------------------------------------------------------- runtime */

typedef enum csf__conn_state {
	CSF__AGENT_IDLE = 0,       /* no stream; waiting for the reconnect timer */
	CSF__AGENT_CONNECTING,     /* Hello sent, no Welcome yet */
	CSF__AGENT_CONNECTED       /* Welcome received: data flows */
} csf__conn_state;

struct csf_agent {
	csf_agent_options o;        /* strings below are copies */
	char *state_dir;
	char *server_url;
	csf__identity id;
	csf__outbox *ob;
	csf_collector *collector;
	csf_net_loop *loop;
	csf_net_timer *collect_timer, *heartbeat_timer, *reconnect_timer, *renew_timer, *status_timer;
	int lock_fd;
	uint64_t next_collect_ms;   /* monotonic */
	uint32_t interval_s;        /* in effect: the option, else the server's, else 10 */
	uint32_t heartbeat_s;
	/* the session */
	csf_net_channel *ch;
	csf_net_call *call;
	csf__conn_state state;
	uint64_t sent_seq;          /* the highest seq handed to this stream */
	unsigned attempt;           /* reconnects since the last Welcome */
	uint32_t reconnect_after_ms; /* from a GoAway, 0: backoff */
	int64_t connected_since_ms;
	char transport[16];
	char last_error[256];
	/* renewal */
	char *renew_key_pem;        /* the key of the CSR in flight */
	int renew_due;
	/* stop and reload */
	volatile int stop_requested;
	volatile int reload_requested;
	int fatal;                  /* run returns this (CSF_EAUTH, CSF_EIO) */
	char fatal_msg[512];
	csf_agent_reload_cb reload_cb;
	void *reload_payload;
	int status_dirty;
	csf__arena host_arena;      /* HostFacts for every Hello */
	Csf__V1__HostFacts *host;
};

/* session.c: open a stream (a new channel each time, so a renewed
 * certificate is used), and what the agent sends on it. */
void csf__agent_connect(csf_agent *a);
void csf__agent_disconnect(csf_agent *a);
/* Send what the window allows from the outbox. */
void csf__agent_pump(csf_agent *a);
void csf__agent_send_heartbeat(csf_agent *a);
void csf__agent_request_renewal(csf_agent *a);
/* The agent cannot go on (revoked identity, dead outbox): run returns `rc`. */
void csf__agent_fail(csf_agent *a, int rc, const char *fmt, ...) CSF__PRINTF(3, 4);
/* Write the status file now. */
void csf__agent_write_status(csf_agent *a);
/* run.c: arm the renewal timer from the certificate in use. */
void csf__agent_schedule_renewal(csf_agent *a);
/* run.c: the server's AgentSettings (0 keeps ours; options set locally win). */
void csf__agent_apply_settings(csf_agent *a, const Csf__V1__AgentSettings *s);

#endif
