/* HTTP/1.1 on a server connection: requests are read one at a time; the
 * WebSocket routes upgrade the connection to a call; anything else gets a
 * JSON error (the REST API is served by the server runtime's routes). */
#include <string.h>

#include "net/http1.h"
#include "net/internal.h"
#include "net/ws.h"

typedef struct http_job http_job;

struct csf__http_conn {
	csf__conn *conn;         /* NULL once the connection went while its job ran */
	csf__http1_reader reader;
	uint64_t request_started_ms; /* 0: between requests */
	http_job *job;           /* the request on the worker pool, or NULL */
};

/* Something a pooled handler has the loop thread do (csf__http_exchange_on_loop). */
struct on_loop {
	struct on_loop *next;
	void (*fn)(void *arg);
	void *arg;
	void (*drop)(void *arg);
};

struct csf__http_exchange {
	csf__http_conn *h;
	int keep_alive;
	int responded;
	int pooled;
	void *worker;            /* the worker's context while a pooled handler runs */
	csf__buf answer;         /* pooled: the whole response, sent by the loop */
	struct on_loop *effects, **effects_tail;
	char peer[64];           /* copies: a worker never reads the connection */
	int tls;
};

struct http_job {
	csf__pool_job base;
	csf__http_exchange x;
	void *entry;
	csf__http_params params;
};

uint64_t csf__http_conn_request_started(const csf__http_conn *h)
{
	return h->request_started_ms;
}

int csf__http_conn_busy(const csf__http_conn *h)
{
	return h->job != NULL;
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
	return h->conn && !h->conn->dead;
}

/* A whole JSON error response (DESIGN.md section 3: {"error":{"code","message"}}). */
static int build_error(csf__buf *out, int status, const char *code, const char *message, int keep_alive,
		       const char *const *extra)
{
	csf__buf body = CSF__BUF_INIT(4096);
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
		rc = csf__http1_write_response(out, status, headers, body.ptr, body.len, keep_alive);
	csf__buf_free(&body);
	return rc;
}

/* Send a whole response; close after it unless the connection is kept. */
static int send_answer(csf__http_conn *h, const csf__buf *out, int keep_alive)
{
	int rc = csf__conn_write(h->conn, out->ptr, out->len);

	if (!keep_alive)
		csf__conn_close_after_flush(h->conn);
	return rc;
}

static int respond_error(csf__http_conn *h, int status, const char *code, const char *message,
			 int keep_alive, const char *const *extra)
{
	csf__buf out = CSF__BUF_INIT(16384);
	int rc = build_error(&out, status, code, message, keep_alive, extra);

	if (!rc)
		rc = send_answer(h, &out, keep_alive);
	csf__buf_free(&out);
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
	if (x->pooled) {
		rc = csf__http1_write_response(&x->answer, status, headers, body, len, x->keep_alive);
		if (rc)
			x->answer.len = 0; /* the loop answers 500 */
		return rc;
	}
	rc = csf__http1_write_response(&out, status, headers, body, len, x->keep_alive);
	if (!rc)
		rc = send_answer(x->h, &out, x->keep_alive);
	csf__buf_free(&out);
	return rc;
}

int csf__http_respond_error(csf__http_exchange *x, int status, const char *code, const char *message)
{
	int rc;

	if (x->responded)
		return 0;
	x->responded = 1;
	if (!x->pooled)
		return respond_error(x->h, status, code, message, x->keep_alive, NULL);
	rc = build_error(&x->answer, status, code, message, x->keep_alive, NULL);
	if (rc)
		x->answer.len = 0;
	return rc;
}

const char *csf__http_exchange_peer(const csf__http_exchange *x)
{
	return x->peer;
}

int csf__http_exchange_tls(const csf__http_exchange *x)
{
	return x->tls;
}

void *csf__http_exchange_worker(const csf__http_exchange *x)
{
	return x->worker;
}

int csf__http_exchange_on_loop(csf__http_exchange *x, void (*fn)(void *arg), void *arg, void (*drop)(void *arg))
{
	struct on_loop *e;

	if (!x->pooled) {
		fn(arg);
		return 0;
	}
	e = csf__calloc(1, sizeof(*e));
	if (!e)
		return CSF_ENOMEM;
	e->fn = fn;
	e->arg = arg;
	e->drop = drop;
	*x->effects_tail = e;
	x->effects_tail = &e->next;
	return 0;
}

static void exchange_init(csf__http_exchange *x, csf__http_conn *h, const csf__http_request *req, int pooled)
{
	memset(x, 0, sizeof(*x));
	x->h = h;
	x->keep_alive = req->keep_alive;
	x->pooled = pooled;
	x->answer = (csf__buf)CSF__BUF_INIT(SIZE_MAX / 2);
	x->effects_tail = &x->effects;
	snprintf(x->peer, sizeof(x->peer), "%s", h->conn->addr);
	x->tls = h->conn->tls;
}

/* On a worker: the handler, with the worker's context. The loop does not
 * touch the reader (the request) until the job finishes. */
static void job_run(csf__pool_job *base, void *worker)
{
	http_job *job = (http_job *)base;

	job->x.worker = worker;
	csf__route_entry_call(job->entry, &job->x, &job->x.h->reader.req, &job->params);
	job->x.worker = NULL;
}

/* Send a pooled answer and go on with the connection's next request. */
static void deliver(csf__http_conn *h, csf__http_exchange *x)
{
	csf__conn *c = h->conn;
	int rc;

	if (!x->responded || !x->answer.len)
		rc = respond_error(h, 500, "internal", "the handler gave no answer", 0, NULL);
	else
		rc = send_answer(h, &x->answer, x->keep_alive);
	if (rc) {
		csf__conn_close(c, csf_error_last()->message);
		return;
	}
	csf__http1_reader_next(&h->reader);
	csf__conn_resume(c);
}

/* On the loop: the handler's effects on live state, then its answer (the
 * connection may have gone meanwhile, or the pool be shutting down). */
static void job_finish(csf__pool_job *base, int dropped)
{
	http_job *job = (http_job *)base;
	csf__http_conn *h = job->x.h;
	struct on_loop *e = job->x.effects;

	while (e) {
		struct on_loop *next = e->next;

		if (!dropped)
			e->fn(e->arg);
		else if (e->drop)
			e->drop(e->arg);
		csf__free(e);
		e = next;
	}
	csf__http_params_free(&job->params);
	h->job = NULL;
	if (!h->conn) {
		csf__http1_reader_free(&h->reader);
		csf__free(h);
	} else if (!dropped && c_is_alive(h)) {
		deliver(h, &job->x);
	}
	csf__buf_free(&job->x.answer);
	csf__free(job);
}

static int submit(csf__http_conn *h, const csf__http_request *req, void *entry, csf__http_params *params)
{
	http_job *job = csf__calloc(1, sizeof(*job));

	if (!job) {
		csf__http_params_free(params);
		return respond_error(h, 503, "unavailable", "the server is out of memory", 0, NULL);
	}
	exchange_init(&job->x, h, req, 1);
	job->entry = entry;
	job->params = *params; /* the job owns the values now */
	job->base.run = job_run;
	job->base.finish = job_finish;
	h->job = job;
	csf__conn_hold(h->conn);
	csf__pool_submit(h->conn->srv->pool, &job->base);
	return 0;
}

/* A REST route: the handler answers before it returns, on the loop or,
 * for a pooled route, on a worker (the answer goes when the job finishes). */
static int serve_route(csf__http_conn *h, const csf__http_request *req)
{
	csf_net_server *srv = h->conn->srv;
	csf__http_exchange x;
	csf__http_params params;
	char allow[128], msg[300];
	void *entry = NULL;
	int rc;

	memset(&params, 0, sizeof(params));
	exchange_init(&x, h, req, 0);
	rc = srv->routes ? csf__router_match(srv->routes, req->method, req->path, &entry, &params, allow, sizeof(allow))
			 : CSF_ENOTFOUND;
	if (rc == CSF_EINVALID) {
		const char *extra[] = { "Allow", allow, NULL };

		return respond_error(h, 405, "method_not_allowed", "this method is not allowed here", req->keep_alive,
				     extra);
	}
	if (rc && csf__static_serve(srv, &x, req))
		return 0;
	if (rc) {
		snprintf(msg, sizeof(msg), "no such endpoint: %.200s", req->path);
		return respond_error(h, 404, "not_found", msg, req->keep_alive, NULL);
	}
	if (csf__route_entry_pooled(srv, entry))
		return submit(h, req, entry, &params);
	csf__route_entry_call(entry, &x, req, &params);
	csf__http_params_free(&params);
	if (!x.responded)
		return respond_error(h, 500, "internal", "the handler gave no answer", 0, NULL);
	return 0;
}

/* The error code of a request the reader refused, by its status. */
static const char *reader_error_code(int status)
{
	switch (status) {
	case 413:
		return "payload_too_large";
	case 431:
		return "headers_too_large";
	case 501:
		return "not_implemented";
	case 505:
		return "http_version_not_supported";
	default:
		return "bad_request";
	}
}

int csf__http_conn_feed(csf__http_conn *h, const uint8_t *data, size_t len, size_t *consumed)
{
	const csf__http_request *req = &h->reader.req;
	const csf__ws_route *route;
	int status = 400, rc;

	if (h->job) {
		*consumed = 0; /* one request at a time: the next waits for this answer */
		return 0;
	}
	if (!h->request_started_ms)
		h->request_started_ms = csf__conn_now_ms(h->conn);
	rc = csf__http1_reader_feed(&h->reader, (const char *)data, len, consumed, &status);
	if (rc != 0)
		h->request_started_ms = 0;
	if (rc < 0) {
		*consumed = len;
		return respond_error(h, status, reader_error_code(status), csf_error_last()->message, 0, NULL);
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
	if (!h->job && c_is_alive(h))
		csf__http1_reader_next(&h->reader);
	return rc;
}

void csf__http_conn_free(csf__http_conn *h)
{
	if (!h)
		return;
	if (h->job) {
		h->conn = NULL; /* the job still reads the request: it frees the rest */
		return;
	}
	csf__http1_reader_free(&h->reader);
	csf__free(h);
}
