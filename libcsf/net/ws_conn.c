/* A WebSocket session on a server connection, carried as a call of the
 * streaming method it is mapped to: one binary frame is one message. The
 * call's status travels in the close frame: 1000 for OK, 4000 + the gRPC
 * status otherwise, with the message as the reason (docs/protocol.md). */
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "net/internal.h"
#include "net/ws.h"

struct csf__ws_conn {
	csf_net_call call; /* first: the public handle points here */
	csf__conn *conn;
	csf__ws_session *s;
	int status;
	char *status_message;
	unsigned closing : 1;   /* our close frame is queued */
	unsigned peer_closed : 1;
};

static int close_code_of(int status)
{
	return status == CSF_NET_OK ? CSF__WS_CLOSE_NORMAL : 4000 + status;
}

static int status_of_close(uint16_t code)
{
	if (code == CSF__WS_CLOSE_NORMAL || code == CSF__WS_CLOSE_GOING_AWAY)
		return CSF_NET_CANCELLED;
	if (code >= 4000 && code <= 4000 + CSF_NET_UNAUTHENTICATED)
		return code - 4000;
	if (code == CSF__WS_CLOSE_TOO_BIG)
		return CSF_NET_RESOURCE_EXHAUSTED;
	return CSF_NET_UNAVAILABLE;
}

static void start_close(csf__ws_conn *w, int status, const char *message)
{
	if (w->closing)
		return;
	w->closing = 1;
	w->status = status;
	if (message && *message)
		w->status_message = csf__strdup(message);
	/* a reason fits in a control frame: 123 bytes at most */
	csf__ws_session_close(w->s, (uint16_t)close_code_of(status),
			      w->status_message && strlen(w->status_message) <= 123 ? w->status_message : "");
}

static int on_ws_message(void *payload, const uint8_t *data, size_t len)
{
	csf__ws_conn *w = payload;
	int rc = csf__call_deliver(&w->call, data, len);

	if (rc > 0 && rc <= CSF_NET_UNAUTHENTICATED)
		csf_net_call_finish(&w->call, rc, "refused by the handler");
	return 0;
}

static void on_ws_close(void *payload, uint16_t code, const char *reason)
{
	csf__ws_conn *w = payload;

	w->peer_closed = 1;
	if (!w->call.started || w->call.ended)
		return;
	if (w->closing) {
		/* the answer to our close: the call ends with what we said */
		csf__call_end(&w->call, w->status, w->status_message);
		return;
	}
	/* a normal close is the client's half-close: the handler may finish
	 * the call in answer, and then its status is the call's */
	if (code == CSF__WS_CLOSE_NORMAL)
		csf__call_half_closed(&w->call);
	if (w->closing)
		csf__call_end(&w->call, w->status, w->status_message);
	else
		csf__call_end(&w->call, status_of_close(code),
			      reason && *reason ? reason : "the client closed the WebSocket");
}

/* ------------------------------------------------------------ call ops */

static int op_send(csf_net_call *call, const void *data, size_t len)
{
	csf__ws_conn *w = (csf__ws_conn *)call;
	int rc;

	if (csf__ws_session_queued(w->s) + csf__conn_output_len(w->conn) >= w->conn->max_output) {
		call->want_writable = 1;
		return csf__error_set(CSF_ELIMIT, "net: the call's send queue is full");
	}
	rc = csf__ws_session_send(w->s, data, len);
	if (!rc)
		csf__ws_conn_flush(w);
	return rc;
}

static int op_finish(csf_net_call *call, int status, const char *message)
{
	csf__ws_conn *w = (csf__ws_conn *)call;

	start_close(w, status, message);
	csf__ws_conn_flush(w);
	return 0;
}

static void op_cancel(csf_net_call *call)
{
	op_finish(call, CSF_NET_CANCELLED, "cancelled by the server");
}

static void op_pause(csf_net_call *call, int paused)
{
	csf__ws_conn *w = (csf__ws_conn *)call;

	/* no per-message flow control: stop reading the socket, and TCP's
	 * window does the rest */
	if (paused) {
		bufferevent_disable(w->conn->bev, EV_READ);
	} else {
		bufferevent_enable(w->conn->bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(w->conn->bev)) > 0)
			bufferevent_trigger(w->conn->bev, EV_READ, 0);
	}
}

static size_t op_queued(const csf_net_call *call)
{
	const csf__ws_conn *w = (const csf__ws_conn *)call;

	return csf__ws_session_queued(w->s);
}

static const csf__call_ops ws_ops = {
	op_send, NULL, op_finish, op_cancel, op_pause, op_queued,
};

/* ------------------------------------------------------------- session */

int csf__ws_conn_new_server(csf__conn *c, const csf__ws_route *route, const csf__http_request *req)
{
	static const csf__ws_callbacks cb = { on_ws_message, on_ws_close };
	const csf__method *m = route->method;
	csf__ws_conn *w;
	int rc;

	w = csf__calloc(1, sizeof(*w));
	if (!w)
		return CSF_ENOMEM;
	w->conn = c;
	rc = csf__ws_session_new(&w->s, 1, c->srv->opts.max_message_bytes, &cb, w);
	if (!rc)
		rc = csf__call_init(&w->call, &ws_ops, m->path, &m->h, m->payload, c->srv->opts.max_message_bytes);
	if (rc) {
		csf__ws_session_free(w->s);
		csf__call_cleanup(&w->call);
		csf__free(w);
		return rc;
	}
	csf__conn_fill_peer(c, &w->call.peer, CSF_NET_TRANSPORT_WEBSOCKET);
	csf__ws_session_set_text(w->s, route->text);
	for (size_t i = 0; i < req->headers_count; i++) {
		const csf__http_header *hd = &req->headers[i];

		if (csf__call_add_metadata(&w->call, hd->name, strlen(hd->name), hd->value, strlen(hd->value),
					   c->srv->opts.max_header_list_bytes) != 0)
			break; /* the request was within the same limit; nothing to lose */
	}
	c->ws = w;
	rc = csf__call_start(&w->call);
	if (rc && !w->call.finishing) {
		w->call.ended = 1; /* refused: the handler never sees it again */
		start_close(w, rc > 0 && rc <= CSF_NET_UNAUTHENTICATED ? rc : CSF_NET_INTERNAL, "refused by the server");
	}
	return 0;
}

int csf__ws_conn_feed(csf__ws_conn *w, const uint8_t *data, size_t len)
{
	if (csf__ws_session_done(w->s))
		return 0;
	if (csf__ws_session_feed(w->s, data, len) != 0 && w->call.started && !w->call.ended)
		csf__call_end(&w->call, CSF_NET_INTERNAL, csf_error_last()->message);
	return 0;
}

int csf__ws_pump(csf__conn *c, csf__ws_session *s)
{
	csf__buf out = CSF__BUF_INIT(SIZE_MAX / 2);
	size_t room;
	int rc = 0;

	if (c->dead)
		return CSF_EINVALID;
	room = csf__conn_output_len(c) < c->max_output ? c->max_output - csf__conn_output_len(c) : 0;
	if (room && csf__ws_session_queued(s)) {
		rc = csf__ws_session_output(s, &out, room);
		if (!rc && out.len)
			rc = csf__conn_write(c, out.ptr, out.len);
		csf__buf_free(&out);
	}
	if (rc)
		csf__conn_close(c, csf_error_last()->message);
	return rc;
}

int csf__ws_conn_flush(csf__ws_conn *w)
{
	csf__conn *c = w->conn;
	int rc = csf__ws_pump(c, w->s);

	if (rc)
		return rc == CSF_EINVALID ? 0 : rc;
	if (csf__ws_session_done(w->s) && !csf__ws_session_queued(w->s)) {
		if (w->call.started && !w->call.ended)
			csf__call_end(&w->call, w->status, w->status_message);
		csf__conn_close_after_flush(c);
	} else if (w->call.want_writable && csf__ws_session_queued(w->s) < c->max_output / 2) {
		csf__call_writable(&w->call);
	}
	return 0;
}

int csf__ws_conn_active(const csf__ws_conn *w)
{
	return w->call.started && !w->call.ended;
}

void csf__ws_conn_ping(csf__ws_conn *w)
{
	if (csf__ws_session_ping(w->s) == 0)
		csf__ws_conn_flush(w);
}

void csf__ws_conn_drain(csf__ws_conn *w)
{
	start_close(w, CSF_NET_UNAVAILABLE, "server shutting down");
}

void csf__ws_conn_free(csf__ws_conn *w, const char *why)
{
	if (w->call.started && !w->call.ended)
		csf__call_end(&w->call, CSF_NET_UNAVAILABLE, why);
	csf__ws_session_free(w->s);
	csf__call_cleanup(&w->call);
	csf__free(w->status_message);
	csf__free(w);
}
