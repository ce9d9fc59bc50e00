/* Server connections: accept, TLS handshake and ALPN (or, in cleartext, the
 * HTTP/2 preface sniff), dispatch to HTTP/2 or HTTP/1.1, bounded output,
 * deadlines (handshake, idle, keepalive) and a teardown that never runs
 * inside a callback that still uses the connection. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "net/client.h"

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN (sizeof(h2_preface) - 1)
/* lingering close of HTTP/1.1: how long, and how much, to read and drop */
#define LINGER_MS 2000
#define LINGER_MAX_BYTES (16u << 20)

int csf__conn_accept(csf_net_server *s, SSL_CTX *ssl_ctx, evutil_socket_t fd,
		     const struct sockaddr *sa, int salen);
uint64_t csf__conn_now_ms(const csf__conn *c)
{
	(void)c;
	return csf__time_mono_ms();
}

static void addr_of(const struct sockaddr *sa, char *out, size_t cap, uint8_t key[16])
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
		key[10] = key[11] = 0xff; /* IPv4-mapped, so both families share the table */
		memcpy(key + 12, &in->sin_addr, 4);
		snprintf(out, cap, "%s:%d", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
		memcpy(key, &in6->sin6_addr, 16);
		snprintf(out, cap, "[%s]:%d", ip, port);
	} else {
		snprintf(out, cap, "unix");
	}
}

/* ----------------------------------------------------------------- timer */

static void set_timer(csf__conn *c, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

static int active_calls(const csf__conn *c)
{
	if (c->chan)
		return 1; /* the channel keeps its connection while it lives */
	if (c->h2)
		return csf__h2_active_calls(c->h2);
	if (c->ws)
		return csf__ws_conn_active(c->ws);
	return 0;
}

/* The next thing that must happen, from now: close a connection stuck in
 * its handshake, close one idle too long, send a keepalive PING, or give up
 * on its ACK. */
void csf__conn_rearm(csf__conn *c)
{
	uint64_t now = csf__time_mono_ms(), due = UINT64_MAX;

	if (c->dead || c->lingering)
		return;
	if (c->proto == CSF__PROTO_HANDSHAKE || (c->proto == CSF__PROTO_HTTP1 && c->chan)) {
		due = c->last_activity_ms + c->handshake_timeout_ms;
	} else if (c->proto == CSF__PROTO_HTTP1) {
		/* a request must arrive whole within the handshake timeout (no
		 * slow loris); between requests the idle timeout applies; none
		 * while a worker answers (the client waits for us) */
		uint64_t started = c->http ? csf__http_conn_request_started(c->http) : 0;

		if (c->http && csf__http_conn_busy(c->http))
			due = UINT64_MAX;
		else if (started)
			due = started + c->handshake_timeout_ms;
		else if (c->idle_timeout_ms)
			due = c->last_activity_ms + c->idle_timeout_ms;
	} else if (c->ping_outstanding) {
		due = c->last_activity_ms + c->keepalive_ms + c->keepalive_timeout_ms;
	} else {
		if (c->keepalive_ms)
			due = c->last_activity_ms + c->keepalive_ms;
		if (c->idle_timeout_ms && !active_calls(c) && c->last_activity_ms + c->idle_timeout_ms < due)
			due = c->last_activity_ms + c->idle_timeout_ms;
	}
	if (due == UINT64_MAX)
		evtimer_del(c->timer);
	else
		set_timer(c, due > now ? due - now : 0);
}

static void teardown(csf__conn *c);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	csf__conn *c = arg;
	uint64_t now = csf__time_mono_ms(), quiet = now - c->last_activity_ms;

	(void)fd;
	(void)what;
	if (c->dead) {
		teardown(c);
		return;
	}
	if (c->lingering) {
		csf__conn_close(c, "done");
		return;
	}
	if (c->proto == CSF__PROTO_HANDSHAKE || (c->proto == CSF__PROTO_HTTP1 && c->chan)) {
		if (quiet >= c->handshake_timeout_ms) {
			if (c->chan)
				csf__channel_conn_failed(c, "timed out connecting");
			csf__conn_close(c, "handshake timed out");
			return;
		}
	} else if (c->proto == CSF__PROTO_HTTP1) {
		uint64_t started = c->http ? csf__http_conn_request_started(c->http) : 0;
		int busy = c->http && csf__http_conn_busy(c->http);

		if (!busy && started && now - started >= c->handshake_timeout_ms) {
			csf__conn_close(c, "request not complete in time");
			return;
		}
		if (!busy && !started && c->idle_timeout_ms && quiet >= c->idle_timeout_ms) {
			csf__conn_close(c, "idle");
			return;
		}
	} else if (c->ping_outstanding && quiet >= (uint64_t)c->keepalive_ms + c->keepalive_timeout_ms) {
		csf__conn_close(c, "keepalive timed out");
		return;
	} else if (c->idle_timeout_ms && !active_calls(c) && quiet >= c->idle_timeout_ms) {
		csf__conn_close(c, "idle");
		return;
	} else if (c->keepalive_ms && !c->ping_outstanding && quiet >= c->keepalive_ms) {
		c->ping_outstanding = 1;
		if (c->h2)
			csf__h2_ping(c->h2);
		else if (c->ws)
			csf__ws_conn_ping(c->ws);
		else if (c->ws_call)
			csf__ws_client_ping(c);
	}
	csf__conn_rearm(c);
}

/* ---------------------------------------------------------------- output */

int csf__conn_write(csf__conn *c, const void *data, size_t len)
{
	if (c->dead)
		return 0;
	if (bufferevent_write(c->bev, data, len) != 0)
		return csf__error_set(CSF_ENOMEM, "net: cannot queue %zu bytes of output", len);
	return 0;
}

size_t csf__conn_output_len(const csf__conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

static void produce(csf__conn *c)
{
	if (c->h2)
		csf__h2_flush(c->h2);
	else if (c->ws)
		csf__ws_conn_flush(c->ws);
	else if (c->ws_call)
		csf__ws_client_flush(c);
}

/* ------------------------------------------------------------- teardown */

void csf__conn_close(csf__conn *c, const char *why)
{
	struct timeval now = { 0, 0 };
	size_t n;

	if (c->dead)
		return;
	c->dead = 1;
	why = why ? why : "connection closed";
	n = strnlen(why, sizeof(c->why) - 1); /* a long reason is cut */
	memcpy(c->why, why, n);
	c->why[n] = '\0';
	csf__log(CSF_LOG_DEBUG, "net", "%s: closing: %s", c->addr, c->why);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	/* the timer doubles as the reaper: it runs the teardown from the loop */
	evtimer_add(c->timer, &now);
}

/* The output is flushed. A cleartext HTTP/1.1 peer may still be sending a
 * body we refused: closing with its bytes unread would reset the connection
 * and lose our answer on the way, so shut down our side and read (dropping)
 * for a while first, as web servers' lingering close does. */
static void flushed(csf__conn *c)
{
	struct timeval t = { LINGER_MS / 1000, (LINGER_MS % 1000) * 1000 };

	if (c->proto != CSF__PROTO_HTTP1 || c->chan || c->ssl || c->lingering) {
		csf__conn_close(c, "done");
		return;
	}
	c->lingering = 1;
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	bufferevent_enable(c->bev, EV_READ);
	evtimer_add(c->timer, &t);
}

void csf__conn_close_after_flush(csf__conn *c)
{
	if (c->dead || c->closing)
		return;
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (csf__conn_output_len(c) == 0)
		flushed(c);
}

void csf__conn_free_now(csf__conn *c)
{
	c->dead = 1;
	teardown(c);
}

static void teardown(csf__conn *c)
{
	const char *why = c->srv && c->srv->shutting_down ? "server shutting down"
			  : c->why[0] ? c->why : "connection closed";

	if (!c->srv) {
		/* the channel ends the calls this connection carried */
		csf__channel_conn_gone(c, why);
		if (c->prev)
			c->prev->next = c->next;
		else
			c->chan->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
	} else {
		if (c->h2)
			csf__h2_free(c->h2, why);
		if (c->ws)
			csf__ws_conn_free(c->ws, why);
		if (c->http)
			csf__http_conn_free(c->http);
	}
	bufferevent_free(c->bev); /* closes the socket and frees the SSL */
	event_free(c->timer);
	csf__free(c->cert_cn);
	csf__free(c->cert_sha256);
	csf__free(c->cert_serial);
	if (c->srv) {
		csf__server_ip_release(c->srv, c->ipkey);
		csf__server_conn_gone(c->srv, c);
	}
	csf__free(c);
}

/* ------------------------------------------------------------ protocols */

static void take_peer_cert(csf__conn *c)
{
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	char hex[65];

	if (!cert)
		return;
	c->cert_presented = 1;
	c->cert_error = csf__tls_verify_error(c->ssl);
	if (!c->cert_error) {
		X509_NAME *subject = X509_get_subject_name(cert);
		ASN1_INTEGER *serial = X509_get_serialNumber(cert);
		BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
		char *sh = bn ? BN_bn2hex(bn) : NULL;
		char cn[256] = "";

		X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof(cn));
		c->cert_cn = csf__strdup(cn);
		if (csf__tls_cert_sha256(cert, hex) == 0)
			c->cert_sha256 = csf__strdup(hex);
		c->cert_serial = sh ? csf__strdup(sh) : NULL;
		OPENSSL_free(sh);
		BN_free(bn);
		if (!c->cert_cn || !c->cert_sha256 || !c->cert_serial)
			c->cert_error = "out of memory";
	}
	X509_free(cert);
}

void csf__conn_fill_peer(const csf__conn *c, csf_net_peer *peer, csf_net_transport t)
{
	int ok = c->cert_presented && !c->cert_error;

	peer->address = c->addr;
	peer->transport = t;
	peer->tls = c->tls;
	peer->cert_subject_cn = ok ? c->cert_cn : NULL;
	peer->cert_sha256 = ok ? c->cert_sha256 : NULL;
	peer->cert_serial = ok ? c->cert_serial : NULL;
}

static int start_h2(csf__conn *c, const uint8_t *data, size_t len)
{
	c->proto = CSF__PROTO_H2;
	return csf__h2_server_new(c, data, len);
}

static int start_http1(csf__conn *c)
{
	c->proto = CSF__PROTO_HTTP1;
	return csf__http_conn_new(c);
}

/* Feed what the protocol layer accepts; returns 0 or an error (close). */
static int feed(csf__conn *c, struct evbuffer *in)
{
	while (!c->dead && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		size_t used = 0;
		int rc;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		if (c->proto == CSF__PROTO_H2) {
			rc = csf__h2_feed(c->h2, v.iov_base, v.iov_len);
			used = v.iov_len;
		} else if (c->proto == CSF__PROTO_WS) {
			rc = c->chan ? csf__ws_client_feed(c, v.iov_base, v.iov_len)
				     : csf__ws_conn_feed(c->ws, v.iov_base, v.iov_len);
			used = v.iov_len;
		} else if (c->chan) {
			rc = csf__channel_http_feed(c, v.iov_base, v.iov_len, &used);
		} else {
			rc = csf__http_conn_feed(c->http, v.iov_base, v.iov_len, &used);
		}
		if (rc)
			return rc;
		evbuffer_drain(in, used);
		if (used < v.iov_len && c->proto == CSF__PROTO_HTTP1)
			break; /* the HTTP/1.1 side waits for its response to go out */
	}
	return 0;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	csf__conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int rc = 0;

	if (c->dead || c->closing) {
		c->lingered += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->lingering && c->lingered > LINGER_MAX_BYTES)
			csf__conn_close(c, "done (peer kept sending)");
		return;
	}
	c->last_activity_ms = csf__time_mono_ms();
	c->ping_outstanding = 0;
	if (c->proto == CSF__PROTO_HANDSHAKE && c->chan && !c->ssl) {
		/* a cleartext server may speak first, and its bytes can be seen
		 * before libevent reports the connect */
		csf__channel_connected(c);
		if (c->dead)
			return;
	}
	if (c->proto == CSF__PROTO_HANDSHAKE && !c->chan) {
		/* cleartext: HTTP/2 prior knowledge starts with the preface */
		size_t n = evbuffer_get_length(in);
		unsigned char head[H2_PREFACE_LEN];
		size_t k = n < H2_PREFACE_LEN ? n : H2_PREFACE_LEN;

		evbuffer_copyout(in, head, k);
		if (memcmp(head, h2_preface, k) != 0)
			rc = start_http1(c);
		else if (k == H2_PREFACE_LEN)
			rc = start_h2(c, NULL, 0);
		else
			return; /* still a prefix of the preface: wait */
	}
	if (!rc)
		rc = feed(c, in);
	if (rc) {
		csf__conn_close(c, csf_error_last()->message);
		return;
	}
	produce(c);
	csf__conn_rearm(c);
}

void csf__conn_hold(csf__conn *c)
{
	if (!c->dead)
		bufferevent_disable(c->bev, EV_READ);
}

void csf__conn_resume(csf__conn *c)
{
	if (!c->dead && !c->closing)
		bufferevent_enable(c->bev, EV_READ);
	c->last_activity_ms = csf__time_mono_ms();
	on_read(c->bev, c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	csf__conn *c = arg;

	(void)bev;
	if (c->dead)
		return;
	if (c->closing) {
		if (csf__conn_output_len(c) == 0)
			flushed(c);
		return;
	}
	produce(c);
	/* an HTTP/1.1 connection may have been waiting for its response to go */
	if (c->http && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		on_read(c->bev, c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	csf__conn *c = arg;

	(void)bev;
	if (c->dead)
		return;
	if ((what & BEV_EVENT_CONNECTED) && c->chan) {
		c->last_activity_ms = csf__time_mono_ms();
		if (c->proto == CSF__PROTO_HANDSHAKE)
			csf__channel_connected(c);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		const unsigned char *alpn = NULL;
		unsigned int alpn_len = 0;
		int rc;

		/* the TLS handshake is done */
		c->last_activity_ms = csf__time_mono_ms();
		take_peer_cert(c);
		SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
		if (alpn_len == 2 && memcmp(alpn, "h2", 2) == 0)
			rc = start_h2(c, NULL, 0);
		else
			rc = start_http1(c);
		if (rc)
			csf__conn_close(c, csf_error_last()->message);
		else
			csf__conn_rearm(c);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		char why[256];

		if (c->proto == CSF__PROTO_HANDSHAKE && (what & BEV_EVENT_ERROR)) {
			int e = EVUTIL_SOCKET_ERROR();
			const char *verify = c->chan && c->ssl ? csf__tls_verify_error(c->ssl) : NULL;

			if (verify && SSL_get_verify_result(c->ssl) != X509_V_OK)
				snprintf(why, sizeof(why), "TLS: server certificate rejected: %s", verify);
			else if (c->tls && ERR_peek_error())
				snprintf(why, sizeof(why), "TLS handshake failed: %s", csf__tls_last_error());
			else
				snprintf(why, sizeof(why), "%s", e ? evutil_socket_error_to_string(e) : "connection failed");
		} else {
			snprintf(why, sizeof(why), "%s", what & BEV_EVENT_EOF ? "peer closed the connection"
									 : "connection error");
		}
		if (c->chan && c->proto == CSF__PROTO_HANDSHAKE)
			csf__channel_conn_failed(c, why);
		csf__conn_close(c, why);
	}
}

int csf__conn_accept(csf_net_server *s, SSL_CTX *ssl_ctx, evutil_socket_t fd,
		     const struct sockaddr *sa, int salen)
{
	struct event_base *base = csf__net_loop_base(s->loop);
	csf__conn *c;
	uint8_t key[16];
	char addr[64];
	int rc, one = 1;

	(void)salen;
	addr_of(sa, addr, sizeof(addr), key);
	rc = csf__server_ip_acquire(s, key);
	if (rc) {
		evutil_closesocket(fd);
		return rc;
	}
	c = csf__calloc(1, sizeof(*c));
	if (!c) {
		csf__server_ip_release(s, key);
		evutil_closesocket(fd);
		return CSF_ENOMEM;
	}
	c->srv = s;
	memcpy(c->ipkey, key, 16);
	memcpy(c->addr, addr, sizeof(addr));
	c->max_output = s->opts.max_output_bytes;
	c->handshake_timeout_ms = s->opts.handshake_timeout_ms;
	c->idle_timeout_ms = s->opts.idle_timeout_ms;
	c->keepalive_ms = s->opts.keepalive_ms;
	c->keepalive_timeout_ms = s->opts.keepalive_timeout_ms;
	c->last_activity_ms = csf__time_mono_ms();
	evutil_make_socket_nonblocking(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->timer = evtimer_new(base, on_timer, c);
	if (ssl_ctx) {
		c->tls = 1;
		c->ssl = SSL_new(ssl_ctx);
		if (c->ssl)
			c->bev = bufferevent_openssl_socket_new(base, fd, c->ssl, BUFFEREVENT_SSL_ACCEPTING,
								BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev)
			SSL_free(c->ssl);
		else
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!c->bev || !c->timer) {
		if (c->timer)
			event_free(c->timer);
		if (!c->bev)
			evutil_closesocket(fd);
		else
			bufferevent_free(c->bev);
		csf__server_ip_release(s, key);
		csf__free(c);
		return csf__error_set(CSF_ENOMEM, "net: cannot set up a connection");
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* refill the output once it is down to a quarter of the bound */
	bufferevent_setwatermark(c->bev, EV_WRITE, c->max_output / 4, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->conns_n++;
	csf__conn_rearm(c);
	return 0;
}

void csf__conn_drain(csf__conn *c)
{
	if (c->dead)
		return;
	c->draining = 1;
	if (c->h2) {
		csf__h2_drain(c->h2);
		csf__h2_flush(c->h2);
	} else if (c->ws) {
		csf__ws_conn_drain(c->ws);
		csf__ws_conn_flush(c->ws);
	} else {
		csf__conn_close(c, "server shutting down");
	}
}

int csf__conn_connect(csf__conn **out, csf_net_channel *ch, struct event_base *base, SSL *ssl,
		      const struct sockaddr *sa, int salen, const char *addr)
{
	csf__conn *c = csf__calloc(1, sizeof(*c));

	*out = NULL;
	if (!c) {
		SSL_free(ssl);
		return CSF_ENOMEM;
	}
	c->chan = ch;
	c->ssl = ssl;
	c->tls = ssl != NULL;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->last_activity_ms = csf__time_mono_ms();
	c->timer = evtimer_new(base, on_timer, c);
	c->bev = ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)
		     : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev || !c->timer) {
		if (!c->bev)
			SSL_free(ssl);
		else
			bufferevent_free(c->bev);
		if (c->timer)
			event_free(c->timer);
		csf__free(c);
		return csf__error_set(CSF_ENOMEM, "net: cannot set up a connection");
	}
	if (ssl)
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	if (bufferevent_socket_connect(c->bev, sa, salen) != 0) {
		int e = EVUTIL_SOCKET_ERROR();

		bufferevent_free(c->bev);
		event_free(c->timer);
		csf__free(c);
		return csf__error_set(CSF_EIO, "net: cannot connect to %s: %s", addr, evutil_socket_error_to_string(e));
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = ch->conns;
	if (c->next)
		c->next->prev = c;
	ch->conns = c;
	*out = c;
	return 0;
}

void csf__conn_set_limits(csf__conn *c, size_t max_output, uint32_t handshake_ms, uint32_t idle_ms,
			  uint32_t keepalive_ms, uint32_t keepalive_timeout_ms)
{
	c->max_output = max_output;
	c->handshake_timeout_ms = handshake_ms;
	c->idle_timeout_ms = idle_ms;
	c->keepalive_ms = keepalive_ms;
	c->keepalive_timeout_ms = keepalive_timeout_ms;
	bufferevent_setwatermark(c->bev, EV_WRITE, max_output / 4, 0);
	csf__conn_rearm(c);
}
