/*
 * libFuzzer target for WebSocket framing: the input after its first byte is
 * fed as the peer's bytes to a server session and then to a client session,
 * in pieces whose size the first byte picks. Between pieces each session's
 * output is drained (sometimes in small bites), and now and then it sends a
 * message or a ping of its own, as an application would.
 */
#include <stdint.h>
#include <string.h>

#include "net/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t messages, bytes;
	int closes;
};

static int on_message(void *payload, const uint8_t *data, size_t len)
{
	struct seen *s = payload;

	if (!data || len > 4096)
		__builtin_trap();
	s->messages++;
	s->bytes += len;
	/* Some messages make the application close. */
	if (len == 13)
		return 4013;
	if (len == 17)
		return CSF_EUSER;
	return 0;
}

static void on_close(void *payload, uint16_t code, const char *reason)
{
	struct seen *s = payload;

	if (!reason || strlen(reason) > 123 || code < 1000 || code > 4999)
		__builtin_trap();
	s->closes++;
}

static void session(int server, const uint8_t *data, size_t size, uint8_t mode)
{
	static const csf__ws_callbacks cb = { on_message, on_close };
	csf__buf out = CSF__BUF_INIT(1 << 20);
	size_t step = mode & 0x80 ? size + 1 : (size_t)(mode & 0x1f) + 1, off = 0, round = 0;
	struct seen seen = { 0, 0, 0 };
	csf__ws_session *s = NULL;
	int failed = 0;

	if (csf__ws_session_new(&s, server, 4096, &cb, &seen) != 0)
		return;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		int rc = csf__ws_session_feed(s, data + off, n);

		off += n;
		if (rc && rc != CSF_EPARSE && rc != CSF_ENOMEM && rc != CSF_ELIMIT)
			__builtin_trap();
		if (rc == CSF_EPARSE) {
			failed = 1;
			/* A refused stream ends the session's reading. */
			if (csf__ws_session_output(s, &out, 0) || !csf__ws_session_done(s))
				__builtin_trap();
		}
		if ((mode & 0x40) && ++round % 3 == 0) {
			uint8_t msg[40];

			memset(msg, 'm', sizeof(msg));
			(void)csf__ws_session_send(s, msg, round % sizeof(msg));
			(void)csf__ws_session_ping(s);
		}
		csf__buf_clear(&out);
		if (csf__ws_session_output(s, &out, mode & 0x20 ? 5 : 0) != 0)
			__builtin_trap();
	}
	csf__buf_clear(&out);
	if (csf__ws_session_output(s, &out, 0) != 0 || csf__ws_session_queued(s) != 0)
		__builtin_trap();
	if (failed && !csf__ws_session_done(s))
		__builtin_trap();
	(void)csf__ws_session_heard(s);
	(void)csf__ws_session_close(s, 1000, "done");
	csf__ws_session_free(s);
	csf__buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	session(1, data + 1, size - 1, data[0]);
	session(0, data + 1, size - 1, data[0]);
	csf_error_clear();
	return 0;
}
