/*
 * The agent's session (docs/protocol.md): a StreamMetrics call that starts
 * with Hello, replays the outbox from what the Welcome says the server has
 * committed, streams new data inside a bounded window, and sends heartbeats
 * and renewal requests as session control. A lost stream reconnects after
 * an exponential backoff with jitter.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "agent/internal.h"
#include "auth/auth.h"

#define STREAM_PATH "/csf.v1.AgentService/StreamMetrics"
#define WINDOW_MESSAGES 256          /* sent and not yet acked */
#define WINDOW_QUEUED (256u << 10)   /* bytes waiting in the call: a heartbeat waits behind at most this */
#define BACKOFF_FIRST_MS 1000

void csf__agent_fail(csf_agent *a, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->fatal_msg, sizeof(a->fatal_msg), fmt, ap);
	va_end(ap);
	a->fatal = rc;
	csf__log(CSF_LOG_ERROR, "agent", "%s", a->fatal_msg);
	csf_net_loop_stop(a->loop);
}

/* Send one session-control message (seq 0). */
static int send_control(csf_agent *a, Csf__V1__AgentMessage *m)
{
	csf__outbox_stats st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	csf__outbox_stats_get(a->ob, &st);
	m->agent_id = a->id.agent_id;
	m->boot_id = st.boot_id;
	m->seq = 0;
	m->sent_at_ms = csf__time_unix_ms();
	rc = csf__pb_pack(&buf, &len, &m->base);
	if (!rc)
		rc = csf_net_call_send(a->call, buf, len);
	csf__free(buf);
	return rc;
}

static int send_hello(csf_agent *a)
{
	Csf__V1__AgentMessage m = CSF__V1__AGENT_MESSAGE__INIT;
	Csf__V1__Hello h = CSF__V1__HELLO__INIT;
	csf__outbox_stats st;

	csf__outbox_stats_get(a->ob, &st);
	h.agent_version = CSF_VERSION;
	h.capabilities = (char **)csf__agent_capabilities;
	h.n_capabilities = csf__agent_capabilities_n;
	h.last_acked_seq = st.last_acked_seq;
	h.host = a->host;
	h.outbox_depth = st.depth;
	h.dropped_messages = st.dropped;
	m.body_case = CSF__V1__AGENT_MESSAGE__BODY_HELLO;
	m.hello = &h;
	return send_control(a, &m);
}

void csf__agent_send_heartbeat(csf_agent *a)
{
	Csf__V1__AgentMessage m = CSF__V1__AGENT_MESSAGE__INIT;
	Csf__V1__Heartbeat h = CSF__V1__HEARTBEAT__INIT;
	csf__outbox_stats st;

	if (a->state != CSF__AGENT_CONNECTED)
		return;
	csf__outbox_stats_get(a->ob, &st);
	h.outbox_depth = st.depth;
	h.dropped_messages = st.dropped;
	h.last_acked_seq = st.last_acked_seq;
	m.body_case = CSF__V1__AGENT_MESSAGE__BODY_HEARTBEAT;
	m.heartbeat = &h;
	if (send_control(a, &m) != 0)
		csf__log(CSF_LOG_DEBUG, "agent", "heartbeat not sent: %s", csf_error_last()->message);
}

void csf__agent_request_renewal(csf_agent *a)
{
	Csf__V1__AgentMessage m = CSF__V1__AGENT_MESSAGE__INIT;
	Csf__V1__CertificateRenewalRequest r = CSF__V1__CERTIFICATE_RENEWAL_REQUEST__INIT;
	uint8_t *csr = NULL;
	size_t csr_len = 0;

	a->renew_due = 1;
	if (a->state != CSF__AGENT_CONNECTED || a->renew_key_pem)
		return; /* asked after the next Welcome, or already in flight on this stream */
	if (csf__csr_create("csf-agent", &a->renew_key_pem, &csr, &csr_len) != 0) {
		csf__log(CSF_LOG_WARN, "agent", "cannot make a CSR for renewal: %s", csf_error_last()->message);
		return;
	}
	r.csr_der.data = csr;
	r.csr_der.len = csr_len;
	m.body_case = CSF__V1__AGENT_MESSAGE__BODY_RENEW_CERTIFICATE;
	m.renew_certificate = &r;
	if (send_control(a, &m) == 0)
		csf__log(CSF_LOG_INFO, "agent", "asked the server to renew the certificate (expires at %lld)",
			 (long long)a->id.cert_expires_at);
	csf__free(csr);
}

static void forget_renewal_key(csf_agent *a)
{
	if (a->renew_key_pem) {
		memset(a->renew_key_pem, 0, strlen(a->renew_key_pem));
		csf__free(a->renew_key_pem);
		a->renew_key_pem = NULL;
	}
}

static void on_certificate(csf_agent *a, const Csf__V1__RenewedCertificate *c)
{
	const uint8_t *chain[8];
	size_t chain_len[8], i, n = c->n_ca_chain_der < 8 ? c->n_ca_chain_der : 8;
	int64_t nb = 0, na = 0;

	if (!a->renew_key_pem) {
		csf__log(CSF_LOG_WARN, "agent", "ignored a certificate the agent did not ask for");
		return;
	}
	for (i = 0; i < n; i++) {
		chain[i] = c->ca_chain_der[i].data;
		chain_len[i] = c->ca_chain_der[i].len;
	}
	if (csf__identity_store_cert(a->state_dir, a->renew_key_pem, c->certificate_der.data, c->certificate_der.len,
				     chain, chain_len, n, 1, &nb, &na) != 0) {
		csf__log(CSF_LOG_WARN, "agent", "cannot store the renewed certificate: %s", csf_error_last()->message);
	} else {
		a->id.cert_not_before = nb;
		a->id.cert_expires_at = na;
		a->renew_due = 0;
		if (csf__identity_write(&a->id, a->state_dir) != 0)
			csf__log(CSF_LOG_WARN, "agent", "cannot update identity.conf: %s", csf_error_last()->message);
		csf__log(CSF_LOG_INFO, "agent", "certificate renewed, valid until %lld; used from the next connection",
			 (long long)na);
		csf__agent_schedule_renewal(a);
		a->status_dirty = 1;
	}
	forget_renewal_key(a);
}

static int send_stored(uint64_t seq, const void *data, size_t len, int64_t created_ms, void *payload)
{
	csf_agent *a = payload;
	int rc;

	(void)created_ms;
	rc = csf_net_call_send(a->call, data, len);
	if (rc)
		return rc; /* CSF_ELIMIT: on_writable resumes */
	a->sent_seq = seq;
	return 0;
}

void csf__agent_pump(csf_agent *a)
{
	csf__outbox_stats st;

	while (a->state == CSF__AGENT_CONNECTED && a->call) {
		uint64_t before = a->sent_seq;
		size_t room;

		csf__outbox_stats_get(a->ob, &st);
		if (a->sent_seq < st.last_acked_seq)
			a->sent_seq = st.last_acked_seq;
		if (a->sent_seq - st.last_acked_seq >= WINDOW_MESSAGES || csf_net_call_queued(a->call) >= WINDOW_QUEUED)
			return;
		room = WINDOW_MESSAGES - (size_t)(a->sent_seq - st.last_acked_seq);
		if (csf__outbox_each(a->ob, a->sent_seq, room < 16 ? room : 16, send_stored, a) == CSF_EIO)
			csf__log(CSF_LOG_WARN, "agent", "outbox: %s", csf_error_last()->message);
		if (a->sent_seq == before)
			return; /* nothing more to send, or the call's queue is full */
	}
}

static void on_welcome(csf_agent *a, const Csf__V1__Welcome *w)
{
	csf__outbox_stats st;

	a->state = CSF__AGENT_CONNECTED;
	a->attempt = 0;
	a->reconnect_after_ms = 0;
	a->connected_since_ms = csf__time_unix_ms();
	a->last_error[0] = '\0';
	snprintf(a->transport, sizeof(a->transport), "%s",
		 csf_net_channel_transport_in_use(a->ch) == CSF_NET_TRANSPORT_WEBSOCKET ? "websocket" : "grpc");
	if (w->acked_seq && csf__outbox_ack(a->ob, w->acked_seq, csf__time_unix_ms()) != 0)
		csf__log(CSF_LOG_WARN, "agent", "outbox: %s", csf_error_last()->message);
	csf__outbox_stats_get(a->ob, &st);
	a->sent_seq = st.last_acked_seq; /* replay whatever is left, in seq order */
	csf__log(CSF_LOG_INFO, "agent", "connected to %s over %s (session %s): server has seq %llu, outbox holds %llu",
		 a->server_url, a->transport, w->session_id, (unsigned long long)w->acked_seq,
		 (unsigned long long)st.depth);
	if (w->settings)
		csf__agent_apply_settings(a, w->settings);
	a->status_dirty = 1;
	csf__agent_write_status(a);
	if (a->renew_due)
		csf__agent_request_renewal(a);
	csf__agent_pump(a);
}

static int on_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	csf_agent *a = payload;
	Csf__V1__ServerMessage *m = NULL;
	csf__outbox_stats st;

	(void)call;
	if (csf__pb_server_message_decode(&m, data, len) != 0) {
		snprintf(a->last_error, sizeof(a->last_error), "bad message from the server: %s",
			 csf_error_last()->message);
		return CSF_NET_INVALID_ARGUMENT;
	}
	switch (m->body_case) {
	case CSF__V1__SERVER_MESSAGE__BODY_WELCOME:
		on_welcome(a, m->welcome);
		break;
	case CSF__V1__SERVER_MESSAGE__BODY_ACK:
		csf__outbox_stats_get(a->ob, &st);
		if (strcmp(m->ack->boot_id, st.boot_id) == 0) {
			if (csf__outbox_ack(a->ob, m->ack->seq, csf__time_unix_ms()) != 0)
				csf__log(CSF_LOG_WARN, "agent", "outbox: %s", csf_error_last()->message);
			a->status_dirty = 1;
			csf__agent_pump(a);
		}
		break;
	case CSF__V1__SERVER_MESSAGE__BODY_SETTINGS:
		csf__agent_apply_settings(a, m->settings);
		break;
	case CSF__V1__SERVER_MESSAGE__BODY_CERTIFICATE:
		on_certificate(a, m->certificate);
		break;
	case CSF__V1__SERVER_MESSAGE__BODY_GO_AWAY:
		if (m->go_away->revoked) {
			csf__agent_fail(a, CSF_EAUTH, "the server revoked this agent's identity (%s); enroll it again "
				       "with csf-agent enroll and a new token", m->go_away->reason);
		} else {
			a->reconnect_after_ms = m->go_away->reconnect_after_ms;
			csf__log(CSF_LOG_INFO, "agent", "the server ends the session: %s", m->go_away->reason);
		}
		break;
	default:
		/* commands arrive with task support; the server sends none to an
		 * agent without the capabilities they need */
		csf__log(CSF_LOG_DEBUG, "agent", "ignored a server message of kind %d", (int)m->body_case);
		break;
	}
	csf__pb_free(&m->base);
	return 0;
}

static void on_writable(csf_net_call *call, void *payload)
{
	(void)call;
	csf__agent_pump(payload);
}

static uint32_t random_u32(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)csf__time_mono_ms() * 2654435761u;
	return r;
}

/* Exponential backoff with jitter: 1 s, 2 s, 4 s ... up to the cap, each
 * drawn uniformly from its upper half so that a fleet does not reconnect
 * in step after a server restart. */
static uint64_t backoff_ms(csf_agent *a)
{
	uint64_t cap = a->o.backoff_max_ms, d = BACKOFF_FIRST_MS;
	unsigned i;

	if (a->reconnect_after_ms)
		return a->reconnect_after_ms;
	for (i = 0; i < a->attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	return d / 2 + random_u32() % (d / 2 + 1);
}

static void on_end(csf_net_call *call, int status, const char *message, void *payload)
{
	csf_agent *a = payload;
	uint64_t delay;

	(void)call;
	a->call = NULL;
	a->state = CSF__AGENT_IDLE;
	forget_renewal_key(a); /* without an answer on this stream, ask again on the next */
	if (a->fatal || a->stop_requested)
		return;
	if (status == CSF_NET_UNAUTHENTICATED || status == CSF_NET_PERMISSION_DENIED) {
		csf__agent_fail(a, CSF_EAUTH, "the server no longer accepts this agent's identity (%s: %s); enroll it "
			       "again with csf-agent enroll and a new token", csf_net_status_name(status),
			       message ? message : "");
		return;
	}
	snprintf(a->last_error, sizeof(a->last_error), "%s: %s", csf_net_status_name(status), message ? message : "");
	delay = backoff_ms(a);
	a->attempt++;
	a->reconnect_after_ms = 0;
	csf__log(CSF_LOG_WARN, "agent", "stream to %s ended (%s); reconnecting in %.1f s", a->server_url, a->last_error,
		 (double)delay / 1000);
	csf_net_timer_start(a->reconnect_timer, delay);
	a->status_dirty = 1;
	csf__agent_write_status(a);
}

void csf__agent_disconnect(csf_agent *a)
{
	csf_net_channel *ch = a->ch;

	a->ch = NULL;
	csf_net_channel_free(ch); /* ends the call: on_end runs */
	a->call = NULL;
	a->state = CSF__AGENT_IDLE;
}

void csf__agent_connect(csf_agent *a)
{
	static const csf_net_call_handlers h = { NULL, on_message, NULL, on_writable, on_end };
	static const csf_net_channel_transport transports[] = {
		CSF_NET_CHANNEL_AUTO, CSF_NET_CHANNEL_GRPC, CSF_NET_CHANNEL_WEBSOCKET,
	};
	char cert[CSF__PATH_MAX], key[CSF__PATH_MAX], ca[CSF__PATH_MAX];
	csf_net_tls_options tls;
	csf_net_channel_options co;
	int rc;

	csf__agent_disconnect(a);
	csf_net_tls_options_init(&tls, CSF_NET_TLS_OPTIONS_VERSION);
	rc = csf__path_join(cert, a->state_dir, "agent.crt");
	if (!rc)
		rc = csf__path_join(key, a->state_dir, "agent.key");
	if (!rc)
		rc = csf__path_join(ca, a->state_dir, "ca.crt");
	tls.cert_file = cert;
	tls.key_file = key;
	tls.ca_file = ca;
	csf_net_channel_options_init(&co, CSF_NET_CHANNEL_OPTIONS_VERSION);
	co.url = a->server_url;
	co.tls = &tls;
	co.transport = transports[a->o.transport];
	if (!rc)
		rc = csf_net_channel_new(&a->ch, a->loop, &co);
	if (!rc)
		rc = csf_net_channel_call(&a->call, a->ch, STREAM_PATH, 0, &h, a);
	if (!rc && a->call) {
		a->state = CSF__AGENT_CONNECTING;
		rc = send_hello(a);
	}
	if (rc) {
		/* certificate files that no longer load, say: retry like a lost connection */
		snprintf(a->last_error, sizeof(a->last_error), "%s", csf_error_last()->message);
		csf__log(CSF_LOG_WARN, "agent", "cannot open a stream: %s", a->last_error);
		if (a->call)
			csf_net_call_cancel(a->call);
		else
			csf_net_timer_start(a->reconnect_timer, backoff_ms(a)), a->attempt++;
	}
	a->status_dirty = 1;
}
