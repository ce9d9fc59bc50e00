/*
 * WebSocket (RFC 6455), sans-I/O, on wslay: the opening handshake (server
 * and client side) and a session that turns bytes into messages and messages
 * into bytes. The connection layer feeds what it reads and sends what the
 * session has to send.
 */
#ifndef CSF_NET_WS_H
#define CSF_NET_WS_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "net/http1.h"

/* Close codes (RFC 6455 section 7.4.1). */
#define CSF__WS_CLOSE_NORMAL 1000
#define CSF__WS_CLOSE_GOING_AWAY 1001
#define CSF__WS_CLOSE_PROTOCOL_ERROR 1002
#define CSF__WS_CLOSE_UNSUPPORTED 1003
#define CSF__WS_CLOSE_INVALID_DATA 1007
#define CSF__WS_CLOSE_POLICY 1008
#define CSF__WS_CLOSE_TOO_BIG 1009
#define CSF__WS_CLOSE_INTERNAL 1011

/*
 * Server side of the handshake: check that `req` is a valid upgrade to
 * WebSocket version 13 offering `subprotocol` (NULL: none required), and
 * append the 101 response to `out`. Returns 0, or the HTTP status to refuse
 * with (400 bad handshake, 426 wrong version with Sec-WebSocket-Version: 13,
 * 400 when the subprotocol is not offered).
 */
int csf__ws_server_handshake(const csf__http_request *req, const char *subprotocol, csf__buf *out);

/* The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (28 chars + NUL). */
int csf__ws_accept_key(const char *key, char out[29]);

/*
 * Client side: append the upgrade request for `target` on `host` offering
 * `subprotocol`, and remember the key in `key_out` (25 bytes) to check the
 * answer with csf__ws_client_check().
 */
int csf__ws_client_handshake(csf__buf *out, const char *host, const char *target,
			     const char *subprotocol, char key_out[25]);
/* Check the server's 101 answer. Returns 0 or CSF_EPARSE with a message. */
int csf__ws_client_check(const csf__http1_response *resp, const char *key, const char *subprotocol);

typedef struct csf__ws_session csf__ws_session;

typedef struct csf__ws_callbacks {
	/* One whole binary message (text messages are refused with 1003). A
	 * non-zero return closes the session with CSF__WS_CLOSE_INTERNAL...
	 * unless it is itself a close code (1000..4999), which is used. */
	int (*on_message)(void *payload, const uint8_t *data, size_t len);
	/* The peer's close frame arrived (code, or 1005 when it had none). */
	void (*on_close)(void *payload, uint16_t code, const char *reason);
} csf__ws_callbacks;

/*
 * A session. Server sessions expect masked frames and send unmasked ones;
 * client sessions the reverse (masks from OpenSSL's RNG). Messages over
 * `max_message` bytes close the session with 1009.
 */
int csf__ws_session_new(csf__ws_session **out, int server, size_t max_message,
			const csf__ws_callbacks *cb, void *payload);

/* Carry text messages (UTF-8, checked) instead of binary ones, both ways;
 * binary frames are then refused with 1003. For browsers speaking JSON. */
void csf__ws_session_set_text(csf__ws_session *s, int text);

/*
 * Feed bytes read from the peer; callbacks run for whole messages, pings are
 * answered. Returns 0, or CSF_EPARSE for a protocol violation (the session
 * then has a close frame to send and wants no more input).
 */
int csf__ws_session_feed(csf__ws_session *s, const uint8_t *data, size_t len);

/* Queue a binary message / a ping / a close frame. */
int csf__ws_session_send(csf__ws_session *s, const uint8_t *data, size_t len);
int csf__ws_session_ping(csf__ws_session *s);
int csf__ws_session_close(csf__ws_session *s, uint16_t code, const char *reason);

/* Move bytes to send into `out` (at most `max` bytes; 0: all). */
int csf__ws_session_output(csf__ws_session *s, csf__buf *out, size_t max);
/* Bytes queued inside the session and not yet taken by _output(). */
size_t csf__ws_session_queued(const csf__ws_session *s);

/* Nothing more will be read or written: close frames went both ways, or a
 * protocol error was answered. The connection can be closed once the output
 * is flushed. */
int csf__ws_session_done(const csf__ws_session *s);
/* Has a pong (or any frame) arrived since the last call? Clears the flag. */
int csf__ws_session_heard(csf__ws_session *s);

void csf__ws_session_free(csf__ws_session *s);

#endif
