/*
 * libFuzzer target for the protocol's messages: the input is decoded as an
 * AgentMessage, a ServerMessage, a RegisterAgentRequest and a
 * RegisterAgentResponse with the typed decoders. What decodes is encoded,
 * decoded again and encoded again: both encodings must be equal. The
 * generic decoder must agree with the typed one on the wire format, and an
 * AgentMessage decoded into an arena must be the one decoded on the heap.
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
	if (desc == &csf__v1__agent_message__descriptor)
		same_in_arena(rc, m, data, size);
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
