/*
 * Private structures of the net module. A connection (conn.c) owns a
 * bufferevent (plain or OpenSSL) and, once it knows its protocol, one of:
 * an HTTP/2 session carrying gRPC calls (h2_server.c, h2_client.c), an
 * HTTP/1.1 reader (http_conn.c) or a WebSocket session (ws_conn.c). Calls
 * (call.c) are the transport-neutral face of a gRPC stream or a WebSocket
 * session; each transport embeds csf_net_call first in its own struct.
 */
#ifndef CSF_NET_INTERNAL_H
#define CSF_NET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "core/internal.h"
#include "csf/net.h"

#define CSF__NET_DEFAULT_MAX_MESSAGE (4u << 20)

struct event_base *csf__net_loop_base(csf_net_loop *loop);

/* ------------------------------------------------------------------ TLS */

int csf__tls_server_ctx_new(SSL_CTX **out, const csf_net_tls_options *o);
int csf__tls_client_ctx_new(SSL_CTX **out, const csf_net_tls_options *o);
int csf__tls_client_ssl_new(SSL **out, SSL_CTX *ctx, const char *server_name,
			    const unsigned char *alpn, unsigned int alpn_len);
int csf__tls_cert_sha256(X509 *cert, char hex[65]);
/* Why the peer's certificate did not verify, or NULL when it did. */
const char *csf__tls_verify_error(SSL *ssl);
const char *csf__tls_last_error(void);

/* ---------------------------------------------------------------- calls */

typedef struct csf__call_ops {
	int (*send)(csf_net_call *call, const void *data, size_t len);
	int (*close_send)(csf_net_call *call);
	int (*finish)(csf_net_call *call, int status, const char *message);
	void (*cancel)(csf_net_call *call);
	void (*pause)(csf_net_call *call, int paused);
	size_t (*queued)(const csf_net_call *call);
} csf__call_ops;

struct csf_net_call {
	const csf__call_ops *ops;
	const csf_net_call_handlers *h;
	void *payload;
	void *user_data;
	csf_net_peer peer;
	char *method;
	/* request (server) or response (client) metadata: "name\0value\0"... */
	csf__buf metadata;
	size_t max_message;
	unsigned started : 1;    /* on_start ran (and accepted, on a server) */
	unsigned ended : 1;      /* on_end ran */
	unsigned send_closed : 1;
	unsigned finishing : 1;  /* finish/cancel requested */
	unsigned paused : 1;
	unsigned want_writable : 1;
};

/* Set up the common part of a call (method copied). */
int csf__call_init(csf_net_call *call, const csf__call_ops *ops, const char *method,
		   const csf_net_call_handlers *h, void *payload, size_t max_message);
/* Record one metadata entry (bounded by `max_bytes` in all). */
int csf__call_add_metadata(csf_net_call *call, const char *name, size_t nlen, const char *value,
			   size_t vlen, size_t max_bytes);
/* Run the handlers; they never run after on_end. deliver returns the
 * handler's status (0 to go on). */
int csf__call_start(csf_net_call *call);
int csf__call_deliver(csf_net_call *call, const uint8_t *data, size_t len);
void csf__call_half_closed(csf_net_call *call);
void csf__call_writable(csf_net_call *call);
void csf__call_end(csf_net_call *call, int status, const char *message);
/* Free what csf__call_init allocated (not the call itself). */
void csf__call_cleanup(csf_net_call *call);

/* --------------------------------------------------------------- server */

typedef struct csf__method {
	char *path;
	unsigned int flags;
	csf_net_call_handlers h;
	void *payload;
} csf__method;

typedef struct csf__ws_route {
	char *http_path;
	char *subprotocol;
	const csf__method *method;
	int text;        /* JSON for browsers: text frames both ways */
} csf__ws_route;

/* A method served only over WebSocket (never as gRPC). */
#define CSF__METHOD_WEBSOCKET_ONLY 0x100u

/* Serve `method` (added with CSF__METHOD_WEBSOCKET_ONLY) at `http_path` with
 * text frames. Request headers (Origin, ...) become the call's metadata. */
int csf__net_server_add_websocket_text(csf_net_server *s, const char *http_path, const char *subprotocol,
				       const char *method);

/* ------------------------------------------------------------ REST routes */

typedef struct csf__http_exchange csf__http_exchange;
struct csf__http_request;
struct csf__http_params;

/* A REST handler answers with csf__http_respond() before it returns. */
typedef void (*csf__http_handler)(csf__http_exchange *x, const struct csf__http_request *req,
				  const struct csf__http_params *params, void *payload);

/* Route `method` + `pattern` (see net/http1.h: {param} segments, {name*} tail). */
int csf__net_server_add_route(csf_net_server *s, const char *method, const char *pattern,
			      csf__http_handler h, void *payload);
/*
 * The same, for a handler that may block (database queries, password
 * hashing): with a pool (csf__net_server_set_pool) it runs on a worker
 * thread while the loop serves everything else, and reaches loop-thread
 * state only through csf__http_exchange_on_loop(). Without one it runs on
 * the loop like any route.
 */
int csf__net_server_add_pooled_route(csf_net_server *s, const char *method, const char *pattern,
				     csf__http_handler h, void *payload);
/* Run pooled routes on `n` worker threads; workers[i] is the context thread
 * i hands its handlers (csf__http_exchange_worker), owned by the caller and
 * used until csf_net_server_free() returns; `after` (may be NULL) runs on
 * the worker after each job, with its context. Once, before serving. */
int csf__net_server_set_pool(csf_net_server *s, size_t n, void **workers, void (*after)(void *worker));
/* The pool's figures (all zero without a pool). */
struct csf__pool_stats;
void csf__net_server_pool_stats(csf_net_server *s, struct csf__pool_stats *out);
/* Queue other blocking work on that pool (loop thread; the pool must exist). */
struct csf__pool_job;
void csf__net_server_submit(csf_net_server *s, struct csf__pool_job *job);
/* Every route, for checking them against the API document. */
size_t csf__net_server_route_count(const csf_net_server *s);
int csf__net_server_route(const csf_net_server *s, size_t i, const char **method, const char **pattern);

/* Answer: status, headers (name/value pairs, NULL-terminated; may be NULL),
 * body. Only the first answer counts. */
int csf__http_respond(csf__http_exchange *x, int status, const char *const *headers, const void *body,
		      size_t len);
/* {"error":{"code":...,"message":...}} with the status. */
int csf__http_respond_error(csf__http_exchange *x, int status, const char *code, const char *message);
/* The client's address ("ip:port") and whether the connection is TLS. */
const char *csf__http_exchange_peer(const csf__http_exchange *x);
/* Run the handler of a matched route (server.c). */
void csf__route_entry_call(void *entry, csf__http_exchange *x, const struct csf__http_request *req,
			   const struct csf__http_params *params);
int csf__http_exchange_tls(const csf__http_exchange *x);
int csf__route_entry_pooled(const csf_net_server *s, const void *entry);
/* The worker's context when a pooled handler runs on a worker; NULL on the loop. */
void *csf__http_exchange_worker(const csf__http_exchange *x);
/*
 * Have `fn(arg)` run on the loop thread: at once when the handler runs
 * there, otherwise after the handler returns and before its answer is
 * sent, even if the client has gone by then (what the handler committed
 * must reach the live state). At shutdown the effects of a job not yet
 * finished are not run: `drop(arg)` (drop may be NULL) frees `arg`.
 * CSF_ENOMEM: neither runs (the handler decides what that means).
 */
int csf__http_exchange_on_loop(csf__http_exchange *x, void (*fn)(void *arg), void *arg, void (*drop)(void *arg));

/* ---------------------------------------------------------- worker pool */

typedef struct csf__pool csf__pool;
typedef struct csf__pool_job csf__pool_job;
struct csf__pool_job {
	csf__pool_job *next;
	uint64_t queued_us;                             /* private */
	void (*run)(csf__pool_job *job, void *worker);  /* on a worker thread */
	void (*finish)(csf__pool_job *job, int dropped); /* on the loop; dropped: at shutdown, maybe not run */
};

/* `n` threads; thread i passes workers[i] (workers may be NULL) to each job
 * it runs, and to `after` (may be NULL) once the job has run. */
int csf__pool_new(csf__pool **out, csf_net_loop *loop, size_t n, void **workers, void (*after)(void *worker));
typedef struct csf__pool_stats {
	size_t workers, busy, queued; /* now */
	uint64_t jobs;                 /* run so far */
	uint64_t wait_us_total;        /* queued -> started, over the jobs started */
	uint64_t run_us_total;         /* started -> done (the after hook included) */
} csf__pool_stats;

void csf__pool_get_stats(csf__pool *p, csf__pool_stats *out);
/* Queue a job (loop thread); jobs start in the order they were queued. */
void csf__pool_submit(csf__pool *p, csf__pool_job *job);
/* Join the workers (each after its current job), then finish every job not
 * yet finished as dropped. Loop thread. NULL-safe. */
void csf__pool_free(csf__pool *p);

/* Serve the files under `root` (NULL: none) for GET and HEAD requests no
 * route takes; `spa`: client-side routes get /index.html (static.c). */
int csf__net_server_set_static(csf_net_server *s, const char *root, int spa);
/* 1 if it answered the request from the files, 0 if there is no such file. */
int csf__static_serve(const csf_net_server *s, csf__http_exchange *x, const struct csf__http_request *req);

typedef struct csf__conn csf__conn;
typedef struct csf__listener csf__listener;
typedef struct csf__ip_count csf__ip_count;

struct csf_net_server {
	csf_net_loop *loop;
	csf_net_server_options opts;  /* with defaults filled in */
	csf__listener **listeners;
	size_t listeners_n, listeners_cap;
	csf__method **methods;
	size_t methods_n, methods_cap;
	csf__ws_route *ws;
	size_t ws_n, ws_cap;
	struct csf__router *routes;   /* REST routes (http_conn.c) */
	struct csf__route_entry **route_entries;
	size_t route_entries_n, route_entries_cap;
	csf__pool *pool;              /* pooled REST routes' workers, or NULL */
	char *static_root;            /* static files (static.c), or NULL */
	int static_spa;
	csf__conn *conns;             /* doubly linked */
	size_t conns_n;
	csf__ip_count *ips;           /* open-addressing table of connections per address */
	size_t ips_cap, ips_used;
	int shutting_down;
	struct event *drain_timer;
	void (*done)(csf_net_server *server, void *payload);
	void *done_payload;
};

const csf__method *csf__server_find_method(const csf_net_server *s, const char *path, size_t len);
const csf__ws_route *csf__server_find_ws(const csf_net_server *s, const char *path);
/* Connection bookkeeping for conn.c. */
int csf__server_ip_acquire(csf_net_server *s, const uint8_t key[16]);
void csf__server_ip_release(csf_net_server *s, const uint8_t key[16]);
void csf__server_conn_gone(csf_net_server *s, csf__conn *c);

/* -------------------------------------------------------- connections */

enum csf__conn_proto {
	CSF__PROTO_HANDSHAKE = 0, /* TLS handshake, or waiting for the first bytes */
	CSF__PROTO_H2,
	CSF__PROTO_HTTP1,
	CSF__PROTO_WS
};

typedef struct csf__h2 csf__h2;
typedef struct csf__http_conn csf__http_conn;
typedef struct csf__ws_conn csf__ws_conn;

typedef struct csf__client_call csf__client_call;

struct csf__conn {
	csf_net_server *srv;      /* server side; NULL for a client connection */
	csf_net_channel *chan;    /* client side: the channel it belongs to */
	csf__client_call *ws_call;/* client side: the one call a WebSocket carries */
	csf__conn *prev, *next;
	struct bufferevent *bev;
	SSL *ssl;                 /* owned by bev when set */
	int proto;
	int tls;
	char addr[64];            /* peer "ip:port" */
	uint8_t ipkey[16];
	/* the peer's verified client certificate */
	char *cert_cn, *cert_sha256, *cert_serial;
	const char *cert_error;   /* why a presented certificate did not verify */
	int cert_presented;
	struct event *timer;      /* handshake / idle / keepalive deadlines */
	struct event *reaper;     /* deferred teardown */
	uint64_t last_activity_ms;
	int ping_outstanding;
	size_t max_output;
	/* deadlines, from the server's or the channel's options (0: none) */
	uint32_t handshake_timeout_ms, idle_timeout_ms, keepalive_ms, keepalive_timeout_ms;
	csf__h2 *h2;
	csf__http_conn *http;
	csf__ws_conn *ws;
	char why[128];            /* why it closed, for the calls it ends */
	unsigned closing : 1;     /* flush the output, then tear down */
	unsigned lingering : 1;   /* HTTP/1.1: response sent, reading what the peer still sends */
	size_t lingered;          /* bytes read and dropped while lingering */
	unsigned dead : 1;        /* teardown scheduled; ignore all input */
	unsigned draining : 1;    /* GOAWAY sent */
};

/* The monotonic clock in milliseconds (the loop's cached time). */
uint64_t csf__conn_now_ms(const csf__conn *c);
/* Append bytes to the connection's output. */
int csf__conn_write(csf__conn *c, const void *data, size_t len);
size_t csf__conn_output_len(const csf__conn *c);
/* Close once the output is flushed / now. Safe inside any callback: the
 * teardown (on_end of every call still open, frees) runs later from the loop. */
void csf__conn_close_after_flush(csf__conn *c);
void csf__conn_close(csf__conn *c, const char *why);
/* Tear down at once (freeing a server or channel): never from a callback. */
void csf__conn_free_now(csf__conn *c);
/* Re-evaluate the connection's timer (idle, keepalive). */
void csf__conn_rearm(csf__conn *c);
/* The peer as calls see it (transport set by the caller). */
void csf__conn_fill_peer(const csf__conn *c, csf_net_peer *peer, csf_net_transport t);
/* Start a graceful drain (server shutdown). */
void csf__conn_drain(csf__conn *c);
/* Client connections: connect to `sa` with TLS (`ssl`, may be NULL). */
int csf__conn_connect(csf__conn **out, csf_net_channel *ch, struct event_base *base, SSL *ssl,
		      const struct sockaddr *sa, int salen, const char *addr);

void csf__conn_set_limits(csf__conn *c, size_t max_output, uint32_t handshake_ms, uint32_t idle_ms,
			  uint32_t keepalive_ms, uint32_t keepalive_timeout_ms);

/* The channel's side of its connections (channel.c). */
void csf__channel_connected(csf__conn *c);
void csf__channel_conn_failed(csf__conn *c, const char *why);
int csf__channel_http_feed(csf__conn *c, const uint8_t *data, size_t len, size_t *used);
void csf__channel_conn_gone(csf__conn *c, const char *why);

/* HTTP/2 server sessions (h2_server.c). */
int csf__h2_server_new(csf__conn *c, const uint8_t *preface, size_t len);
int csf__h2_feed(csf__h2 *h, const uint8_t *data, size_t len);
int csf__h2_flush(csf__h2 *h);
int csf__h2_active_calls(const csf__h2 *h);
void csf__h2_ping(csf__h2 *h);
void csf__h2_drain(csf__h2 *h);
/* End every open call (the connection is gone) and free the session. */
void csf__h2_free(csf__h2 *h, const char *why);

/* HTTP/1.1 server side (http_conn.c) and WebSocket calls (ws_conn.c). */
int csf__http_conn_new(csf__conn *c);
int csf__http_conn_feed(csf__http_conn *h, const uint8_t *data, size_t len, size_t *consumed);
/* When the request being read began (monotonic ms), or 0 between requests. */
uint64_t csf__http_conn_request_started(const csf__http_conn *h);
/* A request on the pool: no deadline runs on the connection meanwhile. */
int csf__http_conn_busy(const csf__http_conn *h);
/* Stop reading a connection while a worker answers its request (what the
 * client sends meanwhile waits in the kernel, not in our memory), and go on
 * with it once the answer is out (conn.c). */
void csf__conn_hold(csf__conn *c);
void csf__conn_resume(csf__conn *c);
void csf__http_conn_free(csf__http_conn *h);
/* The request's headers become the call's metadata (Origin, ...). */
int csf__ws_conn_new_server(csf__conn *c, const csf__ws_route *route, const struct csf__http_request *req);
int csf__ws_conn_feed(csf__ws_conn *w, const uint8_t *data, size_t len);
int csf__ws_conn_flush(csf__ws_conn *w);
/* Move a WebSocket session's output to its connection, as much as the
 * output bound allows. Closes the connection on failure. */
struct csf__ws_session;
int csf__ws_pump(csf__conn *c, struct csf__ws_session *s);
int csf__ws_conn_active(const csf__ws_conn *w);
void csf__ws_conn_ping(csf__ws_conn *w);
void csf__ws_conn_drain(csf__ws_conn *w);
void csf__ws_conn_free(csf__ws_conn *w, const char *why);

/* gRPC helpers (grpc.c). */
/* Parse a grpc-timeout value ("100m", "5S"): milliseconds, or -1. */
int64_t csf__grpc_timeout_ms(const char *v, size_t len);
/* Format a timeout for the grpc-timeout header. */
void csf__grpc_timeout_format(char out[16], uint64_t ms);
/* Percent-encode a grpc-message (RFC 3986 unreserved + space kept... see grpc.c). */
int csf__grpc_message_encode(csf__buf *out, const char *msg);
int csf__grpc_message_decode(char *out, size_t cap, const char *in, size_t len);
/* The gRPC status of an HTTP/2 RST_STREAM error code, and of an HTTP status. */
int csf__grpc_status_of_rst(uint32_t error_code);
int csf__grpc_status_of_http(int http_status);

#endif
