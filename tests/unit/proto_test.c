/*
 * proto: the gRPC deframer, the protobuf envelope (decode checks, encode
 * checks, round trips of every message type) and the snapshot mapping.
 * Every test runs on a counting allocator and must free all it allocated;
 * the allocation-failure walks make each allocation fail in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "failalloc.h"

#include "proto/envelope.h"
#include "proto/grpc_frame.h"

#define EQ(a, b) assert_true((a) == (b))

/* ------------------------------------------------------------ allocator */


static int setup(void **state)
{

	(void)state;
	fa.countdown = -1;
	fa.live = 0;
	return csf_allocator_set(&failalloc);
}

static int teardown(void **state)
{
	(void)state;
	if (fa.live != 0)
		fail_msg("%ld allocations leaked", fa.live);
	return csf_allocator_set(NULL);
}

/* ------------------------------------------------------------ deframer */

#define MAX_MSGS 64

typedef struct got {
	uint8_t data[65536];   /* the messages, concatenated */
	size_t len;
	size_t lens[MAX_MSGS];
	const uint8_t *ptrs[MAX_MSGS];
	size_t n;
	size_t fail_at;        /* return fail_rc for this message */
	int fail_rc;
} got;

static int on_msg(void *payload, const uint8_t *msg, size_t len)
{
	got *g = payload;

	assert_non_null(msg);
	if (g->n == g->fail_at) {
		g->n++;
		return g->fail_rc;
	}
	assert_true(g->n < MAX_MSGS && g->len + len <= sizeof(g->data));
	memcpy(g->data + g->len, msg, len);
	g->len += len;
	g->ptrs[g->n] = msg;
	g->lens[g->n++] = len;
	return 0;
}

static void got_init(got *g)
{
	memset(g, 0, sizeof(*g));
	g->fail_at = SIZE_MAX;
}

/* A stream of messages of the given lengths with recognizable bytes. */
static size_t make_stream(uint8_t *out, size_t cap, const size_t *lens, size_t n, got *expect)
{
	size_t i, k, len = 0;

	got_init(expect);
	for (i = 0; i < n; i++) {
		assert_true(len + CSF__GRPC_FRAME_HEADER + lens[i] <= cap);
		assert_int_equal(csf__grpc_frame_header(out + len, lens[i]), 0);
		len += CSF__GRPC_FRAME_HEADER;
		for (k = 0; k < lens[i]; k++)
			out[len + k] = (uint8_t)(i * 31 + k * 7 + 1);
		on_msg(expect, out + len, lens[i]);
		len += lens[i];
	}
	return len;
}

static void assert_same(const got *a, const got *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++)
		assert_int_equal(a->lens[i], b->lens[i]);
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->data, b->data, a->len);
}

static void test_deframer_every_split(void **state)
{
	static const size_t lens[] = { 0, 1, 7, 300, 4, 1000, 0, 5 };
	static uint8_t stream[4096];
	csf__grpc_deframer d;
	got expect, g;
	size_t len = make_stream(stream, sizeof(stream), lens, CSF__ARRAY_SIZE(lens), &expect);
	size_t i;

	(void)state;
	for (i = 0; i <= len; i++) {
		got_init(&g);
		csf__grpc_deframer_init(&d, 0);
		assert_int_equal(csf__grpc_deframer_feed(&d, stream, i, on_msg, &g), 0);
		assert_int_equal(csf__grpc_deframer_feed(&d, stream + i, len - i, on_msg, &g), 0);
		assert_true(csf__grpc_deframer_idle(&d));
		assert_same(&g, &expect);
		csf__grpc_deframer_free(&d);
	}
	/* one byte at a time, with empty feeds between */
	got_init(&g);
	csf__grpc_deframer_init(&d, 0);
	for (i = 0; i < len; i++) {
		assert_int_equal(csf__grpc_deframer_feed(&d, stream + i, 1, on_msg, &g), 0);
		assert_int_equal(csf__grpc_deframer_feed(&d, NULL, 0, on_msg, &g), 0);
	}
	assert_true(csf__grpc_deframer_idle(&d));
	assert_same(&g, &expect);
	csf__grpc_deframer_free(&d);
}

static void test_deframer_every_pair_of_splits(void **state)
{
	static const size_t lens[] = { 0, 3, 1, 10, 0 };
	uint8_t stream[64];
	csf__grpc_deframer d;
	got expect, g;
	size_t len = make_stream(stream, sizeof(stream), lens, CSF__ARRAY_SIZE(lens), &expect);
	int boundary[64] = { 1 }; /* a message ends before this offset */
	size_t i, j, at = 0;

	(void)state;
	for (i = 0; i < CSF__ARRAY_SIZE(lens); i++) {
		at += CSF__GRPC_FRAME_HEADER + lens[i];
		boundary[at] = 1;
	}
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			got_init(&g);
			csf__grpc_deframer_init(&d, 16);
			assert_int_equal(csf__grpc_deframer_feed(&d, stream, i, on_msg, &g), 0);
			assert_int_equal(csf__grpc_deframer_feed(&d, stream + i, j - i, on_msg, &g), 0);
			assert_int_equal(csf__grpc_deframer_idle(&d), boundary[j]);
			assert_int_equal(csf__grpc_deframer_feed(&d, stream + j, len - j, on_msg, &g), 0);
			assert_true(csf__grpc_deframer_idle(&d));
			assert_same(&g, &expect);
			csf__grpc_deframer_free(&d);
		}
	}
}

static void test_deframer_idle(void **state)
{
	static const uint8_t two[] = { 0, 0, 0, 0, 2, 'h', 'i' };
	csf__grpc_deframer d;
	got g;
	size_t i;

	(void)state;
	csf__grpc_deframer_init(&d, 0);
	assert_true(csf__grpc_deframer_idle(&d));
	for (i = 1; i < sizeof(two); i++) {
		got_init(&g);
		csf__grpc_deframer_init(&d, 0);
		assert_int_equal(csf__grpc_deframer_feed(&d, two, i, on_msg, &g), 0);
		assert_false(csf__grpc_deframer_idle(&d));
		assert_int_equal(g.n, 0);
		csf__grpc_deframer_free(&d);
	}
}

static void test_deframer_max_message(void **state)
{
	uint8_t stream[300];
	csf__grpc_deframer d;
	got g;
	size_t i;

	(void)state;
	memset(stream, 'x', sizeof(stream));
	/* exactly the maximum: accepted, whole or split */
	for (i = 0; i <= 105; i += 5) {
		got_init(&g);
		csf__grpc_deframer_init(&d, 100);
		csf__grpc_frame_header(stream, 100);
		assert_int_equal(csf__grpc_deframer_feed(&d, stream, i, on_msg, &g), 0);
		assert_int_equal(csf__grpc_deframer_feed(&d, stream + i, 105 - i, on_msg, &g), 0);
		assert_int_equal(g.n, 1);
		assert_int_equal(g.lens[0], 100);
		csf__grpc_deframer_free(&d);
	}
	/* one more: refused as soon as the header is complete */
	got_init(&g);
	csf__grpc_deframer_init(&d, 100);
	csf__grpc_frame_header(stream, 101);
	assert_int_equal(csf__grpc_deframer_feed(&d, stream, 4, on_msg, &g), 0);
	assert_int_equal(csf__grpc_deframer_feed(&d, stream + 4, 1, on_msg, &g), CSF_ELIMIT);
	assert_non_null(strstr(csf_error_last()->message, "101"));
	assert_int_equal(g.n, 0);
	assert_false(csf__grpc_deframer_idle(&d));
	/* and nothing more is accepted */
	assert_int_equal(csf__grpc_deframer_feed(&d, stream, 5, on_msg, &g), CSF_EINVALID);
	csf__grpc_deframer_free(&d);
	/* the largest length the header can carry, with the default limit */
	got_init(&g);
	csf__grpc_deframer_init(&d, 0);
	EQ(d.max_message, CSF__GRPC_MAX_MESSAGE_DEFAULT);
	memcpy(stream, "\0\xff\xff\xff\xff", 5);
	assert_int_equal(csf__grpc_deframer_feed(&d, stream, 5, on_msg, &g), CSF_ELIMIT);
	csf__grpc_deframer_free(&d);
}

static void test_deframer_flags(void **state)
{
	static const struct {
		uint8_t flag;
		int rc;
	} cases[] = { { 1, CSF_EUNSUPPORTED }, { 2, CSF_EPARSE }, { 0x80, CSF_EPARSE }, { 0xff, CSF_EPARSE } };
	uint8_t frame[] = { 0, 0, 0, 0, 1, 'x' };
	csf__grpc_deframer d;
	got g;
	size_t i;

	(void)state;
	for (i = 0; i < CSF__ARRAY_SIZE(cases); i++) {
		got_init(&g);
		csf__grpc_deframer_init(&d, 0);
		frame[0] = cases[i].flag;
		assert_int_equal(csf__grpc_deframer_feed(&d, frame, sizeof(frame), on_msg, &g), cases[i].rc);
		assert_true(csf_error_last()->message[0] != '\0');
		assert_int_equal(g.n, 0);
		csf__grpc_deframer_free(&d);
	}
}

static void test_deframer_callback_error(void **state)
{
	static const size_t lens[] = { 2, 3, 4 };
	uint8_t stream[64];
	csf__grpc_deframer d;
	got expect, g;
	size_t len = make_stream(stream, sizeof(stream), lens, 3, &expect);

	(void)state;
	/* whole messages in one feed: the value comes back unchanged */
	got_init(&g);
	g.fail_at = 1;
	g.fail_rc = 4242;
	csf__grpc_deframer_init(&d, 0);
	assert_int_equal(csf__grpc_deframer_feed(&d, stream, len, on_msg, &g), 4242);
	assert_int_equal(g.n, 2); /* the third was never delivered */
	assert_int_equal(csf__grpc_deframer_feed(&d, stream, len, on_msg, &g), CSF_EINVALID);
	csf__grpc_deframer_free(&d);
	/* a buffered message: its buffer is freed (the teardown counts) */
	got_init(&g);
	g.fail_at = 1;
	g.fail_rc = CSF_EUSER;
	csf__grpc_deframer_init(&d, 0);
	assert_int_equal(csf__grpc_deframer_feed(&d, stream, 13, on_msg, &g), 0);
	assert_int_equal(csf__grpc_deframer_feed(&d, stream + 13, len - 13, on_msg, &g), CSF_EUSER);
	csf__grpc_deframer_free(&d);
	/* freeing mid-message releases the partial buffer */
	got_init(&g);
	csf__grpc_deframer_init(&d, 0);
	assert_int_equal(csf__grpc_deframer_feed(&d, stream, 13, on_msg, &g), 0);
	assert_true(fa.live > 0);
	csf__grpc_deframer_free(&d);
}

static void test_deframer_no_copy(void **state)
{
	static const size_t lens[] = { 10, 20, 0 };
	uint8_t stream[64];
	csf__grpc_deframer d;
	got expect, g;
	size_t len = make_stream(stream, sizeof(stream), lens, 3, &expect);
	long live;

	(void)state;
	/* whole inside the feed: the callback sees the caller's bytes, and
	 * nothing is allocated */
	got_init(&g);
	csf__grpc_deframer_init(&d, 0);
	live = fa.live;
	fa.countdown = 0; /* any allocation would fail */
	assert_int_equal(csf__grpc_deframer_feed(&d, stream, len, on_msg, &g), 0);
	fa.countdown = -1;
	EQ(fa.live, live);
	EQ(g.ptrs[0], stream + 5);
	EQ(g.ptrs[1], stream + 20);
	csf__grpc_deframer_free(&d);
	/* split: the second message comes from the deframer's buffer */
	got_init(&g);
	csf__grpc_deframer_init(&d, 0);
	assert_int_equal(csf__grpc_deframer_feed(&d, stream, 25, on_msg, &g), 0);
	assert_int_equal(csf__grpc_deframer_feed(&d, stream + 25, len - 25, on_msg, &g), 0);
	EQ(g.ptrs[0], stream + 5);
	assert_true(g.ptrs[1] < stream || g.ptrs[1] >= stream + sizeof(stream));
	assert_same(&g, &expect);
	csf__grpc_deframer_free(&d);
}

static void test_deframer_buffer_grows_with_input(void **state)
{
	static uint8_t big[(1 << 20) + 5];
	csf__grpc_deframer d;
	got *g = calloc(1, sizeof(*g));
	size_t i;
	int rc = 0;

	(void)state;
	assert_non_null(g);
	got_init(g);
	csf__grpc_frame_header(big, 1 << 20);
	csf__grpc_deframer_init(&d, 0);
	fa.largest = 0;
	/* a peer that announces 1 MiB and sends 10 bytes costs 4 KiB */
	assert_int_equal(csf__grpc_deframer_feed(&d, big, 15, on_msg, g), 0);
	assert_true(fa.largest <= 4096);
	g->fail_at = 0; /* the message is too big for `got`: stop at it */
	g->fail_rc = 77;
	for (i = 15; i < sizeof(big) && rc == 0; i += 1000) {
		size_t n = sizeof(big) - i < 1000 ? sizeof(big) - i : 1000;

		rc = csf__grpc_deframer_feed(&d, big + i, n, on_msg, g);
	}
	assert_int_equal(rc, 77);
	assert_true(fa.largest <= (1 << 20));
	csf__grpc_deframer_free(&d);
	free(g);
}

static void test_deframer_enomem(void **state)
{
	static const size_t lens[] = { 50 };
	uint8_t stream[64];
	csf__grpc_deframer d;
	got expect, g;

	(void)state;
	make_stream(stream, sizeof(stream), lens, 1, &expect);
	got_init(&g);
	csf__grpc_deframer_init(&d, 0);
	fa.countdown = 0;
	assert_int_equal(csf__grpc_deframer_feed(&d, stream, 20, on_msg, &g), CSF_ENOMEM);
	fa.countdown = -1;
	assert_int_equal(csf_error_last()->code, CSF_ENOMEM);
	assert_int_equal(csf__grpc_deframer_feed(&d, stream + 20, 35, on_msg, &g), CSF_EINVALID);
	csf__grpc_deframer_free(&d);
}

static void test_frame_header(void **state)
{
	uint8_t h[CSF__GRPC_FRAME_HEADER];

	(void)state;
	assert_int_equal(csf__grpc_frame_header(h, 0), 0);
	assert_memory_equal(h, "\0\0\0\0\0", 5);
	assert_int_equal(csf__grpc_frame_header(h, 0x01020304), 0);
	assert_memory_equal(h, "\0\x01\x02\x03\x04", 5);
	assert_int_equal(csf__grpc_frame_header(h, UINT32_MAX), 0);
	assert_memory_equal(h, "\0\xff\xff\xff\xff", 5);
#if SIZE_MAX > UINT32_MAX
	assert_int_equal(csf__grpc_frame_header(h, (size_t)UINT32_MAX + 1), CSF_ELIMIT);
#endif
}

/* ------------------------------------------------------------ every message type */

static const ProtobufCMessageDescriptor *const all_types[] = {
	&csf__v1__host_facts__descriptor, &csf__v1__register_agent_request__descriptor,
	&csf__v1__register_agent_request__tags_entry__descriptor, &csf__v1__agent_settings__descriptor,
	&csf__v1__register_agent_response__descriptor, &csf__v1__agent_message__descriptor,
	&csf__v1__hello__descriptor, &csf__v1__heartbeat__descriptor, &csf__v1__cpu_usage__descriptor,
	&csf__v1__cpu_core__descriptor, &csf__v1__cpu_metrics__descriptor,
	&csf__v1__memory_metrics__descriptor, &csf__v1__filesystem_metrics__descriptor,
	&csf__v1__disk_metrics__descriptor, &csf__v1__net_counters__descriptor,
	&csf__v1__interface_metrics__descriptor, &csf__v1__process_info__descriptor,
	&csf__v1__process_metrics__descriptor, &csf__v1__metrics_snapshot__descriptor,
	&csf__v1__metrics_snapshot__custom_entry__descriptor, &csf__v1__container_port__descriptor,
	&csf__v1__container_state__descriptor, &csf__v1__container_state__labels_entry__descriptor,
	&csf__v1__container_states__descriptor, &csf__v1__task_update__descriptor,
	&csf__v1__log_record__descriptor, &csf__v1__log_record__context_entry__descriptor,
	&csf__v1__log_batch__descriptor, &csf__v1__certificate_renewal_request__descriptor,
	&csf__v1__server_message__descriptor, &csf__v1__welcome__descriptor, &csf__v1__ack__descriptor,
	&csf__v1__container_spec__descriptor, &csf__v1__container_spec__env_entry__descriptor,
	&csf__v1__container_spec__labels_entry__descriptor, &csf__v1__deploy_container__descriptor,
	&csf__v1__container_command__descriptor, &csf__v1__collect_logs__descriptor,
	&csf__v1__scale_deployment__descriptor, &csf__v1__command__descriptor,
	&csf__v1__renewed_certificate__descriptor, &csf__v1__go_away__descriptor,
};

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 4;
	}
}

static void fill(csf__arena *a, ProtobufCMessage *m, unsigned seed, unsigned pick, unsigned depth);

/* A value that is not the default, different per field and seed. */
static void set_value(csf__arena *a, const ProtobufCFieldDescriptor *f, void *dst, unsigned seed,
		      unsigned pick, unsigned depth)
{
	uint32_t u32 = seed * 1000 + f->id;
	uint64_t u64 = (uint64_t)seed << 40 | 0x123456789ull | f->id;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: {
		int32_t v = -(int32_t)u32;
		memcpy(dst, &v, 4);
		break;
	}
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		memcpy(dst, &u32, 4);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *e = f->descriptor;
		int32_t v = e->values[1 + seed % (e->n_values - 1)].value;
		memcpy(dst, &v, 4);
		break;
	}
	case PROTOBUF_C_TYPE_FLOAT: {
		float v = (float)u32 + 0.5f;
		memcpy(dst, &v, 4);
		break;
	}
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: {
		int64_t v = -(int64_t)u64;
		memcpy(dst, &v, 8);
		break;
	}
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		memcpy(dst, &u64, 8);
		break;
	case PROTOBUF_C_TYPE_DOUBLE: {
		double v = u32 + 0.25;
		memcpy(dst, &v, 8);
		break;
	}
	case PROTOBUF_C_TYPE_BOOL: {
		protobuf_c_boolean v = 1;
		memcpy(dst, &v, sizeof(v));
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		char buf[96];
		char *s;

		snprintf(buf, sizeof(buf), "%s-%u-\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", f->name, seed);
		s = csf__arena_strdup(a, buf);
		assert_non_null(s);
		memcpy(dst, &s, sizeof(s));
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData bd;

		bd.len = 5;
		bd.data = csf__arena_alloc(a, bd.len);
		assert_non_null(bd.data);
		memcpy(bd.data, "\x00\xff\xc3\x28", 4);
		bd.data[4] = (uint8_t)seed;
		memcpy(dst, &bd, sizeof(bd));
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *d = f->descriptor;
		ProtobufCMessage *sub = csf__arena_alloc(a, d->sizeof_message);

		assert_non_null(sub);
		protobuf_c_message_init(d, sub);
		fill(a, sub, seed + 1, pick, depth + 1);
		memcpy(dst, &sub, sizeof(sub));
		break;
	}
	}
}

/*
 * Set every field of `m`. Repeated fields get two elements; in each oneof
 * the member chosen is digit `depth` of `pick` (3 bits a level), so picks
 * 0..63 reach every member of oneofs nested two deep.
 */
static void fill(csf__arena *a, ProtobufCMessage *m, unsigned seed, unsigned pick, unsigned depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned i, j;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *member = (char *)m + f->offset;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			unsigned idx = 0, count = 0;
			uint32_t id = f->id;

			for (j = 0; j < d->n_fields; j++) {
				if ((d->fields[j].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
				    d->fields[j].quantifier_offset == f->quantifier_offset) {
					idx += j < i;
					count++;
				}
			}
			if (idx != (pick >> (3 * depth)) % count)
				continue;
			memcpy((char *)m + f->quantifier_offset, &id, sizeof(id));
			set_value(a, f, member, seed, pick, depth);
		} else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t es = elem_size(f->type), two = 2;
			char *arr = csf__arena_alloc(a, 2 * es);

			assert_non_null(arr);
			set_value(a, f, arr, seed, pick, depth);
			set_value(a, f, arr + es, seed + 7, pick, depth);
			memcpy((char *)m + f->quantifier_offset, &two, sizeof(two));
			memcpy(member, &arr, sizeof(arr));
		} else {
			set_value(a, f, member, seed, pick, depth);
		}
	}
}

static ProtobufCMessage *make_full(csf__arena *a, const ProtobufCMessageDescriptor *d, unsigned pick)
{
	ProtobufCMessage *m = csf__arena_alloc(a, d->sizeof_message);

	assert_non_null(m);
	protobuf_c_message_init(d, m);
	fill(a, m, 1, pick, 0);
	return m;
}

/* Typed decoders where there is one, csf__pb_unpack otherwise. */
static int decode_as(ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
		     const uint8_t *data, size_t len)
{
	if (d == &csf__v1__agent_message__descriptor)
		return csf__pb_agent_message_decode((Csf__V1__AgentMessage **)out, data, len);
	if (d == &csf__v1__server_message__descriptor)
		return csf__pb_server_message_decode((Csf__V1__ServerMessage **)out, data, len);
	if (d == &csf__v1__register_agent_request__descriptor)
		return csf__pb_register_request_decode((Csf__V1__RegisterAgentRequest **)out, data, len);
	if (d == &csf__v1__register_agent_response__descriptor)
		return csf__pb_register_response_decode((Csf__V1__RegisterAgentResponse **)out, data, len);
	return csf__pb_unpack(out, d, data, len);
}

static void test_round_trip_every_type(void **state)
{
	size_t t, checked = 0;
	unsigned pick;

	(void)state;
	for (t = 0; t < CSF__ARRAY_SIZE(all_types); t++) {
		for (pick = 0; pick < 64; pick++) {
			csf__arena a;
			ProtobufCMessage *m, *back = NULL;
			uint8_t *p1 = NULL, *p2 = NULL;
			size_t n1, n2;
			int rc;

			csf__arena_init(&a, 0);
			m = make_full(&a, all_types[t], pick);
			assert_int_equal(csf__pb_pack(&p1, &n1, m), 0);
			assert_true(n1 > 0);
			rc = decode_as(&back, all_types[t], p1, n1);
			if (rc)
				fail_msg("%s pick %u: %s", all_types[t]->name, pick, csf_error_last()->message);
			EQ(back->descriptor, all_types[t]);
			assert_int_equal(back->n_unknown_fields, 0);
			assert_int_equal(csf__pb_pack(&p2, &n2, back), 0);
			assert_int_equal(n1, n2);
			assert_memory_equal(p1, p2, n1);
			csf__pb_free(back);
			csf__free(p1);
			csf__free(p2);
			csf__arena_free(&a);
			checked++;
		}
	}
	assert_int_equal(checked, 64 * CSF__ARRAY_SIZE(all_types));
}

/* The framed form is the header and the same bytes. */
static void test_pack_framed(void **state)
{
	csf__arena a;
	ProtobufCMessage *m;
	uint8_t *p = NULL, *f = NULL;
	size_t n, nf;
	csf__grpc_deframer d;
	got g;

	(void)state;
	csf__arena_init(&a, 0);
	m = make_full(&a, &csf__v1__agent_message__descriptor, 2);
	assert_int_equal(csf__pb_pack(&p, &n, m), 0);
	assert_int_equal(csf__pb_pack_framed(&f, &nf, m), 0);
	assert_int_equal(nf, n + 5);
	assert_memory_equal(f + 5, p, n);
	got_init(&g);
	csf__grpc_deframer_init(&d, 0);
	assert_int_equal(csf__grpc_deframer_feed(&d, f, nf, on_msg, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.lens[0], n);
	csf__grpc_deframer_free(&d);
	csf__free(p);
	csf__free(f);
	csf__arena_free(&a);
}

/* ------------------------------------------------------------ decode checks */

static void expect_agent(const void *bytes, size_t len, int rc, const char *needle)
{
	Csf__V1__AgentMessage *m = (Csf__V1__AgentMessage *)(uintptr_t)1;
	int got_rc = csf__pb_agent_message_decode(&m, bytes, len);

	if (got_rc != rc)
		fail_msg("expected %d, got %d (%s)", rc, got_rc, csf_error_last()->message);
	if (rc) {
		assert_null(m);
		if (!strstr(csf_error_last()->message, needle))
			fail_msg("error \"%s\" does not mention \"%s\"", csf_error_last()->message, needle);
	} else {
		assert_non_null(m);
	}
	csf__pb_free((ProtobufCMessage *)m);
}

#define AGENT(lit, rc, needle) expect_agent(lit, sizeof(lit) - 1, rc, needle)
/* agent_id "a", boot_id "b", then what follows */
#define HEAD "\x0a\x01" "a" "\x12\x01" "b"

static void test_decode_malformed(void **state)
{
	(void)state;
	AGENT(HEAD "\x5a\x00", 0, "");                                 /* a heartbeat */
	AGENT(HEAD "\x18\xff", CSF_EPARSE, "bad varint in field 3 at offset 6");
	AGENT(HEAD "\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x5a\x00", 0, ""); /* 2^64 - 1 */
	AGENT(HEAD "\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", CSF_EPARSE, "bad varint"); /* 2^64 */
	AGENT(HEAD "\x5a", CSF_EPARSE, "bad length");
	AGENT(HEAD "\xda", CSF_EPARSE, "bad tag");
	/* a tag or a length in more than 5 bytes: protobuf-c refuses those */
	AGENT(HEAD "\xa8\x81\x80\x80\x80\x00\x01\x5a\x00", CSF_EPARSE, "bad tag at offset 6");
	AGENT(HEAD "\xa8\x81\x80\x80\x00\x01\x5a\x00", 0, "");    /* field 21, its tag in 5 bytes: unknown, kept */
	AGENT(HEAD "\x5a\x80\x80\x80\x80\x80\x00", CSF_EPARSE, "bad length in field 11");
	AGENT(HEAD "\x5a\x80\x80\x80\x80\x00", 0, "");               /* a heartbeat, its length in 5 bytes */
	AGENT("\x08\x01" "\x12\x01" "b" "\x5a\x00", CSF_EPARSE, "AgentMessage.agent_id: wire type 0");
	AGENT(HEAD "\x19" "12345678" "\x5a\x00", CSF_EPARSE, "AgentMessage.seq: wire type 1");
	AGENT(HEAD "\x0a\x05" "ab", CSF_EPARSE, "claims 5 bytes, 2 are left");
	AGENT(HEAD "\xa5\x01" "123", CSF_EPARSE, "truncated 4-byte value in field 20");
	AGENT(HEAD "\xa1\x01" "1234567", CSF_EPARSE, "truncated 8-byte value in field 20");
	AGENT(HEAD "\xa3\x01\xa4\x01\x5a\x00", CSF_EPARSE, "wire type 3 at offset 6 is not supported");
	AGENT(HEAD "\x0e\x5a\x00", CSF_EPARSE, "agent_id: wire type 6");
	AGENT("\x02\x00" HEAD "\x5a\x00", CSF_EPARSE, "field number 0");
	/* in a sub-message: the metrics' first filesystem has a device of 2 bytes in 1 */
	AGENT(HEAD "\x18\x01\x62\x05\x2a\x03\x0a\x02\x41", CSF_EPARSE,
	      "FilesystemMetrics: field 1 at offset 12 claims 2 bytes, 1 are left");
	/* a singular sub-message twice (Hello.host) is refused; a oneof
	 * member twice is replaced, repeated ones add up */
	AGENT(HEAD "\x52\x06\x22\x00\x22\x02\x48\x01", CSF_EPARSE, "Hello.host at offset 10: the sub-message comes twice");
	AGENT(HEAD "\x5a\x02\x08\x01\x5a\x02\x08\x02", 0, "");
	AGENT(HEAD "\x18\x01\x62\x04\x2a\x00\x2a\x00", 0, "");
	/* an unknown field is kept, whatever its wire type */
	AGENT(HEAD "\x9a\x06\x01x" "\xa0\x06\x05" "\xa5\x06" "1234" "\x5a\x00", 0, "");
}

static void test_decode_strings(void **state)
{
	(void)state;
	AGENT("\x0a\x02\xc3\x28" "\x12\x01" "b" "\x5a\x00", CSF_EPARSE, "AgentMessage.agent_id at offset 0: not valid UTF-8");
	AGENT("\x0a\x03" "a\0b" "\x12\x01" "b" "\x5a\x00", CSF_EPARSE, "holds a NUL");
	AGENT("\x0a\x02\xc0\x80" "\x12\x01" "b" "\x5a\x00", CSF_EPARSE, "UTF-8");     /* overlong NUL */
	AGENT("\x0a\x03\xed\xa0\x80" "\x12\x01" "b" "\x5a\x00", CSF_EPARSE, "UTF-8"); /* surrogate */
	AGENT("\x0a\x04\xf4\x90\x80\x80" "\x12\x01" "b" "\x5a\x00", CSF_EPARSE, "UTF-8"); /* > U+10FFFF */
	AGENT("\x0a\x02\xe2\x82" "\x12\x01" "b" "\x5a\x00", CSF_EPARSE, "UTF-8");     /* cut */
	AGENT("\x0a\x04\xf0\x9f\x98\x80" "\x12\x01" "b" "\x5a\x00", 0, "");           /* U+1F600 */
	/* deep: metrics.filesystems[0].device */
	AGENT(HEAD "\x18\x01\x62\x05\x2a\x03\x0a\x01\xff", CSF_EPARSE, "FilesystemMetrics.device at offset 12");
	/* a map key: metrics.custom */
	AGENT(HEAD "\x18\x01\x62\x05\x5a\x03\x0a\x01\x80", CSF_EPARSE, "CustomEntry.key");
	/* bytes may hold anything */
	AGENT(HEAD "\x82\x01\x04\x0a\x02\xff\x00", 0, "");
	/* a string of a Hello: the repeated capabilities */
	AGENT(HEAD "\x52\x05\x12\x03\x61\xfe\x62", CSF_EPARSE, "Hello.capabilities");
}

static void test_decode_ids_and_bodies(void **state)
{
	char msg[400];
	size_t n;

	(void)state;
	AGENT("\x12\x01" "b" "\x5a\x00", CSF_EPARSE, "agent_id is empty");
	AGENT("\x0a\x01" "a" "\x5a\x00", CSF_EPARSE, "boot_id is empty");
	AGENT(HEAD "\x18\x01", CSF_EPARSE, "AgentMessage has no body");
	AGENT(HEAD "\x18\x01\xf2\x07\x00", CSF_EPARSE, "no body"); /* an unknown body, field 126 */
	AGENT(HEAD "\x62\x00", CSF_EPARSE, "seq 0");                /* metrics need delivery */
	AGENT(HEAD "\x18\x01\x62\x00", 0, "");
	AGENT(HEAD "\x18\x01\x6a\x00", 0, "");                      /* containers */
	AGENT(HEAD "\x18\x01\x7a\x00", 0, "");                      /* logs */
	AGENT(HEAD "\x52\x00", 0, "");                              /* hello: control */
	AGENT(HEAD "\x18\x01\x72\x00", CSF_EPARSE, "TaskUpdate.task_id is empty");
	AGENT(HEAD "\x18\x01\x72\x03\x0a\x01t", 0, "");
	AGENT(HEAD "\x82\x01\x00", CSF_EPARSE, "no CSR");
	/* ids of 128 bytes pass, 129 do not (lengths of 2-byte varints) */
	for (n = 128; n <= 129; n++) {
		msg[0] = 0x0a;
		msg[1] = (char)(n | 0x80);
		msg[2] = 1;
		memset(msg + 3, 'i', n);
		memcpy(msg + 3 + n, "\x12\x01" "b" "\x5a\x00", 5);
		expect_agent(msg, n + 8, n == 128 ? 0 : CSF_EPARSE, "agent_id is 129 bytes");
		memcpy(msg, "\x0a\x01" "a" "\x12", 4);
		msg[4] = (char)(n | 0x80);
		msg[5] = 1;
		memset(msg + 6, 'i', n);
		memcpy(msg + 6 + n, "\x5a\x00", 2);
		expect_agent(msg, n + 8, n == 128 ? 0 : CSF_EPARSE, "boot_id is 129 bytes");
	}
}

static void expect_server(const void *bytes, size_t len, int rc, const char *needle)
{
	Csf__V1__ServerMessage *m = NULL;
	int got_rc = csf__pb_server_message_decode(&m, bytes, len);

	if (got_rc != rc)
		fail_msg("expected %d, got %d (%s)", rc, got_rc, csf_error_last()->message);
	if (rc && !strstr(csf_error_last()->message, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", csf_error_last()->message, needle);
	assert_true(rc ? m == NULL : m != NULL);
	csf__pb_free((ProtobufCMessage *)m);
}

#define SERVER(lit, rc, needle) expect_server(lit, sizeof(lit) - 1, rc, needle)

static void test_decode_server(void **state)
{
	char msg[300];

	(void)state;
	SERVER("", CSF_EPARSE, "ServerMessage has no body");
	SERVER("\x52\x00", 0, "");                                 /* welcome */
	SERVER("\x5a\x02\x08\x05", CSF_EPARSE, "Ack.boot_id is empty");
	SERVER("\x5a\x05\x08\x05\x12\x01" "b", 0, "");
	SERVER("\x62\x03\x0a\x01t", CSF_EPARSE, "Command t has no task");
	SERVER("\x62\x02\x62\x00", CSF_EPARSE, "Command.task_id is empty");
	SERVER("\x62\x05\x0a\x01t\x62\x00", 0, "");                /* collect_logs */
	SERVER("\x62\x05\x0a\x01t\x52\x00", 0, "");                /* deploy */
	SERVER("\x7a\x00", 0, "");                                 /* go_away */
	SERVER("\x62\x06\x0a\x01t\xa2\x01\x00", CSF_EPARSE, "no task"); /* a later version's task */
	SERVER("\x62\x03\x0a\x01\xff", CSF_EPARSE, "Command.task_id at offset 2: not valid UTF-8");
	/* a task_id of 129 bytes: Command of 1 + 2 + 129 + 2 = 134 bytes */
	memcpy(msg, "\x62\x86\x01\x0a\x81\x01", 6);
	memset(msg + 6, 't', 129);
	memcpy(msg + 135, "\x62\x00", 2);
	expect_server(msg, 137, CSF_EPARSE, "Command.task_id is 129 bytes");
}

static void test_decode_memory_bound(void **state)
{
	size_t counts[] = { 100, 20000 };
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) {
		size_t n = counts[k], len = 0, i;
		uint8_t *buf = malloc(2 * n + 32);
		Csf__V1__AgentMessage *m = NULL;
		int rc;

		assert_non_null(buf);
		memcpy(buf, HEAD "\x18\x01\x6a", 9);
		len = 9;
		/* length of ContainerStates: n empty containers of 2 bytes */
		for (i = 2 * n; i >= 0x80; i >>= 7)
			buf[len++] = (uint8_t)(i | 0x80);
		buf[len++] = (uint8_t)i;
		for (i = 0; i < n; i++) {
			buf[len++] = 0x0a;
			buf[len++] = 0x00;
		}
		rc = csf__pb_agent_message_decode(&m, buf, len);
		if (k == 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(m->containers->n_containers, n);
		} else {
			assert_int_equal(rc, CSF_ELIMIT);
			assert_non_null(strstr(csf_error_last()->message, "bytes of memory"));
		}
		csf__pb_free((ProtobufCMessage *)m);
		/* the same bound in an arena; what it took goes with the arena */
		{
			csf__arena a;

			csf__arena_init(&a, 0);
			assert_int_equal(csf__pb_agent_message_decode_in(&m, &a, buf, len), k == 0 ? 0 : CSF_ELIMIT);
			assert_true(k == 0 ? m != NULL : m == NULL);
			csf__arena_free(&a);
		}
		free(buf);
	}
}

static void test_unpack_generic_and_misuse(void **state)
{
	ProtobufCMessage *m = NULL;
	Csf__V1__RegisterAgentRequest *rq = NULL;
	Csf__V1__RegisterAgentResponse *rs = NULL;

	(void)state;
	/* empty input is a message with every field at its default */
	assert_int_equal(csf__pb_unpack(&m, &csf__v1__heartbeat__descriptor, NULL, 0), 0);
	csf__pb_free(m);
	csf__pb_free(NULL);
	assert_int_equal(csf__pb_unpack(&m, &csf__v1__heartbeat__descriptor, (const uint8_t *)"\x08", 1),
			 CSF_EPARSE);
	assert_non_null(strstr(csf_error_last()->message, "Heartbeat"));
	assert_int_equal(csf__pb_register_request_decode(&rq, (const uint8_t *)"\x12\x01x", 3), CSF_EPARSE);
	assert_non_null(strstr(csf_error_last()->message, "enrollment token"));
	assert_int_equal(csf__pb_register_request_decode(&rq, (const uint8_t *)"\x0a\x01t", 3), CSF_EPARSE);
	assert_non_null(strstr(csf_error_last()->message, "CSR"));
	assert_int_equal(csf__pb_register_request_decode(&rq, (const uint8_t *)"\x0a\x01t\x12\x01x", 6), 0);
	assert_string_equal(rq->enrollment_token, "t");
	csf__pb_free(&rq->base);
	assert_int_equal(csf__pb_register_response_decode(&rs, (const uint8_t *)"\x12\x01x", 3), CSF_EPARSE);
	assert_non_null(strstr(csf_error_last()->message, "agent_id is empty"));
	assert_int_equal(csf__pb_register_response_decode(&rs, (const uint8_t *)"\x0a\x01" "a", 3), CSF_EPARSE);
	assert_non_null(strstr(csf_error_last()->message, "no certificate"));
	assert_int_equal(csf__pb_register_response_decode(&rs, (const uint8_t *)"\x0a\x01" "a\x12\x01x", 6), 0);
	csf__pb_free(&rs->base);
}

/*
 * Messages made by Google's protobuf runtime (tests/fuzz/gen_proto_corpus.py
 * wrote them into the fuzz corpus): each decodes with its typed decoder and
 * encodes back to the same bytes (both order fields by number).
 */
static void test_messages_from_a_stock_encoder(void **state)
{
	static const struct {
		const char *name;
		const ProtobufCMessageDescriptor *desc;
	} files[] = {
		{ "hello", &csf__v1__agent_message__descriptor },
		{ "heartbeat", &csf__v1__agent_message__descriptor },
		{ "metrics", &csf__v1__agent_message__descriptor },
		{ "containers", &csf__v1__agent_message__descriptor },
		{ "task_update", &csf__v1__agent_message__descriptor },
		{ "task_done", &csf__v1__agent_message__descriptor },
		{ "logs", &csf__v1__agent_message__descriptor },
		{ "renew", &csf__v1__agent_message__descriptor },
		{ "welcome", &csf__v1__server_message__descriptor },
		{ "ack", &csf__v1__server_message__descriptor },
		{ "deploy", &csf__v1__server_message__descriptor },
		{ "restart", &csf__v1__server_message__descriptor },
		{ "collect_logs", &csf__v1__server_message__descriptor },
		{ "scale", &csf__v1__server_message__descriptor },
		{ "settings", &csf__v1__server_message__descriptor },
		{ "certificate", &csf__v1__server_message__descriptor },
		{ "go_away", &csf__v1__server_message__descriptor },
		{ "revoked", &csf__v1__server_message__descriptor },
		{ "register_request", &csf__v1__register_agent_request__descriptor },
		{ "register_response", &csf__v1__register_agent_response__descriptor },
	};
	const char *dir = getenv("CSF_TEST_DATA");
	size_t i;

	(void)state;
	if (!dir)
		fail_msg("CSF_TEST_DATA is not set (ctest sets it to tests/data)");
	for (i = 0; i < CSF__ARRAY_SIZE(files); i++) {
		char path[1024];
		uint8_t data[4096], *out = NULL;
		size_t len, out_len;
		ProtobufCMessage *m = NULL;
		FILE *f;

		snprintf(path, sizeof(path), "%s/../fuzz/corpus/envelope/%s", dir, files[i].name);
		f = fopen(path, "rb");
		assert_non_null(f);
		len = fread(data, 1, sizeof(data), f);
		fclose(f);
		if (decode_as(&m, files[i].desc, data, len) != 0)
			fail_msg("%s: %s", files[i].name, csf_error_last()->message);
		if (strcmp(files[i].name, "metrics") == 0) {
			const Csf__V1__MetricsSnapshot *ms = ((Csf__V1__AgentMessage *)m)->metrics;

			EQ(ms->timestamp_ms, 1700000000123);
			assert_int_equal(ms->n_custom, 2);
			assert_string_equal(ms->processes->top_cpu[0]->name, "postgres");
			EQ(ms->cpu->cores[1]->usage->steal, 0.0625);
		}
		assert_int_equal(csf__pb_pack(&out, &out_len, m), 0);
		assert_int_equal(out_len, len);
		assert_memory_equal(out, data, len);
		csf__free(out);
		csf__pb_free(m);
	}
}

/* ------------------------------------------------------------ encode checks */

static void test_pack_refuses(void **state)
{
	Csf__V1__AgentMessage am = CSF__V1__AGENT_MESSAGE__INIT;
	Csf__V1__MetricsSnapshot ms = CSF__V1__METRICS_SNAPSHOT__INIT;
	Csf__V1__FilesystemMetrics fs = CSF__V1__FILESYSTEM_METRICS__INIT;
	Csf__V1__FilesystemMetrics *fsp = &fs;
	Csf__V1__Hello hello = CSF__V1__HELLO__INIT;
	char *caps[2] = { "metrics", NULL };
	uint8_t *out = (uint8_t *)"x";
	size_t len = 1;

	(void)state;
	am.agent_id = "a";
	am.boot_id = "b";
	am.seq = 1;
	am.body_case = CSF__V1__AGENT_MESSAGE__BODY_METRICS;
	am.metrics = &ms;
	ms.n_filesystems = 1;
	ms.filesystems = &fsp;
	fs.device = "/dev/\xff";
	assert_int_equal(csf__pb_pack(&out, &len, &am.base), CSF_EINVALID);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_non_null(strstr(csf_error_last()->message, "FilesystemMetrics.device is not valid UTF-8"));
	fs.device = NULL; /* NULL is the empty string */
	assert_int_equal(csf__pb_pack(&out, &len, &am.base), 0);
	csf__free(out);
	ms.filesystems = NULL;
	assert_int_equal(csf__pb_pack(&out, &len, &am.base), CSF_EINVALID);
	assert_non_null(strstr(csf_error_last()->message, "1 elements but no array"));
	ms.n_filesystems = 0;
	/* the body in the oneof is what is checked, not another member */
	am.body_case = CSF__V1__AGENT_MESSAGE__BODY_HELLO;
	am.hello = &hello;
	hello.n_capabilities = 2;
	hello.capabilities = caps;
	assert_int_equal(csf__pb_pack(&out, &len, &am.base), CSF_EINVALID);
	assert_non_null(strstr(csf_error_last()->message, "Hello.capabilities[1] is NULL"));
	caps[1] = "docker";
	assert_int_equal(csf__pb_pack(&out, &len, &am.base), 0);
	csf__free(out);
	am.agent_id = "\xc3";
	assert_int_equal(csf__pb_pack(&out, &len, &am.base), CSF_EINVALID);
}

static void test_strings(void **state)
{
	csf__arena a;
	char *s;

	(void)state;
	assert_true(csf__pb_string_valid("", 0));
	assert_true(csf__pb_string_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
	assert_false(csf__pb_string_valid("a\0b", 3));
	assert_false(csf__pb_string_valid("\xc3", 1));
	assert_false(csf__pb_string_valid("\xf8\x88\x80\x80\x80", 5));
	assert_false(csf__pb_string_valid("\xe0\x80\xaf", 3));
	csf__arena_init(&a, 0);
	s = csf__pb_arena_strdup_utf8(&a, "ok \xc3\xa9");
	assert_string_equal(s, "ok \xc3\xa9");
	s = csf__pb_arena_strdup_utf8(&a, "bad\xff\xc3(\xe2\x82");
	assert_string_equal(s, "bad\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd");
	s = csf__pb_arena_strdup_utf8(&a, NULL);
	assert_string_equal(s, "");
	csf__arena_free(&a);
}

/* ------------------------------------------------------------ snapshot mapping */

static void check_str(const char *got_s, const char *src)
{
	assert_non_null(got_s);
	if (csf__pb_string_valid(src, strlen(src)))
		assert_string_equal(got_s, src);
	else
		assert_true(csf__pb_string_valid(got_s, strlen(got_s)) && strstr(got_s, "\xef\xbf\xbd"));
}

static void check_usage(const Csf__V1__CpuUsage *m, const csf_cpu_usage *u)
{
	assert_non_null(m);
	EQ(m->usage, u->usage);
	EQ(m->user, u->user);
	EQ(m->nice, u->nice);
	EQ(m->system, u->system);
	EQ(m->iowait, u->iowait);
	EQ(m->irq, u->irq);
	EQ(m->softirq, u->softirq);
	EQ(m->steal, u->steal);
	EQ(m->idle, u->idle);
}

static void check_counters(const Csf__V1__NetCounters *m, const csf_net_counters *c)
{
	assert_non_null(m);
	EQ(m->bytes, c->bytes);
	EQ(m->packets, c->packets);
	EQ(m->errors, c->errors);
	EQ(m->drops, c->drops);
	EQ(m->bytes_per_sec, c->bytes_per_sec);
	EQ(m->packets_per_sec, c->packets_per_sec);
}

static void check_processes(Csf__V1__ProcessInfo **m, size_t n_m, csf_process *const *p, size_t n)
{
	size_t i;

	assert_int_equal(n_m, n);
	for (i = 0; i < n; i++) {
		EQ(m[i]->pid, p[i]->pid);
		check_str(m[i]->name, p[i]->name);
		check_str(m[i]->user, p[i]->user);
		EQ(m[i]->cpu_percent, p[i]->cpu_percent);
		EQ(m[i]->rss_bytes, p[i]->rss_bytes);
	}
}

/* Every field of the message against the snapshot it came from. */
static void check_metrics(const Csf__V1__MetricsSnapshot *m, const csf_snapshot *snap)
{
	const csf_system *sys = snap->system;
	size_t i;

	EQ(m->timestamp_ms, snap->timestamp_ms);
	assert_int_equal(m->n_custom, snap->metrics_count);
	for (i = 0; i < snap->metrics_count; i++) {
		assert_string_equal(m->custom[i]->key, snap->metrics[i]->name);
		EQ(m->custom[i]->value, snap->metrics[i]->value);
	}
	if (!sys) {
		assert_null(m->cpu);
		assert_null(m->memory);
		assert_null(m->rx_total);
		assert_null(m->processes);
		assert_int_equal(m->n_filesystems + m->n_disks + m->n_interfaces, 0);
		return;
	}
	EQ(m->interval_seconds, sys->interval_seconds);
	EQ(m->uptime_seconds, sys->host ? sys->host->uptime_seconds : 0);
	if (sys->cpu) {
		const csf_cpu *c = sys->cpu;

		check_usage(m->cpu->total, &c->total);
		assert_int_equal(m->cpu->n_cores, c->cores_count);
		for (i = 0; i < c->cores_count; i++) {
			EQ(m->cpu->cores[i]->id, c->cores[i]->id);
			check_usage(m->cpu->cores[i]->usage, &c->cores[i]->usage);
		}
		EQ(m->cpu->load1, c->load1);
		EQ(m->cpu->load5, c->load5);
		EQ(m->cpu->load15, c->load15);
		EQ(m->cpu->context_switches, c->context_switches);
		EQ(m->cpu->context_switches_per_sec, c->context_switches_per_sec);
		EQ(m->cpu->procs_running, c->procs_running);
		EQ(m->cpu->procs_blocked, c->procs_blocked);
	} else {
		assert_null(m->cpu);
	}
	if (sys->memory) {
		const csf_memory *mem = sys->memory;

		assert_non_null(m->memory);
		EQ(m->memory->total, mem->total);
		EQ(m->memory->used, mem->used);
		EQ(m->memory->available, mem->available);
		EQ(m->memory->free, mem->free);
		EQ(m->memory->buffers, mem->buffers);
		EQ(m->memory->cached, mem->cached);
		EQ(m->memory->swap_total, mem->swap_total);
		EQ(m->memory->swap_used, mem->swap_used);
	} else {
		assert_null(m->memory);
	}
	assert_int_equal(m->n_filesystems, sys->filesystems_count);
	for (i = 0; i < sys->filesystems_count; i++) {
		const Csf__V1__FilesystemMetrics *f = m->filesystems[i];
		const csf_filesystem *s = sys->filesystems[i];

		check_str(f->device, s->device);
		check_str(f->mountpoint, s->mountpoint);
		check_str(f->fstype, s->fstype);
		EQ(f->total_bytes, s->total_bytes);
		EQ(f->used_bytes, s->used_bytes);
		EQ(f->available_bytes, s->available_bytes);
		EQ(f->inodes_total, s->inodes_total);
		EQ(f->inodes_used, s->inodes_used);
	}
	assert_int_equal(m->n_disks, sys->disks_count);
	for (i = 0; i < sys->disks_count; i++) {
		const Csf__V1__DiskMetrics *d = m->disks[i];
		const csf_disk *s = sys->disks[i];

		check_str(d->name, s->name);
		EQ(d->reads, s->reads);
		EQ(d->writes, s->writes);
		EQ(d->read_bytes, s->read_bytes);
		EQ(d->write_bytes, s->write_bytes);
		EQ(d->reads_per_sec, s->reads_per_sec);
		EQ(d->writes_per_sec, s->writes_per_sec);
		EQ(d->read_bytes_per_sec, s->read_bytes_per_sec);
		EQ(d->write_bytes_per_sec, s->write_bytes_per_sec);
		EQ(d->busy_percent, s->busy_percent);
	}
	if (sys->network) {
		const csf_network *net = sys->network;

		check_counters(m->rx_total, &net->rx_total);
		check_counters(m->tx_total, &net->tx_total);
		assert_int_equal(m->n_interfaces, net->interfaces_count);
		for (i = 0; i < net->interfaces_count; i++) {
			check_str(m->interfaces[i]->name, net->interfaces[i]->name);
			check_counters(m->interfaces[i]->rx, &net->interfaces[i]->rx);
			check_counters(m->interfaces[i]->tx, &net->interfaces[i]->tx);
		}
	} else {
		assert_null(m->rx_total);
		assert_int_equal(m->n_interfaces, 0);
	}
	if (sys->processes) {
		const csf_processes *p = sys->processes;

		assert_non_null(m->processes);
		EQ(m->processes->count, p->count);
		EQ(m->processes->threads, p->threads);
		check_processes(m->processes->top_cpu, m->processes->n_top_cpu, p->top_cpu, p->top_cpu_count);
		check_processes(m->processes->top_memory, m->processes->n_top_memory, p->top_memory,
				p->top_memory_count);
	} else {
		assert_null(m->processes);
	}
}

static void check_host(const Csf__V1__HostFacts *m, const csf_snapshot *snap)
{
	const csf_host *h = snap->system->host;

	check_str(m->hostname, h->hostname);
	check_str(m->os_id, h->os_id);
	check_str(m->os_name, h->os_name);
	check_str(m->os_version, h->os_version);
	check_str(m->os_pretty, h->os_pretty);
	check_str(m->kernel, h->kernel);
	check_str(m->arch, h->arch);
	check_str(m->cpu_model, h->cpu_model);
	EQ(m->cpu_logical, h->cpu_logical);
	EQ(m->cpu_physical, h->cpu_physical);
	EQ(m->memory_total_bytes, snap->system->memory ? snap->system->memory->total : 0);
	EQ(m->boot_time, h->boot_time);
	assert_int_equal(m->n_ip_addresses, 0);
	assert_string_equal(m->machine_id, "");
}

/* Map, check, send inside an AgentMessage, decode, check again. */
/* Decoded into an arena, a message is the one decoded on the heap: both
 * encode to the input's bytes. */
static void check_arena_decode(const uint8_t *data, size_t len)
{
	Csf__V1__AgentMessage *heap = NULL, *in_arena = NULL;
	uint8_t *p1 = NULL, *p2 = NULL;
	size_t n1, n2;
	csf__arena a;

	csf__arena_init(&a, 512); /* small chunks: the message spans several */
	assert_int_equal(csf__pb_agent_message_decode(&heap, data, len), 0);
	assert_int_equal(csf__pb_agent_message_decode_in(&in_arena, &a, data, len), 0);
	assert_int_equal(csf__pb_pack(&p1, &n1, &heap->base), 0);
	assert_int_equal(csf__pb_pack(&p2, &n2, &in_arena->base), 0);
	assert_int_equal(n1, len);
	assert_int_equal(n2, len);
	assert_memory_equal(p1, data, len);
	assert_memory_equal(p2, data, len);
	csf__free(p1);
	csf__free(p2);
	csf__pb_free(&heap->base);
	csf__arena_free(&a);
}

/* What the server's decoder keeps of a metrics message: the fields ingest
 * and the live feed read, as the snapshot has them; the rest at defaults. */
static void check_ingest_decode(const uint8_t *data, size_t len, const csf_snapshot *snap)
{
	const csf_system *sys = snap->system;
	Csf__V1__AgentMessage *am = NULL;
	const Csf__V1__MetricsSnapshot *m;
	csf__arena a;
	size_t i;

	csf__arena_init(&a, 1024);
	assert_int_equal(csf__pb_agent_message_decode_ingest(&am, &a, data, len), 0);
	assert_string_equal(am->agent_id, "agent-1");
	assert_string_equal(am->boot_id, "boot-1");
	EQ(am->seq, 1);
	EQ(am->sent_at_ms, 77);
	assert_int_equal(am->body_case, CSF__V1__AGENT_MESSAGE__BODY_METRICS);
	m = am->metrics;
	EQ(m->timestamp_ms, snap->timestamp_ms);
	assert_int_equal(m->n_custom, snap->metrics_count);
	for (i = 0; i < m->n_custom; i++) {
		assert_string_equal(m->custom[i]->key, snap->metrics[i]->name);
		EQ(m->custom[i]->value, snap->metrics[i]->value);
	}
	assert_true(m->interval_seconds == 0 && m->uptime_seconds == 0 && m->n_disks == 0 && m->n_interfaces == 0);
	assert_null(m->processes);
	assert_int_equal(am->base.n_unknown_fields + m->base.n_unknown_fields, 0);
	if (sys && sys->cpu) {
		EQ(m->cpu->total->usage, sys->cpu->total.usage);
		EQ(m->cpu->load1, sys->cpu->load1);
		assert_true(m->cpu->total->user == 0 && m->cpu->load5 == 0 && m->cpu->n_cores == 0);
	}
	if (sys && sys->memory) {
		EQ(m->memory->total, sys->memory->total);
		EQ(m->memory->used, sys->memory->used);
		assert_true(m->memory->available == 0);
	}
	if (sys && sys->network) {
		EQ(m->rx_total->bytes, sys->network->rx_total.bytes);
		EQ(m->tx_total->bytes_per_sec, sys->network->tx_total.bytes_per_sec);
		assert_true(m->rx_total->packets == 0);
	}
	assert_int_equal(m->n_filesystems, sys ? sys->filesystems_count : 0);
	for (i = 0; i < m->n_filesystems; i++) {
		EQ(m->filesystems[i]->total_bytes, sys->filesystems[i]->total_bytes);
		EQ(m->filesystems[i]->used_bytes, sys->filesystems[i]->used_bytes);
		assert_string_equal(m->filesystems[i]->mountpoint, ""); /* not read by the server */
	}
	csf__arena_free(&a);
}

static void map_and_check(const csf_snapshot *snap)
{
	Csf__V1__AgentMessage am = CSF__V1__AGENT_MESSAGE__INIT, *back = NULL;
	Csf__V1__MetricsSnapshot *m = NULL;
	Csf__V1__HostFacts *h = NULL;
	csf__arena a;
	uint8_t *buf = NULL;
	size_t len;

	csf__arena_init(&a, 0);
	assert_int_equal(csf__pb_metrics_from_snapshot(&m, &a, snap), 0);
	check_metrics(m, snap);
	am.agent_id = "agent-1";
	am.boot_id = "boot-1";
	am.seq = 1;
	am.sent_at_ms = 77;
	am.body_case = CSF__V1__AGENT_MESSAGE__BODY_METRICS;
	am.metrics = m;
	assert_int_equal(csf__pb_pack(&buf, &len, &am.base), 0);
	check_ingest_decode(buf, len, snap);
	assert_int_equal(csf__pb_agent_message_decode(&back, buf, len), 0);
	check_metrics(back->metrics, snap);
	csf__pb_free(&back->base);
	check_arena_decode(buf, len);
	assert_int_equal(csf__pb_agent_message_decode_in(&back, &a, buf, len), 0);
	check_metrics(back->metrics, snap);
	csf__free(buf);
	if (snap->system && snap->system->host) {
		assert_int_equal(csf__pb_host_facts_from_snapshot(&h, &a, snap), 0);
		check_host(h, snap);
	} else {
		assert_int_equal(csf__pb_host_facts_from_snapshot(&h, &a, snap), CSF_EINVALID);
		assert_null(h);
	}
	csf__arena_free(&a);
}

static void test_snapshot_from_system_collector(void **state)
{
	csf_collector *c = NULL;
	csf_snapshot *s = NULL;
	int i;

	(void)state;
	assert_int_equal(csf_collector_new(&c, csf_collector_system(), NULL), 0);
	for (i = 0; i < 2; i++) { /* the second has rates */
		assert_int_equal(csf_snapshot_new(&s), 0);
		assert_int_equal(csf_collector_collect(c, s), 0);
		assert_int_equal(csf_snapshot_add_metric(s, "app.requests", 12.5), 0);
		assert_non_null(s->system);
		assert_non_null(s->system->cpu);
		assert_true(s->system->cpu->cores_count > 0);
		assert_non_null(s->system->processes);
		map_and_check(s);
		csf_snapshot_free(s);
		s = NULL;
	}
	csf_collector_free(c);
}

/* A snapshot made by hand, with names that are not UTF-8. */
typedef struct hand {
	csf_host host;
	csf_cpu cpu;
	csf_cpu_core core0, core1, *cores[2];
	csf_memory mem;
	csf_filesystem fs, *fss[1];
	csf_disk disk, *disks[1];
	csf_interface lo, eth, *ifs[2];
	csf_network net;
	csf_process p1, p2, *top_cpu[2], *top_mem[1];
	csf_processes procs;
	csf_system sys;
} hand;

static void hand_build(hand *h)
{
	memset(h, 0, sizeof(*h));
	h->host = (csf_host){ "host-\xe9", "debian", "Debian GNU/Linux", "12", "Debian GNU/Linux 12 (bookworm)",
			      "6.1.0-18-amd64", "x86_64", "Intel(R) Xeon(R)", 8, 4, 1700000000, 12345.5 };
	h->cpu.total = (csf_cpu_usage){ 12.5, 8, 0.5, 3, 1, 0.25, 0.125, 0.0625, 86.5 };
	h->core0 = (csf_cpu_core){ 0, { 10, 5, 1, 2, 2, 0, 0, 0, 88 } };
	h->core1 = (csf_cpu_core){ 3, { 20, 15, 0, 4, 1, 0, 0, 0, 79 } };
	h->cores[0] = &h->core0;
	h->cores[1] = &h->core1;
	h->cpu.cores = h->cores;
	h->cpu.cores_count = 2;
	h->cpu.load1 = 0.5;
	h->cpu.load5 = 0.75;
	h->cpu.load15 = 1.25;
	h->cpu.context_switches = 123456789012ull;
	h->cpu.context_switches_per_sec = 4321.5;
	h->cpu.procs_running = 3;
	h->cpu.procs_blocked = 1;
	h->mem = (csf_memory){ 16ull << 30, 6ull << 30, 10ull << 30, 2ull << 30, 1ull << 28,
			       7ull << 30, 4ull << 30, 1ull << 20, (4ull << 30) - (1ull << 20), 37.5 };
	h->fs = (csf_filesystem){ "/dev/sda1", "/mnt/caf\xe9", "ext4", 100ull << 30, 40ull << 30, 55ull << 30,
				  42.1, 6553600, 123456, 6553600 - 123456 };
	h->fss[0] = &h->fs;
	h->disk = (csf_disk){ "sda", 1000, 2000, 4096000, 8192000, 10.5, 20.25, 43008, 86016, 3.5 };
	h->disks[0] = &h->disk;
	h->lo = (csf_interface){ "lo", { 100, 2, 0, 0, 10, 0.2 }, { 100, 2, 0, 0, 10, 0.2 } };
	h->eth = (csf_interface){ "eth0", { 5000, 50, 1, 2, 500, 5 }, { 7000, 60, 0, 1, 700, 6 } };
	h->ifs[0] = &h->lo;
	h->ifs[1] = &h->eth;
	h->net = (csf_network){ h->ifs, 2, { 5000, 50, 1, 2, 500, 5 }, { 7000, 60, 0, 1, 700, 6 } };
	h->p1 = (csf_process){ 4242, "bad\xff\xfe", "root", 150.5, 1ull << 30 };
	h->p2 = (csf_process){ 1, "systemd", "root", 0.5, 12ull << 20 };
	h->top_cpu[0] = &h->p1;
	h->top_cpu[1] = &h->p2;
	h->top_mem[0] = &h->p1;
	h->procs = (csf_processes){ 321, 1234, h->top_cpu, 2, h->top_mem, 1 };
	h->sys.interval_seconds = 10.0;
	h->sys.host = &h->host;
	h->sys.cpu = &h->cpu;
	h->sys.memory = &h->mem;
	h->sys.filesystems = h->fss;
	h->sys.filesystems_count = 1;
	h->sys.disks = h->disks;
	h->sys.disks_count = 1;
	h->sys.network = &h->net;
	h->sys.processes = &h->procs;
}

static void test_snapshot_by_hand(void **state)
{
	hand h;
	csf_snapshot *s = NULL;
	csf__arena a;
	Csf__V1__MetricsSnapshot *m = NULL;
	Csf__V1__HostFacts *hf = NULL;

	(void)state;
	hand_build(&h);
	assert_int_equal(csf_snapshot_new(&s), 0);
	s->timestamp_ms = 1700000000123;
	s->system = &h.sys;
	assert_int_equal(csf_snapshot_add_metric(s, "queue.depth", 7), 0);
	assert_int_equal(csf_snapshot_add_metric(s, "temp_c", -3.25), 0);
	map_and_check(s);
	/* the exact replacements */
	csf__arena_init(&a, 0);
	assert_int_equal(csf__pb_metrics_from_snapshot(&m, &a, s), 0);
	assert_string_equal(m->processes->top_cpu[0]->name, "bad\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(m->filesystems[0]->mountpoint, "/mnt/caf\xef\xbf\xbd");
	assert_string_equal(m->custom[1]->key, "temp_c");
	EQ(m->custom[1]->value, -3.25);
	assert_int_equal(csf__pb_host_facts_from_snapshot(&hf, &a, s), 0);
	assert_string_equal(hf->hostname, "host-\xef\xbf\xbd");
	EQ(hf->memory_total_bytes, 16ull << 30);
	/* parts left out: no processes, no network, no cpu */
	h.sys.processes = NULL;
	h.sys.network = NULL;
	h.sys.cpu = NULL;
	h.sys.memory = NULL;
	h.sys.host = NULL;
	map_and_check(s);
	/* a NULL element is refused */
	h.sys.disks[0] = NULL;
	assert_int_equal(csf__pb_metrics_from_snapshot(&m, &a, s), CSF_EINVALID);
	assert_null(m);
	assert_non_null(strstr(csf_error_last()->message, "disks[0]"));
	/* only user metrics */
	s->system = NULL;
	map_and_check(s);
	csf_snapshot_free(s);
	/* nothing at all */
	assert_int_equal(csf_snapshot_new(&s), 0);
	assert_int_equal(csf__pb_metrics_from_snapshot(&m, &a, s), CSF_EINVALID);
	assert_int_equal(csf__pb_host_facts_from_snapshot(&hf, &a, s), CSF_EINVALID);
	csf_snapshot_free(s);
	csf__arena_free(&a);
}

/* ------------------------------------------------------------ allocation failures */

/* Run `scenario` with allocation k failing, k = 0, 1, ...: each failure is a
 * clean CSF_ENOMEM that leaks nothing. Returns the number of points. */
static long walk(int (*scenario)(void *), void *arg)
{
	long k;

	for (k = 0; k < 100000; k++) {
		long live = fa.live;
		int rc;

		fa.failed = 0;
		fa.countdown = k;
		csf_error_clear();
		rc = scenario(arg);
		fa.countdown = -1;
		if (fa.live != live)
			fail_msg("allocation %ld failing leaked %ld allocations", k, fa.live - live);
		if (!fa.failed) {
			assert_int_equal(rc, 0);
			break;
		}
		if (rc != CSF_ENOMEM)
			fail_msg("allocation %ld failing returned %d (%s), not CSF_ENOMEM", k, rc,
				 csf_error_last()->message);
		assert_int_equal(csf_error_last()->code, CSF_ENOMEM);
	}
	return k;
}

typedef struct bytes {
	const uint8_t *p;
	size_t len;
	const ProtobufCMessageDescriptor *desc;
} bytes;

static int decode_scenario(void *arg)
{
	const bytes *b = arg;
	ProtobufCMessage *m = NULL;
	int rc = decode_as(&m, b->desc, b->p, b->len);

	csf__pb_free(m);
	if (!rc && b->desc == &csf__v1__agent_message__descriptor) {
		/* into an arena: a chunk that cannot be had fails the decode */
		csf__arena a;

		csf__arena_init(&a, 256);
		rc = csf__pb_agent_message_decode_in((Csf__V1__AgentMessage **)&m, &a, b->p, b->len);
		csf__arena_free(&a);
	}
	return rc;
}

static void test_decode_allocation_failures(void **state)
{
	static const unsigned picks[] = { 2, 5, 1, 3 }; /* metrics, logs, heartbeat, containers */
	size_t i;

	(void)state;
	for (i = 0; i < CSF__ARRAY_SIZE(picks) + 1; i++) {
		const ProtobufCMessageDescriptor *d = i < CSF__ARRAY_SIZE(picks)
			? &csf__v1__agent_message__descriptor : &csf__v1__server_message__descriptor;
		csf__arena a;
		bytes b;
		uint8_t *buf = NULL;
		long points;

		csf__arena_init(&a, 0);
		assert_int_equal(csf__pb_pack(&buf, &b.len, make_full(&a, d, i < 4 ? picks[i] : 2)), 0);
		b.p = buf;
		b.desc = d;
		points = walk(decode_scenario, &b);
		printf("%s: %ld allocation failure points\n", d->name, points);
		assert_true(points >= 4);
		csf__free(buf);
		csf__arena_free(&a);
	}
}

static int map_scenario(void *arg)
{
	const csf_snapshot *snap = arg;
	Csf__V1__AgentMessage am = CSF__V1__AGENT_MESSAGE__INIT;
	Csf__V1__HostFacts *h = NULL;
	csf__arena a;
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	csf__arena_init(&a, 1); /* a chunk per allocation: every one can fail */
	am.agent_id = "a";
	am.boot_id = "b";
	am.seq = 1;
	am.body_case = CSF__V1__AGENT_MESSAGE__BODY_METRICS;
	rc = csf__pb_metrics_from_snapshot(&am.metrics, &a, snap);
	if (!rc)
		rc = csf__pb_host_facts_from_snapshot(&h, &a, snap);
	if (!rc)
		rc = csf__pb_pack_framed(&buf, &len, &am.base);
	csf__free(buf);
	csf__arena_free(&a);
	return rc;
}

static void test_mapping_allocation_failures(void **state)
{
	csf_collector *c = NULL;
	csf_snapshot *s = NULL;
	long points;
	hand h;

	(void)state;
	assert_int_equal(csf_collector_new(&c, csf_collector_system(), NULL), 0);
	assert_int_equal(csf_snapshot_new(&s), 0);
	assert_int_equal(csf_collector_collect(c, s), 0);
	assert_int_equal(csf_snapshot_add_metric(s, "x", 1), 0);
	points = walk(map_scenario, s);
	printf("live snapshot: %ld allocation failure points\n", points);
	assert_true(points > 20);
	csf_snapshot_free(s);
	csf_collector_free(c);

	hand_build(&h);
	assert_int_equal(csf_snapshot_new(&s), 0);
	s->system = &h.sys;
	points = walk(map_scenario, s);
	printf("hand-built snapshot: %ld allocation failure points\n", points);
	assert_true(points > 10);
	csf_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deframer_every_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deframer_every_pair_of_splits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deframer_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deframer_max_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deframer_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deframer_callback_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deframer_no_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deframer_buffer_grows_with_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deframer_enomem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_every_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_framed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_ids_and_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_memory_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpack_generic_and_misuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_messages_from_a_stock_encoder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_from_system_collector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_allocation_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapping_allocation_failures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
