/* net: the WebSocket handshake and sessions (RFC 6455). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "failalloc.h"

#include "net/ws.h"

#define S(lit) lit, sizeof(lit) - 1

/* ------------------------------------------------------------- handshake */

static void test_accept_key(void **state)
{
	char out[29];

	(void)state;
	/* RFC 6455 section 1.3. */
	assert_int_equal(csf__ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(csf__ws_accept_key("", out), 0);
	assert_int_equal(strlen(out), 28);
}

static int read_request(csf__http1_reader *r, const char *text)
{
	size_t used;
	int status;

	csf__http1_reader_init(r, NULL);
	return csf__http1_reader_feed(r, text, strlen(text), &used, &status);
}

#define WS_HEAD(extra) \
	"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" extra "\r\n"

static void test_server_handshake(void **state)
{
	csf__buf out = CSF__BUF_INIT(4096);
	csf__http1_reader r;

	(void)state;
	assert_int_equal(read_request(&r, WS_HEAD("Origin: http://example.com\r\n"
						  "Sec-WebSocket-Protocol: chat, superchat\r\n"
						  "Sec-WebSocket-Version: 13\r\n")), 1);
	assert_int_equal(csf__ws_server_handshake(&r.req, "chat", &out), 0);
	assert_string_equal(out.ptr, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
				     "Sec-WebSocket-Protocol: chat\r\n\r\n");
	csf__http1_reader_free(&r);
	csf__buf_clear(&out);

	/* No subprotocol asked for: none answered, whatever was offered. */
	assert_int_equal(read_request(&r, WS_HEAD("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Version: 13\r\n")), 1);
	assert_int_equal(csf__ws_server_handshake(&r.req, NULL, &out), 0);
	assert_null(strstr(out.ptr, "Sec-WebSocket-Protocol"));
	csf__http1_reader_free(&r);
	csf__buf_clear(&out);

	/* Token lists and case. */
	assert_int_equal(read_request(&r, "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: foo, WebSocket\r\n"
					  "Connection: keep-alive, UPGRADE\r\n"
					  "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
					  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a\r\n"
					  "Sec-WebSocket-Protocol: b , csf.v1\r\n\r\n"), 1);
	assert_int_equal(csf__ws_server_handshake(&r.req, "csf.v1", &out), 0);
	csf__http1_reader_free(&r);
	csf__buf_free(&out);
}

static void test_server_handshake_refused(void **state)
{
	static const struct {
		const char *req, *sub;
		int status;
	} cases[] = {
		{ "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Version: 13\r\n\r\n", NULL, 400 },                               /* no key */
		{ WS_HEAD("Sec-WebSocket-Version: 8\r\n"), NULL, 426 },
		{ WS_HEAD("Sec-WebSocket-Version: 13, 8\r\n"), NULL, 426 },
		{ WS_HEAD(""), NULL, 400 },                                                    /* no version */
		{ WS_HEAD("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n"), NULL, 400 },
		{ WS_HEAD("Sec-WebSocket-Version: 13\r\n"), "chat", 400 },                     /* none offered */
		{ WS_HEAD("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: superchat\r\n"), "chat", 400 },
		{ WS_HEAD("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"), NULL, 400 },
		{ "POST /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", NULL, 400 },
		{ "GET /chat HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", NULL, 400 },
		{ "GET /chat HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", NULL, 400 },
		{ "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", NULL, 400 },
		{ "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket2\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", NULL, 400 },
		{ "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: short==\r\nSec-WebSocket-Version: 13\r\n\r\n", NULL, 400 },
		{ "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ*==\r\nSec-WebSocket-Version: 13\r\n\r\n", NULL, 400 },
		{ "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=x\r\nSec-WebSocket-Version: 13\r\n\r\n", NULL, 400 },
	};
	csf__buf out = CSF__BUF_INIT(4096);
	size_t k;

	(void)state;
	for (k = 0; k < CSF__ARRAY_SIZE(cases); k++) {
		csf__http1_reader r;
		int rc;

		assert_int_equal(read_request(&r, cases[k].req), 1);
		rc = csf__ws_server_handshake(&r.req, cases[k].sub, &out);
		if (rc != cases[k].status)
			fail_msg("case %zu: %d, want %d (%s)", k, rc, cases[k].status, csf_error_last()->message);
		assert_int_equal(out.len, 0);
		assert_non_null(strstr(csf_error_last()->message, "websocket: "));
		csf__http1_reader_free(&r);
	}
	csf__buf_free(&out);
}

static int handshake(const char *sub_client, const char *sub_server, const char *mangle, const char *with)
{
	csf__buf out = CSF__BUF_INIT(4096);
	csf__http1_response_reader rr;
	csf__http1_reader r;
	char key[25], *p;
	size_t used;
	int rc, status;

	assert_int_equal(csf__ws_client_handshake(&out, "localhost:8080", "/ws/v1?x=1", sub_client, key), 0);
	assert_int_equal(strlen(key), 24);
	csf__http1_reader_init(&r, NULL);
	assert_int_equal(csf__http1_reader_feed(&r, out.ptr, out.len, &used, &status), 1);
	assert_int_equal(r.req.upgrade, 1);
	assert_string_equal(csf__http_request_header(&r.req, "host"), "localhost:8080");
	csf__buf_clear(&out);
	rc = csf__ws_server_handshake(&r.req, sub_server, &out);
	csf__http1_reader_free(&r);
	if (rc) {
		csf__buf_free(&out);
		return 1000 + rc;
	}
	if (mangle && (p = strstr(out.ptr, mangle)) != NULL)
		memcpy(p, with, strlen(with));
	csf__http1_response_reader_init(&rr, NULL);
	rc = csf__http1_response_reader_feed(&rr, out.ptr, out.len, &used);
	if (rc == 0)
		rc = csf__http1_response_reader_eof(&rr);
	assert_int_equal(rc, 1);
	rc = csf__ws_client_check(&rr.resp, key, sub_client);
	csf__http1_response_reader_free(&rr);
	csf__buf_free(&out);
	return rc;
}

static void test_client_handshake(void **state)
{
	(void)state;
	assert_int_equal(handshake(NULL, NULL, NULL, NULL), 0);
	assert_int_equal(handshake("csf.v1", "csf.v1", NULL, NULL), 0);
	/* The server picks a subprotocol the client did not ask for, or none. */
	assert_int_equal(handshake(NULL, "csf.v1", NULL, NULL), 1400);
	assert_int_equal(handshake("csf.v1", NULL, NULL, NULL), CSF_EPARSE);
	assert_int_equal(handshake("csf.v1", "csf.v1", "csf.v1", "csf.v2"), CSF_EPARSE);
	/* A wrong accept key, a wrong status, a missing upgrade. */
	assert_int_equal(handshake(NULL, NULL, "Accept: ", "Accept:A"), CSF_EPARSE);
	assert_int_equal(handshake(NULL, NULL, "101", "200"), CSF_EPARSE);
	assert_int_equal(handshake(NULL, NULL, "Upgrade: websocket", "Upgrade: webgopher"), CSF_EPARSE);
	assert_int_equal(handshake(NULL, NULL, "Connection: Upgrade", "Connection: Upwards"), CSF_EPARSE);
	/* An extension we did not offer. */
	{
#define RESP101 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" \
		"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		csf__http1_response_reader rr;
		size_t used;

		csf__http1_response_reader_init(&rr, NULL);
		assert_int_equal(csf__http1_response_reader_feed(&rr, S(RESP101 "\r\n"), &used), 1);
		assert_int_equal(csf__ws_client_check(&rr.resp, "dGhlIHNhbXBsZSBub25jZQ==", NULL), 0);
		assert_int_equal(csf__ws_client_check(&rr.resp, "dGhlIHNhbXBsZSBub25jZQ==", "chat"), CSF_EPARSE);
		csf__http1_response_reader_free(&rr);
		csf__http1_response_reader_init(&rr, NULL);
		assert_int_equal(csf__http1_response_reader_feed(
					 &rr, S(RESP101 "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"), &used),
				 1);
		assert_int_equal(csf__ws_client_check(&rr.resp, "dGhlIHNhbXBsZSBub25jZQ==", NULL), CSF_EPARSE);
		csf__http1_response_reader_free(&rr);
	}
}

/* ---------------------------------------------------------------- sessions */

struct peer {
	csf__ws_session *s;
	uint8_t *msgs[16];
	size_t lens[16];
	size_t n;
	int reply;          /* what on_message returns */
	int closes;
	uint16_t close_code;
	char reason[128];
	int feed_rc;        /* the first failure of a feed */
};

static int on_message(void *payload, const uint8_t *data, size_t len)
{
	struct peer *p = payload;

	assert_non_null(data);
	assert_true(p->n < 16);
	p->msgs[p->n] = malloc(len ? len : 1);
	assert_non_null(p->msgs[p->n]);
	memcpy(p->msgs[p->n], data, len);
	p->lens[p->n++] = len;
	return p->reply;
}

static void on_close(void *payload, uint16_t code, const char *reason)
{
	struct peer *p = payload;

	p->closes++;
	p->close_code = code;
	snprintf(p->reason, sizeof(p->reason), "%s", reason);
}

static const csf__ws_callbacks callbacks = { on_message, on_close };

static void peer_init(struct peer *p, int server, size_t max)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(csf__ws_session_new(&p->s, server, max, &callbacks, p), 0);
}

static void peer_clear(struct peer *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->msgs[i]);
	p->n = 0;
}

static void peer_free(struct peer *p)
{
	peer_clear(p);
	csf__ws_session_free(p->s);
	p->s = NULL;
}

/* Feed `to` what `from` has to send, `chunk` bytes at a time (0: at once). */
static size_t transfer(struct peer *from, struct peer *to, size_t chunk)
{
	csf__buf buf = CSF__BUF_INIT((size_t)64 << 20);
	size_t off = 0, len;

	assert_int_equal(csf__ws_session_output(from->s, &buf, 0), 0);
	assert_int_equal(csf__ws_session_queued(from->s), 0);
	len = buf.len;
	while (off < len) {
		size_t n = chunk && chunk < len - off ? chunk : len - off;
		int rc = csf__ws_session_feed(to->s, (const uint8_t *)buf.ptr + off, n);

		if (rc && !to->feed_rc)
			to->feed_rc = rc;
		off += n;
	}
	csf__buf_free(&buf);
	return len;
}

static void pump(struct peer *a, struct peer *b, size_t chunk)
{
	while (transfer(a, b, chunk) + transfer(b, a, chunk) > 0)
		;
}

static uint8_t *pattern(size_t len, unsigned seed)
{
	uint8_t *d = malloc(len ? len : 1);
	size_t i;

	assert_non_null(d);
	for (i = 0; i < len; i++)
		d[i] = (uint8_t)(i * 31 + seed + (i >> 8));
	return d;
}

static void test_messages_both_ways(void **state)
{
	static const size_t sizes[] = { 0, 1, 125, 126, 127, 65535, 65536, 65537, 1024 * 1024 };
	static const size_t chunks[] = { 0, 7, 4096 };
	struct peer client, server;
	size_t i, c;

	(void)state;
	for (c = 0; c < CSF__ARRAY_SIZE(chunks); c++) {
		peer_init(&client, 0, 1024 * 1024);
		peer_init(&server, 1, 1024 * 1024);
		for (i = 0; i < CSF__ARRAY_SIZE(sizes); i++) {
			uint8_t *d;

			if (chunks[c] == 7 && sizes[i] > 70000)
				continue;
			d = pattern(sizes[i], (unsigned)i);
			assert_int_equal(csf__ws_session_send(client.s, d, sizes[i]), 0);
			assert_true(csf__ws_session_queued(client.s) >= sizes[i] + 6);
			assert_int_equal(csf__ws_session_send(server.s, d, sizes[i]), 0);
			pump(&client, &server, chunks[c]);
			assert_int_equal(server.n, 1);
			assert_int_equal(server.lens[0], sizes[i]);
			assert_memory_equal(server.msgs[0], d, sizes[i]);
			assert_int_equal(client.n, 1);
			assert_int_equal(client.lens[0], sizes[i]);
			assert_memory_equal(client.msgs[0], d, sizes[i]);
			peer_clear(&client);
			peer_clear(&server);
			free(d);
		}
		assert_int_equal(client.feed_rc, 0);
		assert_int_equal(server.feed_rc, 0);
		assert_false(csf__ws_session_done(client.s));
		peer_free(&client);
		peer_free(&server);
	}
}

/* A frame as a peer would send it; masked with 01 02 03 04 when `mask`. */
static size_t frame(uint8_t *out, int fin, int op, int mask, const void *payload, size_t len)
{
	static const uint8_t key[4] = { 1, 2, 3, 4 };
	size_t n = 0, i;

	out[n++] = (uint8_t)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		out[n++] = (uint8_t)((mask ? 0x80 : 0) | len);
	} else if (len < 65536) {
		out[n++] = (uint8_t)((mask ? 0x80 : 0) | 126);
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = (uint8_t)((mask ? 0x80 : 0) | 127);
		for (i = 0; i < 8; i++)
			out[n++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	if (mask) {
		memcpy(out + n, key, 4);
		n += 4;
	}
	for (i = 0; i < len; i++)
		out[n + i] = (uint8_t)(((const uint8_t *)payload)[i] ^ (mask ? key[i % 4] : 0));
	return n + len;
}

/* The first frame of a session's output: opcode, and the payload unmasked. */
static int first_frame(struct peer *p, uint8_t *payload, size_t *len)
{
	csf__buf buf = CSF__BUF_INIT(1 << 20);
	const uint8_t *d;
	size_t n, hl = 2, i;
	int op;

	assert_int_equal(csf__ws_session_output(p->s, &buf, 0), 0);
	if (buf.len < 2) {
		csf__buf_free(&buf);
		return -1;
	}
	d = (const uint8_t *)buf.ptr;
	op = d[0] & 0x0f;
	n = d[1] & 0x7f;
	assert_true(n < 126);
	if (d[1] & 0x80)
		hl += 4;
	for (i = 0; i < n; i++)
		payload[i] = d[hl + i] ^ (d[1] & 0x80 ? d[2 + i % 4] : 0);
	*len = n;
	csf__buf_free(&buf);
	return op;
}

static uint16_t sent_close_code(struct peer *p)
{
	uint8_t payload[128];
	size_t len;

	assert_int_equal(first_frame(p, payload, &len), 8);
	if (len < 2)
		return 1005;
	return (uint16_t)(payload[0] << 8 | payload[1]);
}

static void test_fragmented_with_ping(void **state)
{
	uint8_t in[256], payload[128];
	struct peer server;
	size_t n = 0, len, i;

	(void)state;
	peer_init(&server, 1, 0);
	n += frame(in + n, 0, 2, 1, "ab", 2);
	n += frame(in + n, 1, 9, 1, "hi", 2);
	n += frame(in + n, 0, 0, 1, "", 0);
	n += frame(in + n, 0, 0, 1, "cd", 2);
	n += frame(in + n, 1, 0, 1, "ef", 2);
	n += frame(in + n, 1, 2, 1, "z", 1);
	for (i = 0; i < n; i++)
		assert_int_equal(csf__ws_session_feed(server.s, in + i, 1), 0);
	assert_int_equal(server.n, 2);
	assert_int_equal(server.lens[0], 6);
	assert_memory_equal(server.msgs[0], "abcdef", 6);
	assert_memory_equal(server.msgs[1], "z", 1);
	assert_true(csf__ws_session_heard(server.s));
	assert_false(csf__ws_session_heard(server.s));
	/* The pong echoes the ping, unmasked. */
	assert_int_equal(first_frame(&server, payload, &len), 0xa);
	assert_int_equal(len, 2);
	assert_memory_equal(payload, "hi", 2);
	peer_free(&server);
}

static void test_ping_pong(void **state)
{
	struct peer client, server;

	(void)state;
	peer_init(&client, 0, 0);
	peer_init(&server, 1, 0);
	assert_false(csf__ws_session_heard(client.s));
	assert_int_equal(csf__ws_session_ping(client.s), 0);
	assert_int_equal(csf__ws_session_ping(server.s), 0);
	pump(&client, &server, 0);
	assert_true(csf__ws_session_heard(client.s));
	assert_true(csf__ws_session_heard(server.s));
	assert_false(csf__ws_session_heard(client.s));
	assert_int_equal(client.n + server.n, 0);
	assert_int_equal(client.feed_rc + server.feed_rc, 0);
	peer_free(&client);
	peer_free(&server);
}

static void test_close_handshake(void **state)
{
	struct peer client, server;
	int initiator;

	(void)state;
	for (initiator = 0; initiator < 2; initiator++) {
		struct peer *a = initiator ? &server : &client, *b = initiator ? &client : &server;

		peer_init(&client, 0, 0);
		peer_init(&server, 1, 0);
		assert_int_equal(csf__ws_session_close(a->s, initiator ? 4000 : 1000, "bye"), 0);
		/* Closing twice is harmless; sending after it is refused. */
		assert_int_equal(csf__ws_session_close(a->s, 1001, NULL), 0);
		assert_int_equal(csf__ws_session_send(a->s, (const uint8_t *)"x", 1), CSF_EINVALID);
		assert_int_equal(csf__ws_session_ping(a->s), CSF_EINVALID);
		assert_false(csf__ws_session_done(a->s));
		transfer(a, b, 0);
		assert_int_equal(b->closes, 1);
		assert_int_equal(b->close_code, initiator ? 4000 : 1000);
		assert_string_equal(b->reason, "bye");
		/* b answered and is done; a is once the answer arrives. */
		assert_true(csf__ws_session_done(b->s));
		assert_false(csf__ws_session_done(a->s));
		assert_int_equal(csf__ws_session_send(b->s, (const uint8_t *)"x", 1), CSF_EINVALID);
		transfer(b, a, 0);
		assert_int_equal(a->closes, 1);
		assert_int_equal(a->close_code, initiator ? 4000 : 1000);
		assert_true(csf__ws_session_done(a->s));
		assert_int_equal(client.feed_rc + server.feed_rc, 0);
		/* Nothing more is read. */
		transfer(a, b, 0);
		assert_int_equal(csf__ws_session_feed(a->s, (const uint8_t *)"\x82\x00", 2), 0);
		assert_int_equal(a->n, 0);
		peer_free(&client);
		peer_free(&server);
	}
}

static void test_close_without_code(void **state)
{
	uint8_t in[32];
	struct peer server;
	size_t n;

	(void)state;
	peer_init(&server, 1, 0);
	n = frame(in, 1, 8, 1, "", 0);
	assert_int_equal(csf__ws_session_feed(server.s, in, n), 0);
	assert_int_equal(server.closes, 1);
	assert_int_equal(server.close_code, 1005);
	assert_int_equal(sent_close_code(&server), 1005);
	assert_true(csf__ws_session_done(server.s));
	peer_free(&server);
}

/* A close reason in UTF-8, arriving a byte at a time. */
static void test_close_reason_in_pieces(void **state)
{
	static const char payload[] = "\x0f\xa0\xc3\xa7" "a va \xe2\x82\xac \xf0\x9f\x98\x80";
	uint8_t in[64];
	struct peer p;
	size_t n, i;

	(void)state;
	peer_init(&p, 1, 0);
	n = frame(in, 1, 8, 1, payload, sizeof(payload) - 1);
	for (i = 0; i < n; i++)
		assert_int_equal(csf__ws_session_feed(p.s, in + i, 1), 0);
	assert_int_equal(p.closes, 1);
	assert_int_equal(p.close_code, 4000);
	assert_string_equal(p.reason, payload + 2);
	assert_int_equal(sent_close_code(&p), 4000);
	assert_true(csf__ws_session_done(p.s));
	peer_free(&p);
}

static void test_close_arguments(void **state)
{
	static const uint16_t bad[] = { 0, 999, 1004, 1005, 1006, 1012, 1015, 2999, 5000 };
	char reason[125];
	struct peer p;
	size_t k;

	(void)state;
	peer_init(&p, 1, 0);
	for (k = 0; k < CSF__ARRAY_SIZE(bad); k++)
		assert_int_equal(csf__ws_session_close(p.s, bad[k], NULL), CSF_EINVALID);
	memset(reason, 'r', 124);
	reason[124] = '\0';
	assert_int_equal(csf__ws_session_close(p.s, 1000, reason), CSF_EINVALID);
	reason[123] = '\0';
	assert_int_equal(csf__ws_session_close(p.s, 1000, reason), 0);
	peer_free(&p);
}

/* A session fed `in` refuses it and closes with `code`. */
static void expect_close(int server, size_t max, const uint8_t *in, size_t n, uint16_t code, size_t step)
{
	struct peer p;
	size_t off = 0;
	int rc = 0;

	peer_init(&p, server, max);
	while (off < n && !rc) {
		size_t k = step && step < n - off ? step : n - off;

		rc = csf__ws_session_feed(p.s, in + off, k);
		off += k;
	}
	assert_int_equal(rc, CSF_EPARSE);
	assert_true(csf_error_last()->message[0] != '\0');
	assert_int_equal(p.n, 0);
	if (sent_close_code(&p) != code)
		fail_msg("closed with another code than %u (%s)", code, csf_error_last()->message);
	assert_true(csf__ws_session_done(p.s));
	/* Nothing more is read. */
	assert_int_equal(csf__ws_session_feed(p.s, in, n), 0);
	assert_int_equal(p.n, 0);
	peer_free(&p);
}

static void test_text_frame_refused(void **state)
{
	uint8_t in[64];
	size_t n;

	(void)state;
	n = frame(in, 1, 1, 1, "hello", 5);
	expect_close(1, 0, in, n, 1003, 0);
	expect_close(1, 0, in, n, 1003, 1);
	n = frame(in, 1, 1, 0, "hello", 5);
	expect_close(0, 0, in, n, 1003, 0);
}

static void test_oversize(void **state)
{
	uint8_t *in = malloc(4096), *big = pattern(200, 1);
	struct peer p;
	size_t n;

	(void)state;
	assert_non_null(in);
	n = frame(in, 1, 2, 1, big, 100);
	peer_init(&p, 1, 100);
	assert_int_equal(csf__ws_session_feed(p.s, in, n), 0);
	assert_int_equal(p.n, 1);
	peer_free(&p);
	n = frame(in, 1, 2, 1, big, 101);
	expect_close(1, 100, in, n, 1009, 0);
	expect_close(1, 100, in, 6, 1009, 0);      /* known from the header alone */
	n = frame(in, 0, 2, 1, big, 60);
	n += frame(in + n, 1, 0, 1, big, 41);
	expect_close(1, 100, in, n, 1009, 3);
	/* A 2^62-byte frame header. */
	memcpy(in, "\x82\xff\x40\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14);
	expect_close(1, 0, in, 14, 1009, 0);
	free(in);
	free(big);
}

static void test_protocol_errors(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		int server;
		uint16_t code;
	} cases[] = {
		{ S("\x82\x01x"), 1, 1002 },                                   /* unmasked to a server */
		{ S("\x82\x81\x01\x02\x03\x04x"), 0, 1002 },                   /* masked to a client */
		{ S("\xc2\x80\x01\x02\x03\x04"), 1, 1002 },                    /* RSV1 */
		{ S("\x92\x80\x01\x02\x03\x04"), 1, 1002 },                    /* RSV3 */
		{ S("\x83\x80\x01\x02\x03\x04"), 1, 1002 },                    /* opcode 3 */
		{ S("\x8b\x80\x01\x02\x03\x04"), 1, 1002 },                    /* opcode 0xb */
		{ S("\x80\x80\x01\x02\x03\x04"), 1, 1002 },                    /* continuation first */
		{ S("\x02\x80\x01\x02\x03\x04\x82\x80\x01\x02\x03\x04"), 1, 1002 }, /* new message inside one */
		{ S("\x09\x80\x01\x02\x03\x04"), 1, 1002 },                    /* fragmented ping */
		{ S("\x89\xfe\x00\x7e\x01\x02\x03\x04"), 1, 1002 },            /* ping of 126 bytes */
		{ S("\x82\xfe\x00\x05\x01\x02\x03\x04hello"), 1, 1002 },       /* 16-bit length under 126 */
		{ S("\x82\xff\x00\x00\x00\x00\x00\x00\xff\xff\x01\x02\x03\x04"), 1, 1002 }, /* 64-bit under 2^16 */
		{ S("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04"), 1, 1002 }, /* 2^63 */
		{ S("\x88\x81\x01\x02\x03\x04x"), 1, 1002 },                   /* 1-byte close */
		{ S("\x88\x82\x01\x02\x03\x04\x02\xef"), 1, 1002 },            /* close 1005 */
		{ S("\x88\x82\x01\x02\x03\x04\x02\xec"), 1, 1002 },            /* close 1006 */
		{ S("\x88\x82\x01\x02\x03\x04\x02\xee"), 1, 1002 },            /* close 1004 */
		{ S("\x88\x82\x01\x02\x03\x04\x02\xe5"), 1, 1002 },            /* close 999 */
		{ S("\x88\x82\x01\x02\x03\x04\x12\x8a"), 1, 1002 },            /* close 5000 */
		{ S("\x88\x82\x01\x02\x03\x04\x0a\xb5"), 1, 1002 },            /* close 2999 */
		{ S("\x88\x84\x01\x02\x03\x04\x02\xea\xfc\xfb"), 1, 1007 },    /* reason not UTF-8 */
	};
	size_t k;

	(void)state;
	for (k = 0; k < CSF__ARRAY_SIZE(cases); k++) {
		const uint8_t *in = (const uint8_t *)cases[k].bytes;

		expect_close(cases[k].server, 0, in, cases[k].len, cases[k].code, 0);
		expect_close(cases[k].server, 0, in, cases[k].len, cases[k].code, 1);
	}
}

/* Found by fuzzing: a pong that wslay dropped for our close frame is not
 * counted as waiting. */
static void test_queued_after_failure(void **state)
{
	uint8_t in[64];
	struct peer p;
	size_t n = 0;

	(void)state;
	n += frame(in + n, 1, 9, 0, "ping", 4);
	n += frame(in + n, 1, 0, 0, "", 0);
	peer_init(&p, 0, 0);
	assert_int_equal(csf__ws_session_feed(p.s, in, n), CSF_EPARSE);
	assert_int_equal(sent_close_code(&p), 1002);
	assert_int_equal(csf__ws_session_queued(p.s), 0);
	assert_true(csf__ws_session_done(p.s));
	peer_free(&p);
}

/* Valid frames before a bad one are delivered first. */
static void test_messages_before_error(void **state)
{
	uint8_t in[64];
	struct peer p;
	size_t n = 0;

	(void)state;
	n += frame(in + n, 1, 2, 1, "one", 3);
	n += frame(in + n, 1, 2, 0, "two", 3);
	peer_init(&p, 1, 0);
	assert_int_equal(csf__ws_session_feed(p.s, in, n), CSF_EPARSE);
	assert_int_equal(p.n, 1);
	assert_memory_equal(p.msgs[0], "one", 3);
	assert_int_equal(sent_close_code(&p), 1002);
	peer_free(&p);
}

static void test_callback_closes(void **state)
{
	static const struct {
		int reply;
		uint16_t code;
	} cases[] = { { 4001, 4001 }, { 1000, 1000 }, { CSF_EUSER, 1011 }, { 1, 1011 }, { 1005, 1011 } };
	uint8_t in[64];
	size_t k, n;

	(void)state;
	for (k = 0; k < CSF__ARRAY_SIZE(cases); k++) {
		struct peer p;

		n = frame(in, 1, 2, 1, "a", 1);
		n += frame(in + n, 1, 2, 1, "b", 1);
		peer_init(&p, 1, 0);
		p.reply = cases[k].reply;
		assert_int_equal(csf__ws_session_feed(p.s, in, n), 0);
		/* The second message came after our close: dropped. */
		assert_int_equal(p.n, 1);
		assert_int_equal(sent_close_code(&p), cases[k].code);
		assert_false(csf__ws_session_done(p.s));
		n = frame(in, 1, 8, 1, "\x03\xe8", 2);
		assert_int_equal(csf__ws_session_feed(p.s, in, n), 0);
		assert_int_equal(p.closes, 1);
		assert_true(csf__ws_session_done(p.s));
		peer_free(&p);
	}
}

static void test_output_in_pieces(void **state)
{
	csf__buf out = CSF__BUF_INIT(1 << 20);
	csf__buf tiny = CSF__BUF_INIT(8);
	uint8_t *d = pattern(1000, 3);
	struct peer p, q;
	size_t before;

	(void)state;
	peer_init(&p, 0, 0);
	peer_init(&q, 1, 0);
	assert_int_equal(csf__ws_session_send(p.s, d, 1000), 0);
	before = csf__ws_session_queued(p.s);
	assert_int_equal(before, 1000 + 8);
	assert_int_equal(csf__ws_session_output(p.s, &out, 10), 0);
	assert_int_equal(out.len, 10);
	assert_int_equal(csf__ws_session_queued(p.s), before - 10);
	/* A full destination takes what fits. */
	assert_int_equal(csf__ws_session_output(p.s, &tiny, 0), 0);
	assert_int_equal(tiny.len, 7);
	assert_int_equal(csf__ws_session_output(p.s, &out, 0), 0);
	assert_int_equal(out.len, 10 + before - 17);
	assert_int_equal(csf__ws_session_queued(p.s), 0);
	assert_int_equal(csf__ws_session_feed(q.s, (const uint8_t *)out.ptr, 10), 0);
	assert_int_equal(csf__ws_session_feed(q.s, (const uint8_t *)tiny.ptr, 7), 0);
	assert_int_equal(csf__ws_session_feed(q.s, (const uint8_t *)out.ptr + 10, out.len - 10), 0);
	assert_int_equal(q.n, 1);
	assert_memory_equal(q.msgs[0], d, 1000);
	csf__buf_free(&out);
	csf__buf_free(&tiny);
	peer_free(&p);
	peer_free(&q);
	free(d);
}

/* A peer that pings and never reads is cut off. */
static void test_pong_flood_bounded(void **state)
{
	uint8_t *in = malloc(1 << 20);
	struct peer p;
	size_t n = 0, fed = 0;
	int rc = 0;

	(void)state;
	assert_non_null(in);
	memset(in, 'p', 125);
	while (n + 200 < (1 << 20))
		n += frame(in + n, 1, 9, 1, in, 125);
	peer_init(&p, 1, 1024);
	while (!rc && fed < 1000) {
		rc = csf__ws_session_feed(p.s, in, n);
		fed++;
	}
	assert_int_equal(rc, CSF_ELIMIT);
	assert_true(csf__ws_session_queued(p.s) < ((size_t)17 << 20) + 200 * 1024);
	peer_free(&p);
	free(in);
}

/* --------------------------------------------------- allocation failures */


static int alloc_scenario(void)
{
	csf__buf out = CSF__BUF_INIT(1 << 20), req = CSF__BUF_INIT(4096);
	csf__ws_session *c = NULL, *s = NULL;
	uint8_t *d = pattern(100000, 9);
	char key[25];
	int rc;

	rc = csf__ws_client_handshake(&req, "h", "/ws", "csf.v1", key);
	if (!rc)
		rc = csf__ws_session_new(&c, 0, 0, NULL, NULL);
	if (!rc)
		rc = csf__ws_session_new(&s, 1, 0, &callbacks, NULL);
	if (!rc)
		rc = csf__ws_session_send(c, d, 100000);
	if (!rc)
		rc = csf__ws_session_ping(c);
	if (!rc)
		rc = csf__ws_session_output(c, &out, 0);
	if (!rc)
		rc = csf__ws_session_close(s, 1001, "going");
	if (!rc)
		rc = csf__ws_session_output(s, &out, 0);
	csf__ws_session_free(c);
	csf__ws_session_free(s);
	csf__buf_free(&out);
	csf__buf_free(&req);
	free(d);
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
		cmocka_unit_test(test_accept_key),
		cmocka_unit_test(test_server_handshake),
		cmocka_unit_test(test_server_handshake_refused),
		cmocka_unit_test(test_client_handshake),
		cmocka_unit_test(test_messages_both_ways),
		cmocka_unit_test(test_fragmented_with_ping),
		cmocka_unit_test(test_ping_pong),
		cmocka_unit_test(test_close_handshake),
		cmocka_unit_test(test_close_without_code),
		cmocka_unit_test(test_close_reason_in_pieces),
		cmocka_unit_test(test_close_arguments),
		cmocka_unit_test(test_text_frame_refused),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_messages_before_error),
		cmocka_unit_test(test_queued_after_failure),
		cmocka_unit_test(test_callback_closes),
		cmocka_unit_test(test_output_in_pieces),
		cmocka_unit_test(test_pong_flood_bounded),
		cmocka_unit_test(test_allocation_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
