/*
 * csf/net.h - the agent protocol's transport: an event loop, gRPC over
 * HTTP/2 (client and server, our own implementation on nghttp2), a WebSocket
 * fallback carrying the same messages, TLS 1.3 and mutual TLS.
 *
 * Messages cross this API as serialized protobuf bytes (the schema is
 * libcsf/proto/csf/v1/agent.proto, installed as share/csf/proto/...): the
 * transport neither knows nor cares what they hold.
 *
 * Threading: everything here runs on the thread that runs the loop. Handles
 * belong to their loop and are used from that thread only; callbacks run on
 * it. csf_net_loop_stop_async() is the one function other threads (and
 * signal handlers) may call.
 */
#ifndef CSF_NET_H
#define CSF_NET_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* gRPC status codes (grpc/doc/statuscodes.md), used by both transports. */
typedef enum csf_net_status {
	CSF_NET_OK = 0,
	CSF_NET_CANCELLED = 1,
	CSF_NET_UNKNOWN = 2,
	CSF_NET_INVALID_ARGUMENT = 3,
	CSF_NET_DEADLINE_EXCEEDED = 4,
	CSF_NET_NOT_FOUND = 5,
	CSF_NET_ALREADY_EXISTS = 6,
	CSF_NET_PERMISSION_DENIED = 7,
	CSF_NET_RESOURCE_EXHAUSTED = 8,
	CSF_NET_FAILED_PRECONDITION = 9,
	CSF_NET_ABORTED = 10,
	CSF_NET_OUT_OF_RANGE = 11,
	CSF_NET_UNIMPLEMENTED = 12,
	CSF_NET_INTERNAL = 13,
	CSF_NET_UNAVAILABLE = 14,
	CSF_NET_DATA_LOSS = 15,
	CSF_NET_UNAUTHENTICATED = 16
} csf_net_status;

/* The name of a status ("UNAUTHENTICATED"); "UNKNOWN" for other values. */
CSF_API const char *csf_net_status_name(int status);

/* ------------------------------------------------------------------ loop */

typedef struct csf_net_loop csf_net_loop;

/* Errors: CSF_ENOMEM, CSF_EIO. */
CSF_API int csf_net_loop_new(csf_net_loop **out);

/* Run until csf_net_loop_stop() is called. Errors: CSF_EIO. */
CSF_API int csf_net_loop_run(csf_net_loop *loop);

/* Run what is ready, waiting at most `timeout_ms` (0: do not wait) for
 * something to be. For programs that drive the loop from their own. */
CSF_API int csf_net_loop_run_once(csf_net_loop *loop, int timeout_ms);

/* Make csf_net_loop_run() return after the current callback. Loop thread only. */
CSF_API void csf_net_loop_stop(csf_net_loop *loop);

/* Make csf_net_loop_run() return, from any thread or a signal handler
 * (async-signal-safe). */
CSF_API void csf_net_loop_stop_async(csf_net_loop *loop);

/* Free the loop. Free everything made on it first. NULL-safe. */
CSF_API void csf_net_loop_free(csf_net_loop *loop);

typedef struct csf_net_timer csf_net_timer;
typedef void (*csf_net_timer_cb)(csf_net_timer *timer, void *payload);

/* A timer on `loop`, not yet armed. Errors: CSF_ENOMEM. */
CSF_API int csf_net_timer_new(csf_net_timer **out, csf_net_loop *loop, csf_net_timer_cb cb,
			      void *payload);
/* Arm (or re-arm) the timer to fire once after `ms` milliseconds. */
CSF_API int csf_net_timer_start(csf_net_timer *timer, uint64_t ms);
CSF_API void csf_net_timer_stop(csf_net_timer *timer);
/* NULL-safe. */
CSF_API void csf_net_timer_free(csf_net_timer *timer);

/* ------------------------------------------------------------------- TLS */

#define CSF_NET_TLS_OPTIONS_VERSION 1

/*
 * TLS settings, for a server listener or a client channel. Connections are
 * TLS 1.3 only. Each credential can come from a file or from memory (PEM);
 * memory wins when both are set.
 */
typedef struct csf_net_tls_options {
	unsigned int version;    /* CSF_NET_TLS_OPTIONS_VERSION */
	const char *cert_file;   /* our certificate chain (PEM): a server's, or a client's for mTLS */
	const char *cert_pem;
	const char *key_file;    /* its private key (PEM) */
	const char *key_pem;
	const char *ca_file;     /* CA certificates (PEM) that verify the peer */
	const char *ca_pem;
	/* Client: trust exactly the CA whose DER certificate has this SHA-256
	 * (64 hex digits) when it appears in the server's chain, instead of (or
	 * before) having a CA file: how an agent first meets its server. */
	const char *ca_pin_sha256;
	/* Client: the name sent as SNI and checked against the server's
	 * certificate. Default: the host of the URL. */
	const char *server_name;
} csf_net_tls_options;

#define CSF_NET_TLS_OPTIONS_INIT { CSF_NET_TLS_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

CSF_API int csf_net_tls_options_init(csf_net_tls_options *opts, unsigned int version);

/* ----------------------------------------------------------------- calls */

/*
 * A call: one gRPC stream, or one WebSocket session mapped onto a streaming
 * method. The library owns it: it is valid from its on_start (server) or
 * csf_net_channel_call() (client) until its on_end returns.
 */
typedef struct csf_net_call csf_net_call;

typedef enum csf_net_transport {
	CSF_NET_TRANSPORT_GRPC = 1,
	CSF_NET_TRANSPORT_WEBSOCKET = 2
} csf_net_transport;

/* Who is on the other end. Strings live as long as the call. */
typedef struct csf_net_peer {
	const char *address;       /* "203.0.113.9:51234", "[::1]:40000" */
	csf_net_transport transport;
	int tls;                   /* the connection is TLS */
	/* The verified client certificate (server side; mutual TLS), or NULL
	 * when the client presented none or it did not verify. */
	const char *cert_subject_cn;
	const char *cert_sha256;   /* hex SHA-256 of its DER */
	const char *cert_serial;   /* hex */
} csf_net_peer;

typedef struct csf_net_call_handlers {
	/* Server: a call to this method arrived. Return CSF_NET_OK to take it,
	 * or a status to refuse it with (as a Trailers-Only response).
	 * Client: the call is established (response headers arrived, or the
	 * WebSocket handshake completed); the return value is ignored. */
	int (*on_start)(csf_net_call *call, void *payload);
	/* One whole message. `data` is valid during the call. Return 0, or a
	 * status to end the call with (server) / cancel it (client). */
	int (*on_message)(csf_net_call *call, const unsigned char *data, size_t len, void *payload);
	/* The peer will send no more messages (client half-close, or the server's
	 * end of stream). May be NULL. */
	void (*on_half_close)(csf_net_call *call, void *payload);
	/* The send queue, full before, has room again. May be NULL. */
	void (*on_writable)(csf_net_call *call, void *payload);
	/* The call is over: `status` and `message` are what ended it (the
	 * server's trailers, a deadline, a lost connection...). The call is
	 * freed when this returns. */
	void (*on_end)(csf_net_call *call, int status, const char *message, void *payload);
} csf_net_call_handlers;

/*
 * Queue one message. Errors: CSF_ELIMIT when the call's send queue is full
 * (wait for on_writable), CSF_EINVALID after the sending side was closed,
 * CSF_ELIMIT for a message over the configured maximum, CSF_ENOMEM.
 */
CSF_API int csf_net_call_send(csf_net_call *call, const void *data, size_t len);

/* Client: no more messages from us (half-close). */
CSF_API int csf_net_call_close_send(csf_net_call *call);

/* Server: end the call with a status and an optional message, after the
 * messages already queued. */
CSF_API int csf_net_call_finish(csf_net_call *call, int status, const char *message);

/* Either side: end the call now; the peer sees CANCELLED. on_end follows. */
CSF_API void csf_net_call_cancel(csf_net_call *call);

/* Stop (1) or resume (0) delivering messages. While paused nothing is read
 * for this call, so the peer's flow-control window fills and it waits. */
CSF_API void csf_net_call_pause(csf_net_call *call, int paused);

CSF_API const csf_net_peer *csf_net_call_peer(const csf_net_call *call);
/* "/csf.v1.AgentService/StreamMetrics" */
CSF_API const char *csf_net_call_method(const csf_net_call *call);
/* A request header (server) or response header/trailer (client), or NULL. */
CSF_API const char *csf_net_call_metadata(const csf_net_call *call, const char *key);
/* Bytes queued to send and not yet handed to the socket. */
CSF_API size_t csf_net_call_queued(const csf_net_call *call);
CSF_API void csf_net_call_set_user_data(csf_net_call *call, void *data);
CSF_API void *csf_net_call_user_data(const csf_net_call *call);

/* ---------------------------------------------------------------- server */

#define CSF_NET_SERVER_OPTIONS_VERSION 1

/* Limits of a server. 0 means the default in brackets. */
typedef struct csf_net_server_options {
	unsigned int version;                 /* CSF_NET_SERVER_OPTIONS_VERSION */
	size_t max_message_bytes;             /* one message [4 MiB] */
	size_t max_header_list_bytes;         /* request headers [16 KiB] */
	uint32_t max_concurrent_streams;      /* per HTTP/2 connection [100] */
	uint32_t max_connections;             /* in all [100000] */
	uint32_t max_connections_per_ip;      /* [1000] */
	uint32_t handshake_timeout_ms;        /* TLS + protocol preamble [10000] */
	uint32_t idle_timeout_ms;             /* a connection with no call [300000] */
	size_t max_output_bytes;              /* queued for one connection [1 MiB] */
	uint32_t keepalive_ms;                /* PING an idle HTTP/2 connection [60000] */
	uint32_t keepalive_timeout_ms;        /* ... and close it without the ACK [20000] */
	/* Let cleartext listeners accept HTTP/2 without TLS (h2c), for local
	 * development and tests only. Off: a listener without TLS is refused. */
	int allow_insecure;
} csf_net_server_options;

#define CSF_NET_SERVER_OPTIONS_INIT { CSF_NET_SERVER_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

CSF_API int csf_net_server_options_init(csf_net_server_options *opts, unsigned int version);

typedef struct csf_net_server csf_net_server;

/* Errors: CSF_EINVALID, CSF_ENOMEM. */
CSF_API int csf_net_server_new(csf_net_server **out, csf_net_loop *loop,
			       const csf_net_server_options *opts);

/* Method flags. */
#define CSF_NET_METHOD_CLIENT_CERT 1u /* calls without a verified client certificate get UNAUTHENTICATED */

/*
 * Serve a gRPC method ("/package.Service/Method"). Unary and streaming
 * methods are served the same way: messages in, messages out.
 * Errors: CSF_EINVALID, CSF_EEXISTS, CSF_ENOMEM.
 */
CSF_API int csf_net_server_add_method(csf_net_server *server, const char *path, unsigned int flags,
				      const csf_net_call_handlers *handlers, void *payload);

/*
 * Serve WebSocket sessions at `http_path` with `subprotocol` as calls of the
 * already added `method`: each binary frame is one message.
 * Errors: CSF_ENOTFOUND (no such method), CSF_EINVALID, CSF_ENOMEM.
 */
CSF_API int csf_net_server_add_websocket(csf_net_server *server, const char *http_path,
					 const char *subprotocol, const char *method);

/*
 * Listen on "ADDR:PORT" ("0.0.0.0:7443", "[::1]:7443", port 0 picks one).
 * With `tls`, TLS 1.3 with ALPN h2 and http/1.1, client certificates
 * requested (not required: methods decide). Without, cleartext h2c and
 * HTTP/1.1, only when allow_insecure is set.
 * Errors: CSF_EINVALID, CSF_EIO (bind, certificate files), CSF_ENOMEM.
 */
CSF_API int csf_net_server_listen(csf_net_server *server, const char *address,
				  const csf_net_tls_options *tls);

/* The port the n-th listener (from 0) is bound to, or 0. */
CSF_API int csf_net_server_port(const csf_net_server *server, size_t n);

/* Connections open now. */
CSF_API size_t csf_net_server_connections(const csf_net_server *server);

/*
 * Stop accepting, send GOAWAY, let calls in flight finish for up to
 * `drain_ms`, then close what remains. `done` (may be NULL) runs once
 * everything is closed.
 */
CSF_API void csf_net_server_shutdown(csf_net_server *server, uint32_t drain_ms,
				     void (*done)(csf_net_server *server, void *payload), void *payload);

/* Close everything now and free. NULL-safe. */
CSF_API void csf_net_server_free(csf_net_server *server);

/* ---------------------------------------------------------------- client */

#define CSF_NET_CHANNEL_OPTIONS_VERSION 1

typedef enum csf_net_channel_transport {
	CSF_NET_CHANNEL_AUTO = 0,       /* gRPC; WebSocket when HTTP/2 does not get through */
	CSF_NET_CHANNEL_GRPC = 1,
	CSF_NET_CHANNEL_WEBSOCKET = 2
} csf_net_channel_transport;

typedef struct csf_net_channel_options {
	unsigned int version;           /* CSF_NET_CHANNEL_OPTIONS_VERSION */
	/* "https://host:port" (TLS) or "http://host:port" (cleartext h2c, needs
	 * allow_insecure). */
	const char *url;
	const csf_net_tls_options *tls;
	csf_net_channel_transport transport;
	const char *websocket_path;     /* [/api/v1/agent/ws] */
	const char *websocket_subprotocol; /* [csf.v1] */
	uint32_t connect_timeout_ms;    /* TCP + TLS + preamble [10000] */
	uint32_t keepalive_ms;          /* PING an idle connection [30000] */
	uint32_t keepalive_timeout_ms;  /* [10000] */
	size_t max_message_bytes;       /* [4 MiB] */
	size_t max_output_bytes;        /* queued per connection [1 MiB] */
	int allow_insecure;
} csf_net_channel_options;

#define CSF_NET_CHANNEL_OPTIONS_INIT { CSF_NET_CHANNEL_OPTIONS_VERSION, NULL, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0, 0 }

CSF_API int csf_net_channel_options_init(csf_net_channel_options *opts, unsigned int version);

/* A connection to one server, opened on the first call and reopened by a
 * later call after it is lost. Calls share it (HTTP/2 streams). */
typedef struct csf_net_channel csf_net_channel;

CSF_API int csf_net_channel_new(csf_net_channel **out, csf_net_loop *loop,
				const csf_net_channel_options *opts);

/*
 * Start a call of `method` ("/package.Service/Method") with a deadline of
 * `timeout_ms` (0: none). Messages may be sent at once; they go out when the
 * connection is up. A call that cannot be carried ends through on_end
 * (UNAVAILABLE, with the reason). `*out` may be NULL.
 * Errors: CSF_EINVALID, CSF_ENOMEM.
 */
CSF_API int csf_net_channel_call(csf_net_call **out, csf_net_channel *channel, const char *method,
				 uint64_t timeout_ms, const csf_net_call_handlers *handlers,
				 void *payload);

/* The transport the channel's connection uses now (0 before it connects). */
CSF_API csf_net_transport csf_net_channel_transport_in_use(const csf_net_channel *channel);

/* Cancel every call, close the connection and free. NULL-safe. */
CSF_API void csf_net_channel_free(csf_net_channel *channel);

#ifdef __cplusplus
}
#endif

#endif
