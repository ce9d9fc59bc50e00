/* A client call over its own WebSocket connection: the upgrade handshake,
 * then one binary frame per message. The server's close frame carries the
 * call's status (1000: OK; 4000 + a gRPC status otherwise). */
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "net/client.h"

static int status_of_close(uint16_t code)
{
	if (code == CSF__WS_CLOSE_NORMAL)
		return CSF_NET_OK;
	if (code >= 4000 && code <= 4000 + CSF_NET_UNAUTHENTICATED)
		return code - 4000;
	if (code == CSF__WS_CLOSE_TOO_BIG)
		return CSF_NET_RESOURCE_EXHAUSTED;
	if (code == CSF__WS_CLOSE_GOING_AWAY)
		return CSF_NET_UNAVAILABLE;
	return CSF_NET_INTERNAL;
}

static int on_message(void *payload, const uint8_t *data, size_t len)
{
	csf__client_call *cc = payload;

	if (csf__call_deliver(&cc->call, data, len) != 0)
		csf_net_call_cancel(&cc->call);
	return 0;
}

static void on_close(void *payload, uint16_t code, const char *reason)
{
	csf__client_call *cc = payload;

	if (cc->call.ended)
		return;
	csf__call_half_closed(&cc->call);
	csf__client_call_end(cc, status_of_close(code), reason && *reason ? reason : "the server closed the WebSocket");
}

/* Move the framed messages waiting in cc->out into the session. */
static int move_out(csf__client_call *cc)
{
	while (cc->out.len - cc->out_off >= CSF__GRPC_FRAME_HEADER) {
		const uint8_t *p = (const uint8_t *)cc->out.ptr + cc->out_off;
		size_t len = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
		int rc = csf__ws_session_send(cc->ws, p + CSF__GRPC_FRAME_HEADER, len);

		if (rc)
			return rc;
		cc->out_off += CSF__GRPC_FRAME_HEADER + len;
	}
	csf__buf_free(&cc->out);
	cc->out_off = 0;
	return 0;
}

int csf__ws_client_start(csf__conn *c)
{
	csf__client_call *cc = c->ws_call;
	csf_net_channel *ch = c->chan;
	csf__buf req = CSF__BUF_INIT(16384);
	int rc;

	cc->hs = csf__calloc(1, sizeof(*cc->hs));
	if (!cc->hs)
		return CSF_ENOMEM;
	csf__http1_response_reader_init(cc->hs, NULL);
	rc = csf__ws_client_handshake(&req, ch->authority, ch->ws_path, ch->ws_subprotocol, cc->ws_key);
	if (!rc)
		rc = csf__conn_write(c, req.ptr, req.len);
	csf__buf_free(&req);
	c->proto = CSF__PROTO_HTTP1;
	return rc;
}

static void fail(csf__conn *c, int status, const char *why)
{
	csf__client_call *cc = c->ws_call;
	char msg[400];

	snprintf(msg, sizeof(msg), "%s: %s", c->chan->authority, why);
	csf__client_call_end(cc, status, msg);
	csf__conn_close(c, why);
}

/* The server refused the upgrade: say why, from its JSON error if it sent one. */
static void refused(csf__conn *c, const csf__http1_response *resp)
{
	static const char key[] = "\"message\":\"";
	char why[300];
	const char *m = resp->body ? strstr(resp->body, key) : NULL;
	int status = resp->status == 401 ? CSF_NET_UNAUTHENTICATED
		     : resp->status == 403 ? CSF_NET_PERMISSION_DENIED
		     : resp->status == 404 ? CSF_NET_UNIMPLEMENTED : CSF_NET_UNAVAILABLE;

	if (m) {
		size_t n = strcspn(m + sizeof(key) - 1, "\"");

		snprintf(why, sizeof(why), "WebSocket upgrade refused (HTTP %d): %.*s", resp->status, (int)n,
			 m + sizeof(key) - 1);
	} else {
		snprintf(why, sizeof(why), "WebSocket upgrade refused (HTTP %d)", resp->status);
	}
	fail(c, status, why);
}

static int open_session(csf__conn *c)
{
	static const csf__ws_callbacks cb = { on_message, on_close };
	csf__client_call *cc = c->ws_call;
	csf_net_channel *ch = c->chan;
	int rc = csf__ws_session_new(&cc->ws, 0, ch->o.max_message_bytes, &cb, cc);

	if (rc)
		return rc;
	cc->ws_open = 1;
	c->proto = CSF__PROTO_WS;
	ch->in_use = CSF_NET_TRANSPORT_WEBSOCKET;
	csf__conn_fill_peer(c, &cc->call.peer, CSF_NET_TRANSPORT_WEBSOCKET);
	cc->call.peer.address = ch->authority;
	csf__call_start(&cc->call);
	rc = move_out(cc);
	if (!rc && cc->call.send_closed)
		rc = csf__ws_session_close(cc->ws, CSF__WS_CLOSE_NORMAL, "");
	return rc;
}

int csf__ws_client_feed(csf__conn *c, const uint8_t *data, size_t len)
{
	csf__client_call *cc = c->ws_call;
	size_t used = 0;
	int rc;

	if (!cc)
		return 0;
	if (!cc->ws_open) {
		rc = csf__http1_response_reader_feed(cc->hs, (const char *)data, len, &used);
		if (rc < 0) {
			fail(c, CSF_NET_UNAVAILABLE, csf_error_last()->message);
			return 0;
		}
		if (rc == 0)
			return 0;
		if (cc->hs->resp.status != 101) {
			refused(c, &cc->hs->resp);
			return 0;
		}
		if (csf__ws_client_check(&cc->hs->resp, cc->ws_key, c->chan->ws_subprotocol) != 0) {
			fail(c, CSF_NET_UNAVAILABLE, csf_error_last()->message);
			return 0;
		}
		rc = open_session(c);
		if (rc) {
			fail(c, CSF_NET_INTERNAL, csf_error_last()->message);
			return 0;
		}
		data += used;
		len -= used;
	}
	if (len && csf__ws_session_feed(cc->ws, data, len) != 0 && !cc->call.ended)
		csf__client_call_end(cc, CSF_NET_INTERNAL, csf_error_last()->message);
	csf__ws_client_flush(c);
	return 0;
}

int csf__ws_client_flush(csf__conn *c)
{
	csf__client_call *cc = c->ws_call;
	int rc;

	if (!cc || !cc->ws || c->dead)
		return 0;
	rc = csf__ws_pump(c, cc->ws);
	if (rc)
		return rc;
	if (csf__ws_session_done(cc->ws) && !csf__ws_session_queued(cc->ws))
		csf__conn_close_after_flush(c);
	else if (cc->call.want_writable && csf__ws_session_queued(cc->ws) < c->max_output / 2)
		csf__call_writable(&cc->call);
	return 0;
}

int csf__ws_client_send(csf__client_call *cc)
{
	int rc;

	if (!cc->ws_open)
		return 0; /* waits in cc->out until the handshake is done */
	rc = move_out(cc);
	if (!rc)
		csf__ws_client_flush(cc->conn);
	return rc;
}

int csf__ws_client_close_send(csf__client_call *cc)
{
	if (!cc->ws_open)
		return 0;
	csf__ws_session_close(cc->ws, CSF__WS_CLOSE_NORMAL, "");
	csf__ws_client_flush(cc->conn);
	return 0;
}

void csf__ws_client_cancel(csf__client_call *cc)
{
	if (!cc->call.ended)
		csf__client_call_end(cc, CSF_NET_CANCELLED, "cancelled");
	if (cc->ws_open) {
		csf__ws_session_close(cc->ws, 4000 + CSF_NET_CANCELLED, "cancelled");
		csf__ws_client_flush(cc->conn);
		csf__conn_close_after_flush(cc->conn);
	} else {
		csf__conn_close(cc->conn, "cancelled");
	}
}

void csf__ws_client_pause(csf__client_call *cc, int paused)
{
	struct bufferevent *bev = cc->conn->bev;

	if (paused) {
		bufferevent_disable(bev, EV_READ);
	} else {
		bufferevent_enable(bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
			bufferevent_trigger(bev, EV_READ, 0);
	}
}

void csf__ws_client_ping(csf__conn *c)
{
	if (c->ws_call && c->ws_call->ws && csf__ws_session_ping(c->ws_call->ws) == 0)
		csf__ws_client_flush(c);
}

void csf__ws_client_free(csf__conn *c, const char *why)
{
	csf__client_call *cc = c->ws_call;
	char msg[300];

	c->ws_call = NULL;
	if (!cc)
		return;
	snprintf(msg, sizeof(msg), "%s: %s", c->chan->authority, why);
	if (!cc->call.ended)
		csf__client_call_end(cc, CSF_NET_UNAVAILABLE, msg);
	csf__client_call_free(cc);
}
