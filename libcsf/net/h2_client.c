/* gRPC client calls as streams of an nghttp2 client session: request
 * headers with the deadline, messages from the call's queue, half-close,
 * response headers, messages, trailers (or Trailers-Only), RST_STREAM. */
#include <string.h>

#include <event2/event.h>

#include "net/client.h"

#define USER_AGENT "csf/" CSF_VERSION

static csf__client_call *call_of(csf__h2 *h, int32_t id)
{
	return h->dying ? NULL : nghttp2_session_get_stream_user_data(h->session, id);
}

static ssize_t read_data(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *source, void *user_data)
{
	csf__client_call *cc = source->ptr;
	size_t avail = cc->out.len - cc->out_off;

	(void)session;
	(void)id;
	(void)user_data;
	if (avail) {
		size_t n = avail < length ? avail : length;

		memcpy(buf, cc->out.ptr + cc->out_off, n);
		cc->out_off += n;
		if (cc->out_off == cc->out.len) {
			csf__buf_free(&cc->out);
			cc->out_off = 0;
		}
		return (ssize_t)n;
	}
	if (cc->call.send_closed) {
		cc->eof_sent = 1;
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		return 0;
	}
	cc->deferred = 1;
	return NGHTTP2_ERR_DEFERRED;
}

static void wake(csf__client_call *cc)
{
	csf__h2 *h = cc->conn->h2;

	if (cc->deferred) {
		cc->deferred = 0;
		nghttp2_session_resume_data(h->session, cc->stream_id);
	}
	csf__h2_flush(h);
}

int csf__h2_client_bind(csf__h2 *h, csf__client_call *cc)
{
	csf_net_channel *ch = h->owner;
	char timeout[16];
	nghttp2_nv nv[10];
	nghttp2_data_provider prd;
	size_t n = 0;
	int32_t id;

#define NV(k, v) (nghttp2_nv){ (uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), NGHTTP2_NV_FLAG_NONE }
	nv[n++] = NV(":method", "POST");
	nv[n++] = NV(":scheme", ch->tls ? "https" : "http");
	nv[n++] = NV(":path", cc->call.method);
	nv[n++] = NV(":authority", ch->authority);
	nv[n++] = NV("te", "trailers");
	nv[n++] = NV("content-type", "application/grpc");
	nv[n++] = NV("grpc-accept-encoding", "identity");
	nv[n++] = NV("user-agent", USER_AGENT);
	if (cc->deadline_ms) {
		uint64_t now = csf__time_mono_ms();

		csf__grpc_timeout_format(timeout, cc->deadline_ms > now ? cc->deadline_ms - now : 1);
		nv[n++] = NV("grpc-timeout", timeout);
	}
#undef NV
	prd.source.ptr = cc;
	prd.read_callback = read_data;
	id = nghttp2_submit_request(h->session, NULL, nv, n, &prd, cc);
	if (id < 0)
		return csf__error_set(CSF_ENOMEM, "h2: cannot start a call: %s", nghttp2_strerror(id));
	cc->stream_id = id;
	cc->conn = h->conn;
	cc->bound_h2 = 1;
	csf__conn_fill_peer(h->conn, &cc->call.peer, CSF_NET_TRANSPORT_GRPC);
	cc->call.peer.address = ch->authority;
	csf__h2_flush(h);
	return 0;
}

int csf__h2_client_send(csf__client_call *cc)
{
	wake(cc);
	return 0;
}

int csf__h2_client_close_send(csf__client_call *cc)
{
	wake(cc);
	return 0;
}

void csf__h2_client_cancel(csf__client_call *cc)
{
	csf__h2 *h = cc->conn->h2;

	if (!cc->call.ended)
		csf__client_call_end(cc, CSF_NET_CANCELLED, "cancelled");
	nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, cc->stream_id, NGHTTP2_CANCEL);
	csf__h2_flush(h);
}

static int deliver(csf__client_call *cc, const uint8_t *data, size_t len);

void csf__h2_client_pause(csf__client_call *cc, int paused)
{
	csf__buf held;

	if (paused || !cc->held.len)
		return;
	held = cc->held;
	cc->held = (csf__buf)CSF__BUF_INIT(held.max);
	deliver(cc, (const uint8_t *)held.ptr, held.len);
	csf__buf_free(&held);
	csf__h2_flush(cc->conn->h2);
}

/* --------------------------------------------------------------- input */

static int on_msg(void *payload, const uint8_t *msg, size_t len)
{
	csf__client_call *cc = payload;
	int rc = csf__call_deliver(&cc->call, msg, len);

	if (rc != 0)
		csf_net_call_cancel(&cc->call);
	return 0;
}

static int deliver(csf__client_call *cc, const uint8_t *data, size_t len)
{
	csf__h2 *h = cc->conn->h2;
	int rc;

	if (cc->call.paused)
		return csf__buf_put(&cc->held, (const char *)data, len);
	if (!cc->call.ended && !cc->call.finishing) {
		rc = csf__grpc_deframer_feed(&cc->in, data, len, on_msg, cc);
		if (rc) {
			csf__client_call_end(cc, rc == CSF_ELIMIT ? CSF_NET_RESOURCE_EXHAUSTED : CSF_NET_INTERNAL,
					     csf_error_last()->message);
			csf_net_call_cancel(&cc->call);
		}
	}
	nghttp2_session_consume(h->session, cc->stream_id, len);
	return 0;
}

/* The server said how the call ended (trailers or Trailers-Only). */
static void finished(csf__client_call *cc)
{
	if (cc->call.ended)
		return;
	if (cc->http_status && cc->http_status != 200) {
		char msg[64];

		snprintf(msg, sizeof(msg), "HTTP status %d", cc->http_status);
		csf__client_call_end(cc, csf__grpc_status_of_http(cc->http_status), msg);
		return;
	}
	if (cc->grpc_status < 0) {
		csf__client_call_end(cc, CSF_NET_INTERNAL, "the server sent no grpc-status");
		return;
	}
	if (!csf__grpc_deframer_idle(&cc->in)) {
		csf__client_call_end(cc, CSF_NET_INTERNAL, "the response ended inside a message");
		return;
	}
	csf__call_half_closed(&cc->call);
	csf__client_call_end(cc, cc->grpc_status, cc->grpc_message);
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
	csf__h2 *h = user_data;
	csf__client_call *cc = call_of(h, frame->hd.stream_id);

	(void)session;
	(void)flags;
	if (!cc || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		cc->http_status = 0;
		for (size_t i = 0; i < valuelen && i < 3; i++)
			cc->http_status = cc->http_status * 10 + (value[i] - '0');
	} else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
		cc->grpc_status = 0;
		for (size_t i = 0; i < valuelen && i < 3; i++)
			cc->grpc_status = cc->grpc_status * 10 + (value[i] - '0');
		if (cc->grpc_status > CSF_NET_UNAUTHENTICATED)
			cc->grpc_status = CSF_NET_UNKNOWN;
	} else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
		csf__grpc_message_decode(cc->grpc_message, sizeof(cc->grpc_message), (const char *)value, valuelen);
	} else if (namelen && name[0] != ':') {
		csf__call_add_metadata(&cc->call, (const char *)name, namelen, (const char *)value, valuelen, 64u << 10);
	}
	return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
	csf__h2 *h = user_data;
	csf__client_call *cc;

	(void)session;
	if (h->dying)
		return 0;
	if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK)) {
		h->conn->ping_outstanding = 0;
		return 0;
	}
	if (frame->hd.type == NGHTTP2_GOAWAY) {
		/* calls in flight finish here; new ones go to a new connection */
		csf_net_channel *ch = h->owner;

		if (ch->h2conn == h->conn) {
			ch->h2conn = NULL;
			ch->h2_up = 0;
		}
		return 0;
	}
	cc = call_of(h, frame->hd.stream_id);
	if (!cc)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_RESPONSE &&
	    !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
		cc->got_headers = 1;
		if (cc->http_status == 200)
			csf__call_start(&cc->call);
	}
	if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
	    (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		finished(cc);
	return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *user_data)
{
	csf__h2 *h = user_data;
	csf__client_call *cc = call_of(h, id);

	(void)flags;
	if (!cc) {
		nghttp2_session_consume(session, id, len);
		return 0;
	}
	return deliver(cc, data, len) == 0 ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *user_data)
{
	csf__h2 *h = user_data;
	csf__client_call *cc = call_of(h, id);

	if (!cc)
		return 0;
	nghttp2_session_set_stream_user_data(session, id, NULL);
	if (!cc->call.ended)
		csf__client_call_end(cc, error_code ? csf__grpc_status_of_rst(error_code) : CSF_NET_INTERNAL,
				     error_code ? "the server reset the stream" : "the stream closed without a status");
	csf__client_call_free(cc);
	return 0;
}

static void notify_writable(csf__h2 *h)
{
	csf_net_channel *ch = h->owner;
	csf__client_call *cc, *next;

	for (cc = ch->calls; cc && !h->dying; cc = next) {
		next = cc->next;
		if (cc->bound_h2 && cc->conn == h->conn && cc->call.want_writable &&
		    cc->out.len - cc->out_off < ch->o.max_output_bytes / 2)
			csf__call_writable(&cc->call);
	}
}

int csf__h2_client_start(csf__conn *c)
{
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_settings_entry iv[2];
	csf__h2 *h = csf__calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return CSF_ENOMEM;
	h->conn = c;
	h->owner = c->chan;
	h->after_flush = notify_writable;
	if (nghttp2_session_callbacks_new(&cb) != 0) {
		csf__free(h);
		return csf__error_set(CSF_ENOMEM, "h2: out of memory");
	}
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	rc = csf__h2_session_new(h, cb, 0);
	nghttp2_session_callbacks_del(cb);
	if (rc) {
		csf__free(h);
		return rc;
	}
	iv[0] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, CSF__H2_STREAM_WINDOW };
	iv[1] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 };
	if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, 2) != 0 ||
	    nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0, CSF__H2_CONN_WINDOW) != 0) {
		nghttp2_session_del(h->session);
		csf__free(h);
		return csf__error_set(CSF_ENOMEM, "h2: cannot submit settings");
	}
	c->proto = CSF__PROTO_H2;
	c->h2 = h;
	return 0;
}

void csf__h2_client_free(csf__h2 *h, const char *why)
{
	csf_net_channel *ch = h->owner;
	csf__client_call *cc, *next;
	char msg[300];

	h->dying = 1;
	snprintf(msg, sizeof(msg), "%s: %s", ch->authority, why);
	for (cc = ch->calls; cc; cc = next) {
		next = cc->next;
		if (!cc->bound_h2 || cc->conn != h->conn)
			continue;
		nghttp2_session_set_stream_user_data(h->session, cc->stream_id, NULL);
		csf__client_call_end(cc, CSF_NET_UNAVAILABLE, msg);
		csf__client_call_free(cc);
	}
	nghttp2_session_del(h->session);
	csf__free(h);
}
