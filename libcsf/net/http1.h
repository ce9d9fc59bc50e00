/*
 * HTTP/1.1, sans-I/O: a request reader over http-parser (bytes in, one
 * request out), a response writer (a response in, bytes out), and a small
 * router with {param} path segments. The connection layer (conn.c) moves the
 * bytes; nothing here touches a socket.
 */
#ifndef CSF_NET_HTTP1_H
#define CSF_NET_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "core/internal.h"

#define CSF__HTTP_MAX_HEADERS 64
#define CSF__HTTP_MAX_PARAMS 8

typedef struct csf__http_header {
	const char *name;   /* as received; compare case-insensitively */
	const char *value;  /* leading/trailing blanks removed */
} csf__http_header;

typedef struct csf__http_request {
	const char *method;      /* "GET", "POST", ... */
	const char *target;      /* the raw request target, "/a/b?x=1" */
	const char *path;        /* percent-decoded path, "/a/b" (never contains NUL) */
	const char *query;       /* raw query without '?', or "" */
	csf__http_header headers[CSF__HTTP_MAX_HEADERS];
	size_t headers_count;
	const char *body;        /* NUL-terminated for convenience; body_len is authoritative */
	size_t body_len;
	int http_minor;          /* 0 or 1 (HTTP/1.x) */
	int keep_alive;          /* the connection may carry another request */
	int upgrade;             /* Connection: upgrade with an Upgrade header */
} csf__http_request;

/* The value of a header (case-insensitive name), or NULL. */
const char *csf__http_request_header(const csf__http_request *req, const char *name);
/*
 * Whether an Accept-Encoding value allows `coding` ("gzip", "br"): named
 * with a non-zero q, or not named and "*" allowed. NULL (no header): 0, so
 * a client that says nothing gets the identity coding.
 */
int csf__http_accepts_encoding(const char *value, const char *coding);
/* The value of a query parameter, percent-decoded into `buf`; NULL if absent
 * or longer than the buffer. */
const char *csf__http_request_query(const csf__http_request *req, const char *name, char *buf, size_t cap);

typedef struct csf__http1_limits {
	size_t max_header_bytes; /* request line + headers [16 KiB] */
	size_t max_body_bytes;   /* [1 MiB] */
} csf__http1_limits;

typedef struct csf__http1_reader {
	http_parser parser;
	csf__http1_limits limits;
	csf__buf store;          /* strings of the request being read */
	csf__http_request req;
	int state;               /* private */
	size_t header_bytes;
	/* offsets into `store` while reading (pointers are set when complete) */
	size_t off_method, off_target, off_path, off_query, off_body;
	size_t off_hname[CSF__HTTP_MAX_HEADERS], off_hvalue[CSF__HTTP_MAX_HEADERS];
	int error_status;
} csf__http1_reader;

/* Zeroed limits take the defaults in brackets. */
void csf__http1_reader_init(csf__http1_reader *r, const csf__http1_limits *limits);

/*
 * Feed bytes. Returns:
 *   0  more bytes are needed (all of `len` consumed);
 *   1  a whole request is in r->req; `*consumed` says how many bytes of
 *      `data` belonged to it. Bytes after it (a pipelined request, or the
 *      first bytes of an upgraded protocol) are not consumed;
 *  <0  a csf error; *status (if not NULL) receives the HTTP status to answer
 *      with: 400 malformed, 413 body too large, 431 headers too large,
 *      505 not HTTP/1.x, 501 unsupported (Transfer-Encoding other than chunked).
 * After 1, call csf__http1_reader_next() before feeding the next request.
 */
int csf__http1_reader_feed(csf__http1_reader *r, const char *data, size_t len, size_t *consumed,
			   int *status);
/* Forget the finished request and get ready for the next one. */
void csf__http1_reader_next(csf__http1_reader *r);
void csf__http1_reader_free(csf__http1_reader *r);

/* The reason phrase of a status ("Not Found"); "Unknown" otherwise. */
const char *csf__http_reason(int status);

/*
 * Append a whole response to `out`: status line, `headers` (name/value pairs
 * ending with a NULL name; may be NULL), Content-Length (unless status is
 * 101, 204 or 304), Connection: close when !keep_alive, an empty line, and the
 * body. Header values containing CR or LF are refused (CSF_EINVALID).
 */
int csf__http1_write_response(csf__buf *out, int status, const char *const *headers,
			      const void *body, size_t body_len, int keep_alive);

/*
 * Append a request (client side, used for the WebSocket handshake).
 * `headers` as above; adds Host and Content-Length when body_len > 0.
 */
int csf__http1_write_request(csf__buf *out, const char *method, const char *target, const char *host,
			     const char *const *headers, const void *body, size_t body_len);

/* Client side: read a response head. Same conventions as the reader:
 * 0 need more, 1 complete (status/headers/body set; for 101 the body is empty
 * and bytes after the head are left unconsumed), <0 error. */
typedef struct csf__http1_response {
	int status;
	csf__http_header headers[CSF__HTTP_MAX_HEADERS];
	size_t headers_count;
	const char *body;
	size_t body_len;
} csf__http1_response;

typedef struct csf__http1_response_reader {
	http_parser parser;
	csf__http1_limits limits;
	csf__buf store;
	csf__http1_response resp;
	int state;
	size_t header_bytes;
	size_t off_hname[CSF__HTTP_MAX_HEADERS], off_hvalue[CSF__HTTP_MAX_HEADERS], off_body;
} csf__http1_response_reader;

void csf__http1_response_reader_init(csf__http1_response_reader *r, const csf__http1_limits *limits);
int csf__http1_response_reader_feed(csf__http1_response_reader *r, const char *data, size_t len,
				    size_t *consumed);
/* The peer closed the connection: completes a response whose body runs to
 * the end of the stream (no Content-Length, not chunked). Returns 1 when the
 * response is complete, or CSF_EPARSE when it was cut short. */
int csf__http1_response_reader_eof(csf__http1_response_reader *r);
const char *csf__http1_response_header(const csf__http1_response *resp, const char *name);
void csf__http1_response_reader_free(csf__http1_response_reader *r);

/* ----------------------------------------------------------------- router */

typedef struct csf__http_params {
	const char *names[CSF__HTTP_MAX_PARAMS];
	char *values[CSF__HTTP_MAX_PARAMS]; /* percent-decoded, owned by the params */
	size_t count;
} csf__http_params;

/* The value of a {param}, or NULL. */
const char *csf__http_param(const csf__http_params *p, const char *name);
void csf__http_params_free(csf__http_params *p);

typedef struct csf__router csf__router;

/* Handlers are opaque to the router: it stores and returns them. */
int csf__router_new(csf__router **out);
/*
 * Add a route: method ("GET"; "*" for any) and a pattern of literal and
 * {name} segments ("/api/v1/agents/{id}/metrics"); a last segment "{name*}"
 * matches the rest of the path (static files). Errors: CSF_EINVALID (bad
 * pattern), CSF_EEXISTS (same method and pattern), CSF_ENOMEM.
 */
int csf__router_add(csf__router *r, const char *method, const char *pattern, void *handler);
/*
 * Find the route for (method, path). Literal segments win over {params}.
 * Returns 0 and sets *handler and *params; CSF_ENOTFOUND when no pattern
 * matches the path (404); CSF_EINVALID when a pattern matches but not for
 * this method (405; `allow` receives the allowed methods, comma-separated,
 * if not NULL and large enough).
 */
int csf__router_match(const csf__router *r, const char *method, const char *path, void **handler,
		      csf__http_params *params, char *allow, size_t allow_cap);
/* Every route, for checking them against the API document. */
size_t csf__router_count(const csf__router *r);
int csf__router_route(const csf__router *r, size_t i, const char **method, const char **pattern);
void csf__router_free(csf__router *r);

#endif
