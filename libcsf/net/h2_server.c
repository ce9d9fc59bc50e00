/*
 * gRPC server calls over an nghttp2 server session (PROTOCOL-HTTP2.md and
 * the checklist in PLATFORM-NOTES.md): request validation, Trailers-Only
 * refusals, message reassembly with a size limit, flow control consumed only
 * when the application took a message, streaming responses from a deferred
 * data provider, trailers, deadlines, keepalive PINGs and GOAWAY drain.
 */
#include <string.h>

#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "net/h2.h"
#include "proto/grpc_frame.h"

typedef struct h2_stream {
	csf_net_call call; /* first: the public handle points here */
	csf__h2 *h2;
	int32_t id;
	const csf__method *method;
	struct h2_stream *prev, *next;
	/* request head */
	char path[256];
	size_t path_len;
	size_t header_bytes;
	int64_t timeout_ms;
	unsigned is_post : 1, grpc_ct : 1, oversized : 1, bad_encoding : 1, path_too_long : 1;
	/* input */
	csf__grpc_deframer in;
	csf__buf held;           /* DATA received while paused, not yet consumed */
	/* output */
	csf__buf out;
	size_t out_off;
	int status;
	char *status_message;
	unsigned responded : 1;  /* response headers (or Trailers-Only) submitted */
	unsigned finish_pending : 1;
	unsigned trailers_sent : 1;
	unsigned deferred : 1;   /* the data provider is waiting for output */
	unsigned remote_closed : 1;
	struct event *deadline;
} h2_stream;

#define ERR(c) (csf__conn_close((c), csf_error_last()->message), NGHTTP2_ERR_CALLBACK_FAILURE)

static h2_stream *stream_of(csf__h2 *h, int32_t id)
{
	return h->dying ? NULL : nghttp2_session_get_stream_user_data(h->session, id);
}

static void stream_free(h2_stream *st)
{
	csf__h2 *h = st->h2;

	if (st->prev)
		st->prev->next = st->next;
	else if (h->streams == st)
		h->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	if (st->deadline)
		event_free(st->deadline);
	csf__grpc_deframer_free(&st->in);
	csf__buf_free(&st->held);
	csf__buf_free(&st->out);
	csf__free(st->status_message);
	csf__call_cleanup(&st->call);
	csf__free(st);
}

/* ------------------------------------------------------------- output */

static ssize_t read_data(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *source, void *user_data)
{
	h2_stream *st = source->ptr;
	size_t avail = st->out.len - st->out_off;

	(void)user_data;
	if (avail) {
		size_t n = avail < length ? avail : length;

		memcpy(buf, st->out.ptr + st->out_off, n);
		st->out_off += n;
		if (st->out_off == st->out.len)
			csf__buf_free(&st->out), st->out_off = 0;
		return (ssize_t)n;
	}
	if (st->finish_pending && !st->trailers_sent) {
		csf__buf msg = CSF__BUF_INIT(8192);
		char code[8];
		nghttp2_nv nv[2];
		int rc;

		snprintf(code, sizeof(code), "%d", st->status);
		if (csf__grpc_message_encode(&msg, st->status_message ? st->status_message : "") != 0)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		nv[0] = (nghttp2_nv){ (uint8_t *)"grpc-status", (uint8_t *)code, 11, strlen(code), NGHTTP2_NV_FLAG_NONE };
		nv[1] = (nghttp2_nv){ (uint8_t *)"grpc-message", (uint8_t *)msg.ptr, 12, msg.len, NGHTTP2_NV_FLAG_NONE };
		rc = nghttp2_submit_trailer(session, id, nv, msg.len ? 2 : 1);
		csf__buf_free(&msg);
		if (rc != 0)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		st->trailers_sent = 1;
		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		return 0;
	}
	st->deferred = 1;
	return NGHTTP2_ERR_DEFERRED;
}

static void wake(h2_stream *st)
{
	if (st->deferred && st->responded) {
		st->deferred = 0;
		nghttp2_session_resume_data(st->h2->session, st->id);
	}
	csf__h2_flush(st->h2);
}

static int submit_headers(h2_stream *st)
{
	static const nghttp2_nv nv[] = {
		{ (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"grpc-accept-encoding", (uint8_t *)"identity", 20, 8, NGHTTP2_NV_FLAG_NONE },
	};
	nghttp2_data_provider prd;

	prd.source.ptr = st;
	prd.read_callback = read_data;
	st->responded = 1;
	return nghttp2_submit_response(st->h2->session, st->id, nv, CSF__ARRAY_SIZE(nv), &prd) == 0
		? 0 : csf__error_set(CSF_ENOMEM, "h2: cannot submit response headers");
}

/* A refusal before the call starts: a single HEADERS frame with the status
 * (Trailers-Only), or a plain HTTP status for requests that are not gRPC. */
static int refuse(h2_stream *st, int http_status, int status, const char *message)
{
	csf__buf msg = CSF__BUF_INIT(8192);
	char hs[8], gs[8];
	nghttp2_nv nv[5];
	size_t n = 0;
	int rc;

	snprintf(hs, sizeof(hs), "%d", http_status);
	snprintf(gs, sizeof(gs), "%d", status);
	nv[n++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)hs, 7, strlen(hs), NGHTTP2_NV_FLAG_NONE };
	if (http_status == 200) {
		if (csf__grpc_message_encode(&msg, message) != 0)
			return CSF_ENOMEM;
		nv[n++] = (nghttp2_nv){ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, NGHTTP2_NV_FLAG_NONE };
		nv[n++] = (nghttp2_nv){ (uint8_t *)"grpc-status", (uint8_t *)gs, 11, strlen(gs), NGHTTP2_NV_FLAG_NONE };
		nv[n++] = (nghttp2_nv){ (uint8_t *)"grpc-message", (uint8_t *)msg.ptr, 12, msg.len, NGHTTP2_NV_FLAG_NONE };
		if (status == CSF_NET_UNIMPLEMENTED)
			nv[n++] = (nghttp2_nv){ (uint8_t *)"grpc-accept-encoding", (uint8_t *)"identity", 20, 8,
						NGHTTP2_NV_FLAG_NONE };
	}
	st->responded = 1;
	st->trailers_sent = 1;
	st->status = status;
	rc = nghttp2_submit_response(st->h2->session, st->id, nv, n, NULL);
	csf__buf_free(&msg);
	csf__log(CSF_LOG_DEBUG, "net", "%s: %.*s refused: %s %s", st->h2->conn->addr, (int)st->path_len,
		 st->path, csf_net_status_name(status), message);
	return rc == 0 ? 0 : csf__error_set(CSF_ENOMEM, "h2: cannot submit a response");
}

/* ------------------------------------------------------------ call ops */

static int op_send(csf_net_call *call, const void *data, size_t len)
{
	h2_stream *st = (h2_stream *)call;
	uint8_t hdr[CSF__GRPC_FRAME_HEADER];
	int rc;

	if (st->h2->dying)
		return csf__error_set(CSF_EINVALID, "net: the connection is closing");
	if (st->out.len - st->out_off >= st->h2->conn->max_output) {
		call->want_writable = 1;
		return csf__error_set(CSF_ELIMIT, "net: the call's send queue is full");
	}
	rc = csf__grpc_frame_header(hdr, len);
	if (!rc)
		rc = csf__buf_put(&st->out, (const char *)hdr, sizeof(hdr));
	if (!rc && len)
		rc = csf__buf_put(&st->out, data, len);
	if (rc)
		return rc;
	wake(st);
	return 0;
}

static int op_finish(csf_net_call *call, int status, const char *message)
{
	h2_stream *st = (h2_stream *)call;

	if (st->h2->dying)
		return 0;
	st->status = status;
	if (message && *message) {
		st->status_message = csf__strdup(message);
		if (!st->status_message)
			return CSF_ENOMEM;
	}
	st->finish_pending = 1;
	if (!st->responded) /* finished inside on_start: answered by dispatch */
		return 0;
	wake(st);
	return 0;
}

static void op_cancel(csf_net_call *call)
{
	h2_stream *st = (h2_stream *)call;

	if (st->h2->dying)
		return;
	st->status = CSF_NET_CANCELLED;
	nghttp2_submit_rst_stream(st->h2->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
	csf__h2_flush(st->h2);
}

static int deliver(h2_stream *st, const uint8_t *data, size_t len);

static void op_pause(csf_net_call *call, int paused)
{
	h2_stream *st = (h2_stream *)call;
	csf__buf held;

	if (paused || st->h2->dying || !st->held.len)
		return;
	held = st->held;
	st->held = (csf__buf)CSF__BUF_INIT(held.max);
	if (deliver(st, (const uint8_t *)held.ptr, held.len) != 0)
		csf__conn_close(st->h2->conn, csf_error_last()->message);
	csf__buf_free(&held);
	csf__h2_flush(st->h2);
}

static size_t op_queued(const csf_net_call *call)
{
	const h2_stream *st = (const h2_stream *)call;

	return st->out.len - st->out_off;
}

static const csf__call_ops server_ops = {
	op_send, NULL, op_finish, op_cancel, op_pause, op_queued,
};

/* --------------------------------------------------------------- input */

static int on_msg(void *payload, const uint8_t *msg, size_t len)
{
	h2_stream *st = payload;
	int rc = csf__call_deliver(&st->call, msg, len);

	if (rc > 0 && rc <= CSF_NET_UNAUTHENTICATED)
		csf_net_call_finish(&st->call, rc, "refused by the handler");
	return 0;
}

/* Reassemble messages from DATA bytes and hand them over; the flow-control
 * window opens again only for what was handed over. */
static int deliver(h2_stream *st, const uint8_t *data, size_t len)
{
	csf__h2 *h = st->h2;
	int rc;

	if (st->call.paused) {
		rc = csf__buf_put(&st->held, (const char *)data, len);
		return rc;
	}
	if (!st->call.finishing && !st->call.ended) {
		rc = csf__grpc_deframer_feed(&st->in, data, len, on_msg, st);
		if (rc == CSF_ELIMIT)
			csf_net_call_finish(&st->call, CSF_NET_RESOURCE_EXHAUSTED, csf_error_last()->message);
		else if (rc == CSF_EUNSUPPORTED)
			csf_net_call_finish(&st->call, CSF_NET_INTERNAL,
					    "compressed message, but grpc-encoding is identity");
		else if (rc)
			csf_net_call_finish(&st->call, CSF_NET_INTERNAL, csf_error_last()->message);
	}
	nghttp2_session_consume(h->session, st->id, len);
	return 0;
}

static void half_close(h2_stream *st)
{
	st->remote_closed = 1;
	if (!st->call.started || st->call.ended || st->call.finishing)
		return;
	if (!csf__grpc_deframer_idle(&st->in)) {
		csf_net_call_finish(&st->call, CSF_NET_INTERNAL, "the request ended inside a message");
		return;
	}
	csf__call_half_closed(&st->call);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	h2_stream *st = arg;

	(void)fd;
	(void)what;
	csf__call_end(&st->call, CSF_NET_DEADLINE_EXCEEDED, "deadline exceeded");
	/* Tell the client with a status rather than only RST_STREAM(CANCEL):
	 * when our timer fires before its own, it still sees DEADLINE_EXCEEDED.
	 * What was queued will never be read. */
	st->call.finishing = 1;
	csf__buf_free(&st->out);
	st->out_off = 0;
	st->status = CSF_NET_DEADLINE_EXCEEDED;
	csf__free(st->status_message);
	st->status_message = csf__strdup("deadline exceeded");
	st->finish_pending = 1;
	wake(st);
}

static int dispatch(h2_stream *st)
{
	csf__h2 *h = st->h2;
	csf__conn *c = h->conn;
	const csf__method *m;
	int rc;

	if (st->oversized)
		return refuse(st, 200, CSF_NET_RESOURCE_EXHAUSTED, "request headers are over the size limit");
	if (!st->is_post)
		return refuse(st, 405, 0, "");
	if (!st->grpc_ct)
		return refuse(st, 415, 0, "");
	m = st->path_too_long ? NULL : csf__server_find_method(c->srv, st->path, st->path_len);
	if (!m || (m->flags & CSF__METHOD_WEBSOCKET_ONLY))
		return refuse(st, 200, CSF_NET_UNIMPLEMENTED, "unknown method");
	if (st->bad_encoding)
		return refuse(st, 200, CSF_NET_UNIMPLEMENTED, "only the identity grpc-encoding is supported");
	if ((m->flags & CSF_NET_METHOD_CLIENT_CERT) && (!c->cert_presented || c->cert_error)) {
		char why[300];

		if (!c->tls)
			snprintf(why, sizeof(why), "this method needs TLS with a client certificate");
		else if (!c->cert_presented)
			snprintf(why, sizeof(why), "this method needs a client certificate");
		else
			snprintf(why, sizeof(why), "client certificate rejected: %s", c->cert_error);
		return refuse(st, 200, CSF_NET_UNAUTHENTICATED, why);
	}
	st->method = m;
	st->path[st->path_len] = '\0';
	rc = csf__call_init(&st->call, &server_ops, st->path, &m->h, m->payload, c->srv->opts.max_message_bytes);
	if (rc)
		return rc;
	csf__conn_fill_peer(c, &st->call.peer, CSF_NET_TRANSPORT_GRPC);
	csf__grpc_deframer_init(&st->in, c->srv->opts.max_message_bytes);
	st->held = (csf__buf)CSF__BUF_INIT(SIZE_MAX / 2);
	st->out = (csf__buf)CSF__BUF_INIT(SIZE_MAX / 2);
	if (st->timeout_ms >= 0) {
		struct timeval tv = { (time_t)(st->timeout_ms / 1000), (suseconds_t)(st->timeout_ms % 1000) * 1000 };

		st->deadline = evtimer_new(csf__net_loop_base(c->srv->loop), on_deadline, st);
		if (!st->deadline)
			return csf__error_set(CSF_ENOMEM, "h2: cannot arm a deadline");
		evtimer_add(st->deadline, &tv);
	}
	rc = csf__call_start(&st->call);
	if (st->call.finishing) /* the handler finished the call in on_start */
		return refuse(st, 200, st->status, st->status_message ? st->status_message : "");
	if (rc) {
		st->call.ended = 1; /* refused: the handler never sees this call again */
		return refuse(st, 200, rc > 0 && rc <= CSF_NET_UNAUTHENTICATED ? rc : CSF_NET_INTERNAL,
			      "refused by the server");
	}
	return submit_headers(st);
}

/* ------------------------------------------------------ nghttp2 callbacks */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
	csf__h2 *h = user_data;
	h2_stream *st;

	if (h->dying || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = csf__calloc(1, sizeof(*st));
	if (!st)
		return ERR(h->conn);
	st->h2 = h;
	st->id = frame->hd.stream_id;
	st->timeout_ms = -1;
	st->call.metadata = (csf__buf)CSF__BUF_INIT(1u << 20);
	st->next = h->streams;
	if (st->next)
		st->next->prev = st;
	h->streams = st;
	nghttp2_session_set_stream_user_data(session, st->id, st);
	return 0;
}

static int header_is(const uint8_t *name, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(name, want, len) == 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
	csf__h2 *h = user_data;
	h2_stream *st = stream_of(h, frame->hd.stream_id);

	(void)session;
	(void)flags;
	if (!st || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* trailers from the client carry nothing we use */
	st->header_bytes += namelen + valuelen + 32;
	if (st->header_bytes > h->conn->srv->opts.max_header_list_bytes) {
		st->oversized = 1;
		return 0;
	}
	if (header_is(name, namelen, ":method")) {
		st->is_post = valuelen == 4 && memcmp(value, "POST", 4) == 0;
	} else if (header_is(name, namelen, ":path")) {
		if (valuelen >= sizeof(st->path)) {
			st->path_too_long = 1;
		} else {
			memcpy(st->path, value, valuelen);
			st->path_len = valuelen;
		}
	} else if (header_is(name, namelen, "content-type")) {
		st->grpc_ct = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
			      (valuelen == 16 || value[16] == '+' || value[16] == ';');
	} else if (header_is(name, namelen, "grpc-timeout")) {
		st->timeout_ms = csf__grpc_timeout_ms((const char *)value, valuelen);
	} else if (header_is(name, namelen, "grpc-encoding")) {
		st->bad_encoding = !(valuelen == 8 && memcmp(value, "identity", 8) == 0);
	} else if (namelen && name[0] != ':') {
		if (csf__call_add_metadata(&st->call, (const char *)name, namelen, (const char *)value, valuelen,
					   h->conn->srv->opts.max_header_list_bytes) != 0)
			st->oversized = 1;
	}
	return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
	csf__h2 *h = user_data;
	h2_stream *st;

	(void)session;
	if (h->dying)
		return 0;
	if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK)) {
		h->conn->ping_outstanding = 0;
		return 0;
	}
	st = stream_of(h, frame->hd.stream_id);
	if (!st)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
		if (dispatch(st) != 0)
			return ERR(h->conn);
	}
	if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
	    (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		half_close(st);
	return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *user_data)
{
	csf__h2 *h = user_data;
	h2_stream *st = stream_of(h, id);

	(void)flags;
	if (!st || !st->call.started) {
		nghttp2_session_consume(session, id, len);
		return 0;
	}
	return deliver(st, data, len) == 0 ? 0 : ERR(h->conn);
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
	csf__h2 *h = user_data;
	h2_stream *st;

	if (h->dying || frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	st = stream_of(h, frame->hd.stream_id);
	/* our trailers went out while the client may still be sending: tell it
	 * to stop (PROTOCOL-HTTP2.md) */
	if (st && !st->remote_closed)
		nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
	return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *user_data)
{
	csf__h2 *h = user_data;
	h2_stream *st = stream_of(h, id);

	if (!st)
		return 0;
	nghttp2_session_set_stream_user_data(session, id, NULL);
	if (st->call.started && !st->call.ended) {
		if (st->trailers_sent)
			csf__call_end(&st->call, st->status, st->status_message);
		else if (st->call.finishing && st->status == CSF_NET_CANCELLED)
			csf__call_end(&st->call, CSF_NET_CANCELLED, "cancelled by the server");
		else
			csf__call_end(&st->call, error_code == NGHTTP2_NO_ERROR ? CSF_NET_CANCELLED
						  : csf__grpc_status_of_rst(error_code),
				      "the client cancelled the call");
	}
	stream_free(st);
	return 0;
}

/* ------------------------------------------------------------ session */

static void notify_writable(csf__h2 *h)
{
	h2_stream *st, *next;

	for (st = h->streams; st && !h->dying; st = next) {
		next = st->next;
		if (st->call.want_writable && st->out.len - st->out_off < h->conn->max_output / 2)
			csf__call_writable(&st->call);
	}
}

int csf__h2_server_new(csf__conn *c, const uint8_t *preface, size_t len)
{
	const csf_net_server_options *o = &c->srv->opts;
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_settings_entry iv[4];
	csf__h2 *h;
	int rc;

	(void)preface;
	(void)len;
	h = csf__calloc(1, sizeof(*h));
	if (!h)
		return CSF_ENOMEM;
	h->conn = c;
	h->after_flush = notify_writable;
	if (nghttp2_session_callbacks_new(&cb) != 0) {
		csf__free(h);
		return csf__error_set(CSF_ENOMEM, "h2: out of memory");
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	rc = csf__h2_session_new(h, cb, 1);
	nghttp2_session_callbacks_del(cb);
	if (rc) {
		csf__free(h);
		return rc;
	}
	iv[0] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, o->max_concurrent_streams };
	iv[1] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, CSF__H2_STREAM_WINDOW };
	iv[2] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)o->max_header_list_bytes };
	iv[3] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 };
	if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, 4) != 0 ||
	    nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0, CSF__H2_CONN_WINDOW) != 0) {
		nghttp2_session_del(h->session);
		csf__free(h);
		return csf__error_set(CSF_ENOMEM, "h2: cannot submit settings");
	}
	c->h2 = h;
	return 0;
}

int csf__h2_active_calls(const csf__h2 *h)
{
	const h2_stream *st;
	int n = 0;

	for (st = h->streams; st; st = st->next)
		n += st->call.started && !st->call.ended;
	return n;
}

void csf__h2_drain(csf__h2 *h)
{
	if (h->dying)
		return;
	nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->session),
			      NGHTTP2_NO_ERROR, (const uint8_t *)"server shutting down", 20);
	h->goaway_sent = 1;
}

void csf__h2_free(csf__h2 *h, const char *why)
{
	h2_stream *st;

	h->dying = 1;
	for (st = h->streams; st; st = st->next)
		nghttp2_session_set_stream_user_data(h->session, st->id, NULL);
	while ((st = h->streams) != NULL) {
		if (st->call.started)
			csf__call_end(&st->call, CSF_NET_UNAVAILABLE, why);
		stream_free(st);
	}
	nghttp2_session_del(h->session);
	csf__free(h);
}
