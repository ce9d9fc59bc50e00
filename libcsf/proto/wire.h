/*
 * What the two decoders share: the generic one (envelope.c) and the one
 * that builds only what ingest reads (ingest_decode.c). Private to
 * libcsf/proto.
 */
#ifndef CSF_PROTO_WIRE_H
#define CSF_PROTO_WIRE_H

#include "proto/envelope.h"

/* The schema has no recursive message; this only guards later versions. */
#define DEPTH_MAX 32
/* protobuf-c counts lengths in 32 bits. */
#define INPUT_MAX ((size_t)INT32_MAX)
/* A decode may allocate this many times its input, plus DECODE_SLACK: about
 * four times what a real message needs, but a crafted one (thousands of
 * empty sub-messages, 2 bytes each on the wire, 50 to 200 in memory) is
 * stopped. */
#define DECODE_AMPLIFICATION 64
#define DECODE_SLACK (64 * 1024)

/* A decode's allocations: counted against `left`, from `arena` (NULL:
 * csf__malloc). */
typedef struct csf__pb_budget {
	size_t left;
	int over;   /* the budget ran out */
	int oom;    /* the allocator failed */
	csf__arena *arena;
} csf__pb_budget;

/* `size` bytes of the budget `data` (a csf__pb_budget, or NULL: no limit);
 * NULL when it ran out (over) or the allocator failed (oom). */
void *csf__pb_budget_alloc(void *data, size_t size);

/* What the schema cannot say of an AgentMessage (ids, a body): 0 or
 * CSF_EPARSE with the reason. */
int csf__pb_check_agent_message(const ProtobufCMessage *msg);

/* A varint at *p (advanced past it): 1, or 0 when it is cut short or runs
 * past 64 bits. */
static inline int csf__pb_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift;

	for (shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (*p == end)
			return 0;
		b = *(*p)++;
		if (shift == 63 && b > 1)
			return 0; /* more than 64 bits */
		v |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 1;
		}
	}
	return 0;
}

/* The wire type a field of `type` has when it is not packed. */
static inline unsigned csf__pb_wire_type_of(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return PROTOBUF_C_WIRE_TYPE_32BIT;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return PROTOBUF_C_WIRE_TYPE_64BIT;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
	default:
		return PROTOBUF_C_WIRE_TYPE_VARINT;
	}
}

#endif
