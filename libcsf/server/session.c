/*
 * StreamMetrics: an agent's session. The client certificate names the agent;
 * the stream starts with Hello (answered with Welcome and the highest seq
 * already committed for its boot_id); data messages go to the writer and are
 * acked once committed; heartbeats keep the agent online; three missed
 * heartbeat intervals, a closed stream or a revocation take it offline.
 * One session per agent: a newer stream replaces an older one.
 */
#include <string.h>

#include "server/internal.h"

#define BUCKETS 16384
/* An agent message's arena: what ingest keeps of a metrics message, its
 * ingest item included, is about 1.2 KiB (a Hello or a log batch, decoded
 * whole, takes more chunks). */
#define MESSAGE_ARENA 2048
/* Pause streams while this many items wait for the writer; resume below half. */
#define INGEST_HIGH 50000
/* An agent's snapshot (agent_snapshots) is written at most this often,
 * and with the first metrics message of each stream. */
#define SNAPSHOT_EVERY_MS 10000

struct csf__session {
	csf_server *srv;
	csf_net_call *call;
	csf__session *next;           /* bucket chain */
	char agent_id[CSF__ID_LEN];   /* from the certificate (or Hello in insecure-dev) */
	char org_id[CSF__ID_LEN];
	char boot_id[CSF__BOOT_ID_MAX];
	char session_id[CSF__ID_LEN];
	char ip[64];
	char agent_version[64];
	uint64_t last_seen_ms;        /* monotonic */
	uint64_t snapshot_ms;         /* monotonic: when the last snapshot was queued, 0: none yet */
	int64_t heartbeat_due;        /* wall ms of the last heartbeat not yet written, 0: none */
	int64_t heartbeat_written;
	uint64_t acked_seq;
	uint64_t outbox_depth, dropped_messages; /* the agent's, from Hello and heartbeats */
	unsigned hello : 1, registered : 1, paused : 1;
	/* admitting: its Hello is on a worker (admit.c), the call paused;
	 * held: messages that arrived meanwhile, each as a 4-byte length and
	 * its bytes; gone: the call ended meanwhile (whoever holds the session
	 * then frees it) */
	unsigned admitting : 1, replaying : 1, gone : 1, half_closed : 1;
	csf__buf held;
};

#define HELD_MAX (4u << 20)

static unsigned bucket_of(const char *agent_id)
{
	uint32_t h = 2166136261u;

	for (; *agent_id; agent_id++)
		h = (h ^ (unsigned char)*agent_id) * 16777619u;
	return h % BUCKETS;
}

csf__session *csf__session_find(csf_server *s, const char *agent_id)
{
	csf__session *x;

	if (!s->sessions)
		return NULL;
	for (x = s->sessions[bucket_of(agent_id)]; x; x = x->next)
		if (strcmp(x->agent_id, agent_id) == 0)
			return x;
	return NULL;
}

static void unregister(csf__session *x)
{
	csf_server *s = x->srv;
	csf__session **p;

	if (!x->registered)
		return;
	for (p = &s->sessions[bucket_of(x->agent_id)]; *p; p = &(*p)->next) {
		if (*p == x) {
			*p = x->next;
			break;
		}
	}
	x->registered = 0;
	s->sessions_n--;
}

static int register_session(csf__session *x)
{
	csf_server *s = x->srv;
	csf__session *old;
	unsigned b;

	if (!s->sessions) {
		s->sessions = csf__calloc(BUCKETS, sizeof(*s->sessions));
		if (!s->sessions)
			return CSF_ENOMEM;
	}
	old = csf__session_find(s, x->agent_id);
	if (old) {
		/* a reconnect raced the old stream's end: the newer one wins */
		unregister(old);
		csf_net_call_finish(old->call, CSF_NET_UNAVAILABLE, "replaced by a newer stream from the same agent");
	}
	b = bucket_of(x->agent_id);
	x->next = s->sessions[b];
	s->sessions[b] = x;
	x->registered = 1;
	s->sessions_n++;
	return 0;
}

size_t csf__sessions_online(const csf_server *s)
{
	return s->sessions_n;
}

/* --------------------------------------------------------------- output */

static int send_server_message(csf__session *x, Csf__V1__ServerMessage *m)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = csf__pb_pack(&buf, &len, &m->base);

	if (!rc)
		rc = csf_net_call_send(x->call, buf, len);
	csf__free(buf);
	return rc;
}

static void settings_of(const csf_server *s, Csf__V1__AgentSettings *st)
{
	st->collect_interval_seconds = s->o.collect_interval_s;
	st->heartbeat_interval_seconds = s->o.heartbeat_interval_s;
	st->max_message_bytes = CSF__NET_DEFAULT_MAX_MESSAGE;
}

void csf__session_acked(csf_server *s, const char *agent_id, const char *boot_id, uint64_t seq)
{
	csf__session *x = csf__session_find(s, agent_id);
	Csf__V1__ServerMessage m = CSF__V1__SERVER_MESSAGE__INIT;
	Csf__V1__Ack ack = CSF__V1__ACK__INIT;

	if (!x || !x->hello || strcmp(x->boot_id, boot_id) != 0 || seq <= x->acked_seq)
		return;
	x->acked_seq = seq;
	ack.seq = seq;
	ack.boot_id = x->boot_id;
	m.body_case = CSF__V1__SERVER_MESSAGE__BODY_ACK;
	m.ack = &ack;
	/* a full send queue only delays this ack: the next one covers it */
	send_server_message(x, &m);
}

void csf__session_revoke(csf_server *s, const char *agent_id)
{
	csf__session *x = csf__session_find(s, agent_id);
	Csf__V1__ServerMessage m = CSF__V1__SERVER_MESSAGE__INIT;
	Csf__V1__GoAway g = CSF__V1__GO_AWAY__INIT;

	if (!x)
		return;
	g.reason = "this agent's identity was revoked; enroll it again";
	g.revoked = 1;
	m.body_case = CSF__V1__SERVER_MESSAGE__BODY_GO_AWAY;
	m.go_away = &g;
	send_server_message(x, &m);
	unregister(x);
	csf_net_call_finish(x->call, CSF_NET_UNAUTHENTICATED, "this agent's identity was revoked");
}

/* ---------------------------------------------------------------- input */

/* An item in `arena` (taken over; NULL: its own). */
static csf__ingest_item *new_item(const csf__session *x, csf__ingest_kind kind, csf__arena *arena)
{
	csf__ingest_item *it = csf__ingest_item_new(arena);

	if (!it)
		return NULL;
	it->kind = kind;
	memcpy(it->agent_id, x->agent_id, sizeof(it->agent_id));
	memcpy(it->org_id, x->org_id, sizeof(it->org_id));
	memcpy(it->boot_id, x->boot_id, sizeof(it->boot_id));
	it->received_ms = csf__now_ms();
	return it;
}

/* Status, heartbeat and host facts go through the writer like data. A
 * Hello comes with the arena it was decoded into, which the item takes. */
static int push_status(csf__session *x, const char *status, int64_t heartbeat, Csf__V1__AgentMessage *hello,
		       csf__arena *arena)
{
	csf__ingest_item *it = new_item(x, CSF__INGEST_STATUS, arena);

	if (!it)
		return CSF_ENOMEM;
	it->status = status;
	it->last_heartbeat = heartbeat;
	it->outbox_depth = x->outbox_depth;
	it->dropped_messages = x->dropped_messages;
	if (hello) {
		it->msg = hello;
		it->host = hello->hello->host;
	}
	snprintf(it->agent_version, sizeof(it->agent_version), "%s", x->agent_version);
	snprintf(it->ip_address, sizeof(it->ip_address), "%s", x->ip);
	return csf__ingest_push(x->srv->ingest, it);
}

/* The Hello was admitted (a->status OK): register, Welcome, online. Takes
 * what `arena` (holding m) holds when it pushes the Hello. */
static int welcome(csf__session *x, const csf__admission *a, Csf__V1__AgentMessage *m, csf__arena *arena)
{
	csf_server *s = x->srv;
	Csf__V1__ServerMessage out = CSF__V1__SERVER_MESSAGE__INIT;
	Csf__V1__Welcome w = CSF__V1__WELCOME__INIT;
	Csf__V1__AgentSettings st = CSF__V1__AGENT_SETTINGS__INIT;

	memcpy(x->agent_id, a->agent_id, sizeof(x->agent_id));
	memcpy(x->org_id, a->org_id, sizeof(x->org_id));
	snprintf(x->boot_id, sizeof(x->boot_id), "%s", m->boot_id);
	snprintf(x->agent_version, sizeof(x->agent_version), "%s", m->hello->agent_version);
	x->outbox_depth = m->hello->outbox_depth;
	x->dropped_messages = m->hello->dropped_messages;
	if (register_session(x) != 0 || csf__random_id(x->session_id) != 0)
		return csf_net_call_finish(x->call, CSF_NET_INTERNAL, "out of memory"), 0;
	x->hello = 1;
	x->acked_seq = a->acked_seq;
	settings_of(s, &st);
	w.session_id = x->session_id;
	w.server_time_ms = csf__now_ms();
	w.acked_seq = x->acked_seq;
	w.settings = &st;
	out.body_case = CSF__V1__SERVER_MESSAGE__BODY_WELCOME;
	out.welcome = &w;
	send_server_message(x, &out);
	x->heartbeat_written = csf__now_ms();
	csf__feed_agent_status(s, x->org_id, x->agent_id, "online");
	csf__log(CSF_LOG_INFO, "server", "agent %s online from %s (boot %s, acked %llu)", x->agent_id, x->ip,
		 x->boot_id, (unsigned long long)x->acked_seq);
	return push_status(x, "online", x->heartbeat_written, m, arena);
}

static int on_renewal(csf__session *x, const Csf__V1__AgentMessage *m)
{
	static const char *const q =
		"INSERT INTO agent_certificates (serial, agent_id, organization_id, sha256, issued_at, expires_at) "
		"VALUES ($1, $2, $3, $4, $5, $6)";
	csf_server *s = x->srv;
	Csf__V1__ServerMessage out = CSF__V1__SERVER_MESSAGE__INIT;
	Csf__V1__RenewedCertificate rc_msg = CSF__V1__RENEWED_CERTIFICATE__INIT;
	ProtobufCBinaryData chain[1];
	uint8_t *cert = NULL, *ca_der = NULL;
	size_t cert_len = 0, ca_len = 0;
	char serial[65], sha[65];
	int64_t not_after = 0;
	csf__stmt *st;
	int rc;

	rc = csf__ca_sign_csr(&s->ca, m->renew_certificate->csr_der.data, m->renew_certificate->csr_der.len,
			      x->agent_id, x->org_id, (int64_t)s->o.cert_lifetime_s, &cert, &cert_len, serial, &not_after);
	if (rc == CSF_EPARSE) {
		csf_net_call_finish(x->call, CSF_NET_INVALID_ARGUMENT, csf_error_last()->message);
		return 0;
	}
	if (!rc)
		rc = csf__db_stmt(s->db, &st, q);
	if (!rc) {
		csf__sha256_hex(cert, cert_len, sha);
		csf__db_bind_text(st, 1, serial);
		csf__db_bind_text(st, 2, x->agent_id);
		csf__db_bind_text(st, 3, x->org_id);
		csf__db_bind_text(st, 4, sha);
		csf__db_bind_i64(st, 5, csf__now_ms());
		csf__db_bind_i64(st, 6, not_after * 1000);
		rc = csf__db_run(st);
	}
	if (!rc)
		rc = csf__ca_cert_der(&s->ca, &ca_der, &ca_len);
	if (!rc) {
		chain[0].data = ca_der;
		chain[0].len = ca_len;
		rc_msg.certificate_der.data = cert;
		rc_msg.certificate_der.len = cert_len;
		rc_msg.n_ca_chain_der = 1;
		rc_msg.ca_chain_der = chain;
		rc_msg.expires_at = not_after;
		out.body_case = CSF__V1__SERVER_MESSAGE__BODY_CERTIFICATE;
		out.certificate = &rc_msg;
		rc = send_server_message(x, &out);
	}
	if (rc)
		csf__log(CSF_LOG_WARN, "server", "agent %s: certificate renewal failed: %s", x->agent_id,
			 csf_error_last()->message);
	else
		csf__log(CSF_LOG_INFO, "server", "agent %s: certificate renewed until %lld", x->agent_id,
			 (long long)not_after);
	csf__free(cert);
	csf__free(ca_der);
	return 0;
}

/* Queues m, taking `arena` (which holds it); `data` are its bytes. */
static int on_data(csf__session *x, Csf__V1__AgentMessage *m, csf__arena *arena, const uint8_t *data, size_t len)
{
	csf__ingest_item *it;

	if (strcmp(m->agent_id, x->agent_id) != 0)
		return csf_net_call_finish(x->call, CSF_NET_PERMISSION_DENIED, "agent_id does not match the stream's agent"), 0;
	if (strcmp(m->boot_id, x->boot_id) != 0)
		return csf_net_call_finish(x->call, CSF_NET_FAILED_PRECONDITION,
					   "boot_id changed within a stream; start a new stream with Hello"), 0;
	if (m->body_case == CSF__V1__AGENT_MESSAGE__BODY_METRICS)
		csf__feed_agent_metrics(x->srv, x->org_id, x->agent_id, m->metrics);
	it = new_item(x, CSF__INGEST_MESSAGE, arena);
	if (!it)
		return csf_net_call_finish(x->call, CSF_NET_RESOURCE_EXHAUSTED, "out of memory"), 0;
	it->seq = m->seq;
	it->msg = m;
	if (m->body_case == CSF__V1__AGENT_MESSAGE__BODY_METRICS &&
	    (!x->snapshot_ms || x->last_seen_ms - x->snapshot_ms >= SNAPSHOT_EVERY_MS)) {
		/* the bytes as they came: a copy, no encoding on the loop thread */
		uint8_t *copy = csf__arena_alloc(&it->arena, len);

		if (copy) {
			memcpy(copy, data, len);
			it->snapshot = copy;
			it->snapshot_len = len;
			x->snapshot_ms = x->last_seen_ms;
		}
	}
	csf__ingest_push(x->srv->ingest, it);
	if (csf__ingest_depth(x->srv->ingest) > INGEST_HIGH && !x->paused) {
		/* backpressure: stop reading until the writer catches up */
		x->paused = 1;
		csf_net_call_pause(x->call, 1);
	}
	return 0;
}

static int stream_start(csf_net_call *call, void *payload)
{
	csf_server *s = payload;
	const csf_net_peer *peer = csf_net_call_peer(call);
	csf__session *x;

	if (s->stopping)
		return CSF_NET_UNAVAILABLE;
	if (!s->o.insecure_dev && !peer->cert_serial) {
		csf__log(CSF_LOG_INFO, "server", "stream from %s refused: no client certificate", peer->address);
		csf_net_call_finish(call, CSF_NET_UNAUTHENTICATED, "a client certificate is needed");
		return CSF_NET_UNAUTHENTICATED;
	}
	x = csf__calloc(1, sizeof(*x));
	if (!x)
		return CSF_NET_RESOURCE_EXHAUSTED;
	x->srv = s;
	x->call = call;
	x->last_seen_ms = csf__time_mono_ms();
	x->held = (csf__buf)CSF__BUF_INIT(HELD_MAX);
	snprintf(x->ip, sizeof(x->ip), "%s", peer->address);
	csf_net_call_set_user_data(call, x);
	return CSF_NET_OK;
}

static void session_free(csf__session *x)
{
	csf__buf_free(&x->held);
	csf__free(x);
}

/* A stream's Hello on its way through a worker (admit.c). */
typedef struct admission_job {
	csf__pool_job base;
	csf__session *x;
	Csf__V1__AgentMessage *hello; /* in arena */
	csf__arena arena;
	csf__admission a;
} admission_job;

static int stream_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload);

static void admission_run(csf__pool_job *base, void *worker)
{
	csf__admit(worker, &((admission_job *)base)->a);
}

/* The messages that came while the Hello was on a worker, in order. */
static void replay_held(csf__session *x)
{
	csf__buf held = x->held;
	size_t off = 0;

	x->held = (csf__buf)CSF__BUF_INIT(HELD_MAX);
	x->replaying = 1;
	while (off + 4 <= held.len && !x->gone) {
		uint32_t n;

		memcpy(&n, held.ptr + off, 4);
		stream_message(x->call, (const unsigned char *)held.ptr + off + 4, n, x->srv);
		off += 4 + (size_t)n;
	}
	x->replaying = 0;
	csf__buf_free(&held);
}

/* On the loop: Welcome (or the refusal), then what waited, then reading again. */
static void admission_finish(csf__pool_job *base, int dropped)
{
	admission_job *j = (admission_job *)base;
	csf__session *x = j->x;

	x->admitting = 0;
	if (dropped || x->gone) {
		if (x->gone)
			session_free(x);
	} else if (j->a.status != CSF_NET_OK) {
		csf__log(CSF_LOG_INFO, "server", "stream from %s refused: %s", x->ip, j->a.why);
		csf_net_call_finish(x->call, j->a.status, j->a.why);
	} else {
		welcome(x, &j->a, j->hello, &j->arena);
		replay_held(x);
		if (x->gone)
			session_free(x);
		else if (x->half_closed)
			csf_net_call_finish(x->call, CSF_NET_OK, NULL);
		else if (!x->paused)
			csf_net_call_pause(x->call, 0);
	}
	csf__arena_free(&j->arena);
	csf__free(j);
}

/* Hand the Hello (and `arena`, which holds it) to a worker; the call reads
 * nothing more until it is back. */
static int admit(csf__session *x, Csf__V1__AgentMessage *m, csf__arena *arena)
{
	csf_server *s = x->srv;
	const csf_net_peer *peer = csf_net_call_peer(x->call);
	admission_job *j;

	if (strlen(m->agent_id) >= CSF__ID_LEN || strlen(m->boot_id) >= CSF__BOOT_ID_MAX)
		return csf_net_call_finish(x->call, CSF_NET_INVALID_ARGUMENT, "agent_id or boot_id is too long"), 0;
	j = csf__calloc(1, sizeof(*j));
	if (!j)
		return csf_net_call_finish(x->call, CSF_NET_RESOURCE_EXHAUSTED, "out of memory"), 0;
	j->base.run = admission_run;
	j->base.finish = admission_finish;
	j->x = x;
	j->hello = m;
	j->arena = *arena;
	csf__arena_init(arena, 0);
	j->a.insecure = s->o.insecure_dev;
	snprintf(j->a.cert_serial, sizeof(j->a.cert_serial), "%s", peer->cert_serial ? peer->cert_serial : "");
	snprintf(j->a.cert_cn, sizeof(j->a.cert_cn), "%s", peer->cert_subject_cn ? peer->cert_subject_cn : "");
	snprintf(j->a.hello_agent_id, sizeof(j->a.hello_agent_id), "%s", m->agent_id);
	snprintf(j->a.boot_id, sizeof(j->a.boot_id), "%s", m->boot_id);
	x->admitting = 1;
	csf_net_call_pause(x->call, 1);
	csf__net_server_submit(s->http, &j->base);
	return 0;
}

/* A message that came while the Hello was on a worker: kept, in order. */
static int hold(csf__session *x, const unsigned char *data, size_t len)
{
	uint32_t n = (uint32_t)len;

	if (csf__buf_put(&x->held, (const char *)&n, 4) != 0 || csf__buf_put(&x->held, (const char *)data, len) != 0)
		csf_net_call_finish(x->call, CSF_NET_RESOURCE_EXHAUSTED, "too much sent before the Welcome");
	return 0;
}

/* The message is decoded into an arena that the item queued for the writer
 * takes over; what is not queued is freed with the arena here. */
static int stream_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	csf__session *x = csf_net_call_user_data(call);
	Csf__V1__AgentMessage *m = NULL;
	csf__arena arena;
	int rc = 0;

	(void)payload;
	if (x->admitting)
		return hold(x, data, len);
	__atomic_add_fetch(&x->srv->stats.messages_received, 1, __ATOMIC_RELAXED);
	csf__arena_init(&arena, MESSAGE_ARENA);
	if (csf__pb_agent_message_decode_ingest(&m, &arena, data, len) != 0) {
		csf_net_call_finish(call, CSF_NET_INVALID_ARGUMENT, csf_error_last()->message);
		csf__arena_free(&arena);
		return 0;
	}
	x->last_seen_ms = csf__time_mono_ms();
	if (!x->hello) {
		if (m->body_case != CSF__V1__AGENT_MESSAGE__BODY_HELLO)
			csf_net_call_finish(call, CSF_NET_FAILED_PRECONDITION, "a stream starts with Hello");
		else
			rc = admit(x, m, &arena);
		csf__arena_free(&arena);
		return rc;
	}
	switch (m->body_case) {
	case CSF__V1__AGENT_MESSAGE__BODY_HEARTBEAT:
		x->heartbeat_due = csf__now_ms();
		x->outbox_depth = m->heartbeat->outbox_depth;
		x->dropped_messages = m->heartbeat->dropped_messages;
		break;
	case CSF__V1__AGENT_MESSAGE__BODY_RENEW_CERTIFICATE:
		on_renewal(x, m);
		break;
	case CSF__V1__AGENT_MESSAGE__BODY_HELLO:
		csf_net_call_finish(call, CSF_NET_FAILED_PRECONDITION, "Hello is the first message of a stream only");
		break;
	default:
		rc = on_data(x, m, &arena, data, len);
		break;
	}
	csf__arena_free(&arena);
	return rc;
}

static void stream_half_close(csf_net_call *call, void *payload)
{
	csf__session *x = csf_net_call_user_data(call);

	(void)payload;
	if (x && (x->admitting || x->replaying)) {
		x->half_closed = 1; /* after what is held */
		return;
	}
	csf_net_call_finish(call, CSF_NET_OK, NULL);
}

static void stream_end(csf_net_call *call, int status, const char *message, void *payload)
{
	csf__session *x = csf_net_call_user_data(call);
	csf_server *s = payload;

	if (!x)
		return;
	if (x->registered) {
		/* still the agent's current stream: it goes offline */
		unregister(x);
		if (!s->stopping || s->ingest) {
			push_status(x, "offline", x->heartbeat_due ? x->heartbeat_due : 0, NULL, NULL);
			csf__feed_agent_status(s, x->org_id, x->agent_id, "offline");
		}
		csf__log(CSF_LOG_INFO, "server", "agent %s offline: %s%s%s", x->agent_id, csf_net_status_name(status),
			 message && *message ? ": " : "", message ? message : "");
	}
	csf_net_call_set_user_data(call, NULL);
	if (x->admitting || x->replaying)
		x->gone = 1; /* the admission or the replay frees it */
	else
		session_free(x);
}

int csf__sessions_register(csf_server *s)
{
	static const csf_net_call_handlers h = { stream_start, stream_message, stream_half_close, NULL, stream_end };
	unsigned flags = s->o.insecure_dev ? 0 : CSF_NET_METHOD_CLIENT_CERT;
	int rc = csf_net_server_add_method(s->agents, "/csf.v1.AgentService/StreamMetrics", flags, &h, s);

	if (!rc)
		rc = csf_net_server_add_websocket(s->agents, "/api/v1/agent/ws", "csf.v1",
						  "/csf.v1.AgentService/StreamMetrics");
	return rc;
}

void csf__sessions_tick(csf_server *s, uint64_t now_ms)
{
	uint64_t limit = 3ull * s->o.heartbeat_interval_s * 1000;
	int64_t wall = csf__now_ms();
	int resume = csf__ingest_depth(s->ingest) < INGEST_HIGH / 2;
	size_t b;

	if (!s->sessions)
		return;
	for (b = 0; b < BUCKETS; b++) {
		csf__session *x = s->sessions[b], *next;

		for (; x; x = next) {
			next = x->next;
			if (now_ms - x->last_seen_ms > limit) {
				char why[80];

				snprintf(why, sizeof(why), "no heartbeat for %llu s",
					 (unsigned long long)((now_ms - x->last_seen_ms) / 1000));
				csf_net_call_finish(x->call, CSF_NET_UNAVAILABLE, why);
				continue;
			}
			if (x->heartbeat_due &&
			    wall - x->heartbeat_written >= (int64_t)s->o.heartbeat_interval_s * 1000) {
				x->heartbeat_written = x->heartbeat_due;
				push_status(x, NULL, x->heartbeat_due, NULL, NULL);
				x->heartbeat_due = 0;
			}
			if (x->paused && resume) {
				x->paused = 0;
				csf_net_call_pause(x->call, 0);
			}
		}
	}
}

void csf__sessions_free(csf_server *s)
{
	/* sessions are freed with their calls (stream_end); only the table */
	csf__free(s->sessions);
	s->sessions = NULL;
}
