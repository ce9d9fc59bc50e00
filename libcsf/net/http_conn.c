/* HTTP/1.1 on a server connection: requests are read one at a time; the
 * WebSocket routes upgrade the connection to a call; anything else gets a
 * JSON error (the REST API is served by the server runtime's routes). */
#include <string.h>

#include "net/http1.h"
#include "net/internal.h"
#include "net/ws.h"

struct csf__http_conn {
	csf__conn *conn;
	csf__http1_reader reader;
	uint64_t request_started_ms; /* 0: between requests */
};

struct csf__http_exchange {
	csf__http_conn *h;
	int keep_alive;
	int responded;
};

uint64_t csf__http_conn_request_started(const csf__http_conn *h)
{
	return h->request_started_ms;
}

int csf__http_conn_new(csf__conn *c)
{
	csf__http1_limits lim = { c->srv->opts.max_header_list_bytes, 1u << 20 };
	csf__http_conn *h = csf__calloc(1, sizeof(*h));

	if (!h)
		return CSF_ENOMEM;
	h->conn = c;
	csf__http1_reader_init(&h->reader, &lim);
	c->http = h;
	return 0;
}

static int c_is_alive(const csf__http_conn *h)
{
	return !h->conn->dead;
}

/* A JSON error response (DESIGN.md section 3: {"error":{"code","message"}}). */
static int respond_error(csf__http_conn *h, int status, const char *code, const char *message,
			 int keep_alive, const char *const *extra)
{
	csf__buf body = CSF__BUF_INIT(4096), out = CSF__BUF_INIT(16384);
	csf__json j;
	const char *headers[8] = { "Content-Type", "application/json", "Cache-Control", "no-store" };
	size_t n = 4;
	int rc;

	for (; extra && extra[0] && n + 2 < CSF__ARRAY_SIZE(headers); extra += 2) {
		headers[n++] = extra[0];
		headers[n++] = extra[1];
	}
	headers[n] = NULL;
	csf__json_init(&j, &body);
	csf__json_begin_object(&j);
	csf__json_key(&j, "error");
	csf__json_begin_object(&j);
	csf__json_key(&j, "code");
	csf__json_string(&j, code);
	csf__json_key(&j, "message");
	csf__json_string(&j, message);
	csf__json_end_object(&j);
	csf__json_end_object(&j);
	rc = csf__json_finish(&j);
	if (!rc)
		rc = csf__http1_write_response(&out, status, headers, body.ptr, body.len, keep_alive);
	if (!rc)
		rc = csf__conn_write(h->conn, out.ptr, out.len);
	csf__buf_free(&body);
	csf__buf_free(&out);
	if (!keep_alive)
		csf__conn_close_after_flush(h->conn);
	return rc;
}

static int upgrade(csf__http_conn *h, const csf__http_request *req, const csf__ws_route *route)
{
	csf__conn *c = h->conn;
	csf__buf out = CSF__BUF_INIT(16384);
	int status, rc;

	if ((route->method->flags & CSF_NET_METHOD_CLIENT_CERT) && (!c->cert_presented || c->cert_error)) {
		char why[300];

		snprintf(why, sizeof(why), "%s%s",
			 !c->cert_presented ? "this endpoint needs a client certificate"
					    : "client certificate rejected: ",
			 c->cert_presented ? c->cert_error : "");
		return respond_error(h, 401, "unauthenticated", why, 0, NULL);
	}
	status = csf__ws_server_handshake(req, route->subprotocol, &out);
	if (status < 0) { /* our failure (memory), not the client's */
		csf__buf_free(&out);
		return respond_error(h, 500, "internal", "cannot answer the handshake", 0, NULL);
	}
	if (status != 0) {
		static const char *const version[] = { "Sec-WebSocket-Version", "13", NULL };

		csf__buf_free(&out);
		return respond_error(h, status, "bad_handshake", csf_error_last()->message, 0,
				     status == 426 ? version : NULL);
	}
	rc = csf__conn_write(c, out.ptr, out.len);
	csf__buf_free(&out);
	if (!rc)
		rc = csf__ws_conn_new_server(c, route, req);
	if (rc)
		return rc;
	/* the connection now speaks WebSocket: bytes after the request go there */
	c->proto = CSF__PROTO_WS;
	csf__http1_reader_free(&h->reader);
	c->http = NULL;
	csf__free(h);
	return 0;
}

int csf__http_respond(csf__http_exchange *x, int status, const char *const *headers, const void *body,
		      size_t len)
{
	csf__buf out = CSF__BUF_INIT(SIZE_MAX / 2);
	int rc;

	if (x->responded)
		return 0;
	x->responded = 1;
	rc = csf__http1_write_response(&out, status, headers, body, len, x->keep_alive);
	if (!rc)
		rc = csf__conn_write(x->h->conn, out.ptr, out.len);
	csf__buf_free(&out);
	if (!x->keep_alive)
		csf__conn_close_after_flush(x->h->conn);
	return rc;
}

int csf__http_respond_error(csf__http_exchange *x, int status, const char *code, const char *message)
{
	if (x->responded)
		return 0;
	x->responded = 1;
	return respond_error(x->h, status, code, message, x->keep_alive, NULL);
}

const char *csf__http_exchange_peer(const csf__http_exchange *x)
{
	return x->h->conn->addr;
}

int csf__http_exchange_tls(const csf__http_exchange *x)
{
	return x->h->conn->tls;
}

/* A REST route: the handler answers before it returns. */
static int serve_route(csf__http_conn *h, const csf__http_request *req)
{
	csf__http_exchange x = { h, req->keep_alive, 0 };
	csf__http_params params;
	char allow[128], msg[300];
	void *entry = NULL;
	int rc;

	memset(&params, 0, sizeof(params));
	rc = h->conn->srv->routes
		? csf__router_match(h->conn->srv->routes, req->method, req->path, &entry, &params, allow, sizeof(allow))
		: CSF_ENOTFOUND;
	if (rc == CSF_EINVALID) {
		const char *extra[] = { "Allow", allow, NULL };

		return respond_error(h, 405, "method_not_allowed", "this method is not allowed here", req->keep_alive,
				     extra);
	}
	if (rc && csf__static_serve(h->conn->srv, &x, req))
		return 0;
	if (rc) {
		snprintf(msg, sizeof(msg), "no such endpoint: %.200s", req->path);
		return respond_error(h, 404, "not_found", msg, req->keep_alive, NULL);
	}
	csf__route_entry_call(entry, &x, req, &params);
	csf__http_params_free(&params);
	if (!x.responded)
		return respond_error(h, 500, "internal", "the handler gave no answer", 0, NULL);
	return 0;
}

int csf__http_conn_feed(csf__http_conn *h, const uint8_t *data, size_t len, size_t *consumed)
{
	const csf__http_request *req = &h->reader.req;
	const csf__ws_route *route;
	int status = 400, rc;

	if (!h->request_started_ms)
		h->request_started_ms = csf__conn_now_ms(h->conn);
	rc = csf__http1_reader_feed(&h->reader, (const char *)data, len, consumed, &status);
	if (rc != 0)
		h->request_started_ms = 0;
	if (rc < 0) {
		*consumed = len;
		return respond_error(h, status, "bad_request", csf_error_last()->message, 0, NULL);
	}
	if (rc == 0)
		return 0;
	route = csf__server_find_ws(h->conn->srv, req->path);
	if (route) {
		if (!req->upgrade)
			return respond_error(h, 426, "upgrade_required", "this endpoint speaks WebSocket only",
					     0, (const char *const[]){ "Upgrade", "websocket", NULL });
		return upgrade(h, req, route);
	}
	rc = serve_route(h, req);
	if (c_is_alive(h))
		csf__http1_reader_next(&h->reader);
	return rc;
}

void csf__http_conn_free(csf__http_conn *h)
{
	if (!h)
		return;
	csf__http1_reader_free(&h->reader);
	csf__free(h);
}
