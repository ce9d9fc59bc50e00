/* gRPC Length-Prefixed-Message framing: a deframer that reassembles messages
 * across feeds, and the header writer. */
#include <string.h>

#include "proto/grpc_frame.h"

/* header_len holds this once the deframer failed: no input is accepted. */
#define FAILED SIZE_MAX

void csf__grpc_deframer_init(csf__grpc_deframer *d, size_t max_message)
{
	memset(d, 0, sizeof(*d));
	d->max_message = max_message ? max_message : CSF__GRPC_MAX_MESSAGE_DEFAULT;
}

static int fail(csf__grpc_deframer *d, int rc)
{
	csf__free(d->msg);
	d->msg = NULL;
	d->header_len = FAILED;
	return rc;
}

/* The header is complete: check it and expect the message. */
static int start_message(csf__grpc_deframer *d)
{
	uint8_t flag = d->header[0];
	size_t len = (size_t)d->header[1] << 24 | (size_t)d->header[2] << 16 |
		     (size_t)d->header[3] << 8 | d->header[4];

	if (flag == 1)
		return csf__error_set(CSF_EUNSUPPORTED,
				      "grpc: compressed message, but only identity encoding is accepted");
	if (flag != 0)
		return csf__error_set(CSF_EPARSE, "grpc: bad compressed flag 0x%02x", flag);
	if (len > d->max_message)
		return csf__error_set(CSF_ELIMIT, "grpc: message of %zu bytes is larger than the limit of %zu",
				      len, d->max_message);
	d->msg_len = len;
	d->msg_have = 0;
	return 0;
}

/*
 * The size of the buffer that holds `have` bytes of a partial message: it
 * grows with what arrived (doubling from 4 KiB), not with what the header
 * announced, so a peer that announces large messages and sends little costs
 * little. A function of msg_have alone, so the struct needs no capacity.
 */
static size_t room(const csf__grpc_deframer *d, size_t have)
{
	size_t n = 4096;

	while (n < have && n < d->msg_len)
		n *= 2;
	return n < d->msg_len ? n : d->msg_len;
}

/* Hand a message to the callback and expect the next header. */
static int deliver(csf__grpc_deframer *d, const uint8_t *msg, csf__grpc_message_cb cb, void *payload)
{
	size_t len = d->msg_len;
	int rc;

	d->header_len = 0;
	d->msg_len = 0;
	d->msg_have = 0;
	rc = cb(payload, msg, len);
	csf__free(d->msg);
	d->msg = NULL;
	return rc;
}

int csf__grpc_deframer_feed(csf__grpc_deframer *d, const uint8_t *data, size_t len,
			    csf__grpc_message_cb cb, void *payload)
{
	int rc;

	if (!d || !cb || (!data && len))
		return csf__misuse("grpc deframer: NULL argument");
	if (d->header_len == FAILED)
		return csf__error_set(CSF_EINVALID, "grpc deframer: input after an error");
	while (len > 0 || (d->header_len == CSF__GRPC_FRAME_HEADER && d->msg_len == 0)) {
		size_t n;

		if (d->header_len < CSF__GRPC_FRAME_HEADER) {
			n = CSF__GRPC_FRAME_HEADER - d->header_len;
			if (n > len)
				n = len;
			memcpy(d->header + d->header_len, data, n);
			d->header_len += n;
			data += n;
			len -= n;
			if (d->header_len == CSF__GRPC_FRAME_HEADER && (rc = start_message(d)) != 0)
				return fail(d, rc);
			continue;
		}
		if (d->msg_have == 0 && len >= d->msg_len) {
			/* The whole message is in this feed: no copy. An empty
			 * message points at the header, never at NULL. */
			const uint8_t *msg = d->msg_len ? data : d->header;

			data += d->msg_len;
			len -= d->msg_len;
			if ((rc = deliver(d, msg, cb, payload)) != 0)
				return fail(d, rc);
			continue;
		}
		n = d->msg_len - d->msg_have;
		if (n > len)
			n = len;
		if (!d->msg || room(d, d->msg_have) < d->msg_have + n) {
			uint8_t *p = csf__realloc(d->msg, room(d, d->msg_have + n));

			if (!p)
				return fail(d, CSF_ENOMEM);
			d->msg = p;
		}
		memcpy(d->msg + d->msg_have, data, n);
		d->msg_have += n;
		data += n;
		len -= n;
		if (d->msg_have == d->msg_len && (rc = deliver(d, d->msg, cb, payload)) != 0)
			return fail(d, rc);
	}
	return 0;
}

int csf__grpc_deframer_idle(const csf__grpc_deframer *d)
{
	return d->header_len == 0;
}

void csf__grpc_deframer_free(csf__grpc_deframer *d)
{
	if (!d)
		return;
	csf__free(d->msg);
	d->msg = NULL;
	d->header_len = 0;
	d->msg_len = 0;
	d->msg_have = 0;
}

int csf__grpc_frame_header(uint8_t out[CSF__GRPC_FRAME_HEADER], size_t len)
{
	if (len > UINT32_MAX)
		return csf__error_set(CSF_ELIMIT, "grpc: a message of %zu bytes does not fit the 32-bit length", len);
	out[0] = 0;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
	return 0;
}
