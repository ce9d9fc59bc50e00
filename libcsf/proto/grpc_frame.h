/*
 * gRPC's Length-Prefixed-Message framing, sans-I/O: a 1-byte compressed
 * flag, a 4-byte big-endian length, the message. DATA frames do not align
 * with messages, so a deframer reassembles them across feeds.
 */
#ifndef CSF_PROTO_GRPC_FRAME_H
#define CSF_PROTO_GRPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

#define CSF__GRPC_FRAME_HEADER 5
/* gRPC's default limit for one received message; a peer over it gets
 * RESOURCE_EXHAUSTED. */
#define CSF__GRPC_MAX_MESSAGE_DEFAULT ((size_t)4 << 20)

typedef struct csf__grpc_deframer {
	uint8_t header[CSF__GRPC_FRAME_HEADER];
	size_t header_len;   /* bytes of the header seen */
	uint8_t *msg;        /* partial message, when it spans feeds */
	size_t msg_len;      /* its announced length */
	size_t msg_have;     /* bytes of it seen */
	size_t max_message;
} csf__grpc_deframer;

typedef int (*csf__grpc_message_cb)(void *payload, const uint8_t *msg, size_t len);

/* max_message 0 means CSF__GRPC_MAX_MESSAGE_DEFAULT. A partial message is
 * buffered in memory that grows with the bytes received, up to its length. */
void csf__grpc_deframer_init(csf__grpc_deframer *d, size_t max_message);

/*
 * Feed bytes; `cb` runs once per complete message (without copying when a
 * message lies whole inside `data`). Returns 0, or:
 *   CSF_ELIMIT       a message announced more than max_message bytes
 *                    (answer RESOURCE_EXHAUSTED);
 *   CSF_EUNSUPPORTED the compressed flag is 1 (we accept only identity);
 *   CSF_EPARSE       the flag byte is neither 0 nor 1;
 *   the callback's non-zero value, passed back unchanged.
 * After an error the deframer accepts no more input.
 */
int csf__grpc_deframer_feed(csf__grpc_deframer *d, const uint8_t *data, size_t len,
			    csf__grpc_message_cb cb, void *payload);

/* No partial message is buffered (a stream may end cleanly here); 0 after
 * an error. */
int csf__grpc_deframer_idle(const csf__grpc_deframer *d);

void csf__grpc_deframer_free(csf__grpc_deframer *d);

/* Write the 5-byte header of an uncompressed message of `len` bytes.
 * CSF_ELIMIT when len does not fit in 32 bits. */
int csf__grpc_frame_header(uint8_t out[CSF__GRPC_FRAME_HEADER], size_t len);

#endif
