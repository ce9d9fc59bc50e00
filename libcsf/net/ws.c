/*
 * WebSocket (RFC 6455) without I/O, on wslay's event API: wslay reads from
 * the bytes of the current feed and writes frames into the session's output
 * buffer, which the connection layer drains with csf__ws_session_output().
 *
 * Every frame header is checked here before wslay sees it. wslay 1.1.1
 * answers some violations (a fragmented or oversized control frame, a
 * length not in its shortest form) with a close frame that has no code, and
 * accepts a close payload of one byte; checking first gives the peer 1002
 * (or 1003 for text, 1009 for size) and the caller a message that says what
 * was wrong. wslay still validates close codes and close reasons (UTF-8).
 *
 * wslay allocates with malloc(), outside the library's allocator; what it
 * holds is bounded by max_message on input and by the output limit.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <wslay/wslay.h>

#include "net/ws.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_DEFAULT_MAX_MESSAGE ((size_t)1024 * 1024)
/* Output waiting for the peer beyond the largest message: past it, sends
 * and input are refused (a peer that pings and never reads must not make
 * the pongs pile up). */
#define WS_OUTPUT_SLACK ((size_t)16 * 1024 * 1024)
#define WS_OUTPUT_KEEP ((size_t)64 * 1024)

struct csf__ws_session {
	wslay_event_context_ptr ctx;
	int server;
	size_t max_message;
	csf__ws_callbacks cb;
	void *payload;
	/* what wslay may read during a feed: a frame header carried over from
	 * the previous feeds, then the feed's bytes */
	const uint8_t *pre, *in;
	size_t pre_len, in_len, in_off;
	/* frames ready for csf__ws_session_output(), from out_off on */
	csf__buf out;
	size_t out_off;
	/* the frame checker: the header being read, then the payload to skip */
	uint8_t hdr[14];
	size_t hdr_len;
	uint64_t payload_left;
	uint64_t msg_len;       /* the data message so far, fragments included */
	uint8_t mkey[4];        /* the mask of the frame being skipped */
	uint8_t ctl[125];       /* a close frame's payload, unmasked */
	size_t ctl_len;
	unsigned fragmented : 1;/* a data message waits for its continuation */
	unsigned in_close : 1;  /* the payload being skipped is a close frame's */
	unsigned stopped : 1;   /* no more input: after a close frame or an error */
	unsigned failed : 1;    /* we closed because of the peer's input */
	unsigned closing : 1;   /* we queued a close */
	unsigned text : 1;      /* text messages (UTF-8) instead of binary, both ways */
	/* wslay sends control frames ahead of queued data, so a close asked
	 * for while data waits is held here until the data is out */
	unsigned close_pending : 1;
	uint16_t pending_code;
	char pending_reason[124];
	unsigned heard : 1;
	unsigned in_recv : 1;   /* inside wslay_event_recv() */
	unsigned oom : 1;       /* the output buffer could not grow */
};

/* ------------------------------------------------------------- handshake */

int csf__ws_accept_key(const char *key, char out[29])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[128 + sizeof(WS_GUID)];
	size_t klen;

	if (!key || !out)
		return csf__misuse("csf__ws_accept_key: key and out are required");
	klen = strlen(key);
	if (klen > 128)
		return csf__error_set(CSF_EINVALID, "websocket: key longer than 128 bytes");
	memcpy(buf, key, klen);
	memcpy(buf + klen, WS_GUID, sizeof(WS_GUID) - 1);
	if (!EVP_Digest(buf, klen + sizeof(WS_GUID) - 1, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return csf__error_set(CSF_ERROR, "websocket: SHA-1 is not available");
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return 0;
}

/* A comma-separated list holds `token` (case-insensitive). */
static int has_token(const char *list, const char *token)
{
	size_t tlen = strlen(token);

	while (list && *list) {
		size_t n;

		while (*list == ' ' || *list == '\t' || *list == ',')
			list++;
		n = strcspn(list, ",");
		while (n && (list[n - 1] == ' ' || list[n - 1] == '\t'))
			n--;
		if (n == tlen && !strncasecmp(list, token, n))
			return 1;
		list += strcspn(list, ",");
	}
	return 0;
}

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
	       c == '/';
}

/* The base64 encoding of 16 bytes (RFC 6455 section 4.1). */
static int key_ok(const char *key)
{
	size_t i;

	if (strlen(key) != 24 || strcmp(key + 22, "=="))
		return 0;
	for (i = 0; i < 22; i++)
		if (!b64_char(key[i]))
			return 0;
	return 1;
}

int csf__ws_server_handshake(const csf__http_request *req, const char *subprotocol, csf__buf *out)
{
	const char *key = NULL, *version = NULL, *headers[9];
	int upgrade = 0, connection = 0, offered = 0, rc, n = 0;
	size_t i, keys = 0, versions = 0;
	char accept[29];

	if (!req || !req->method || !out)
		return csf__misuse("csf__ws_server_handshake: request and out are required");
	if (strcmp(req->method, "GET")) {
		csf__error_set(CSF_EPARSE, "websocket: the handshake is a GET, not %.16s", req->method);
		return 400;
	}
	if (!req->http_minor) {
		csf__error_set(CSF_EPARSE, "websocket: the handshake needs HTTP/1.1");
		return 400;
	}
	for (i = 0; i < req->headers_count; i++) {
		const char *name = req->headers[i].name, *value = req->headers[i].value;

		if (!strcasecmp(name, "upgrade")) {
			upgrade |= has_token(value, "websocket");
		} else if (!strcasecmp(name, "connection")) {
			connection |= has_token(value, "upgrade");
		} else if (!strcasecmp(name, "sec-websocket-key")) {
			keys++;
			key = value;
		} else if (!strcasecmp(name, "sec-websocket-version")) {
			versions++;
			version = value;
		} else if (!strcasecmp(name, "sec-websocket-protocol") && subprotocol) {
			offered |= has_token(value, subprotocol);
		}
	}
	if (!upgrade || !connection) {
		csf__error_set(CSF_EPARSE, "websocket: not an upgrade (Upgrade: websocket and Connection: Upgrade)");
		return 400;
	}
	if (versions != 1) {
		csf__error_set(CSF_EPARSE, "websocket: %s Sec-WebSocket-Version header",
			       versions ? "more than one" : "no");
		return 400;
	}
	if (strcmp(version, "13")) {
		csf__error_set(CSF_EPARSE, "websocket: version %.16s is not 13", version);
		return 426;
	}
	if (keys != 1 || !key_ok(key)) {
		csf__error_set(CSF_EPARSE, "websocket: missing, repeated or malformed Sec-WebSocket-Key");
		return 400;
	}
	if (subprotocol && !offered) {
		csf__error_set(CSF_EPARSE, "websocket: the client does not offer the subprotocol %.64s", subprotocol);
		return 400;
	}
	if ((rc = csf__ws_accept_key(key, accept)) != 0)
		return rc;
	headers[n++] = "Upgrade";
	headers[n++] = "websocket";
	headers[n++] = "Connection";
	headers[n++] = "Upgrade";
	headers[n++] = "Sec-WebSocket-Accept";
	headers[n++] = accept;
	if (subprotocol) {
		headers[n++] = "Sec-WebSocket-Protocol";
		headers[n++] = subprotocol;
	}
	headers[n] = NULL;
	return csf__http1_write_response(out, 101, headers, NULL, 0, 1);
}

int csf__ws_client_handshake(csf__buf *out, const char *host, const char *target,
			     const char *subprotocol, char key_out[25])
{
	unsigned char nonce[16];
	const char *headers[11];
	int n = 0;

	if (!out || !host || !target || !key_out)
		return csf__misuse("csf__ws_client_handshake: out, host, target and key_out are required");
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return csf__error_set(CSF_ERROR, "websocket: no random bytes for the key");
	EVP_EncodeBlock((unsigned char *)key_out, nonce, sizeof(nonce));
	headers[n++] = "Upgrade";
	headers[n++] = "websocket";
	headers[n++] = "Connection";
	headers[n++] = "Upgrade";
	headers[n++] = "Sec-WebSocket-Key";
	headers[n++] = key_out;
	headers[n++] = "Sec-WebSocket-Version";
	headers[n++] = "13";
	if (subprotocol) {
		headers[n++] = "Sec-WebSocket-Protocol";
		headers[n++] = subprotocol;
	}
	headers[n] = NULL;
	return csf__http1_write_request(out, "GET", target, host, headers, NULL, 0);
}

int csf__ws_client_check(const csf__http1_response *resp, const char *key, const char *subprotocol)
{
	const char *accept, *proto;
	char want[29];
	int rc;

	if (!resp || !key)
		return csf__misuse("csf__ws_client_check: response and key are required");
	if (resp->status != 101)
		return csf__error_set(CSF_EPARSE, "websocket: the server answered %d, not 101", resp->status);
	if (!has_token(csf__http1_response_header(resp, "Upgrade"), "websocket") ||
	    !has_token(csf__http1_response_header(resp, "Connection"), "upgrade"))
		return csf__error_set(CSF_EPARSE,
				      "websocket: the 101 answer lacks Upgrade: websocket or Connection: Upgrade");
	if ((rc = csf__ws_accept_key(key, want)) != 0)
		return rc;
	accept = csf__http1_response_header(resp, "Sec-WebSocket-Accept");
	if (!accept || strcmp(accept, want))
		return csf__error_set(CSF_EPARSE, "websocket: Sec-WebSocket-Accept %.40s does not match the key",
				      accept ? accept : "(none)");
	proto = csf__http1_response_header(resp, "Sec-WebSocket-Protocol");
	if (subprotocol ? !proto || strcmp(proto, subprotocol) : proto != NULL)
		return csf__error_set(CSF_EPARSE, "websocket: the server chose subprotocol %.64s, we offered %.64s",
				      proto ? proto : "(none)", subprotocol ? subprotocol : "(none)");
	if (csf__http1_response_header(resp, "Sec-WebSocket-Extensions"))
		return csf__error_set(CSF_EPARSE, "websocket: the server chose an extension we did not offer");
	return 0;
}

/* ---------------------------------------------------------------- session */

/* Codes an endpoint may put in a close frame (RFC 6455 section 7.4). */
static int close_code_ok(long code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
	       (code >= 3000 && code <= 4999);
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	csf__ws_session *s = user;
	size_t n;

	(void)flags;
	if (s->pre_len) {
		n = s->pre_len < len ? s->pre_len : len;
		memcpy(buf, s->pre, n);
		s->pre += n;
		s->pre_len -= n;
		return (ssize_t)n;
	}
	n = s->in_len - s->in_off;
	if (n == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(buf, s->in + s->in_off, n);
	s->in_off += n;
	return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
	csf__ws_session *s = user;
	size_t room = s->out.max - 1 - s->out.len;

	(void)flags;
	if (room == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > room)
		len = room;
	if (csf__buf_put(&s->out, (const char *)data, len) != 0) {
		s->oom = 1;
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
	(void)ctx;
	(void)user;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void on_frame_start(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_start_arg *arg,
			   void *user)
{
	csf__ws_session *s = user;

	(void)ctx;
	(void)arg;
	s->heard = 1;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	static const uint8_t empty[1];
	csf__ws_session *s = user;

	if (arg->opcode == (s->text ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME)) {
		int rc;

		/* After a server's close frame the peer's data is of no use; a
		 * client's close is its half-close, and the server's answers
		 * still count until the server's own close frame (RFC 6455 5.5.1). */
		if ((s->closing && (s->server || s->failed)) || !s->cb.on_message)
			return;
		rc = s->cb.on_message(s->payload, arg->msg ? arg->msg : empty, arg->msg_length);
		if (rc) {
			uint16_t code = (uint16_t)(close_code_ok(rc) ? rc : CSF__WS_CLOSE_INTERNAL);

			wslay_event_queue_close(ctx, code, NULL, 0);
			s->closing = 1;
		}
	} else if (arg->opcode == WSLAY_CONNECTION_CLOSE && s->cb.on_close) {
		char reason[124] = "";
		size_t n = arg->msg_length > 2 ? arg->msg_length - 2 : 0;

		if (n >= sizeof(reason))
			n = sizeof(reason) - 1;
		if (n)
			memcpy(reason, arg->msg + 2, n);
		reason[n] = '\0';
		s->cb.on_close(s->payload, arg->status_code ? arg->status_code : 1005, reason);
	}
}

int csf__ws_session_new(csf__ws_session **out, int server, size_t max_message,
			const csf__ws_callbacks *cb, void *payload)
{
	struct wslay_event_callbacks wcb = { recv_cb, send_cb, genmask_cb, on_frame_start, NULL, NULL, on_msg };
	csf__ws_session *s;
	int rc;

	if (!out)
		return csf__misuse("csf__ws_session_new: out is NULL");
	*out = NULL;
	s = csf__calloc(1, sizeof(*s));
	if (!s)
		return CSF_ENOMEM;
	s->server = server != 0;
	s->max_message = max_message ? max_message : WS_DEFAULT_MAX_MESSAGE;
	if (s->max_message > (SIZE_MAX - WS_OUTPUT_SLACK) / 2)
		s->max_message = (SIZE_MAX - WS_OUTPUT_SLACK) / 2;
	if (cb)
		s->cb = *cb;
	s->payload = payload;
	s->out = (csf__buf)CSF__BUF_INIT(WS_OUTPUT_SLACK + 2 * s->max_message);
	rc = s->server ? wslay_event_context_server_init(&s->ctx, &wcb, s)
		       : wslay_event_context_client_init(&s->ctx, &wcb, s);
	if (rc) {
		csf__free(s);
		return csf__error_set(CSF_ENOMEM, "websocket: cannot create a session");
	}
	wslay_event_config_set_max_recv_msg_length(s->ctx, s->max_message);
	*out = s;
	return 0;
}

void csf__ws_session_set_text(csf__ws_session *s, int text)
{
	s->text = text != 0;
}

void csf__ws_session_free(csf__ws_session *s)
{
	if (!s)
		return;
	wslay_event_context_free(s->ctx);
	csf__buf_free(&s->out);
	csf__free(s);
}

size_t csf__ws_session_queued(const csf__ws_session *s)
{
	if (!s)
		return 0;
	/* Once the close frame is out wslay sends nothing more, and its count
	 * still holds the control frames it dropped for the close. */
	if (!wslay_event_get_write_enabled(s->ctx))
		return s->out.len - s->out_off;
	return s->out.len - s->out_off + wslay_event_get_queued_msg_length(s->ctx);
}

/* Move what wslay has to send into the output buffer. */
static int flush(csf__ws_session *s)
{
	int rc;

	if (s->in_recv)
		return 0;
	if (s->out_off && s->out_off >= s->out.len - s->out_off) {
		memmove(s->out.ptr, s->out.ptr + s->out_off, s->out.len - s->out_off);
		s->out.len -= s->out_off;
		s->out.ptr[s->out.len] = '\0';
		s->out_off = 0;
	}
	rc = wslay_event_send(s->ctx);
	if (!rc && s->close_pending && !s->oom && wslay_event_get_queued_msg_count(s->ctx) == 0) {
		s->close_pending = 0;
		rc = wslay_event_queue_close(s->ctx, s->pending_code, (const uint8_t *)s->pending_reason,
					     strlen(s->pending_reason));
		if (rc == WSLAY_ERR_NO_MORE_MSG)
			rc = 0;
		else if (!rc)
			rc = wslay_event_send(s->ctx);
	}
	if (s->oom)
		return CSF_ENOMEM;
	if (rc == WSLAY_ERR_NOMEM)
		return csf__error_set(CSF_ENOMEM, "websocket: out of memory queueing a frame");
	if (rc)
		return csf__error_set(CSF_ERROR, "websocket: sending failed (wslay error %d)", rc);
	return 0;
}

static int utf8_ok(const uint8_t *p, size_t n)
{
	size_t i = 0, j, k;

	while (i < n) {
		uint32_t cp, min;
		uint8_t c = p[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (n - i <= k)
			return 0;
		for (j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* The peer's close frame: a code it may send and a UTF-8 reason. wslay
 * checks these too, but its UTF-8 check misses bytes when the payload
 * arrives in pieces. */
static int close_payload_ok(csf__ws_session *s, uint16_t *code, char *why, size_t why_cap)
{
	unsigned int c;

	if (s->ctl_len < 2)
		return 1;
	c = (unsigned int)s->ctl[0] << 8 | s->ctl[1];
	if (!close_code_ok(c)) {
		*code = CSF__WS_CLOSE_PROTOCOL_ERROR;
		snprintf(why, why_cap, "close code %u is not one to send", c);
		return 0;
	}
	if (!utf8_ok(s->ctl + 2, s->ctl_len - 2)) {
		*code = CSF__WS_CLOSE_INVALID_DATA;
		snprintf(why, why_cap, "close reason is not UTF-8");
		return 0;
	}
	return 1;
}

/*
 * The frame checker: walk the frame headers in `data` and return how many
 * bytes may go to wslay. A header reaches wslay only once it is whole and
 * valid: one still incomplete at the end stays in s->hdr, and `*carried_ok`
 * says that the one carried over from the previous feeds was completed and
 * goes first. At a violation, `*code` and `why` say how to close. After a
 * close frame nothing more is passed on.
 */
static size_t check_frames(csf__ws_session *s, const uint8_t *data, size_t len, uint16_t *code, char *why,
			   size_t why_cap, int *carried_ok)
{
	size_t i = 0, start = 0;
	int carried = s->hdr_len > 0;

	*code = 0;
	*carried_ok = 0;
	while (i < len) {
		const uint8_t *h = s->hdr;
		size_t need;
		uint64_t plen;
		int fin, op, masked;

		if (s->payload_left) {
			uint64_t take = len - i < s->payload_left ? len - i : s->payload_left;
			size_t from = i, k;

			if (s->in_close)
				for (k = 0; k < take; k++, s->ctl_len++)
					s->ctl[s->ctl_len] = data[i + k] ^ s->mkey[s->ctl_len % 4];
			i += (size_t)take;
			s->payload_left -= take;
			if (!s->payload_left && s->in_close) {
				/* The rest of a bad close frame never reaches wslay. */
				if (!close_payload_ok(s, code, why, why_cap))
					return from;
				s->stopped = 1;
				return i;
			}
			continue;
		}
		if (s->hdr_len == 0) {
			start = i;
			carried = 0;
		}
		s->hdr[s->hdr_len++] = data[i++];
		need = 2;
		if (s->hdr_len >= 2)
			need += ((h[1] & 0x7f) == 126 ? 2 : (h[1] & 0x7f) == 127 ? 8 : 0) + (h[1] & 0x80 ? 4 : 0);
		if (s->hdr_len < need)
			continue;
		s->hdr_len = 0;
		fin = h[0] & 0x80;
		op = h[0] & 0x0f;
		masked = h[1] & 0x80;
		plen = h[1] & 0x7f;
		*code = CSF__WS_CLOSE_PROTOCOL_ERROR;
		if (plen == 126) {
			plen = (uint64_t)h[2] << 8 | h[3];
			if (plen < 126) {
				snprintf(why, why_cap, "frame length not in its shortest form");
				return carried ? 0 : start;
			}
		} else if (plen == 127) {
			size_t k;

			for (plen = 0, k = 2; k < 10; k++)
				plen = plen << 8 | h[k];
			if (plen >> 63 || plen < 65536) {
				snprintf(why, why_cap, "frame length over 2^63 or not in its shortest form");
				return carried ? 0 : start;
			}
		}
		if (h[0] & 0x70) {
			snprintf(why, why_cap, "reserved bits set, but no extension was agreed");
			return carried ? 0 : start;
		}
		if (s->server && !masked) {
			snprintf(why, why_cap, "unmasked frame from the client");
			return carried ? 0 : start;
		}
		if (!s->server && masked) {
			snprintf(why, why_cap, "masked frame from the server");
			return carried ? 0 : start;
		}
		switch (op) {
		case WSLAY_CONNECTION_CLOSE:
		case WSLAY_PING:
		case WSLAY_PONG:
			if (!fin) {
				snprintf(why, why_cap, "fragmented control frame");
				return carried ? 0 : start;
			}
			if (plen > 125) {
				snprintf(why, why_cap, "control frame of %llu bytes (at most 125)",
					 (unsigned long long)plen);
				return carried ? 0 : start;
			}
			if (op == WSLAY_CONNECTION_CLOSE && plen == 1) {
				snprintf(why, why_cap, "close frame with a 1-byte payload");
				return carried ? 0 : start;
			}
			break;
		case WSLAY_CONTINUATION_FRAME:
			if (!s->fragmented) {
				snprintf(why, why_cap, "continuation frame without a message to continue");
				return carried ? 0 : start;
			}
			s->msg_len += plen;
			break;
		case WSLAY_TEXT_FRAME:
		case WSLAY_BINARY_FRAME:
			if (s->fragmented) {
				snprintf(why, why_cap, "new message before the end of a fragmented one");
				return carried ? 0 : start;
			}
			if (op == WSLAY_TEXT_FRAME && !s->text) {
				*code = CSF__WS_CLOSE_UNSUPPORTED;
				snprintf(why, why_cap, "text messages are not supported");
				return carried ? 0 : start;
			}
			s->msg_len = plen;
			break;
		default:
			snprintf(why, why_cap, "unknown opcode 0x%x", (unsigned)op);
			return carried ? 0 : start;
		}
		if (op == WSLAY_CONTINUATION_FRAME || op == WSLAY_BINARY_FRAME || op == WSLAY_TEXT_FRAME) {
			if (s->msg_len > s->max_message) {
				*code = CSF__WS_CLOSE_TOO_BIG;
				snprintf(why, why_cap, "message of %llu bytes or more (limit %zu)",
					 (unsigned long long)s->msg_len, s->max_message);
				return carried ? 0 : start;
			}
			s->fragmented = !fin;
		}
		*code = 0;
		*carried_ok |= carried;
		carried = 0;
		s->payload_left = plen;
		s->in_close = op == WSLAY_CONNECTION_CLOSE;
		s->ctl_len = 0;
		if (masked)
			memcpy(s->mkey, h + need - 4, 4);
		else
			memset(s->mkey, 0, 4);
		if (!plen && s->in_close) {
			s->stopped = 1;
			return i;
		}
	}
	if (s->hdr_len)
		return carried ? 0 : start;
	return i;
}

int csf__ws_session_feed(csf__ws_session *s, const uint8_t *data, size_t len)
{
	char why[96] = "";
	uint8_t held[sizeof(s->hdr)];
	size_t ok, held_len;
	int rc, carried_ok;
	uint16_t code;

	if (!s || (!data && len))
		return csf__misuse("csf__ws_session_feed: session and data are required");
	if (s->stopped || !wslay_event_get_read_enabled(s->ctx))
		return 0;
	if (csf__ws_session_queued(s) > s->out.max)
		return csf__error_set(CSF_ELIMIT, "websocket: %zu bytes wait for the peer; take the output first",
				      csf__ws_session_queued(s));
	held_len = s->hdr_len;
	memcpy(held, s->hdr, held_len);
	ok = check_frames(s, data, len, &code, why, sizeof(why), &carried_ok);
	s->pre = held;
	s->pre_len = carried_ok ? held_len : 0;
	s->in = data;
	s->in_len = ok;
	s->in_off = 0;
	s->in_recv = 1;
	rc = wslay_event_recv(s->ctx);
	s->in_recv = 0;
	s->pre = s->in = NULL;
	s->pre_len = s->in_len = s->in_off = 0;
	if (rc) {
		s->stopped = s->failed = 1;
		flush(s);
		if (rc == WSLAY_ERR_NOMEM)
			return csf__error_set(CSF_ENOMEM, "websocket: out of memory reading a message");
		return csf__error_set(CSF_EPARSE, "websocket: reading failed (wslay error %d)", rc);
	}
	if (code && wslay_event_get_read_enabled(s->ctx)) {
		s->stopped = s->failed = 1;
		wslay_event_queue_close(s->ctx, code, (const uint8_t *)why, strlen(why));
		wslay_event_shutdown_read(s->ctx);
		s->closing = 1;
		if ((rc = flush(s)) != 0)
			return rc;
		return csf__error_set(CSF_EPARSE, "websocket: %s (closing with %u)", why, code);
	}
	if (!wslay_event_get_read_enabled(s->ctx) && !wslay_event_get_close_received(s->ctx)) {
		/* wslay refused a close frame (its code or its reason). */
		s->stopped = s->failed = 1;
		if ((rc = flush(s)) != 0)
			return rc;
		return csf__error_set(CSF_EPARSE, "websocket: invalid close frame from the peer (closing with %u)",
				      wslay_event_get_status_code_sent(s->ctx));
	}
	if (wslay_event_get_close_received(s->ctx))
		s->stopped = 1;
	return flush(s);
}

static int may_queue(csf__ws_session *s)
{
	if (s->closing || !wslay_event_get_write_enabled(s->ctx) || wslay_event_get_close_received(s->ctx))
		return csf__error_set(CSF_EINVALID, "websocket: the session is closing");
	if (csf__ws_session_queued(s) > s->out.max)
		return csf__error_set(CSF_ELIMIT, "websocket: %zu bytes already wait for the peer",
				      csf__ws_session_queued(s));
	return 0;
}

static int queue(csf__ws_session *s, uint8_t opcode, const uint8_t *data, size_t len)
{
	struct wslay_event_msg msg = { opcode, data, len };
	int rc = may_queue(s);

	if (rc)
		return rc;
	rc = wslay_event_queue_msg(s->ctx, &msg);
	if (rc == WSLAY_ERR_NOMEM)
		return csf__error_set(CSF_ENOMEM, "websocket: out of memory queueing a message");
	if (rc)
		return csf__error_set(CSF_EINVALID, "websocket: cannot queue a message (wslay error %d)", rc);
	return flush(s);
}

int csf__ws_session_send(csf__ws_session *s, const uint8_t *data, size_t len)
{
	if (!s || (!data && len))
		return csf__misuse("csf__ws_session_send: session and data are required");
	return queue(s, s->text ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME, data, len);
}

int csf__ws_session_ping(csf__ws_session *s)
{
	if (!s)
		return csf__misuse("csf__ws_session_ping: session is NULL");
	return queue(s, WSLAY_PING, NULL, 0);
}

int csf__ws_session_close(csf__ws_session *s, uint16_t code, const char *reason)
{
	size_t rlen = reason ? strlen(reason) : 0;
	int rc;

	if (!s)
		return csf__misuse("csf__ws_session_close: session is NULL");
	if (!close_code_ok(code))
		return csf__error_set(CSF_EINVALID, "websocket: %u is not a close code to send", code);
	if (rlen > 123)
		return csf__error_set(CSF_EINVALID, "websocket: close reason longer than 123 bytes");
	if (s->closing)
		return 0;
	if (wslay_event_get_queued_msg_count(s->ctx) > 0) {
		s->close_pending = 1;
		s->pending_code = code;
		memcpy(s->pending_reason, reason ? reason : "", rlen + 1);
		s->closing = 1;
		return flush(s);
	}
	rc = wslay_event_queue_close(s->ctx, code, (const uint8_t *)reason, rlen);
	if (rc == WSLAY_ERR_NO_MORE_MSG)
		return 0;
	if (rc)
		return csf__error_set(CSF_ENOMEM, "websocket: cannot queue the close frame (wslay error %d)", rc);
	s->closing = 1;
	return flush(s);
}

int csf__ws_session_output(csf__ws_session *s, csf__buf *out, size_t max)
{
	size_t moved = 0;
	int rc;

	if (!s || !out)
		return csf__misuse("csf__ws_session_output: session and out are required");
	for (;;) {
		size_t avail, room, n;

		if ((rc = flush(s)) != 0)
			return rc;
		avail = s->out.len - s->out_off;
		room = out->max > out->len + 1 ? out->max - out->len - 1 : 0;
		n = avail < room ? avail : room;
		if (max && n > max - moved)
			n = max - moved;
		if (n == 0)
			return 0;
		if ((rc = csf__buf_put(out, s->out.ptr + s->out_off, n)) != 0)
			return rc;
		s->out_off += n;
		moved += n;
		if (s->out_off == s->out.len) {
			/* Drained: a buffer a burst made large is not kept. */
			if (s->out.cap > WS_OUTPUT_KEEP)
				csf__buf_free(&s->out);
			s->out.len = s->out_off = 0;
		}
	}
}

int csf__ws_session_done(const csf__ws_session *s)
{
	if (!s)
		return 1;
	return wslay_event_get_close_sent(s->ctx) &&
	       (wslay_event_get_close_received(s->ctx) || !wslay_event_get_read_enabled(s->ctx));
}

int csf__ws_session_heard(csf__ws_session *s)
{
	int heard;

	if (!s)
		return 0;
	heard = s->heard;
	s->heard = 0;
	return heard;
}
