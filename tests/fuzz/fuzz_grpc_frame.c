/*
 * libFuzzer target for the gRPC deframer. The input drives both the bytes
 * and how they are cut between feeds:
 *   byte 0: bits 0-1 pick the limit (default 4 MiB, 1, 16, 300 bytes); bit 2
 *           makes the callback fail at message (bits 3-7);
 *   byte 1: bits 0-3 count the feed sizes that follow (0: one feed);
 *   then that many feed sizes (bytes, used in turn; 0 is an empty feed; all
 *   0 means one feed);
 *   the rest is the stream.
 * The messages delivered, their lengths and the error must be what a
 * one-pass reference parse of the whole stream gives.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/grpc_frame.h"

#define CB_FAIL 12345

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct sink {
	uint8_t *data; /* the messages, concatenated */
	size_t len;
	size_t *lens;
	size_t n;
	size_t fail_at; /* SIZE_MAX: never */
} sink;

static int on_msg(void *payload, const uint8_t *msg, size_t len)
{
	sink *s = payload;

	if (s->n == s->fail_at)
		return CB_FAIL;
	memcpy(s->data + s->len, msg, len);
	s->len += len;
	s->lens[s->n++] = len;
	return 0;
}

/* The whole stream at once, by the book. Returns the error and sets *end
 * to where parsing stopped. */
static int reference(sink *s, const uint8_t *p, size_t n, size_t max, size_t *end)
{
	size_t pos = 0;

	while (n - pos >= CSF__GRPC_FRAME_HEADER) {
		size_t len = (size_t)p[pos + 1] << 24 | (size_t)p[pos + 2] << 16 |
			     (size_t)p[pos + 3] << 8 | p[pos + 4];

		if (p[pos] == 1)
			return *end = pos, CSF_EUNSUPPORTED;
		if (p[pos] != 0)
			return *end = pos, CSF_EPARSE;
		if (len > max)
			return *end = pos, CSF_ELIMIT;
		if (n - pos - CSF__GRPC_FRAME_HEADER < len)
			break;
		if (on_msg(s, p + pos + CSF__GRPC_FRAME_HEADER, len))
			return *end = pos, CB_FAIL;
		pos += CSF__GRPC_FRAME_HEADER + len;
	}
	*end = pos;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = { 0, 1, 16, 300 };
	csf__grpc_deframer d;
	sink want = { 0 }, got = { 0 };
	const uint8_t *cuts, *stream;
	size_t ncuts, n, max, pos, i, end;
	int want_rc, rc = 0;

	if (size < 2)
		return 0;
	max = limits[data[0] & 3];
	ncuts = data[1] & 15;
	if (size < 2 + ncuts)
		return 0;
	cuts = data + 2;
	stream = cuts + ncuts;
	n = size - 2 - ncuts;
	for (i = 0; i < ncuts && cuts[i] == 0; i++)
		;
	if (i == ncuts)
		ncuts = 0;

	want.data = malloc(n + 1);
	got.data = malloc(n + 1);
	want.lens = malloc((n / CSF__GRPC_FRAME_HEADER + 1) * sizeof(size_t));
	got.lens = malloc((n / CSF__GRPC_FRAME_HEADER + 1) * sizeof(size_t));
	if (!want.data || !got.data || !want.lens || !got.lens)
		abort();
	want.fail_at = got.fail_at = (data[0] & 4) ? (size_t)(data[0] >> 3) : SIZE_MAX;

	csf__grpc_deframer_init(&d, max);
	if (max == 0)
		max = CSF__GRPC_MAX_MESSAGE_DEFAULT;
	want_rc = reference(&want, stream, n, max, &end);

	for (pos = 0, i = 0; pos < n && rc == 0; i++) {
		size_t k = ncuts ? cuts[i % ncuts] : n;

		if (k > n - pos)
			k = n - pos;
		rc = csf__grpc_deframer_feed(&d, stream + pos, k, on_msg, &got);
		pos += k;
	}
	if (rc != want_rc)
		__builtin_trap();
	if (got.n != want.n || got.len != want.len || memcmp(got.data, want.data, got.len) != 0)
		__builtin_trap();
	for (i = 0; i < got.n; i++)
		if (got.lens[i] != want.lens[i])
			__builtin_trap();
	if (rc == 0 && csf__grpc_deframer_idle(&d) != (end == n))
		__builtin_trap();
	if (rc != 0 && csf__grpc_deframer_feed(&d, stream, n, on_msg, &got) != CSF_EINVALID)
		__builtin_trap();
	csf__grpc_deframer_free(&d);
	free(want.data);
	free(got.data);
	free(want.lens);
	free(got.lens);
	csf_error_clear();
	return 0;
}
