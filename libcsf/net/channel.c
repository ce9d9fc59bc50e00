/* csf_net_channel: the client. It connects on the first call, binds calls to
 * the HTTP/2 connection (or to WebSocket connections when HTTP/2 does not get
 * through), and ends every call exactly once. */
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/util.h>

#include "net/client.h"

int csf_net_channel_options_init(csf_net_channel_options *opts, unsigned int version)
{
	if (!opts || version != CSF_NET_CHANNEL_OPTIONS_VERSION)
		return csf__misuse("csf_net_channel_options_init: unknown version %u", version);
	*opts = (csf_net_channel_options)CSF_NET_CHANNEL_OPTIONS_INIT;
	return 0;
}

/* "https://host:port" -> host, port, tls. IPv6 hosts in brackets. */
static int parse_url(csf_net_channel *ch, const char *url)
{
	const char *p, *host, *end, *colon;
	size_t hlen;

	if (strncmp(url, "https://", 8) == 0) {
		ch->tls = 1;
		p = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		return csf__error_set(CSF_EINVALID, "net: URL '%s' is not https:// or http://", url);
	}
	end = p + strcspn(p, "/?#");
	if (*p == '[') {
		host = p + 1;
		colon = memchr(p, ']', (size_t)(end - p));
		if (!colon)
			return csf__error_set(CSF_EINVALID, "net: URL '%s': unterminated [address]", url);
		hlen = (size_t)(colon - host);
		colon = colon[1] == ':' ? colon + 1 : NULL;
	} else {
		host = p;
		colon = memchr(p, ':', (size_t)(end - p));
		hlen = (size_t)((colon ? colon : end) - host);
	}
	if (hlen == 0 || hlen > 253)
		return csf__error_set(CSF_EINVALID, "net: URL '%s' has no host", url);
	ch->port = ch->tls ? 443 : 80;
	if (colon) {
		char *e;
		long port = strtol(colon + 1, &e, 10);

		if (e != end || port < 1 || port > 65535)
			return csf__error_set(CSF_EINVALID, "net: URL '%s' has a bad port", url);
		ch->port = (int)port;
	}
	ch->host = csf__strndup(host, hlen);
	ch->authority = csf__strndup(p, (size_t)(end - p));
	return ch->host && ch->authority ? 0 : CSF_ENOMEM;
}

static char *dup_opt(const char *s, const char *def, int *failed)
{
	char *d;

	if (!s)
		s = def;
	if (!s)
		return NULL;
	d = csf__strdup(s);
	if (!d)
		*failed = 1;
	return d;
}

int csf_net_channel_new(csf_net_channel **out, csf_net_loop *loop, const csf_net_channel_options *opts)
{
	csf_net_channel *ch;
	csf_net_tls_options tls;
	int failed = 0, rc;

	if (!out || !loop || !opts || !opts->url)
		return csf__misuse("csf_net_channel_new: out, loop and options with a url are required");
	*out = NULL;
	if (opts->version != CSF_NET_CHANNEL_OPTIONS_VERSION)
		return csf__misuse("csf_net_channel_new: unknown options version %u", opts->version);
	ch = csf__calloc(1, sizeof(*ch));
	if (!ch)
		return CSF_ENOMEM;
	ch->loop = loop;
	ch->o = *opts;
	ch->o.tls = NULL;
	rc = parse_url(ch, opts->url);
	if (rc)
		goto fail;
	if (!ch->tls && !opts->allow_insecure) {
		rc = csf__error_set(CSF_EINVALID, "net: %s is cleartext; allow_insecure is needed (development only)",
				    opts->url);
		goto fail;
	}
	ch->url = dup_opt(opts->url, NULL, &failed);
	ch->ws_path = dup_opt(opts->websocket_path, "/api/v1/agent/ws", &failed);
	ch->ws_subprotocol = dup_opt(opts->websocket_subprotocol, "csf.v1", &failed);
	if (opts->tls) {
		ch->server_name = dup_opt(opts->tls->server_name, NULL, &failed);
		ch->pin = dup_opt(opts->tls->ca_pin_sha256, NULL, &failed);
	}
	if (failed) {
		rc = CSF_ENOMEM;
		goto fail;
	}
#define DEF(f, v) if (!ch->o.f) ch->o.f = (v)
	DEF(connect_timeout_ms, 10000);
	DEF(keepalive_ms, 30000);
	DEF(keepalive_timeout_ms, 10000);
	DEF(max_message_bytes, CSF__NET_DEFAULT_MAX_MESSAGE);
	DEF(max_output_bytes, 1u << 20);
#undef DEF
	ch->ws_mode = opts->transport == CSF_NET_CHANNEL_WEBSOCKET;
	if (ch->tls) {
		if (opts->tls)
			tls = *opts->tls;
		else
			csf_net_tls_options_init(&tls, CSF_NET_TLS_OPTIONS_VERSION);
		tls.ca_pin_sha256 = ch->pin; /* the verify callback keeps this pointer */
		rc = csf__tls_client_ctx_new(&ch->ssl_ctx, &tls);
		if (rc)
			goto fail;
	}
	*out = ch;
	return 0;
fail:
	csf_net_channel_free(ch);
	return rc;
}

/* -------------------------------------------------------- connections */

int csf__channel_connect(csf_net_channel *ch, csf__client_call *ws_call, csf__conn **out)
{
	static const unsigned char alpn_auto[] = "\x02h2\x08http/1.1";
	static const unsigned char alpn_h2[] = "\x02h2";
	static const unsigned char alpn_h1[] = "\x08http/1.1";
	struct evutil_addrinfo hints, *res = NULL;
	char port[8], addr[300];
	SSL *ssl = NULL;
	csf__conn *c;
	int rc;

	*out = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%d", ch->port);
	/* resolution blocks the loop; the agent resolves once per connection */
	rc = evutil_getaddrinfo(ch->host, port, &hints, &res);
	if (rc != 0 || !res)
		return csf__error_set(CSF_EIO, "net: cannot resolve %s: %s", ch->host, evutil_gai_strerror(rc));
	snprintf(addr, sizeof(addr), "%s", ch->authority);
	if (ch->tls) {
		const unsigned char *alpn = ws_call ? alpn_h1
					    : ch->o.transport == CSF_NET_CHANNEL_GRPC ? alpn_h2 : alpn_auto;
		unsigned int alpn_len = ws_call ? sizeof(alpn_h1) - 1
					: ch->o.transport == CSF_NET_CHANNEL_GRPC ? sizeof(alpn_h2) - 1 : sizeof(alpn_auto) - 1;

		rc = csf__tls_client_ssl_new(&ssl, ch->ssl_ctx, ch->server_name ? ch->server_name : ch->host,
					     alpn, alpn_len);
		if (rc) {
			evutil_freeaddrinfo(res);
			return rc;
		}
	}
	rc = csf__conn_connect(&c, ch, csf__net_loop_base(ch->loop), ssl, res->ai_addr, (int)res->ai_addrlen, addr);
	evutil_freeaddrinfo(res);
	if (rc)
		return rc;
	c->ws_call = ws_call;
	csf__conn_set_limits(c, ch->o.max_output_bytes, ch->o.connect_timeout_ms, 0, ch->o.keepalive_ms,
			     ch->o.keepalive_timeout_ms);
	*out = c;
	return 0;
}

static void on_failed_later(evutil_socket_t fd, short what, void *arg)
{
	csf__client_call *cc = arg;

	(void)fd;
	(void)what;
	csf__client_call_end(cc, CSF_NET_UNAVAILABLE, cc->grpc_message);
	csf__client_call_free(cc);
}

/* End a call that could not be carried from the loop, never inside the
 * csf_net_channel_call() that made it (its caller holds the pointer). */
static void fail_later(csf__client_call *cc, const char *why)
{
	struct timeval now = { 0, 0 };

	snprintf(cc->grpc_message, sizeof(cc->grpc_message), "%s", why);
	cc->failed = evtimer_new(csf__net_loop_base(cc->ch->loop), on_failed_later, cc);
	if (!cc->failed || evtimer_add(cc->failed, &now) != 0) {
		csf__client_call_end(cc, CSF_NET_UNAVAILABLE, why);
		csf__client_call_free(cc);
	}
}

static void bind_ws(csf__client_call *cc)
{
	csf__conn *c;

	if (csf__channel_connect(cc->ch, cc, &c) != 0) {
		fail_later(cc, csf_error_last()->message);
		return;
	}
	cc->conn = c;
	cc->bound_ws = 1;
}

static void bind_pending(csf_net_channel *ch)
{
	csf__client_call *cc, *next;

	for (cc = ch->calls; cc; cc = next) {
		next = cc->next;
		if (cc->bound_h2 || cc->bound_ws || cc->call.ended)
			continue;
		if (ch->ws_mode)
			bind_ws(cc);
		else if (ch->h2_up && csf__h2_client_bind(ch->h2conn->h2, cc) != 0)
			csf__client_call_end(cc, CSF_NET_INTERNAL, csf_error_last()->message), csf__client_call_free(cc);
	}
}

static void fail_pending(csf_net_channel *ch, const char *why)
{
	csf__client_call *cc, *next;

	for (cc = ch->calls; cc; cc = next) {
		next = cc->next;
		if (!cc->bound_h2 && !cc->bound_ws) {
			csf__client_call_end(cc, CSF_NET_UNAVAILABLE, why);
			csf__client_call_free(cc);
		}
	}
}

void csf__channel_connected(csf__conn *c)
{
	csf_net_channel *ch = c->chan;
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;

	if (c->ws_call) {
		if (csf__ws_client_start(c) != 0)
			csf__conn_close(c, csf_error_last()->message);
		return;
	}
	if (c->ssl)
		SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
	if (!c->ssl || (alpn_len == 2 && memcmp(alpn, "h2", 2) == 0)) {
		if (csf__h2_client_start(c) != 0) {
			csf__channel_conn_failed(c, csf_error_last()->message);
			csf__conn_close(c, csf_error_last()->message);
			return;
		}
		ch->h2_up = 1;
		ch->in_use = CSF_NET_TRANSPORT_GRPC;
		bind_pending(ch);
		csf__h2_flush(c->h2);
		csf__conn_rearm(c);
		return;
	}
	/* The server (or something in between) does not speak HTTP/2. */
	if (ch->o.transport == CSF_NET_CHANNEL_GRPC) {
		csf__channel_conn_failed(c, "the server did not agree to HTTP/2 (ALPN)");
		csf__conn_close(c, "no HTTP/2");
		return;
	}
	csf__log(CSF_LOG_INFO, "net", "%s: no HTTP/2 on this path; falling back to WebSocket", ch->authority);
	ch->ws_mode = 1;
	ch->in_use = CSF_NET_TRANSPORT_WEBSOCKET;
	ch->h2conn = NULL;
	csf__conn_close(c, "falling back to WebSocket");
	bind_pending(ch);
}

void csf__channel_conn_failed(csf__conn *c, const char *why)
{
	csf_net_channel *ch = c->chan;
	char msg[300];

	snprintf(msg, sizeof(msg), "%s: %s", ch->authority, why);
	if (c->ws_call) {
		csf__client_call *cc = c->ws_call;

		c->ws_call = NULL;
		cc->conn = NULL;
		cc->bound_ws = 0;
		csf__client_call_end(cc, CSF_NET_UNAVAILABLE, msg);
		csf__client_call_free(cc);
		return;
	}
	if (ch->h2conn == c) {
		ch->h2conn = NULL;
		ch->h2_up = 0;
		fail_pending(ch, msg);
	}
}

int csf__channel_http_feed(csf__conn *c, const uint8_t *data, size_t len, size_t *used)
{
	*used = len;
	if (c->ws_call)
		return csf__ws_client_feed(c, data, len);
	return csf__error_set(CSF_EPARSE, "net: unexpected HTTP/1.1 data from the server");
}

void csf__channel_conn_gone(csf__conn *c, const char *why)
{
	csf_net_channel *ch = c->chan;

	if (c->h2) {
		csf__h2_client_free(c->h2, why);
		c->h2 = NULL;
	}
	if (c->ws_call)
		csf__ws_client_free(c, why);
	if (ch->h2conn == c) {
		ch->h2conn = NULL;
		ch->h2_up = 0;
		fail_pending(ch, why);
	}
}

/* -------------------------------------------------------------- calls */

void csf__client_call_end(csf__client_call *cc, int status, const char *message)
{
	if (cc->deadline)
		evtimer_del(cc->deadline);
	csf__call_end(&cc->call, status, message);
}

void csf__client_call_free(csf__client_call *cc)
{
	csf_net_channel *ch = cc->ch;

	if (cc->prev)
		cc->prev->next = cc->next;
	else if (ch->calls == cc)
		ch->calls = cc->next;
	if (cc->next)
		cc->next->prev = cc->prev;
	if (cc->deadline)
		event_free(cc->deadline);
	if (cc->failed)
		event_free(cc->failed);
	csf__grpc_deframer_free(&cc->in);
	csf__buf_free(&cc->held);
	csf__buf_free(&cc->out);
	csf__ws_session_free(cc->ws);
	if (cc->hs) {
		csf__http1_response_reader_free(cc->hs);
		csf__free(cc->hs);
	}
	csf__call_cleanup(&cc->call);
	csf__free(cc);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	csf__client_call *cc = arg;

	(void)fd;
	(void)what;
	csf__client_call_end(cc, CSF_NET_DEADLINE_EXCEEDED, "deadline exceeded");
	cc->call.finishing = 1;
	cc->call.ops->cancel(&cc->call); /* RST_STREAM(CANCEL), or close the WebSocket */
}

static int pending_send(csf__client_call *cc, const void *data, size_t len)
{
	uint8_t hdr[CSF__GRPC_FRAME_HEADER];
	int rc;

	if (cc->out.len - cc->out_off >= cc->ch->o.max_output_bytes) {
		cc->call.want_writable = 1;
		return csf__error_set(CSF_ELIMIT, "net: the call's send queue is full");
	}
	rc = csf__grpc_frame_header(hdr, len);
	if (!rc)
		rc = csf__buf_put(&cc->out, (const char *)hdr, sizeof(hdr));
	if (!rc && len)
		rc = csf__buf_put(&cc->out, data, len);
	return rc;
}

static int op_send(csf_net_call *call, const void *data, size_t len)
{
	csf__client_call *cc = (csf__client_call *)call;
	int rc = pending_send(cc, data, len);

	if (rc)
		return rc;
	if (cc->bound_h2)
		return csf__h2_client_send(cc);
	if (cc->bound_ws)
		return csf__ws_client_send(cc);
	return 0;
}

static int op_close_send(csf_net_call *call)
{
	csf__client_call *cc = (csf__client_call *)call;

	if (cc->bound_h2)
		return csf__h2_client_close_send(cc);
	if (cc->bound_ws)
		return csf__ws_client_close_send(cc);
	return 0; /* sent with the first bytes once bound */
}

static void op_cancel(csf_net_call *call)
{
	csf__client_call *cc = (csf__client_call *)call;

	if (cc->bound_h2) {
		csf__h2_client_cancel(cc);
	} else if (cc->bound_ws) {
		csf__ws_client_cancel(cc);
	} else {
		csf__client_call_end(cc, CSF_NET_CANCELLED, "cancelled");
		csf__client_call_free(cc);
	}
}

static void op_pause(csf_net_call *call, int paused)
{
	csf__client_call *cc = (csf__client_call *)call;

	if (cc->bound_h2)
		csf__h2_client_pause(cc, paused);
	else if (cc->bound_ws)
		csf__ws_client_pause(cc, paused);
}

static size_t op_queued(const csf_net_call *call)
{
	const csf__client_call *cc = (const csf__client_call *)call;
	size_t n = cc->out.len - cc->out_off;

	return cc->ws ? n + csf__ws_session_queued(cc->ws) : n;
}

static const csf__call_ops client_ops = {
	op_send, op_close_send, NULL, op_cancel, op_pause, op_queued,
};

int csf_net_channel_call(csf_net_call **out, csf_net_channel *ch, const char *method, uint64_t timeout_ms,
			 const csf_net_call_handlers *h, void *payload)
{
	csf__client_call *cc;
	int rc;

	if (out)
		*out = NULL;
	if (!ch || !method || method[0] != '/' || !h || !h->on_end)
		return csf__misuse("csf_net_channel_call: channel, method, and handlers with on_end are required");
	if (ch->freeing)
		return csf__error_set(CSF_EINVALID, "net: the channel is being freed");
	cc = csf__calloc(1, sizeof(*cc));
	if (!cc)
		return CSF_ENOMEM;
	cc->ch = ch;
	cc->grpc_status = -1;
	cc->out = (csf__buf)CSF__BUF_INIT(SIZE_MAX / 2);
	cc->held = (csf__buf)CSF__BUF_INIT(SIZE_MAX / 2);
	csf__grpc_deframer_init(&cc->in, ch->o.max_message_bytes);
	rc = csf__call_init(&cc->call, &client_ops, method, h, payload, ch->o.max_message_bytes);
	if (!rc && timeout_ms) {
		struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };

		cc->deadline_ms = csf__time_mono_ms() + timeout_ms;
		cc->deadline = evtimer_new(csf__net_loop_base(ch->loop), on_deadline, cc);
		if (!cc->deadline)
			rc = csf__error_set(CSF_ENOMEM, "net: cannot arm a deadline");
		else
			evtimer_add(cc->deadline, &tv);
	}
	if (rc) {
		if (cc->deadline)
			event_free(cc->deadline);
		csf__call_cleanup(&cc->call);
		csf__grpc_deframer_free(&cc->in);
		csf__free(cc);
		return rc;
	}
	cc->call.peer.address = ch->authority;
	cc->call.peer.tls = ch->tls;
	cc->next = ch->calls;
	if (cc->next)
		cc->next->prev = cc;
	ch->calls = cc;
	if (out)
		*out = &cc->call;
	if (ch->ws_mode) {
		bind_ws(cc);
	} else if (ch->h2_up) {
		if (csf__h2_client_bind(ch->h2conn->h2, cc) != 0)
			fail_later(cc, csf_error_last()->message);
	} else if (!ch->h2conn && csf__channel_connect(ch, NULL, &ch->h2conn) != 0) {
		fail_later(cc, csf_error_last()->message);
	}
	return 0;
}

csf_net_transport csf_net_channel_transport_in_use(const csf_net_channel *ch)
{
	return ch ? ch->in_use : 0;
}

void csf_net_channel_free(csf_net_channel *ch)
{
	if (!ch)
		return;
	ch->freeing = 1;
	while (ch->calls) {
		csf__client_call *cc = ch->calls;

		if (cc->conn)
			csf__conn_free_now(cc->conn); /* ends and frees the calls it carries */
		else {
			csf__client_call_end(cc, CSF_NET_CANCELLED, "channel freed");
			csf__client_call_free(cc);
		}
	}
	while (ch->conns) /* closed ones whose teardown had not run yet, too */
		csf__conn_free_now(ch->conns);
	SSL_CTX_free(ch->ssl_ctx);
	csf__free(ch->url);
	csf__free(ch->host);
	csf__free(ch->authority);
	csf__free(ch->ws_path);
	csf__free(ch->ws_subprotocol);
	csf__free(ch->server_name);
	csf__free(ch->pin);
	csf__free(ch);
}
