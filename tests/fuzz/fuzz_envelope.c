/*
 * libFuzzer target for the protocol's messages: the input is decoded as an
 * AgentMessage, a ServerMessage, a RegisterAgentRequest and a
 * RegisterAgentResponse with the typed decoders. What decodes is encoded,
 * decoded again and encoded again: both encodings must be equal. The
 * generic decoder must agree with the typed one on the wire format, and an
 * AgentMessage decoded into an arena must be the one decoded on the heap.
 * The server's decoder (csf__pb_agent_message_decode_ingest) must fail as
 * the full one does, or pass where only the full one ran out of memory
 * budget, and give every field the server reads the full decode's value.
 */
#include <stdint.h>
#include <string.h>

#include "proto/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*decode_fn)(ProtobufCMessage **out, const uint8_t *data, size_t len);

static int agent(ProtobufCMessage **out, const uint8_t *data, size_t len)
{
	return csf__pb_agent_message_decode((Csf__V1__AgentMessage **)out, data, len);
}

static int server(ProtobufCMessage **out, const uint8_t *data, size_t len)
{
	return csf__pb_server_message_decode((Csf__V1__ServerMessage **)out, data, len);
}

static int request(ProtobufCMessage **out, const uint8_t *data, size_t len)
{
	return csf__pb_register_request_decode((Csf__V1__RegisterAgentRequest **)out, data, len);
}

static int response(ProtobufCMessage **out, const uint8_t *data, size_t len)
{
	return csf__pb_register_response_decode((Csf__V1__RegisterAgentResponse **)out, data, len);
}

static const struct {
	const ProtobufCMessageDescriptor *desc;
	decode_fn decode;
} types[] = {
	{ &csf__v1__agent_message__descriptor, agent },
	{ &csf__v1__server_message__descriptor, server },
	{ &csf__v1__register_agent_request__descriptor, request },
	{ &csf__v1__register_agent_response__descriptor, response },
};

static void same_in_arena(int rc_heap, const ProtobufCMessage *heap, const uint8_t *data, size_t size)
{
	Csf__V1__AgentMessage *m = NULL;
	uint8_t *p1 = NULL, *p2 = NULL;
	size_t n1, n2;
	csf__arena a;
	int rc;

	csf__arena_init(&a, 256);
	rc = csf__pb_agent_message_decode_in(&m, &a, data, size);
	if (rc != rc_heap || (rc == 0) != (m != NULL))
		__builtin_trap();
	if (rc == 0) {
		if (csf__pb_pack(&p1, &n1, heap) != 0 || csf__pb_pack(&p2, &n2, &m->base) != 0)
			__builtin_trap();
		if (n1 != n2 || memcmp(p1, p2, n1) != 0)
			__builtin_trap();
		csf__free(p1);
		csf__free(p2);
	}
	csf__arena_free(&a);
}

#define SAME_BITS(a, b) (memcmp(&(a), &(b), sizeof(a)) == 0) /* NaN included */

static int same_net(const Csf__V1__NetCounters *a, const Csf__V1__NetCounters *b)
{
	return (!a && !b) || (a && b && a->bytes == b->bytes && SAME_BITS(a->bytes_per_sec, b->bytes_per_sec));
}

/* Equal in what the server reads (a full decode `f`, the server's `s`). */
static int same_for_ingest(const Csf__V1__AgentMessage *f, const Csf__V1__AgentMessage *s)
{
	const Csf__V1__MetricsSnapshot *a = f->metrics, *b = s->metrics;
	size_t i;

	if (strcmp(f->agent_id, s->agent_id) || strcmp(f->boot_id, s->boot_id) || f->seq != s->seq ||
	    f->sent_at_ms != s->sent_at_ms || f->body_case != s->body_case)
		return 0;
	if (f->body_case != CSF__V1__AGENT_MESSAGE__BODY_METRICS)
		return 1;
	if (a->timestamp_ms != b->timestamp_ms || !same_net(a->rx_total, b->rx_total) ||
	    !same_net(a->tx_total, b->tx_total) || !a->cpu != !b->cpu || !a->memory != !b->memory ||
	    a->n_filesystems != b->n_filesystems || a->n_custom != b->n_custom)
		return 0;
	if (a->cpu && (!a->cpu->total != !b->cpu->total || !SAME_BITS(a->cpu->load1, b->cpu->load1) ||
		       (a->cpu->total && !SAME_BITS(a->cpu->total->usage, b->cpu->total->usage))))
		return 0;
	if (a->memory && (a->memory->total != b->memory->total || a->memory->used != b->memory->used))
		return 0;
	for (i = 0; i < a->n_filesystems; i++)
		if (a->filesystems[i]->total_bytes != b->filesystems[i]->total_bytes ||
		    a->filesystems[i]->used_bytes != b->filesystems[i]->used_bytes)
			return 0;
	for (i = 0; i < a->n_custom; i++)
		if (strcmp(a->custom[i]->key, b->custom[i]->key) || !SAME_BITS(a->custom[i]->value, b->custom[i]->value))
			return 0;
	return 1;
}

static void same_for_server(int rc_full, const ProtobufCMessage *full, const uint8_t *data, size_t size)
{
	Csf__V1__AgentMessage *m = NULL;
	csf__arena a;
	int rc;

	csf__arena_init(&a, 256);
	rc = csf__pb_agent_message_decode_ingest(&m, &a, data, size);
	if ((rc == 0) != (m != NULL))
		__builtin_trap();
	if (rc != rc_full && !(rc == 0 && rc_full == CSF_ELIMIT))
		__builtin_trap();
	if (rc == 0 && rc_full == 0 && !same_for_ingest((const Csf__V1__AgentMessage *)full, m))
		__builtin_trap();
	csf__arena_free(&a);
}

static void one(const ProtobufCMessageDescriptor *desc, decode_fn decode, const uint8_t *data, size_t size)
{
	ProtobufCMessage *m = NULL, *g = NULL, *again = NULL;
	uint8_t *p1 = NULL, *p2 = NULL;
	size_t n1, n2;
	int rc = decode(&m, data, size);
	int rc_generic = csf__pb_unpack(&g, desc, data, size);

	if (rc != 0 && (m != NULL || csf_error_last()->message[0] == '\0'))
		__builtin_trap();
	if (rc != 0 && rc != CSF_EPARSE && rc != CSF_ELIMIT && rc != CSF_ENOMEM)
		__builtin_trap();
	/* the typed decoder only adds checks */
	if (rc == 0 && rc_generic != 0)
		__builtin_trap();
	if (rc_generic == CSF_EPARSE && rc == 0)
		__builtin_trap();
	csf__pb_free(g);
	if (desc == &csf__v1__agent_message__descriptor) {
		same_in_arena(rc, m, data, size);
		same_for_server(rc, m, data, size);
	}
	if (rc != 0)
		return;
	if (csf__pb_pack(&p1, &n1, m) != 0)
		__builtin_trap();
	if (decode(&again, p1, n1) != 0)
		__builtin_trap();
	if (csf__pb_pack(&p2, &n2, again) != 0)
		__builtin_trap();
	if (n1 != n2 || memcmp(p1, p2, n1) != 0)
		__builtin_trap();
	csf__free(p1);
	csf__free(p2);
	csf__pb_free(again);
	csf__pb_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		one(types[i].desc, types[i].decode, data, size);
	csf_error_clear();
	return 0;
}
