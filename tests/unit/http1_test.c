/* net: the HTTP/1.1 request and response readers, the writers and the router. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "failalloc.h"

#include "net/http1.h"

/* ---------------------------------------------------------------- helpers */

/*
 * Feed `len` bytes in pieces of `step` (0: at once, or a split at `split`
 * when step is SIZE_MAX) until a request is complete or refused. Returns
 * the reader's result; *used is the number of bytes the request took.
 */
static int feed_steps(csf__http1_reader *r, const char *d, size_t len, size_t step, size_t *used, int *status)
{
	size_t off = 0;

	*status = 0;
	while (off < len) {
		size_t n = step && step < len - off ? step : len - off, c = 0;
		int rc = csf__http1_reader_feed(r, d + off, n, &c, status);

		if (rc != 0) {
			*used = off + c;
			return rc;
		}
		assert_int_equal(c, n);
		off += n;
	}
	*used = off;
	return 0;
}

static int feed_split(csf__http1_reader *r, const char *d, size_t len, size_t split, size_t *used, int *status)
{
	size_t c = 0;
	int rc = csf__http1_reader_feed(r, d, split, &c, status);

	if (rc != 0) {
		*used = c;
		return rc;
	}
	assert_int_equal(c, split);
	rc = csf__http1_reader_feed(r, d + split, len - split, &c, status);
	*used = split + c;
	return rc;
}

/* A request as one line of text, to compare parses. */
static void dump(const csf__http_request *q, char *out, size_t cap)
{
	size_t i, n;

	n = (size_t)snprintf(out, cap, "%s|%s|%s|%s|1.%d|ka%d|up%d|", q->method, q->target, q->path, q->query,
			     q->http_minor, q->keep_alive, q->upgrade);
	for (i = 0; i < q->headers_count && n < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s=%s;", q->headers[i].name, q->headers[i].value);
	if (n < cap)
		n += (size_t)snprintf(out + n, cap - n, "|%zu|", q->body_len);
	if (n + q->body_len < cap) {
		memcpy(out + n, q->body, q->body_len);
		out[n + q->body_len] = '\0';
	}
}

static int parse_status(const char *d, size_t len, size_t step)
{
	csf__http1_reader r;
	size_t used;
	int status, rc;

	csf__http1_reader_init(&r, NULL);
	rc = feed_steps(&r, d, len, step, &used, &status);
	csf__http1_reader_free(&r);
	if (rc == 1)
		return 0;
	if (rc == 0)
		return -1;
	assert_true(rc < 0);
	assert_true(status >= 400);
	return status;
}

#define S(lit) lit, sizeof(lit) - 1

/* ------------------------------------------------------------- the reader */

static void test_simple_get(void **state)
{
	static const char req[] = "GET /a/b%20c?x=1&y=%41+b HTTP/1.1\r\nHost: example\r\nX-Pad:  \t v v \t \r\n"
				  "Accept: */*\r\n\r\n";
	csf__http1_reader r;
	size_t used = 0;
	int status = -1;
	char buf[16];

	(void)state;
	csf__http1_reader_init(&r, NULL);
	assert_int_equal(csf__http1_reader_feed(&r, req, sizeof(req) - 1, &used, &status), 1);
	assert_int_equal(used, sizeof(req) - 1);
	assert_int_equal(status, 0);
	assert_string_equal(r.req.method, "GET");
	assert_string_equal(r.req.target, "/a/b%20c?x=1&y=%41+b");
	assert_string_equal(r.req.path, "/a/b c");
	assert_string_equal(r.req.query, "x=1&y=%41+b");
	assert_int_equal(r.req.headers_count, 3);
	assert_string_equal(r.req.headers[0].name, "Host");
	assert_string_equal(r.req.headers[0].value, "example");
	assert_string_equal(r.req.headers[1].value, "v v");
	assert_string_equal(csf__http_request_header(&r.req, "x-pad"), "v v");
	assert_string_equal(csf__http_request_header(&r.req, "ACCEPT"), "*/*");
	assert_null(csf__http_request_header(&r.req, "Cookie"));
	assert_string_equal(csf__http_request_query(&r.req, "x", buf, sizeof(buf)), "1");
	assert_string_equal(csf__http_request_query(&r.req, "y", buf, sizeof(buf)), "A b");
	assert_int_equal(r.req.body_len, 0);
	assert_string_equal(r.req.body, "");
	assert_int_equal(r.req.http_minor, 1);
	assert_int_equal(r.req.keep_alive, 1);
	assert_int_equal(r.req.upgrade, 0);
	csf__http1_reader_next(&r);
	assert_int_equal(csf__http1_reader_feed(&r, req, 10, &used, &status), 0);
	assert_int_equal(used, 10);
	csf__http1_reader_free(&r);
	csf__http1_reader_free(NULL);
}

static const char *const split_requests[] = {
	"GET /x HTTP/1.1\r\nHost: h\r\nA: 1\r\nBb: two words\r\n\r\n",
	"POST /api/v1/things?q=%2F HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
	"Content-Length: 13\r\n\r\n{\"a\": [1, 2]}",
	"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n",
	"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
};

/* Every split point, and byte by byte, gives what one feed gives. */
static void test_every_split_point(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < CSF__ARRAY_SIZE(split_requests); k++) {
		const char *d = split_requests[k];
		size_t len = strlen(d), split, used;
		char want[1024], got[1024];
		csf__http1_reader r;
		int status;

		csf__http1_reader_init(&r, NULL);
		assert_int_equal(feed_steps(&r, d, len, 0, &used, &status), 1);
		assert_int_equal(used, len);
		dump(&r.req, want, sizeof(want));
		csf__http1_reader_free(&r);

		for (split = 0; split <= len; split++) {
			csf__http1_reader_init(&r, NULL);
			assert_int_equal(feed_split(&r, d, len, split, &used, &status), 1);
			assert_int_equal(used, len);
			dump(&r.req, got, sizeof(got));
			assert_string_equal(got, want);
			csf__http1_reader_free(&r);
		}
		csf__http1_reader_init(&r, NULL);
		assert_int_equal(feed_steps(&r, d, len, 1, &used, &status), 1);
		assert_int_equal(used, len);
		dump(&r.req, got, sizeof(got));
		assert_string_equal(got, want);
		csf__http1_reader_free(&r);
	}
}

static void test_chunked_body(void **state)
{
	static const char req[] = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";
	csf__http1_reader r;
	size_t used;
	int status;

	(void)state;
	csf__http1_reader_init(&r, NULL);
	assert_int_equal(csf__http1_reader_feed(&r, req, sizeof(req) - 1, &used, &status), 1);
	assert_int_equal(used, sizeof(req) - 1);
	assert_int_equal(r.req.body_len, 23);
	assert_memory_equal(r.req.body, "Wikipedia in\r\n\r\nchunks.", 23);
	assert_int_equal(r.req.body[23], '\0');
	/* Trailers are not merged into the head. */
	assert_int_equal(r.req.headers_count, 2);
	assert_null(csf__http_request_header(&r.req, "Expires"));
	csf__http1_reader_free(&r);
}

static void test_pipelining(void **state)
{
#define ONE "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
#define TWO "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
	static const char two[] = ONE TWO "GET /three";
	const size_t l1 = sizeof(ONE) - 1, l2 = sizeof(TWO) - 1;
	csf__http1_reader r;
	size_t used, off = 0;
	int status;

	(void)state;
	csf__http1_reader_init(&r, NULL);
	assert_int_equal(csf__http1_reader_feed(&r, two, sizeof(two) - 1, &used, &status), 1);
	assert_int_equal(used, l1);
	assert_string_equal(r.req.path, "/one");
	off += used;
	csf__http1_reader_next(&r);
	assert_int_equal(csf__http1_reader_feed(&r, two + off, sizeof(two) - 1 - off, &used, &status), 1);
	assert_int_equal(used, l2);
	assert_string_equal(r.req.path, "/two");
	assert_int_equal(r.req.body_len, 3);
	assert_string_equal(r.req.body, "abc");
	off += used;
	csf__http1_reader_next(&r);
	/* The start of a third request: all taken, more needed. */
	assert_int_equal(csf__http1_reader_feed(&r, two + off, sizeof(two) - 1 - off, &used, &status), 0);
	assert_int_equal(used, sizeof(two) - 1 - off);
	assert_int_equal(csf__http1_reader_feed(&r, S(" HTTP/1.1\r\nHost: h\r\n\r\n"), &used, &status), 1);
	assert_string_equal(r.req.path, "/three");
	csf__http1_reader_free(&r);
}

/* A request whose head is exactly `total` bytes. */
static size_t head_of(char *buf, size_t total)
{
	static const char start[] = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
	size_t pad = total - (sizeof(start) - 1) - 4;

	memcpy(buf, start, sizeof(start) - 1);
	memset(buf + sizeof(start) - 1, 'a', pad);
	memcpy(buf + sizeof(start) - 1 + pad, "\r\n\r\n", 4);
	return total;
}

static void test_header_bytes_limit(void **state)
{
	csf__http1_limits lim = { 300, 0 };
	char buf[400];
	size_t step, used, len;
	int status;

	(void)state;
	for (step = 0; step <= 7; step += 7) {
		csf__http1_reader r;

		len = head_of(buf, 300);
		csf__http1_reader_init(&r, &lim);
		assert_int_equal(feed_steps(&r, buf, len, step, &used, &status), 1);
		assert_int_equal(used, 300);
		assert_int_equal(strlen(csf__http_request_header(&r.req, "X")), 300 - 32);
		csf__http1_reader_free(&r);

		len = head_of(buf, 301);
		csf__http1_reader_init(&r, &lim);
		assert_int_equal(feed_steps(&r, buf, len, step, &used, &status), CSF_ELIMIT);
		assert_int_equal(status, 431);
		assert_non_null(strstr(csf_error_last()->message, "300 bytes"));
		/* Refused for good. */
		assert_true(csf__http1_reader_feed(&r, "x", 1, &used, &status) < 0);
		assert_int_equal(status, 431);
		csf__http1_reader_free(&r);
	}
	/* The default is 16 KiB. */
	{
		char *big = malloc(20000);
		csf__http1_reader r;

		assert_non_null(big);
		len = head_of(big, 16384);
		csf__http1_reader_init(&r, NULL);
		assert_int_equal(feed_steps(&r, big, len, 1000, &used, &status), 1);
		csf__http1_reader_free(&r);
		len = head_of(big, 16385);
		csf__http1_reader_init(&r, NULL);
		assert_int_equal(feed_steps(&r, big, len, 0, &used, &status), CSF_ELIMIT);
		assert_int_equal(status, 431);
		csf__http1_reader_free(&r);
		free(big);
	}
}

static void test_header_count_limit(void **state)
{
	char buf[4096];
	size_t n, i, used;
	int status, extra;

	(void)state;
	for (extra = 0; extra < 2; extra++) {
		csf__http1_reader r;

		n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\n");
		for (i = 1; i < CSF__HTTP_MAX_HEADERS + (size_t)extra; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%zu: %zu\r\n", i, i);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
		csf__http1_reader_init(&r, NULL);
		if (!extra) {
			assert_int_equal(feed_steps(&r, buf, n, 0, &used, &status), 1);
			assert_int_equal(r.req.headers_count, CSF__HTTP_MAX_HEADERS);
			assert_string_equal(r.req.headers[63].name, "X-63");
		} else {
			assert_int_equal(feed_steps(&r, buf, n, 5, &used, &status), CSF_ELIMIT);
			assert_int_equal(status, 431);
		}
		csf__http1_reader_free(&r);
	}
}

static void test_body_limit(void **state)
{
	csf__http1_limits lim = { 0, 100 };
	char buf[1024], body[200];
	size_t n, used, step;
	int status, size;

	(void)state;
	memset(body, 'b', sizeof(body));
	for (step = 0; step <= 3; step += 3) {
		for (size = 100; size <= 101; size++) {
			csf__http1_reader r;
			int rc;

			/* Content-Length: refused as soon as the head is read. */
			n = (size_t)snprintf(buf, sizeof(buf),
					     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", size);
			csf__http1_reader_init(&r, &lim);
			if (size == 100) {
				memcpy(buf + n, body, 100);
				assert_int_equal(feed_steps(&r, buf, n + 100, step, &used, &status), 1);
				assert_int_equal(r.req.body_len, 100);
			} else {
				assert_int_equal(feed_steps(&r, buf, n, step, &used, &status), CSF_ELIMIT);
				assert_int_equal(status, 413);
			}
			csf__http1_reader_free(&r);

			/* Chunked: counted as it comes. */
			n = (size_t)snprintf(buf, sizeof(buf),
					     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
					     "32\r\n%.50s\r\n%x\r\n%.*s\r\n0\r\n\r\n", body, size - 50, size - 50,
					     body);
			csf__http1_reader_init(&r, &lim);
			rc = feed_steps(&r, buf, n, step, &used, &status);
			if (size == 100) {
				assert_int_equal(rc, 1);
				assert_int_equal(r.req.body_len, 100);
			} else {
				assert_int_equal(rc, CSF_ELIMIT);
				assert_int_equal(status, 413);
			}
			csf__http1_reader_free(&r);
		}
	}
}

struct bad {
	const char *req;
	int status;
};

static const struct bad bad_requests[] = {
	{ "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400 },                /* space in a name */
	{ "GET / HTTP/1.1\r\nHost: h\r\n X: a\r\n\r\n", 400 },        /* leading space */
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400 },   /* obs-fold */
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400 },  /* obs-fold */
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\rY: b\r\n\r\n", 400 },   /* bare CR */
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\001b\r\n\r\n", 400 },    /* control */
	{ "GET / HTTP/1.1\r\nHost: h\r\nX\001: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost:\001h\r\n\r\n", 400 },          /* found by fuzzing */
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: \033[1m\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX:\177\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX a: b\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: h\r\n: b\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\n\r\n", 400 },                            /* no Host */
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\nx", 400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 400 },
	{ "GET /\r\n\r\n", 505 },                                     /* HTTP/0.9 */
	{ "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505 },
	{ "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505 },
	{ "GET / HTTP/1.1 x\r\nHost: h\r\n\r\n", 400 },
	{ "GET / HTTQ/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "BREW / HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "get / HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET\r\n\r\n", 400 },
	{ " GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 501 },
	{ "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET ftp://h/a HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /a\fb HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /a%0ab HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /a%4 HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /a% HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /a/../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /a/%2e%2E/b HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /static/..%2f..%2fetc HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /./a HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /a/. HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET /.. HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "GET http://h/../x HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
};

static void test_malformed_requests(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < CSF__ARRAY_SIZE(bad_requests); k++) {
		const char *d = bad_requests[k].req;
		size_t len = strlen(d);

		if (parse_status(d, len, 0) != bad_requests[k].status)
			fail_msg("request %zu (%s): status %d, want %d", k, d, parse_status(d, len, 0),
				 bad_requests[k].status);
		if (parse_status(d, len, 1) != bad_requests[k].status)
			fail_msg("request %zu byte by byte: status %d, want %d", k, parse_status(d, len, 1),
				 bad_requests[k].status);
		assert_true(csf_error_last()->message[0] != '\0');
	}
	/* A NUL byte anywhere in the head. */
	assert_int_equal(parse_status(S("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n"), 0), 400);
	assert_int_equal(parse_status(S("GET / HTTP/1.1\r\nHo\0st: h\r\n\r\n"), 1), 400);
	assert_int_equal(parse_status(S("GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n"), 0), 400);
}

static void test_good_targets(void **state)
{
	static const struct {
		const char *req, *path, *query;
	} cases[] = {
		{ "GET http://example.org/x%20y?q=1#frag HTTP/1.1\r\nHost: h\r\n\r\n", "/x y", "q=1" },
		{ "GET HTTPS://example.org HTTP/1.1\r\nHost: h\r\n\r\n", "/", "" },
		{ "GET http://example.org?a HTTP/1.1\r\nHost: h\r\n\r\n", "/", "a" },
		{ "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "*", "" },
		{ "GET /a/b#x HTTP/1.1\r\nHost: h\r\n\r\n", "/a/b", "" },
		{ "GET /%2541/%C3%A9/..a/.b/a..? HTTP/1.1\r\nHost: h\r\n\r\n", "/%41/\xc3\xa9/..a/.b/a..", "" },
		{ "GET /a//b/ HTTP/1.1\r\nHost: h\r\n\r\n", "/a//b/", "" },
		{ "GET /a+b?c+d HTTP/1.1\r\nHost: h\r\n\r\n", "/a+b", "c+d" },
	};
	size_t k, used;
	int status;

	(void)state;
	for (k = 0; k < CSF__ARRAY_SIZE(cases); k++) {
		csf__http1_reader r;

		csf__http1_reader_init(&r, NULL);
		assert_int_equal(feed_steps(&r, cases[k].req, strlen(cases[k].req), 0, &used, &status), 1);
		assert_string_equal(r.req.path, cases[k].path);
		assert_string_equal(r.req.query, cases[k].query);
		csf__http1_reader_free(&r);
	}
}

static void test_keep_alive(void **state)
{
	static const struct {
		const char *req;
		int minor, keep_alive;
	} cases[] = {
		{ "GET / HTTP/1.0\r\n\r\n", 0, 0 },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, 1 },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: h\r\n\r\n", 0, 1 },
		{ "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1, 1 },
		{ "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 1, 0 },
		{ "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n", 1, 1 },
		{ "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 1, 1 },
	};
	size_t k, used;
	int status;

	(void)state;
	for (k = 0; k < CSF__ARRAY_SIZE(cases); k++) {
		csf__http1_reader r;

		csf__http1_reader_init(&r, NULL);
		assert_int_equal(feed_steps(&r, cases[k].req, strlen(cases[k].req), 0, &used, &status), 1);
		assert_int_equal(r.req.http_minor, cases[k].minor);
		assert_int_equal(r.req.keep_alive, cases[k].keep_alive);
		csf__http1_reader_free(&r);
	}
}

static void test_upgrade_leaves_bytes(void **state)
{
	static const char req[] = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
				  "\x82\x80\x01\x02\x03\x04GET / HTTP/1.1\r\n";
	const size_t head = sizeof(req) - 1 - 6 - 16;
	csf__http1_reader r;
	size_t used, step;
	int status;

	(void)state;
	for (step = 0; step <= 1; step++) {
		csf__http1_reader_init(&r, NULL);
		if (step) {
			/* Byte by byte the request ends with the last byte of its head. */
			assert_int_equal(feed_steps(&r, req, head, 1, &used, &status), 1);
		} else {
			assert_int_equal(csf__http1_reader_feed(&r, req, sizeof(req) - 1, &used, &status), 1);
		}
		assert_int_equal(used, head);
		assert_int_equal(r.req.upgrade, 1);
		assert_int_equal(r.req.keep_alive, 1);
		assert_string_equal(csf__http_request_header(&r.req, "upgrade"), "websocket");
		csf__http1_reader_free(&r);
	}
	/* An Upgrade header without Connection: upgrade is not an upgrade. */
	csf__http1_reader_init(&r, NULL);
	assert_int_equal(csf__http1_reader_feed(&r, S("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n\r\n"), &used,
						&status), 1);
	assert_int_equal(r.req.upgrade, 0);
	csf__http1_reader_free(&r);
}

static void test_query(void **state)
{
	csf__http_request q;
	char buf[8];

	(void)state;
	memset(&q, 0, sizeof(q));
	q.query = "a=1&b=x+y%21&c&d=%zz&e%3D=5&a=2&long=12345678&=v&nul=%00";
	assert_string_equal(csf__http_request_query(&q, "a", buf, sizeof(buf)), "1");
	assert_string_equal(csf__http_request_query(&q, "b", buf, sizeof(buf)), "x y!");
	assert_string_equal(csf__http_request_query(&q, "c", buf, sizeof(buf)), "");
	assert_null(csf__http_request_query(&q, "d", buf, sizeof(buf)));
	assert_string_equal(csf__http_request_query(&q, "e=", buf, sizeof(buf)), "5");
	assert_null(csf__http_request_query(&q, "long", buf, sizeof(buf)));
	assert_string_equal(csf__http_request_query(&q, "", buf, sizeof(buf)), "v");
	assert_null(csf__http_request_query(&q, "nul", buf, sizeof(buf)));
	assert_null(csf__http_request_query(&q, "zz", buf, sizeof(buf)));
	q.query = "";
	assert_null(csf__http_request_query(&q, "a", buf, sizeof(buf)));
}

static void test_reader_reuse_and_store(void **state)
{
	csf__http1_limits lim = { 0, 200 * 1024 };
	char *big = malloc(200 * 1024 + 200);
	csf__http1_reader r;
	size_t n, used;
	int status, i;

	(void)state;
	assert_non_null(big);
	n = (size_t)sprintf(big, "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", 200 * 1024);
	memset(big + n, 'z', 200 * 1024);
	csf__http1_reader_init(&r, &lim);
	for (i = 0; i < 3; i++) {
		assert_int_equal(feed_steps(&r, big, n + 200 * 1024, 4096, &used, &status), 1);
		assert_int_equal(r.req.body_len, 200 * 1024);
		assert_int_equal(r.req.body[200 * 1024], '\0');
		csf__http1_reader_next(&r);
		assert_int_equal(feed_steps(&r, S("GET /g HTTP/1.1\r\nHost: h\r\n\r\n"), 0, &used, &status), 1);
		assert_string_equal(r.req.path, "/g");
		csf__http1_reader_next(&r);
	}
	csf__http1_reader_free(&r);
	free(big);
}

/* ------------------------------------------------------- response reader */

static void test_response_reader(void **state)
{
	static const char r101[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x82\x03" "abc";
	static const char r200[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhelloEXTRA";
	static const char rchunk[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
	static const char reof[] = "HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\ngo away";
	static const char r304[] = "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nNEXT";
	csf__http1_response_reader r;
	csf__http1_limits lim = { 0, 4 };
	size_t used, i;

	(void)state;
	for (i = 0; i <= 1; i++) {
		size_t off = 0, c = 0;
		int rc = 0;

		csf__http1_response_reader_init(&r, NULL);
		while (rc == 0) {
			size_t n = i ? 1 : sizeof(r101) - 1;

			rc = csf__http1_response_reader_feed(&r, r101 + off, n, &c);
			off += c;
		}
		assert_int_equal(rc, 1);
		assert_int_equal(off, sizeof(r101) - 1 - 5);
		assert_int_equal(r.resp.status, 101);
		assert_int_equal(r.resp.body_len, 0);
		assert_string_equal(csf__http1_response_header(&r.resp, "sec-websocket-accept"),
				    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
		csf__http1_response_reader_free(&r);
	}

	csf__http1_response_reader_init(&r, NULL);
	assert_int_equal(csf__http1_response_reader_feed(&r, S(r200), &used), 1);
	assert_int_equal(used, sizeof(r200) - 1 - 5);
	assert_int_equal(r.resp.status, 200);
	assert_int_equal(r.resp.body_len, 5);
	assert_string_equal(r.resp.body, "hello");
	assert_string_equal(csf__http1_response_header(&r.resp, "x-a"), "b");
	assert_null(csf__http1_response_header(&r.resp, "x-b"));
	csf__http1_response_reader_free(&r);

	csf__http1_response_reader_init(&r, NULL);
	assert_int_equal(csf__http1_response_reader_feed(&r, S(rchunk), &used), 1);
	assert_string_equal(r.resp.body, "abc");
	csf__http1_response_reader_free(&r);

	/* 304 has no body whatever Content-Length says. */
	csf__http1_response_reader_init(&r, NULL);
	assert_int_equal(csf__http1_response_reader_feed(&r, S(r304), &used), 1);
	assert_int_equal(used, sizeof(r304) - 1 - 4);
	csf__http1_response_reader_free(&r);

	/* A body up to the end of the connection. */
	csf__http1_response_reader_init(&r, NULL);
	assert_int_equal(csf__http1_response_reader_feed(&r, S(reof), &used), 0);
	assert_int_equal(csf__http1_response_reader_eof(&r), 1);
	assert_int_equal(r.resp.status, 403);
	assert_string_equal(r.resp.body, "go away");
	csf__http1_response_reader_free(&r);

	/* Cut short. */
	csf__http1_response_reader_init(&r, NULL);
	assert_int_equal(csf__http1_response_reader_feed(&r, S("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"),
							 &used), 0);
	assert_int_equal(csf__http1_response_reader_eof(&r), CSF_EPARSE);
	csf__http1_response_reader_free(&r);
	csf__http1_response_reader_init(&r, NULL);
	assert_int_equal(csf__http1_response_reader_feed(&r, S("HTTP/1.1 200 OK\r\n"), &used), 0);
	assert_int_equal(csf__http1_response_reader_eof(&r), CSF_EPARSE);
	csf__http1_response_reader_free(&r);

	/* Limits and garbage. */
	csf__http1_response_reader_init(&r, &lim);
	assert_int_equal(csf__http1_response_reader_feed(&r, S(r200), &used), CSF_ELIMIT);
	csf__http1_response_reader_free(&r);
	csf__http1_response_reader_init(&r, NULL);
	assert_int_equal(csf__http1_response_reader_feed(&r, S("HTTP/1.1 2000 OK\r\n\r\n"), &used), CSF_EPARSE);
	assert_int_equal(csf__http1_response_reader_feed(&r, S("x"), &used), CSF_EPARSE);
	csf__http1_response_reader_free(&r);
	/* Found by fuzzing: three digits, but not a status. */
	csf__http1_response_reader_init(&r, NULL);
	assert_int_equal(csf__http1_response_reader_feed(&r, S("HTTP/1.1 043 Forbidden\r\n\r\n"), &used), CSF_EPARSE);
	csf__http1_response_reader_free(&r);
	csf__http1_response_reader_init(&r, NULL);
	assert_int_equal(csf__http1_response_reader_feed(&r, S("HTTP/1.1 600 X\r\nContent-Length: 0\r\n\r\n"), &used),
			 CSF_EPARSE);
	assert_int_equal(csf__http1_response_reader_feed(&r, S("x"), &used), CSF_EPARSE);
	csf__http1_response_reader_free(&r);
	csf__http1_response_reader_init(&r, NULL);
	assert_int_equal(csf__http1_response_reader_feed(&r, S("HTTP/1.1 200 OK\r\nA: 1\r\n 2\r\n\r\n"), &used),
			 CSF_EPARSE);
	csf__http1_response_reader_free(&r);
	csf__http1_response_reader_free(NULL);
}

/* ---------------------------------------------------------------- writers */

static void test_write_response(void **state)
{
	csf__buf out = CSF__BUF_INIT(1 << 20);
	const char *h1[] = { "Content-Type", "text/plain", "X-Tab", "a\tb", NULL };
	const char *inject[] = { "X-A", "ok", "X-B", "a\r\nSet-Cookie: s=1", NULL };
	const char *inject_lf[] = { "X-B", "a\nb", NULL };
	const char *bad_name[] = { "X B", "v", NULL };
	const char *colon_name[] = { "X:B", "v", NULL };
	const char *empty_name[] = { "", "v", NULL };
	const char *own_length[] = { "Content-Length", "42", NULL };
	const char *ws[] = { "Upgrade", "websocket", "Connection", "Upgrade", NULL };

	(void)state;
	assert_int_equal(csf__http1_write_response(&out, 200, h1, "hello", 5, 1), 0);
	assert_string_equal(out.ptr, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Tab: a\tb\r\n"
				     "Content-Length: 5\r\n\r\nhello");
	csf__buf_clear(&out);
	assert_int_equal(csf__http1_write_response(&out, 404, NULL, NULL, 0, 0), 0);
	assert_string_equal(out.ptr, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	csf__buf_clear(&out);
	assert_int_equal(csf__http1_write_response(&out, 204, NULL, NULL, 0, 1), 0);
	assert_string_equal(out.ptr, "HTTP/1.1 204 No Content\r\n\r\n");
	csf__buf_clear(&out);
	assert_int_equal(csf__http1_write_response(&out, 304, NULL, NULL, 0, 1), 0);
	assert_string_equal(out.ptr, "HTTP/1.1 304 Not Modified\r\n\r\n");
	csf__buf_clear(&out);
	assert_int_equal(csf__http1_write_response(&out, 101, ws, NULL, 0, 1), 0);
	assert_string_equal(out.ptr, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				     "Connection: Upgrade\r\n\r\n");
	csf__buf_clear(&out);
	/* A HEAD answer brings its own length. */
	assert_int_equal(csf__http1_write_response(&out, 200, own_length, NULL, 0, 1), 0);
	assert_string_equal(out.ptr, "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
	csf__buf_clear(&out);
	assert_int_equal(csf__http1_write_response(&out, 599, NULL, "x", 1, 1), 0);
	assert_string_equal(out.ptr, "HTTP/1.1 599 Unknown\r\nContent-Length: 1\r\n\r\nx");

	/* Refusals leave `out` as it was. */
	assert_int_equal(csf__http1_write_response(&out, 200, inject, NULL, 0, 1), CSF_EINVALID);
	assert_non_null(strstr(csf_error_last()->message, "X-B"));
	assert_int_equal(csf__http1_write_response(&out, 200, inject_lf, NULL, 0, 1), CSF_EINVALID);
	assert_int_equal(csf__http1_write_response(&out, 200, bad_name, NULL, 0, 1), CSF_EINVALID);
	assert_int_equal(csf__http1_write_response(&out, 200, colon_name, NULL, 0, 1), CSF_EINVALID);
	assert_int_equal(csf__http1_write_response(&out, 200, empty_name, NULL, 0, 1), CSF_EINVALID);
	assert_int_equal(csf__http1_write_response(&out, 99, NULL, NULL, 0, 1), CSF_EINVALID);
	assert_int_equal(csf__http1_write_response(&out, 1000, NULL, NULL, 0, 1), CSF_EINVALID);
	assert_int_equal(csf__http1_write_response(&out, 204, NULL, "x", 1, 1), CSF_EINVALID);
	assert_string_equal(out.ptr, "HTTP/1.1 599 Unknown\r\nContent-Length: 1\r\n\r\nx");
	csf__buf_free(&out);

	/* The buffer's limit. */
	{
		csf__buf small = CSF__BUF_INIT(32);

		assert_int_equal(csf__http1_write_response(&small, 200, NULL, "0123456789", 10, 1), CSF_ELIMIT);
		assert_true(small.len == 0);
		csf__buf_free(&small);
	}
}

static void test_write_request(void **state)
{
	csf__buf out = CSF__BUF_INIT(4096);
	const char *h[] = { "Accept", "application/json", NULL };
	const char *inject[] = { "X", "a\r\n", NULL };

	(void)state;
	assert_int_equal(csf__http1_write_request(&out, "POST", "/v1.41/containers/create?name=x", "localhost", h,
						  "{}", 2), 0);
	assert_string_equal(out.ptr, "POST /v1.41/containers/create?name=x HTTP/1.1\r\nHost: localhost\r\n"
				     "Accept: application/json\r\nContent-Length: 2\r\n\r\n{}");
	csf__buf_clear(&out);
	assert_int_equal(csf__http1_write_request(&out, "GET", "/", "h:8080", NULL, NULL, 0), 0);
	assert_string_equal(out.ptr, "GET / HTTP/1.1\r\nHost: h:8080\r\n\r\n");
	assert_int_equal(csf__http1_write_request(&out, "GET", "/", "h", inject, NULL, 0), CSF_EINVALID);
	assert_int_equal(csf__http1_write_request(&out, "GET", "/a b", "h", NULL, NULL, 0), CSF_EINVALID);
	assert_int_equal(csf__http1_write_request(&out, "GET", "/a\r\nX: y", "h", NULL, NULL, 0), CSF_EINVALID);
	assert_int_equal(csf__http1_write_request(&out, "GET", "", "h", NULL, NULL, 0), CSF_EINVALID);
	assert_int_equal(csf__http1_write_request(&out, "G T", "/", "h", NULL, NULL, 0), CSF_EINVALID);
	assert_int_equal(csf__http1_write_request(&out, "GET", "/", "h\r\nX: y", NULL, NULL, 0), CSF_EINVALID);
	assert_string_equal(out.ptr, "GET / HTTP/1.1\r\nHost: h:8080\r\n\r\n");
	csf__buf_free(&out);
}

/* What the writers write, the readers read back. */
static void test_round_trip(void **state)
{
	csf__buf out = CSF__BUF_INIT(4096);
	const char *h[] = { "X-Id", "42", NULL };
	csf__http1_response_reader rr;
	csf__http1_reader r;
	size_t used;
	int status;

	(void)state;
	assert_int_equal(csf__http1_write_request(&out, "PATCH", "/a/%7Bb%7D?c=d", "h", h, "body", 4), 0);
	csf__http1_reader_init(&r, NULL);
	assert_int_equal(csf__http1_reader_feed(&r, out.ptr, out.len, &used, &status), 1);
	assert_int_equal(used, out.len);
	assert_string_equal(r.req.method, "PATCH");
	assert_string_equal(r.req.path, "/a/{b}");
	assert_string_equal(r.req.body, "body");
	csf__http1_reader_free(&r);
	csf__buf_clear(&out);
	assert_int_equal(csf__http1_write_response(&out, 201, h, "made", 4, 0), 0);
	csf__http1_response_reader_init(&rr, NULL);
	assert_int_equal(csf__http1_response_reader_feed(&rr, out.ptr, out.len, &used), 1);
	assert_int_equal(rr.resp.status, 201);
	assert_string_equal(csf__http1_response_header(&rr.resp, "x-id"), "42");
	assert_string_equal(rr.resp.body, "made");
	csf__http1_response_reader_free(&rr);
	csf__buf_free(&out);
}

static void test_reason(void **state)
{
	(void)state;
	assert_string_equal(csf__http_reason(200), "OK");
	assert_string_equal(csf__http_reason(404), "Not Found");
	assert_string_equal(csf__http_reason(405), "Method Not Allowed");
	assert_string_equal(csf__http_reason(426), "Upgrade Required");
	assert_string_equal(csf__http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(csf__http_reason(799), "Unknown");
	assert_string_equal(csf__http_reason(-1), "Unknown");
}

/* ----------------------------------------------------------------- router */

static int h_list, h_get, h_put, h_metrics, h_latest, h_static, h_any, h_root, h_me, h_files;

static csf__router *make_router(void)
{
	csf__router *r = NULL;

	assert_int_equal(csf__router_new(&r), 0);
	assert_int_equal(csf__router_add(r, "GET", "/api/v1/agents", &h_list), 0);
	assert_int_equal(csf__router_add(r, "GET", "/api/v1/agents/{id}", &h_get), 0);
	assert_int_equal(csf__router_add(r, "PUT", "/api/v1/agents/{id}", &h_put), 0);
	assert_int_equal(csf__router_add(r, "GET", "/api/v1/agents/{id}/metrics", &h_metrics), 0);
	assert_int_equal(csf__router_add(r, "GET", "/api/v1/agents/{id}/metrics/latest", &h_latest), 0);
	assert_int_equal(csf__router_add(r, "GET", "/api/v1/agents/me", &h_me), 0);
	assert_int_equal(csf__router_add(r, "GET", "/static/{path*}", &h_static), 0);
	assert_int_equal(csf__router_add(r, "*", "/echo/{x}", &h_any), 0);
	assert_int_equal(csf__router_add(r, "GET", "/", &h_root), 0);
	assert_int_equal(csf__router_add(r, "GET", "/files/{a}/{rest*}", &h_files), 0);
	return r;
}

static void test_router_match(void **state)
{
	csf__router *r = make_router();
	csf__http_params p;
	void *h = NULL;
	char allow[64];

	(void)state;
	assert_int_equal(csf__router_count(r), 10);
	assert_int_equal(csf__router_match(r, "GET", "/api/v1/agents", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &h_list);
	assert_int_equal(p.count, 0);
	csf__http_params_free(&p);

	assert_int_equal(csf__router_match(r, "GET", "/api/v1/agents/a1", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &h_get);
	assert_string_equal(csf__http_param(&p, "id"), "a1");
	assert_null(csf__http_param(&p, "x"));
	csf__http_params_free(&p);

	assert_int_equal(csf__router_match(r, "PUT", "/api/v1/agents/a1", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &h_put);
	csf__http_params_free(&p);

	/* A literal beats a parameter. */
	assert_int_equal(csf__router_match(r, "GET", "/api/v1/agents/me", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &h_me);
	assert_int_equal(p.count, 0);
	csf__http_params_free(&p);
	assert_int_equal(csf__router_match(r, "GET", "/api/v1/agents/me/metrics", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &h_metrics);
	assert_string_equal(csf__http_param(&p, "id"), "me");
	csf__http_params_free(&p);
	assert_int_equal(csf__router_match(r, "GET", "/api/v1/agents/x/metrics/latest", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &h_latest);
	csf__http_params_free(&p);

	/* The tail. */
	assert_int_equal(csf__router_match(r, "GET", "/static/css/app.css", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &h_static);
	assert_string_equal(csf__http_param(&p, "path"), "css/app.css");
	csf__http_params_free(&p);
	assert_int_equal(csf__router_match(r, "GET", "/static/", &h, &p, NULL, 0), 0);
	assert_string_equal(csf__http_param(&p, "path"), "");
	csf__http_params_free(&p);
	assert_int_equal(csf__router_match(r, "GET", "/static", &h, &p, NULL, 0), 0);
	assert_string_equal(csf__http_param(&p, "path"), "");
	csf__http_params_free(&p);
	assert_int_equal(csf__router_match(r, "GET", "/files/x/y/z", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &h_files);
	assert_string_equal(csf__http_param(&p, "a"), "x");
	assert_string_equal(csf__http_param(&p, "rest"), "y/z");
	csf__http_params_free(&p);

	/* Any method. */
	assert_int_equal(csf__router_match(r, "DELETE", "/echo/1", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &h_any);
	csf__http_params_free(&p);
	assert_int_equal(csf__router_match(r, "GET", "/", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &h_root);
	csf__http_params_free(&p);

	/* 404. */
	assert_int_equal(csf__router_match(r, "GET", "/api/v1/agent", &h, &p, NULL, 0), CSF_ENOTFOUND);
	assert_null(h);
	assert_int_equal(csf__router_match(r, "GET", "/api/v1/agents/", &h, &p, NULL, 0), CSF_ENOTFOUND);
	assert_int_equal(csf__router_match(r, "GET", "/api/v1/agents//metrics", &h, &p, NULL, 0), CSF_ENOTFOUND);
	assert_int_equal(csf__router_match(r, "GET", "/api/v1/agents/a/metrics/x", &h, &p, NULL, 0), CSF_ENOTFOUND);
	assert_int_equal(csf__router_match(r, "GET", "/echo", &h, &p, NULL, 0), CSF_ENOTFOUND);
	assert_int_equal(csf__router_match(r, "GET", "", &h, &p, NULL, 0), CSF_ENOTFOUND);
	assert_int_equal(csf__router_match(r, "GET", "api", &h, &p, NULL, 0), CSF_ENOTFOUND);
	assert_int_equal(csf__router_match(r, "GET", "/static/../etc/passwd", &h, &p, NULL, 0), CSF_ENOTFOUND);
	assert_int_equal(csf__router_match(r, "GET", "/static/a/./b", &h, &p, NULL, 0), CSF_ENOTFOUND);
	assert_int_equal(csf__router_match(r, "GET", "/static/..", &h, &p, NULL, 0), CSF_ENOTFOUND);
	assert_int_equal(csf__router_match(r, "GET", "/static/..a", &h, &p, NULL, 0), 0);
	csf__http_params_free(&p);

	/* 405 with Allow. */
	assert_int_equal(csf__router_match(r, "DELETE", "/api/v1/agents/a1", &h, &p, allow, sizeof(allow)),
			 CSF_EINVALID);
	assert_string_equal(allow, "GET, PUT");
	assert_null(h);
	assert_int_equal(csf__router_match(r, "POST", "/api/v1/agents/me", &h, &p, allow, sizeof(allow)),
			 CSF_EINVALID);
	assert_string_equal(allow, "GET, PUT");
	assert_int_equal(csf__router_match(r, "POST", "/api/v1/agents", &h, &p, allow, sizeof(allow)),
			 CSF_EINVALID);
	assert_string_equal(allow, "GET");
	/* Too small a buffer: empty. */
	assert_int_equal(csf__router_match(r, "DELETE", "/api/v1/agents/a1", &h, &p, allow, 5), CSF_EINVALID);
	assert_string_equal(allow, "");
	assert_int_equal(csf__router_match(r, "DELETE", "/api/v1/agents/a1", &h, NULL, NULL, 0), CSF_EINVALID);
	/* The literal's method does not hide the parameter route's. */
	assert_int_equal(csf__router_match(r, "PUT", "/api/v1/agents/me", &h, &p, allow, sizeof(allow)), 0);
	assert_ptr_equal(h, &h_put);
	assert_string_equal(csf__http_param(&p, "id"), "me");
	csf__http_params_free(&p);
	csf__router_free(r);
	csf__router_free(NULL);
}

static void test_router_precedence(void **state)
{
	csf__router *r = NULL;
	csf__http_params p;
	void *h;
	int a, b, c, d, e;

	(void)state;
	assert_int_equal(csf__router_new(&r), 0);
	/* Added in the order that would lose under first-match. */
	assert_int_equal(csf__router_add(r, "GET", "/{all*}", &a), 0);
	assert_int_equal(csf__router_add(r, "GET", "/x/{p}/c", &b), 0);
	assert_int_equal(csf__router_add(r, "GET", "/x/b/{q}", &c), 0);
	assert_int_equal(csf__router_add(r, "*", "/x/b/c", &d), 0);
	assert_int_equal(csf__router_add(r, "GET", "/x/b/c", &e), 0);
	assert_int_equal(csf__router_match(r, "GET", "/x/b/c", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &e);
	csf__http_params_free(&p);
	assert_int_equal(csf__router_match(r, "POST", "/x/b/c", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &d);
	csf__http_params_free(&p);
	assert_int_equal(csf__router_match(r, "GET", "/x/b/z", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &c);
	csf__http_params_free(&p);
	assert_int_equal(csf__router_match(r, "GET", "/x/z/c", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &b);
	csf__http_params_free(&p);
	assert_int_equal(csf__router_match(r, "GET", "/", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &a);
	assert_string_equal(csf__http_param(&p, "all"), "");
	csf__http_params_free(&p);
	assert_int_equal(csf__router_match(r, "GET", "/x/z/c/d", &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &a);
	assert_string_equal(csf__http_param(&p, "all"), "x/z/c/d");
	csf__http_params_free(&p);
	csf__router_free(r);
}

static void test_router_add_errors(void **state)
{
	static const char *const bad[] = {
		"", "api", "//", "/a//b", "/a/", "/{", "/{}", "/{*}", "/{a b}", "/a{b}", "/{a}x", "/{a*}/b",
		"/{a}/{a}", "/{a}/{a*}", "/./a", "/a/..", "/{a-b}", "/x}",
		"/{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}/{p8}/{p9}",
	};
	csf__router *r = NULL;
	const char *m, *pat;
	size_t k;
	int x;

	(void)state;
	assert_int_equal(csf__router_new(&r), 0);
	for (k = 0; k < CSF__ARRAY_SIZE(bad); k++)
		if (csf__router_add(r, "GET", bad[k], &x) != CSF_EINVALID)
			fail_msg("pattern %s was accepted", bad[k]);
	assert_int_equal(csf__router_add(r, "get", "/a", &x), CSF_EINVALID);
	assert_int_equal(csf__router_add(r, "", "/a", &x), CSF_EINVALID);
	assert_int_equal(csf__router_add(r, "G T", "/a", &x), CSF_EINVALID);
	assert_int_equal(csf__router_count(r), 0);
	assert_int_equal(csf__router_add(r, "GET", "/{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}/{p8*}", &x), 0);
	assert_int_equal(csf__router_add(r, "GET", "/a/{id}", &x), 0);
	assert_int_equal(csf__router_add(r, "GET", "/a/{id}", &x), CSF_EEXISTS);
	assert_int_equal(csf__router_add(r, "GET", "/a/{other}", &x), CSF_EEXISTS);
	assert_int_equal(csf__router_add(r, "PUT", "/a/{id}", &x), 0);
	assert_int_equal(csf__router_add(r, "*", "/a/{id}", &x), 0);
	assert_int_equal(csf__router_add(r, "*", "/a/{id}", &x), CSF_EEXISTS);
	assert_int_equal(csf__router_add(r, "GET", "/a/id", &x), 0);
	assert_int_equal(csf__router_count(r), 5);
	assert_int_equal(csf__router_route(r, 1, &m, &pat), 0);
	assert_string_equal(m, "GET");
	assert_string_equal(pat, "/a/{id}");
	assert_int_equal(csf__router_route(r, 3, &m, &pat), 0);
	assert_string_equal(m, "*");
	assert_int_equal(csf__router_route(r, 5, &m, &pat), CSF_ENOTFOUND);
	csf__router_free(r);
}

/* Parameters come decoded from the reader, and are not decoded again. */
static void test_router_params_decoded(void **state)
{
	static const char req[] = "GET /api/v1/agents/web%20%231/metrics HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char twice[] = "GET /api/v1/agents/%2541 HTTP/1.1\r\nHost: h\r\n\r\n";
	csf__router *rt = make_router();
	csf__http1_reader r;
	csf__http_params p;
	size_t used;
	int status;
	void *h;

	(void)state;
	csf__http1_reader_init(&r, NULL);
	assert_int_equal(csf__http1_reader_feed(&r, S(req), &used, &status), 1);
	assert_int_equal(csf__router_match(rt, r.req.method, r.req.path, &h, &p, NULL, 0), 0);
	assert_ptr_equal(h, &h_metrics);
	assert_string_equal(csf__http_param(&p, "id"), "web #1");
	csf__http_params_free(&p);
	csf__http1_reader_next(&r);
	assert_int_equal(csf__http1_reader_feed(&r, S(twice), &used, &status), 1);
	assert_int_equal(csf__router_match(rt, r.req.method, r.req.path, &h, &p, NULL, 0), 0);
	assert_string_equal(csf__http_param(&p, "id"), "%41");
	csf__http_params_free(&p);
	csf__http1_reader_free(&r);
	csf__router_free(rt);
}

/* --------------------------------------------------- allocation failures */


static int alloc_scenario(void)
{
	static const char req[] = "POST /api/v1/agents/a%20b/metrics?x=1 HTTP/1.1\r\nHost: h\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n400\r\n";
	char body[1024 + 16];
	csf__buf out = CSF__BUF_INIT(1 << 16);
	csf__router *rt = NULL;
	csf__http1_reader r;
	csf__http_params p;
	size_t used;
	int rc, status;
	void *h;

	memset(body, 'q', 1024);
	memcpy(body + 1024, "\r\n0\r\n\r\n", 7);
	csf__http1_reader_init(&r, NULL);
	rc = csf__router_new(&rt);
	if (!rc)
		rc = csf__router_add(rt, "GET", "/api/v1/agents/{id}/metrics", &rc);
	if (!rc)
		rc = csf__router_add(rt, "POST", "/api/v1/agents/{id}/metrics", &rc);
	if (!rc) {
		rc = csf__http1_reader_feed(&r, req, sizeof(req) - 1, &used, &status);
		if (rc == 0)
			rc = csf__http1_reader_feed(&r, body, 1024 + 7, &used, &status);
		if (rc == 1)
			rc = 0;
		else if (rc == 0)
			rc = CSF_ERROR;
		else if (rc != CSF_ENOMEM || status != 500)
			rc = CSF_ERROR;
	}
	if (!rc) {
		rc = csf__router_match(rt, r.req.method, r.req.path, &h, &p, NULL, 0);
		if (!rc)
			csf__http_params_free(&p);
	}
	if (!rc)
		rc = csf__http1_write_response(&out, 200, NULL, r.req.body, r.req.body_len, 1);
	csf__buf_free(&out);
	csf__http1_reader_free(&r);
	csf__router_free(rt);
	return rc;
}

static void test_allocation_failures(void **state)
{
	long k;

	(void)state;
	assert_int_equal(csf_allocator_set(&failalloc), 0);
	for (k = 0;; k++) {
		int rc;

		fa_arm(k);
		rc = alloc_scenario();
		assert_int_equal(fa.live, 0);
		if (!fa.failed) {
			assert_int_equal(rc, 0);
			break;
		}
		if (rc != CSF_ENOMEM)
			fail_msg("allocation %ld: rc %d (%s)", k, rc, csf_error_last()->message);
	}
	assert_true(k > 5);
	csf_allocator_set(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_chunked_body),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_header_bytes_limit),
		cmocka_unit_test(test_header_count_limit),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_malformed_requests),
		cmocka_unit_test(test_good_targets),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_upgrade_leaves_bytes),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_reader_reuse_and_store),
		cmocka_unit_test(test_response_reader),
		cmocka_unit_test(test_write_response),
		cmocka_unit_test(test_write_request),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_router_match),
		cmocka_unit_test(test_router_precedence),
		cmocka_unit_test(test_router_add_errors),
		cmocka_unit_test(test_router_params_decoded),
		cmocka_unit_test(test_allocation_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
