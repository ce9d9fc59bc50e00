/*
 * HTTP/1.1 without I/O: the request reader (http-parser underneath, plus the
 * checks it does not make), the client's response reader, and the writers.
 *
 * http-parser 2.9.4 is lenient where a server must not be: it takes spaces
 * in header names, a control character as the first byte of a value,
 * obsolete line folding, control characters in the target, any letters in
 * place of "HTTP", HTTP/0.9 and 2.x request lines, "Transfer-Encoding: gzip,
 * chunked" and two Host headers. Those are refused here. It does refuse bare
 * CR, a duplicate Content-Length and Content-Length with Transfer-Encoding.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "net/http1.h"

#define DEFAULT_MAX_HEADER_BYTES ((size_t)16 * 1024)
#define DEFAULT_MAX_BODY_BYTES ((size_t)1024 * 1024)
/* A store grown past this by a large body is released between requests. */
#define STORE_KEEP ((size_t)64 * 1024)

/* The `state` of both readers: the phase, what the last data callback
 * delivered, and whether the last header value piece ended at its line end
 * (another piece of the same value is then a folded line). */
#define ST_PHASE 0x03
#define ST_HEAD 0x00
#define ST_BODY 0x01
#define ST_DONE 0x02
#define ST_ERROR 0x03
#define ST_KIND 0x0c
#define ST_NONE 0x00
#define ST_URL 0x04
#define ST_FIELD 0x08
#define ST_VALUE 0x0c
#define ST_VALUE_CLOSED 0x10
/* The request target ended: "HTTP/" follows, of which this many bytes were
 * seen (http-parser does not check the letters). */
#define ST_PROTO_WAIT 0x20
#define ST_PROTO_SHIFT 6
#define ST_PROTO_GOT (7 << ST_PROTO_SHIFT)

/* What the parser callbacks work on during one http_parser_execute() call
 * (parser.data points at it): the parts both readers share. */
typedef struct head {
	http_parser *parser;
	const http_parser_settings *settings;
	int *state;
	csf__buf *store;
	size_t *header_bytes;
	size_t *count;
	size_t *off_hname, *off_hvalue;
	size_t *off_body;
	size_t *body_len;
	const csf__http1_limits *limits;
	const char *end;          /* end of the bytes being parsed */
	const char *proto;        /* where the target ended in them, or NULL */
	int status;               /* HTTP status of what a callback refused */
	int rc;                   /* and its csf error */
	csf__http1_reader *req;   /* request reader, or NULL */
	csf__http1_response_reader *resp;
} head;

static int is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
	case '-': case '.': case '^': case '_': case '`': case '|': case '~':
		return 1;
	}
	return 0;
}


/*
 * Percent-decode `n` bytes of `src` into `dst` (room for `cap` bytes and a
 * NUL). `plus` turns '+' into a space (query strings). Returns the decoded
 * length, -1 for a bad escape or a decoded NUL, -2 when it does not fit.
 */
static long pct_decode(char *dst, size_t cap, const char *src, size_t n, int plus)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = csf__hex_value((unsigned char)src[i + 1]);
			lo = csf__hex_value((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			if (c == 0)
				return -1;
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (o + 1 >= cap)
			return -2;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return (long)o;
}

/* ------------------------------------------------------- parser callbacks */

/* Refuse from a callback. Not 1 or 2, which on_headers_complete would
 * mean "no body". */
static int fail(head *h, int status, int rc)
{
	h->status = status;
	h->rc = rc;
	return -1;
}

static int store_put(head *h, const char *at, size_t len)
{
	int rc = csf__buf_put(h->store, at, len);

	if (rc)
		return fail(h, rc == CSF_ENOMEM ? 500 : 431, rc);
	return 0;
}

/* NUL-terminate the string being collected. */
static int store_end(head *h)
{
	return store_put(h, "", 1);
}

static void set_kind(head *h, int kind)
{
	*h->state = (*h->state & ~ST_KIND) | kind;
}

/* Trailer fields after a chunked body are checked and counted against the
 * header limit, but not kept: nothing may change the head once it was
 * accepted. */
static int count_trailer(head *h, size_t len)
{
	*h->header_bytes += len + 4;
	if (*h->header_bytes > h->limits->max_header_bytes)
		return fail(h, 431, csf__error_set(CSF_ELIMIT, "http: header and trailer fields exceed %zu bytes",
						   h->limits->max_header_bytes));
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	head *h = p->data;

	if ((*h->state & ST_KIND) != ST_URL) {
		set_kind(h, ST_URL);
		h->req->off_target = h->store->len;
	}
	if (at + len != h->end) {
		*h->state |= ST_PROTO_WAIT;
		h->proto = at + len;
	}
	return store_put(h, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	head *h = p->data;
	size_t i;
	int rc;

	for (i = 0; i < len; i++)
		if (!is_tchar((unsigned char)at[i]))
			return fail(h, 400, csf__error_set(CSF_EPARSE,
							   "http: invalid character 0x%02x in a header name",
							   (unsigned char)at[i]));
	if ((*h->state & ST_PHASE) != ST_HEAD)
		return count_trailer(h, len);
	if ((*h->state & ST_KIND) != ST_FIELD) {
		if (*h->count == CSF__HTTP_MAX_HEADERS)
			return fail(h, 431, csf__error_set(CSF_ELIMIT, "http: more than %d header fields",
							   CSF__HTTP_MAX_HEADERS));
		if ((*h->state & ST_KIND) != ST_NONE && (rc = store_end(h)) != 0)
			return rc;
		h->off_hname[*h->count] = h->store->len;
		set_kind(h, ST_FIELD);
	}
	return store_put(h, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	head *h = p->data;
	size_t i;
	int rc;

	/* http-parser does not check the first byte of a value. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)at[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(h, 400, csf__error_set(CSF_EPARSE,
							   "http: control character 0x%02x in a header value", c));
	}
	if ((*h->state & ST_PHASE) != ST_HEAD)
		return count_trailer(h, len);
	if ((*h->state & ST_KIND) == ST_FIELD) {
		if ((rc = store_end(h)) != 0)
			return rc;
		h->off_hvalue[*h->count] = h->store->len;
		(*h->count)++;
		set_kind(h, ST_VALUE);
	} else if (*h->state & ST_VALUE_CLOSED) {
		/* A piece of a value that had already reached its line end: the
		 * parser joined a continuation line (RFC 7230 section 3.2.4). */
		return fail(h, 400, csf__error_set(CSF_EPARSE, "http: obsolete line folding in header %.64s",
						   h->store->ptr + h->off_hname[*h->count - 1]));
	}
	if (at + len == h->end)
		*h->state &= ~ST_VALUE_CLOSED;
	else
		*h->state |= ST_VALUE_CLOSED;
	return store_put(h, at, len);
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	head *h = p->data;

	if (len > h->limits->max_body_bytes - *h->body_len)
		return fail(h, 413, csf__error_set(CSF_ELIMIT, "http: body larger than %zu bytes",
						   h->limits->max_body_bytes));
	*h->body_len += len;
	return store_put(h, at, len);
}

static int on_chunk_header(http_parser *p)
{
	head *h = p->data;

	if (p->content_length > h->limits->max_body_bytes - *h->body_len)
		return fail(h, 413, csf__error_set(CSF_ELIMIT, "http: chunked body larger than %zu bytes",
						   h->limits->max_body_bytes));
	return 0;
}

/* End of the head: terminate the last string and trim the values. */
static int head_end(head *h)
{
	size_t i;
	int rc = store_end(h);

	if (rc)
		return rc;
	for (i = 0; i < *h->count; i++) {
		char *v = h->store->ptr + h->off_hvalue[i];
		size_t n;

		while (*v == ' ' || *v == '\t')
			v++;
		n = strlen(v);
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		v[n] = '\0';
		h->off_hvalue[i] = (size_t)(v - h->store->ptr);
	}
	set_kind(h, ST_NONE);
	*h->off_body = h->store->len;
	*h->body_len = 0;
	return 0;
}

static const char *stored(const head *h, size_t off)
{
	return h->store->ptr + off;
}

/* ------------------------------------------------------ the request target */

static int bad_target(head *h, const char *why)
{
	return fail(h, 400, csf__error_set(CSF_EPARSE, "http: request target %.128s: %s",
					   stored(h, h->req->off_target), why));
}

/*
 * Split the target into the decoded path and the raw query. Origin form
 * ("/a?b"), absolute form ("http://host/a?b", which servers must accept) and
 * "*" for OPTIONS. The decoded path must hold no control character and no
 * "." or ".." segment, so a static file handler can join it to a root.
 */
static int parse_target(head *h, const http_parser *p)
{
	csf__http1_reader *r = h->req;
	const char *t = stored(h, r->off_target);
	size_t n = strlen(t), i, pstart, plen, qstart = 0, qlen = 0;
	long dlen;
	char *d;
	int rc;

	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || t[i] == 0x7f)
			return bad_target(h, "control character or space");
	if (t[0] == '/') {
		pstart = 0;
	} else if (!strcmp(t, "*")) {
		if (p->method != HTTP_OPTIONS)
			return bad_target(h, "'*' is only for OPTIONS");
		pstart = 0;
	} else if (!strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8)) {
		const char *a = strstr(t, "//") + 2;

		pstart = (size_t)(a - t) + strcspn(a, "/?#");
	} else {
		return bad_target(h, "not a path");
	}
	plen = strcspn(t + pstart, "?#");
	if (t[pstart + plen] == '?') {
		qstart = pstart + plen + 1;
		qlen = strcspn(t + qstart, "#");
	}
	/* The decoded path and the query, each with its NUL (and "/" for an
	 * absolute form without a path). */
	if ((rc = csf__buf_reserve(h->store, plen + qlen + 3)) != 0)
		return fail(h, rc == CSF_ENOMEM ? 500 : 431, rc);
	t = stored(h, r->off_target);
	r->off_path = h->store->len;
	d = h->store->ptr + h->store->len;
	if (plen == 0) {
		d[0] = '/';
		d[1] = '\0';
		dlen = 1;
	} else {
		dlen = pct_decode(d, plen + 1, t + pstart, plen, 0);
		if (dlen < 0)
			return bad_target(h, "bad percent-encoding or %00 in the path");
	}
	for (i = 0; i < (size_t)dlen; i++)
		if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f)
			return bad_target(h, "control character in the decoded path");
	for (i = 0; i < (size_t)dlen; i++) {
		size_t seg = strcspn(d + i, "/");

		if ((seg == 1 && d[i] == '.') || (seg == 2 && d[i] == '.' && d[i + 1] == '.'))
			return bad_target(h, "'.' or '..' path segment");
		i += seg;
	}
	h->store->len += (size_t)dlen + 1;
	r->off_query = h->store->len;
	memcpy(h->store->ptr + h->store->len, t + qstart, qlen);
	h->store->len += qlen;
	h->store->ptr[h->store->len++] = '\0';
	h->store->ptr[h->store->len] = '\0';
	return 0;
}

static int on_request_headers_complete(http_parser *p)
{
	head *h = p->data;
	csf__http1_reader *r = h->req;
	const char *te = NULL;
	size_t i, hosts = 0, tes = 0;
	int rc;

	if ((rc = head_end(h)) != 0)
		return rc;
	if (p->http_major != 1)
		return fail(h, 505, csf__error_set(CSF_EPARSE, "http: HTTP/%u.%u is not supported",
						   p->http_major, p->http_minor));
	if (p->method == HTTP_CONNECT)
		return fail(h, 501, csf__error_set(CSF_EPARSE, "http: CONNECT is not supported"));
	for (i = 0; i < r->req.headers_count; i++) {
		const char *name = stored(h, r->off_hname[i]);

		if (!strcasecmp(name, "host")) {
			hosts++;
		} else if (!strcasecmp(name, "transfer-encoding")) {
			tes++;
			te = stored(h, r->off_hvalue[i]);
		}
	}
	if (hosts > 1 || (hosts == 0 && p->http_minor > 0))
		return fail(h, 400, csf__error_set(CSF_EPARSE,
						   "http: an HTTP/1.1 request needs one Host header, not %zu", hosts));
	if (tes > 1)
		return fail(h, 400, csf__error_set(CSF_EPARSE, "http: more than one Transfer-Encoding header"));
	if (te && strcasecmp(te, "chunked"))
		return fail(h, 501, csf__error_set(CSF_EPARSE, "http: Transfer-Encoding %.64s is not supported", te));
	if (!(p->flags & F_CHUNKED) && p->content_length != UINT64_MAX &&
	    p->content_length > h->limits->max_body_bytes)
		return fail(h, 413, csf__error_set(CSF_ELIMIT, "http: Content-Length %llu exceeds the limit of %zu",
						   (unsigned long long)p->content_length,
						   h->limits->max_body_bytes));
	if ((rc = parse_target(h, p)) != 0)
		return rc;
	/* The body starts after the path and query. */
	*h->off_body = h->store->len;
	r->req.http_minor = p->http_minor > 0;
	r->req.keep_alive = http_should_keep_alive(p) != 0;
	r->req.upgrade = p->upgrade;
	*h->state = (*h->state & ~ST_PHASE) | ST_BODY;
	return 0;
}

static int on_request_complete(http_parser *p)
{
	head *h = p->data;
	csf__http1_reader *r = h->req;
	size_t i;

	r->req.method = http_method_str((enum http_method)p->method);
	r->req.target = stored(h, r->off_target);
	r->req.path = stored(h, r->off_path);
	r->req.query = stored(h, r->off_query);
	for (i = 0; i < r->req.headers_count; i++) {
		r->req.headers[i].name = stored(h, r->off_hname[i]);
		r->req.headers[i].value = stored(h, r->off_hvalue[i]);
	}
	r->req.body = stored(h, r->off_body);
	*h->state = (*h->state & ~ST_PHASE) | ST_DONE;
	/* Stop here: what follows is the next request or another protocol. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings request_settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_request_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_request_complete,
	.on_chunk_header = on_chunk_header,
};

/* ------------------------------------------------------- the feeding loop */

/* Check the bytes after the request target: spaces, then "HTTP/". A line
 * that ends first is HTTP/0.9, which the version check answers. */
static void check_protocol(head *h, const char *from, const char *to)
{
	static const char want[] = "HTTP/";
	int got = (*h->state & ST_PROTO_GOT) >> ST_PROTO_SHIFT;

	for (; from < to && (*h->state & ST_PROTO_WAIT); from++) {
		if (got == 0 && *from == ' ')
			continue;
		if (got == 0 && (*from == '\r' || *from == '\n')) {
			*h->state &= ~ST_PROTO_WAIT;
		} else if (*from != want[got]) {
			fail(h, 400, csf__error_set(CSF_EPARSE, "http: the request line does not end with HTTP/1.x"));
			return;
		} else if (++got == 5) {
			*h->state &= ~ST_PROTO_WAIT;
		}
	}
	*h->state = (*h->state & ~ST_PROTO_GOT) | got << ST_PROTO_SHIFT;
}

static int errno_status(enum http_errno e)
{
	switch (e) {
	case HPE_HEADER_OVERFLOW:
		return 431;
	case HPE_INVALID_TRANSFER_ENCODING:
		return 501;
	default:
		return 400;
	}
}

/*
 * Run the parser over `data`. While the head is incomplete it sees at most
 * the bytes left under the header limit, so a head of exactly the limit is
 * accepted and one byte more is refused.
 */
static int head_feed(head *h, const char *data, size_t len, size_t *consumed, int *status)
{
	size_t off = 0;
	int rc;

	while (off < len) {
		size_t chunk = len - off, n;
		enum http_errno e;

		if ((*h->state & ST_PHASE) == ST_HEAD && chunk > h->limits->max_header_bytes - *h->header_bytes)
			chunk = h->limits->max_header_bytes - *h->header_bytes;
		h->end = data + off + chunk;
		h->proto = NULL;
		h->parser->data = h;
		n = http_parser_execute(h->parser, h->settings, data + off, chunk);
		h->parser->data = NULL;
		if (!h->rc && (*h->state & ST_PROTO_WAIT))
			check_protocol(h, h->proto ? h->proto : data + off, data + off + n);
		off += n;
		e = HTTP_PARSER_ERRNO(h->parser);
		if (!h->rc && (*h->state & ST_PHASE) == ST_DONE) {
			*consumed = off;
			return 1;
		}
		if (h->rc || e != HPE_OK) {
			*consumed = off;
			if (h->rc) {
				*status = h->status;
				rc = h->rc;
			} else {
				*status = errno_status(e);
				rc = csf__error_set(*status == 431 ? CSF_ELIMIT : CSF_EPARSE, "http: %s (at byte %zu)",
						    http_errno_description(e), off);
			}
			*h->state = (*h->state & ~ST_PHASE) | ST_ERROR;
			return rc;
		}
		if ((*h->state & ST_PHASE) == ST_HEAD) {
			*h->header_bytes += n;
			if (*h->header_bytes >= h->limits->max_header_bytes) {
				*consumed = off;
				*status = 431;
				*h->state = (*h->state & ~ST_PHASE) | ST_ERROR;
				return csf__error_set(CSF_ELIMIT, "http: request line and headers exceed %zu bytes",
						      h->limits->max_header_bytes);
			}
		}
	}
	*consumed = len;
	return 0;
}

static void limits_init(csf__http1_limits *dst, const csf__http1_limits *src, csf__buf *store)
{
	size_t max;

	dst->max_header_bytes = src && src->max_header_bytes ? src->max_header_bytes : DEFAULT_MAX_HEADER_BYTES;
	dst->max_body_bytes = src && src->max_body_bytes ? src->max_body_bytes : DEFAULT_MAX_BODY_BYTES;
	/* The head's strings (at most its bytes, the path twice), their NULs, and
	 * the body. */
	max = dst->max_header_bytes > (SIZE_MAX - 1024) / 3 ? SIZE_MAX : dst->max_header_bytes * 3 + 1024;
	max = dst->max_body_bytes > SIZE_MAX - max ? SIZE_MAX : max + dst->max_body_bytes;
	*store = (csf__buf)CSF__BUF_INIT(max);
}

/* ------------------------------------------------------------- the reader */

void csf__http1_reader_init(csf__http1_reader *r, const csf__http1_limits *limits)
{
	memset(r, 0, sizeof(*r));
	limits_init(&r->limits, limits, &r->store);
	http_parser_init(&r->parser, HTTP_REQUEST);
	r->state = ST_HEAD;
}

static void request_head(head *h, csf__http1_reader *r)
{
	memset(h, 0, sizeof(*h));
	h->parser = &r->parser;
	h->settings = &request_settings;
	h->state = &r->state;
	h->store = &r->store;
	h->header_bytes = &r->header_bytes;
	h->count = &r->req.headers_count;
	h->off_hname = r->off_hname;
	h->off_hvalue = r->off_hvalue;
	h->off_body = &r->off_body;
	h->body_len = &r->req.body_len;
	h->limits = &r->limits;
	h->req = r;
}

int csf__http1_reader_feed(csf__http1_reader *r, const char *data, size_t len, size_t *consumed,
			   int *status)
{
	size_t used = 0;
	int st = 0, rc;
	head h;

	if (consumed)
		*consumed = 0;
	if (status)
		*status = 0;
	if (!r || (!data && len))
		return csf__misuse("csf__http1_reader_feed: reader and data are required");
	switch (r->state & ST_PHASE) {
	case ST_DONE:
		return csf__misuse("csf__http1_reader_feed: call csf__http1_reader_next() after a request");
	case ST_ERROR:
		if (status)
			*status = r->error_status;
		return csf__error_set(CSF_EPARSE, "http: the request stream failed earlier");
	}
	request_head(&h, r);
	rc = head_feed(&h, data, len, &used, &st);
	if (rc < 0)
		r->error_status = st;
	if (consumed)
		*consumed = used;
	if (status)
		*status = st;
	return rc;
}

void csf__http1_reader_next(csf__http1_reader *r)
{
	if (!r)
		return;
	if (r->store.cap > STORE_KEEP)
		csf__buf_free(&r->store);
	else
		csf__buf_clear(&r->store);
	memset(&r->req, 0, sizeof(r->req));
	r->state = ST_HEAD;
	r->header_bytes = 0;
	r->off_method = r->off_target = r->off_path = r->off_query = r->off_body = 0;
	r->error_status = 0;
	http_parser_init(&r->parser, HTTP_REQUEST);
}

void csf__http1_reader_free(csf__http1_reader *r)
{
	if (!r)
		return;
	csf__buf_free(&r->store);
	memset(&r->req, 0, sizeof(r->req));
}

const char *csf__http_request_header(const csf__http_request *req, const char *name)
{
	size_t i;

	if (!req || !name)
		return NULL;
	for (i = 0; i < req->headers_count; i++)
		if (!strcasecmp(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}

const char *csf__http_request_query(const csf__http_request *req, const char *name, char *buf, size_t cap)
{
	const char *q;

	if (!req || !name || !buf || !cap || !req->query)
		return NULL;
	for (q = req->query; *q;) {
		size_t plen = strcspn(q, "&"), klen = strcspn(q, "=");
		char key[256];

		if (klen > plen)
			klen = plen;
		if (pct_decode(key, sizeof(key), q, klen, 1) >= 0 && !strcmp(key, name)) {
			const char *v = klen < plen ? q + klen + 1 : q + plen;

			if (pct_decode(buf, cap, v, (size_t)(q + plen - v), 1) < 0)
				return NULL;
			return buf;
		}
		q += plen;
		if (*q == '&')
			q++;
	}
	return NULL;
}

/* ---------------------------------------------------- the response reader */

static int on_response_headers_complete(http_parser *p)
{
	head *h = p->data;
	int rc;

	if ((rc = head_end(h)) != 0)
		return rc;
	if (p->http_major != 1)
		return fail(h, 0, csf__error_set(CSF_EPARSE, "http: response is HTTP/%u.%u", p->http_major,
						 p->http_minor));
	if (p->status_code < 100 || p->status_code > 599)
		return fail(h, 0, csf__error_set(CSF_EPARSE, "http: response status %u", p->status_code));
	h->resp->resp.status = (int)p->status_code;
	*h->state = (*h->state & ~ST_PHASE) | ST_BODY;
	/* No body for 1xx, 204 and 304 (RFC 7230 section 3.3.3), whatever the
	 * headers say; bytes after a 101 head belong to the new protocol. */
	if (p->status_code < 200 || p->status_code == 204 || p->status_code == 304)
		return 1;
	if (!(p->flags & F_CHUNKED) && p->content_length != UINT64_MAX &&
	    p->content_length > h->limits->max_body_bytes)
		return fail(h, 0, csf__error_set(CSF_ELIMIT,
						 "http: response Content-Length %llu exceeds the limit of %zu",
						 (unsigned long long)p->content_length, h->limits->max_body_bytes));
	return 0;
}

static int on_response_complete(http_parser *p)
{
	head *h = p->data;
	csf__http1_response_reader *r = h->resp;
	size_t i;

	for (i = 0; i < r->resp.headers_count; i++) {
		r->resp.headers[i].name = stored(h, r->off_hname[i]);
		r->resp.headers[i].value = stored(h, r->off_hvalue[i]);
	}
	r->resp.body = stored(h, r->off_body);
	*h->state = (*h->state & ~ST_PHASE) | ST_DONE;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings response_settings = {
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_response_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_response_complete,
	.on_chunk_header = on_chunk_header,
};

static void response_head(head *h, csf__http1_response_reader *r)
{
	memset(h, 0, sizeof(*h));
	h->parser = &r->parser;
	h->settings = &response_settings;
	h->state = &r->state;
	h->store = &r->store;
	h->header_bytes = &r->header_bytes;
	h->count = &r->resp.headers_count;
	h->off_hname = r->off_hname;
	h->off_hvalue = r->off_hvalue;
	h->off_body = &r->off_body;
	h->body_len = &r->resp.body_len;
	h->limits = &r->limits;
	h->resp = r;
}

void csf__http1_response_reader_init(csf__http1_response_reader *r, const csf__http1_limits *limits)
{
	memset(r, 0, sizeof(*r));
	limits_init(&r->limits, limits, &r->store);
	http_parser_init(&r->parser, HTTP_RESPONSE);
	r->state = ST_HEAD;
}

int csf__http1_response_reader_feed(csf__http1_response_reader *r, const char *data, size_t len,
				    size_t *consumed)
{
	size_t used = 0;
	int st = 0, rc;
	head h;

	if (consumed)
		*consumed = 0;
	if (!r || (!data && len))
		return csf__misuse("csf__http1_response_reader_feed: reader and data are required");
	switch (r->state & ST_PHASE) {
	case ST_DONE:
		return csf__misuse("csf__http1_response_reader_feed: the response is complete");
	case ST_ERROR:
		return csf__error_set(CSF_EPARSE, "http: the response stream failed earlier");
	}
	response_head(&h, r);
	rc = head_feed(&h, data, len, &used, &st);
	if (consumed)
		*consumed = used;
	return rc;
}

int csf__http1_response_reader_eof(csf__http1_response_reader *r)
{
	head h;

	if (!r)
		return csf__misuse("csf__http1_response_reader_eof: reader is NULL");
	if ((r->state & ST_PHASE) == ST_DONE)
		return 1;
	if ((r->state & ST_PHASE) == ST_BODY) {
		response_head(&h, r);
		h.parser->data = &h;
		/* A zero-length execute tells the parser the stream ended. */
		http_parser_execute(h.parser, h.settings, NULL, 0);
		h.parser->data = NULL;
		if ((r->state & ST_PHASE) == ST_DONE)
			return 1;
	}
	r->state = (r->state & ~ST_PHASE) | ST_ERROR;
	return csf__error_set(CSF_EPARSE, "http: connection closed before the response was complete");
}

const char *csf__http1_response_header(const csf__http1_response *resp, const char *name)
{
	size_t i;

	if (!resp || !name)
		return NULL;
	for (i = 0; i < resp->headers_count; i++)
		if (!strcasecmp(resp->headers[i].name, name))
			return resp->headers[i].value;
	return NULL;
}

void csf__http1_response_reader_free(csf__http1_response_reader *r)
{
	if (!r)
		return;
	csf__buf_free(&r->store);
	memset(&r->resp, 0, sizeof(r->resp));
}

/* ------------------------------------------------------------- the writers */

const char *csf__http_reason(int status)
{
	const char *s;

	if (status < 100 || status > 999)
		return "Unknown";
	s = http_status_str((enum http_status)status);
	return strcmp(s, "<unknown>") ? s : "Unknown";
}

static int token_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* Field values and request-line parts: no control character but HTAB
 * (`tab` 1) or none at all, so nothing can end the line early. */
static int text_ok(const char *s, int tab)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && !(tab && c == '\t')) || c == 0x7f)
			return 0;
	}
	return 1;
}

/* Check `headers`; `*framing` tells whether they set the body's length. */
static int check_headers(const char *const *headers, int *framing)
{
	size_t i;

	*framing = 0;
	for (i = 0; headers && headers[i]; i += 2) {
		const char *name = headers[i], *value = headers[i + 1];

		if (!token_ok(name))
			return csf__error_set(CSF_EINVALID, "http: invalid header name \"%.64s\"", name);
		if (!value)
			return csf__error_set(CSF_EINVALID, "http: header %s has no value", name);
		if (!text_ok(value, 1))
			return csf__error_set(CSF_EINVALID,
					      "http: header %s: value holds CR, LF or another control character", name);
		if (!strcasecmp(name, "content-length") || !strcasecmp(name, "transfer-encoding"))
			*framing = 1;
	}
	return 0;
}

static int put_headers(csf__buf *out, const char *const *headers)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && headers && headers[i]; i += 2)
		rc = csf__buf_printf(out, "%s: %s\r\n", headers[i], headers[i + 1]);
	return rc;
}

int csf__http1_write_response(csf__buf *out, int status, const char *const *headers,
			      const void *body, size_t body_len, int keep_alive)
{
	size_t start;
	int rc, framing, bodiless;

	if (!out || (!body && body_len))
		return csf__misuse("csf__http1_write_response: out and body are required");
	if (status < 100 || status > 999)
		return csf__error_set(CSF_EINVALID, "http: status %d is not three digits", status);
	if ((rc = check_headers(headers, &framing)) != 0)
		return rc;
	bodiless = status < 200 || status == 204 || status == 304;
	if (bodiless && body_len)
		return csf__error_set(CSF_EINVALID, "http: a %d response has no body", status);
	start = out->len;
	rc = csf__buf_printf(out, "HTTP/1.1 %d %s\r\n", status, csf__http_reason(status));
	if (!rc)
		rc = put_headers(out, headers);
	/* A caller that frames the body itself (a HEAD answer, a chunked
	 * stream) passes its own Content-Length or Transfer-Encoding. */
	if (!rc && !bodiless && !framing)
		rc = csf__buf_printf(out, "Content-Length: %zu\r\n", body_len);
	if (!rc && !keep_alive)
		rc = csf__buf_puts(out, "Connection: close\r\n");
	if (!rc)
		rc = csf__buf_puts(out, "\r\n");
	if (!rc && body_len)
		rc = csf__buf_put(out, body, body_len);
	if (rc) {
		out->len = start;
		if (out->ptr)
			out->ptr[start] = '\0';
	}
	return rc;
}

int csf__http1_write_request(csf__buf *out, const char *method, const char *target, const char *host,
			     const char *const *headers, const void *body, size_t body_len)
{
	size_t start;
	int rc, framing;

	if (!out || !method || !target || !host || (!body && body_len))
		return csf__misuse("csf__http1_write_request: out, method, target, host and body are required");
	if (!token_ok(method))
		return csf__error_set(CSF_EINVALID, "http: invalid method \"%.32s\"", method);
	if (!*target || strchr(target, ' ') || !text_ok(target, 0))
		return csf__error_set(CSF_EINVALID, "http: invalid request target \"%.64s\"", target);
	if (!*host || strchr(host, ' ') || !text_ok(host, 0))
		return csf__error_set(CSF_EINVALID, "http: invalid host \"%.64s\"", host);
	if ((rc = check_headers(headers, &framing)) != 0)
		return rc;
	start = out->len;
	rc = csf__buf_printf(out, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, host);
	if (!rc)
		rc = put_headers(out, headers);
	if (!rc && body_len && !framing)
		rc = csf__buf_printf(out, "Content-Length: %zu\r\n", body_len);
	if (!rc)
		rc = csf__buf_puts(out, "\r\n");
	if (!rc && body_len)
		rc = csf__buf_put(out, body, body_len);
	if (rc) {
		out->len = start;
		if (out->ptr)
			out->ptr[start] = '\0';
	}
	return rc;
}
