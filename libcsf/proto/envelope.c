/*
 * The protocol's messages through protobuf-c: libcsf's allocator, a decoder
 * that checks the wire format and strings before protobuf-c builds the
 * structs (protobuf-c checks neither UTF-8 nor embedded NULs, and would cut
 * a string at its first NUL without a word), a bound on the memory a decode
 * may take, an encoder that refuses what a peer would reject, and the checks
 * the schema cannot express.
 */
#include <string.h>

#include "proto/envelope.h"
#include "proto/grpc_frame.h"
#include "proto/wire.h"

#define ID_MAX 128

#define CMEMBER(type, m, off) (*(const type *)(const void *)((const char *)(m) + (off)))

void *csf__pb_budget_alloc(void *data, size_t size)
{
	csf__pb_budget *b = data;
	void *p;

	if (b) {
		if (size > b->left) {
			b->over = 1;
			return NULL;
		}
		b->left -= size;
	}
	p = b && b->arena ? csf__arena_alloc(b->arena, size) : csf__malloc(size);
	if (!p && b)
		b->oom = 1;
	return p;
}

/* What an arena holds goes with the arena. */
static void pb_free(void *data, void *p)
{
	const csf__pb_budget *b = data;

	if (!b || !b->arena)
		csf__free(p);
}

ProtobufCAllocator csf__pb_allocator = { csf__pb_budget_alloc, pb_free, NULL };

/* ------------------------------------------------------------ strings */

/* Length of the valid UTF-8 sequence at s (n bytes left); 0 when invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	uint32_t cp;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0; /* continuation byte, or overlong 2-byte lead */
	if (c < 0xE0) {
		len = 2;
		cp = c & 0x1F;
	} else if (c < 0xF0) {
		len = 3;
		cp = c & 0x0F;
	} else if (c < 0xF5) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0; /* overlong, past U+10FFFF, or a surrogate */
	return len;
}

#define HIGH_BITS 0x8080808080808080ull
#define LOW_BITS 0x0101010101010101ull

int csf__pb_string_valid(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	while (i < n) {
		size_t k;

		if (n - i >= 8) {
			/* eight ASCII bytes, none NUL, at a time: most text is */
			uint64_t w;

			memcpy(&w, p + i, sizeof(w));
			if (!(w & HIGH_BITS) && !((w - LOW_BITS) & ~w & HIGH_BITS)) {
				i += 8;
				continue;
			}
		}
		if (p[i] - 1u < 0x7Fu) { /* ASCII, not NUL: a short string's bytes */
			i++;
			continue;
		}
		k = p[i] ? utf8_seq(p + i, n - i) : 0;

		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

char *csf__pb_arena_strdup_utf8(csf__arena *arena, const char *s)
{
	const uint8_t *p = (const uint8_t *)(s ? s : "");
	size_t n = strlen((const char *)p), i, out_len = 0;
	char *out, *o;

	for (i = 0; i < n;) {
		size_t k = utf8_seq(p + i, n - i);

		out_len += k ? k : 3;
		i += k ? k : 1;
	}
	out = csf__arena_alloc(arena, out_len + 1);
	if (!out)
		return NULL;
	for (i = 0, o = out; i < n;) {
		size_t k = utf8_seq(p + i, n - i);

		if (k) {
			memcpy(o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD */
			o += 3;
			i++;
		}
	}
	return out;
}

/* ------------------------------------------------------------ decoding */

/*
 * protobuf_c_message_descriptor_get_field without the call into the library
 * (the decoders look up every field of every message): the field numbers
 * come in ranges, each range's fields consecutive from orig_index, and the
 * sentinel range after the last holds the count of fields.
 */
static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessageDescriptor *d, uint64_t id)
{
	const ProtobufCIntRange *r = d->field_ranges;
	unsigned i;

	for (i = 0; i < d->n_field_ranges; i++) {
		uint64_t first = (uint64_t)r[i].start_value, count = r[i + 1].orig_index - r[i].orig_index;

		if (id >= first && id - first < count)
			return &d->fields[r[i].orig_index + (id - first)];
	}
	return NULL;
}

/*
 * Walk the wire format of a `desc` message in [p, end): every tag, length
 * and value is whole, known fields have their wire type (a repeated scalar
 * may come packed), strings are UTF-8 without NUL, and known sub-messages
 * pass the same walk. Offsets in errors count from `base`.
 *
 * A singular sub-message that comes twice is refused, although protobuf
 * says to merge the two: no encoder writes that, and protobuf-c 1.4's merge
 * drops the earlier scalars and, for a sub-message holding a oneof that
 * neither copy sets, indexes its field table at -1.
 */
static int check_wire(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end,
		      const uint8_t *base, unsigned depth)
{
	uint64_t seen = 0; /* singular sub-messages met, by field index */

	if (depth > DEPTH_MAX)
		return csf__error_set(CSF_EPARSE, "%s: nested deeper than %d", desc->name, DEPTH_MAX);
	while (p < end) {
		size_t at = (size_t)(p - base);
		const ProtobufCFieldDescriptor *f;
		uint64_t tag, v;
		unsigned wt;
		int rc;

		/* protobuf-c reads a tag, and a length below, in at most 5 bytes */
		if (!csf__pb_get_varint(&p, end, &tag) || p - (base + at) > 5)
			return csf__error_set(CSF_EPARSE, "%s: bad tag at offset %zu", desc->name, at);
		wt = (unsigned)(tag & 7);
		if (tag >> 3 == 0 || tag >> 3 > 0x1FFFFFFF)
			return csf__error_set(CSF_EPARSE, "%s: field number %llu at offset %zu is out of range",
					      desc->name, (unsigned long long)(tag >> 3), at);
		f = field_of(desc, tag >> 3);
		if (f && wt != csf__pb_wire_type_of(f->type) &&
		    !(wt == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED && f->label == PROTOBUF_C_LABEL_REPEATED))
			return csf__error_set(CSF_EPARSE, "%s.%s: wire type %u at offset %zu, expected %u",
					      desc->name, f->name, wt, at, csf__pb_wire_type_of(f->type));
		if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
		    !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && f - desc->fields < 64) {
			uint64_t bit = (uint64_t)1 << (f - desc->fields);

			if (seen & bit)
				return csf__error_set(CSF_EPARSE, "%s.%s at offset %zu: the sub-message comes twice",
						      desc->name, f->name, at);
			seen |= bit;
		}
		switch (wt) {
		case PROTOBUF_C_WIRE_TYPE_VARINT:
			if (!csf__pb_get_varint(&p, end, &v))
				return csf__error_set(CSF_EPARSE, "%s: bad varint in field %llu at offset %zu",
						      desc->name, (unsigned long long)(tag >> 3), at);
			break;
		case PROTOBUF_C_WIRE_TYPE_64BIT:
		case PROTOBUF_C_WIRE_TYPE_32BIT: {
			size_t n = wt == PROTOBUF_C_WIRE_TYPE_64BIT ? 8 : 4;

			if ((size_t)(end - p) < n)
				return csf__error_set(CSF_EPARSE, "%s: truncated %zu-byte value in field %llu at offset %zu",
						      desc->name, n, (unsigned long long)(tag >> 3), at);
			p += n;
			break;
		}
		case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED: {
			const uint8_t *len_at = p;

			if (!csf__pb_get_varint(&p, end, &v) || p - len_at > 5)
				return csf__error_set(CSF_EPARSE, "%s: bad length in field %llu at offset %zu",
						      desc->name, (unsigned long long)(tag >> 3), at);
			if (v > (uint64_t)(end - p))
				return csf__error_set(CSF_EPARSE, "%s: field %llu at offset %zu claims %llu bytes, %zu are left",
						      desc->name, (unsigned long long)(tag >> 3), at,
						      (unsigned long long)v, (size_t)(end - p));
			if (f && f->type == PROTOBUF_C_TYPE_STRING && !csf__pb_string_valid((const char *)p, (size_t)v))
				return csf__error_set(CSF_EPARSE, "%s.%s at offset %zu: not valid UTF-8, or holds a NUL",
						      desc->name, f->name, at);
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    (rc = check_wire(f->descriptor, p, p + v, base, depth + 1)) != 0)
				return rc;
			p += v;
			break;
		}
		default:
			return csf__error_set(CSF_EPARSE, "%s: wire type %u at offset %zu is not supported",
					      desc->name, wt, at);
		}
	}
	return 0;
}

static int unpack(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc, const uint8_t *data,
		  size_t len, csf__arena *arena)
{
	static const uint8_t empty[1];
	csf__pb_budget b = { 0, 0, 0, arena };
	ProtobufCAllocator a = { csf__pb_budget_alloc, pb_free, &b };
	ProtobufCMessage *m;
	size_t limit;
	int rc;

	if (!out || !desc || (!data && len))
		return csf__misuse("csf__pb_unpack: NULL argument");
	*out = NULL;
	if (!data)
		data = empty;
	if (len > INPUT_MAX)
		return csf__error_set(CSF_ELIMIT, "%s: %zu bytes is more than a message may have", desc->name, len);
	if ((rc = check_wire(desc, data, data + len, data, 0)) != 0)
		return rc;
	limit = len > (SIZE_MAX - DECODE_SLACK) / DECODE_AMPLIFICATION
		? SIZE_MAX : len * DECODE_AMPLIFICATION + DECODE_SLACK;
	b.left = limit;
	m = protobuf_c_message_unpack(desc, &a, len, data);
	if (m) {
		*out = m;
		return 0;
	}
	if (b.oom)
		return csf__error_set(CSF_ENOMEM, "%s: out of memory decoding %zu bytes", desc->name, len);
	if (b.over)
		return csf__error_set(CSF_ELIMIT, "%s: decoding %zu bytes needs more than %zu bytes of memory",
				      desc->name, len, limit);
	return csf__error_set(CSF_EPARSE, "%s: protobuf-c refused the message", desc->name);
}

int csf__pb_unpack(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc,
		   const uint8_t *data, size_t len)
{
	return unpack(out, desc, data, len, NULL);
}

void csf__pb_free(ProtobufCMessage *msg)
{
	protobuf_c_message_free_unpacked(msg, &csf__pb_allocator);
}

/* ------------------------------------------------------------ encoding */

/* What protobuf-c would crash on, and strings a peer would reject. */
static int check_struct(const ProtobufCMessage *m, unsigned depth)
{
	const ProtobufCMessageDescriptor *desc;
	unsigned i;

	if (!m->descriptor || m->descriptor->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
		return csf__error_set(CSF_EINVALID, "protobuf: not a message");
	desc = m->descriptor;
	if (depth > DEPTH_MAX)
		return csf__error_set(CSF_EINVALID, "%s: nested deeper than %d", desc->name, DEPTH_MAX);
	if (m->n_unknown_fields && !m->unknown_fields)
		return csf__error_set(CSF_EINVALID, "%s: unknown fields counted but missing", desc->name);
	for (i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const void *v = (const char *)m + f->offset;
		size_t n = 1, j;
		int rc;

		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && CMEMBER(uint32_t, m, f->quantifier_offset) != f->id)
			continue;
		if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_BYTES &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = CMEMBER(size_t, m, f->quantifier_offset);
			v = CMEMBER(void *, m, f->offset);
			if (n && !v)
				return csf__error_set(CSF_EINVALID, "%s.%s: %zu elements but no array",
						      desc->name, f->name, n);
		}
		for (j = 0; j < n; j++) {
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				const char *s = ((const char *const *)v)[j];

				if (!s && f->label == PROTOBUF_C_LABEL_REPEATED)
					return csf__error_set(CSF_EINVALID, "%s.%s[%zu] is NULL", desc->name, f->name, j);
				if (s && !csf__pb_string_valid(s, strlen(s)))
					return csf__error_set(CSF_EINVALID, "%s.%s is not valid UTF-8", desc->name, f->name);
			} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
				const ProtobufCBinaryData *bd = (const ProtobufCBinaryData *)v + j;

				if (bd->len && !bd->data)
					return csf__error_set(CSF_EINVALID, "%s.%s: %zu bytes but no data",
							      desc->name, f->name, bd->len);
			} else {
				const ProtobufCMessage *sub = ((const ProtobufCMessage *const *)v)[j];

				if (!sub && f->label == PROTOBUF_C_LABEL_REPEATED)
					return csf__error_set(CSF_EINVALID, "%s.%s[%zu] is NULL", desc->name, f->name, j);
				if (sub && (rc = check_struct(sub, depth + 1)) != 0)
					return rc;
			}
		}
	}
	return 0;
}

static int pack(uint8_t **out, size_t *len, const ProtobufCMessage *msg, size_t headroom)
{
	uint8_t *buf;
	size_t n;
	int rc;

	if (!out || !len || !msg)
		return csf__misuse("csf__pb_pack: NULL argument");
	*out = NULL;
	*len = 0;
	if ((rc = check_struct(msg, 0)) != 0)
		return rc;
	n = protobuf_c_message_get_packed_size(msg);
	if (n > INPUT_MAX)
		return csf__error_set(CSF_ELIMIT, "%s: %zu bytes packed is more than a message may have",
				      msg->descriptor->name, n);
	buf = csf__malloc(headroom + n);
	if (!buf)
		return CSF_ENOMEM;
	protobuf_c_message_pack(msg, buf + headroom);
	*out = buf;
	*len = headroom + n;
	return 0;
}

int csf__pb_pack(uint8_t **out, size_t *len, const ProtobufCMessage *msg)
{
	return pack(out, len, msg, 0);
}

int csf__pb_pack_framed(uint8_t **out, size_t *len, const ProtobufCMessage *msg)
{
	int rc = pack(out, len, msg, CSF__GRPC_FRAME_HEADER);

	if (!rc)
		csf__grpc_frame_header(*out, *len - CSF__GRPC_FRAME_HEADER);
	return rc;
}

/* ------------------------------------------------------------ typed decoders */

static int check_id(const char *what, const char *s, int required)
{
	size_t n = strlen(s);

	if (required && n == 0)
		return csf__error_set(CSF_EPARSE, "%s is empty", what);
	if (n > ID_MAX)
		return csf__error_set(CSF_EPARSE, "%s is %zu bytes, more than %d", what, n, ID_MAX);
	return 0;
}

int csf__pb_check_agent_message(const ProtobufCMessage *msg)
{
	const Csf__V1__AgentMessage *m = (const Csf__V1__AgentMessage *)msg;
	int rc, data = 1;

	if ((rc = check_id("AgentMessage.agent_id", m->agent_id, 1)) != 0 ||
	    (rc = check_id("AgentMessage.boot_id", m->boot_id, 1)) != 0)
		return rc;
	switch (m->body_case) {
	case CSF__V1__AGENT_MESSAGE__BODY__NOT_SET:
		return csf__error_set(CSF_EPARSE, "AgentMessage has no body, or one this version does not know");
	case CSF__V1__AGENT_MESSAGE__BODY_HELLO:
	case CSF__V1__AGENT_MESSAGE__BODY_HEARTBEAT:
		data = 0;
		break;
	case CSF__V1__AGENT_MESSAGE__BODY_RENEW_CERTIFICATE:
		data = 0;
		if (m->renew_certificate->csr_der.len == 0)
			return csf__error_set(CSF_EPARSE, "CertificateRenewalRequest has no CSR");
		break;
	case CSF__V1__AGENT_MESSAGE__BODY_TASK_UPDATE:
		if ((rc = check_id("TaskUpdate.task_id", m->task_update->task_id, 1)) != 0)
			return rc;
		break;
	default:
		break;
	}
	if (data && m->seq == 0)
		return csf__error_set(CSF_EPARSE, "AgentMessage: a message that needs delivery has seq 0");
	return 0;
}

static int check_server_message(const ProtobufCMessage *msg)
{
	const Csf__V1__ServerMessage *m = (const Csf__V1__ServerMessage *)msg;
	int rc;

	switch (m->body_case) {
	case CSF__V1__SERVER_MESSAGE__BODY__NOT_SET:
		return csf__error_set(CSF_EPARSE, "ServerMessage has no body, or one this version does not know");
	case CSF__V1__SERVER_MESSAGE__BODY_WELCOME:
		return check_id("Welcome.session_id", m->welcome->session_id, 0);
	case CSF__V1__SERVER_MESSAGE__BODY_ACK:
		return check_id("Ack.boot_id", m->ack->boot_id, 1);
	case CSF__V1__SERVER_MESSAGE__BODY_COMMAND:
		if ((rc = check_id("Command.task_id", m->command->task_id, 1)) != 0)
			return rc;
		if (m->command->task_case == CSF__V1__COMMAND__TASK__NOT_SET)
			return csf__error_set(CSF_EPARSE, "Command %s has no task, or one this version does not know",
					      m->command->task_id);
		return 0;
	default:
		return 0;
	}
}

static int check_register_request(const ProtobufCMessage *msg)
{
	const Csf__V1__RegisterAgentRequest *m = (const Csf__V1__RegisterAgentRequest *)msg;
	if (!m->enrollment_token[0])
		return csf__error_set(CSF_EPARSE, "RegisterAgentRequest has no enrollment token");
	if (m->csr_der.len == 0)
		return csf__error_set(CSF_EPARSE, "RegisterAgentRequest has no CSR");
	return 0;
}

static int check_register_response(const ProtobufCMessage *msg)
{
	const Csf__V1__RegisterAgentResponse *m = (const Csf__V1__RegisterAgentResponse *)msg;
	int rc = check_id("RegisterAgentResponse.agent_id", m->agent_id, 1);

	if (!rc && m->certificate_der.len == 0)
		rc = csf__error_set(CSF_EPARSE, "RegisterAgentResponse has no certificate");
	return rc;
}

/* Decode (into `arena` unless NULL), then check what the schema cannot. */
static int decode_in(ProtobufCMessage **out, csf__arena *arena, const ProtobufCMessageDescriptor *desc,
		     const uint8_t *data, size_t len, int (*check)(const ProtobufCMessage *))
{
	ProtobufCMessage *m = NULL;
	int rc = unpack(&m, desc, data, len, arena);

	if (!rc)
		rc = check(m);
	if (rc) {
		if (!arena)
			csf__pb_free(m);
		m = NULL;
	}
	*out = m;
	return rc;
}

static int decode(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc, const uint8_t *data,
		  size_t len, int (*check)(const ProtobufCMessage *))
{
	return decode_in(out, NULL, desc, data, len, check);
}

int csf__pb_agent_message_decode(Csf__V1__AgentMessage **out, const uint8_t *data, size_t len)
{
	return csf__pb_agent_message_decode_in(out, NULL, data, len);
}

int csf__pb_agent_message_decode_in(Csf__V1__AgentMessage **out, csf__arena *arena, const uint8_t *data,
				    size_t len)
{
	ProtobufCMessage *m = NULL;
	int rc;

	if (!out)
		return csf__misuse("csf__pb_agent_message_decode: out is NULL");
	rc = decode_in(&m, arena, &csf__v1__agent_message__descriptor, data, len, csf__pb_check_agent_message);
	*out = (Csf__V1__AgentMessage *)m;
	return rc;
}

int csf__pb_server_message_decode(Csf__V1__ServerMessage **out, const uint8_t *data, size_t len)
{
	ProtobufCMessage *m = NULL;
	int rc;

	if (!out)
		return csf__misuse("csf__pb_server_message_decode: out is NULL");
	rc = decode(&m, &csf__v1__server_message__descriptor, data, len, check_server_message);
	*out = (Csf__V1__ServerMessage *)m;
	return rc;
}

int csf__pb_register_request_decode(Csf__V1__RegisterAgentRequest **out, const uint8_t *data, size_t len)
{
	ProtobufCMessage *m = NULL;
	int rc;

	if (!out)
		return csf__misuse("csf__pb_register_request_decode: out is NULL");
	rc = decode(&m, &csf__v1__register_agent_request__descriptor, data, len, check_register_request);
	*out = (Csf__V1__RegisterAgentRequest *)m;
	return rc;
}

int csf__pb_register_response_decode(Csf__V1__RegisterAgentResponse **out, const uint8_t *data, size_t len)
{
	ProtobufCMessage *m = NULL;
	int rc;

	if (!out)
		return csf__misuse("csf__pb_register_response_decode: out is NULL");
	rc = decode(&m, &csf__v1__register_agent_response__descriptor, data, len, check_register_response);
	*out = (Csf__V1__RegisterAgentResponse *)m;
	return rc;
}
