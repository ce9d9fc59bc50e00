/*
 * The server's decoder of metrics messages: the same strict check of the
 * whole message as the generic decoder (envelope.c's check_wire), then only
 * the fields ingest and the live feed read are built.
 *
 * Both walks run on the server's event loop for every message, so they look
 * fields up in tables built once from the descriptors (a field number
 * indexes its rule directly) instead of protobuf-c's descriptors (field
 * ranges, then a 72-byte descriptor per field to read its type): that
 * lookup was the largest part of the check. Whatever the tables cannot
 * answer, and every fault, goes to the generic decoder, which decodes the
 * message whole or names the fault exactly as before.
 */
#include <pthread.h>
#include <string.h>

#include "proto/wire.h"

/*
 * The fields the server reads of a metrics message (server/ingest.c and the
 * live feed), by field number per message type; the decoder below builds
 * only these and skips the rest (per-CPU figures, disks, interfaces,
 * processes: most of a snapshot).
 */
typedef struct wanted {
	const ProtobufCMessageDescriptor *desc;
	uint32_t ids[8]; /* 0-terminated */
} wanted;

static const wanted wants[] = {
	{ &csf__v1__agent_message__descriptor, { 1, 2, 3, 4, 12 } },
	{ &csf__v1__metrics_snapshot__descriptor, { 1, 3, 4, 5, 8, 9, 11 } },
	{ &csf__v1__cpu_metrics__descriptor, { 1, 3 } },
	{ &csf__v1__cpu_usage__descriptor, { 1 } },
	{ &csf__v1__memory_metrics__descriptor, { 1, 2 } },
	{ &csf__v1__filesystem_metrics__descriptor, { 4, 5 } },
	{ &csf__v1__net_counters__descriptor, { 1, 5 } },
	{ &csf__v1__metrics_snapshot__custom_entry__descriptor, { 1, 2 } },
};

#define METRICS_FIELD 12 /* AgentMessage.metrics */

/* ------------------------------------------------------------ the tables */

/* A message type whose field numbers go past this has no table. */
#define RULE_IDS_MAX 64
#define TYPES_MAX 64
#define RULES_MAX 1024

enum { KIND_SCALAR, KIND_STRING, KIND_MESSAGE };

typedef struct rules rules;

/* What check_wire and fill_wanted need of a field. */
typedef struct rule {
	const ProtobufCFieldDescriptor *f; /* NULL: no field has this number */
	const rules *sub;                  /* a message field's type; NULL: no table */
	uint8_t wt;                        /* its wire type (unpacked) */
	uint8_t kind;
	uint8_t repeated;
	uint8_t seen;                      /* a singular sub-message: 1 + its bit; 0: none */
	uint8_t wanted;                    /* built by fill_wanted */
} rule;

struct rules {
	const ProtobufCMessageDescriptor *desc;
	uint32_t n;         /* field numbers 0 .. n - 1 */
	int repeated_wanted; /* a repeated field is wanted: fill_wanted counts */
	rule *rule;
};

static rules types[TYPES_MAX];
static rule pool[RULES_MAX];
static size_t n_types, n_pool;
static const rules *agent_rules; /* NULL: no tables, the generic decoder does it all */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static rules *rules_of(const ProtobufCMessageDescriptor *d)
{
	size_t i;

	for (i = 0; i < n_types; i++)
		if (types[i].desc == d)
			return &types[i];
	return NULL;
}

/* The table of `d` and of the types under it; NULL if they do not fit. */
static const rules *build(const ProtobufCMessageDescriptor *d, unsigned depth)
{
	rules *r = rules_of(d);
	uint32_t max = 0;
	unsigned i;

	if (r)
		return r;
	for (i = 0; i < d->n_fields; i++)
		max = d->fields[i].id > max ? d->fields[i].id : max;
	if (depth > DEPTH_MAX || max >= RULE_IDS_MAX || n_types == TYPES_MAX || n_pool + max + 1 > RULES_MAX)
		return NULL;
	r = &types[n_types++]; /* before its fields: a type may contain itself */
	r->desc = d;
	r->n = max + 1;
	r->rule = &pool[n_pool];
	n_pool += r->n;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		rule *ru = &r->rule[f->id];

		ru->f = f;
		ru->wt = (uint8_t)csf__pb_wire_type_of(f->type);
		ru->kind = f->type == PROTOBUF_C_TYPE_MESSAGE ? KIND_MESSAGE
			   : f->type == PROTOBUF_C_TYPE_STRING ? KIND_STRING
							       : KIND_SCALAR;
		ru->repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
		/* as check_wire: the first 64 fields, by their index */
		if (ru->kind == KIND_MESSAGE && !ru->repeated && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && i < 64)
			ru->seen = (uint8_t)(i + 1);
		if (ru->kind == KIND_MESSAGE)
			ru->sub = build(f->descriptor, depth + 1);
	}
	return r;
}

static void build_tables(void)
{
	const rules *agent = build(&csf__v1__agent_message__descriptor, 0);
	size_t i;

	for (i = 0; agent && i < CSF__ARRAY_SIZE(wants); i++) {
		rules *r = rules_of(wants[i].desc);
		const uint32_t *id;

		for (id = wants[i].ids; r && *id; id++) {
			if (*id >= r->n || !r->rule[*id].f ||
			    (r->rule[*id].kind == KIND_MESSAGE && !r->rule[*id].sub)) {
				r = NULL;
				break;
			}
			r->rule[*id].wanted = 1;
			r->repeated_wanted |= r->rule[*id].repeated;
		}
		if (!r)
			agent = NULL; /* fill_wanted could not build it: no tables */
	}
	agent_rules = agent;
}

/* ------------------------------------------------------------ the check */

/*
 * check_wire's walk with the tables: 0 when check_wire accepts the bytes,
 * -1 when it does not, or when a sub-message's type has no table (the
 * generic decoder then checks and names the fault).
 */
static int check(const rules *r, const uint8_t *p, const uint8_t *end, unsigned depth)
{
	uint64_t seen = 0;

	if (depth > DEPTH_MAX)
		return -1;
	while (p < end) {
		const uint8_t *at = p;
		const rule *ru = NULL;
		uint64_t tag, id, v;
		unsigned wt;

		if (!csf__pb_get_varint(&p, end, &tag) || p - at > 5)
			return -1;
		wt = (unsigned)(tag & 7);
		id = tag >> 3;
		if (id == 0 || id > 0x1FFFFFFF)
			return -1;
		if (id < r->n && r->rule[id].f)
			ru = &r->rule[id];
		if (ru && wt != ru->wt && !(wt == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED && ru->repeated))
			return -1;
		if (ru && ru->seen) {
			uint64_t bit = (uint64_t)1 << (ru->seen - 1);

			if (seen & bit)
				return -1;
			seen |= bit;
		}
		switch (wt) {
		case PROTOBUF_C_WIRE_TYPE_VARINT:
			if (!csf__pb_get_varint(&p, end, &v))
				return -1;
			break;
		case PROTOBUF_C_WIRE_TYPE_64BIT:
		case PROTOBUF_C_WIRE_TYPE_32BIT:
			if ((size_t)(end - p) < (wt == PROTOBUF_C_WIRE_TYPE_64BIT ? 8u : 4u))
				return -1;
			p += wt == PROTOBUF_C_WIRE_TYPE_64BIT ? 8 : 4;
			break;
		case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
			at = p;
			if (!csf__pb_get_varint(&p, end, &v) || p - at > 5 || v > (uint64_t)(end - p))
				return -1;
			if (ru && ru->kind == KIND_STRING && !csf__pb_string_valid((const char *)p, (size_t)v))
				return -1;
			if (ru && ru->kind == KIND_MESSAGE && (!ru->sub || check(ru->sub, p, p + v, depth + 1) != 0))
				return -1;
			p += v;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ building */

/* One field of a message that the check has accepted. */
typedef struct wire_field {
	uint32_t id;
	unsigned wt;
	uint64_t v;          /* varint, or a fixed value's bytes (little-endian) */
	const uint8_t *data; /* length-delimited: its bytes */
	size_t len;
} wire_field;

static void next_field(const uint8_t **p, const uint8_t *end, wire_field *f)
{
	uint64_t tag = 0;
	size_t n, i;

	csf__pb_get_varint(p, end, &tag);
	f->id = (uint32_t)(tag >> 3);
	f->wt = (unsigned)(tag & 7);
	f->v = 0;
	switch (f->wt) {
	case PROTOBUF_C_WIRE_TYPE_VARINT:
		csf__pb_get_varint(p, end, &f->v);
		break;
	case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
		csf__pb_get_varint(p, end, &f->v);
		f->data = *p;
		f->len = (size_t)f->v;
		*p += f->len;
		break;
	default: /* 64- or 32-bit */
		n = f->wt == PROTOBUF_C_WIRE_TYPE_64BIT ? 8 : 4;
		for (i = 0; i < n; i++)
			f->v |= (uint64_t)(*p)[i] << (8 * i);
		*p += n;
	}
}

/* The wanted field of `r` that `w` is, or NULL. */
static const rule *wanted_rule(const rules *r, const wire_field *w)
{
	return w->id < r->n && r->rule[w->id].wanted ? &r->rule[w->id] : NULL;
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d, csf__pb_budget *b)
{
	ProtobufCMessage *m = csf__pb_budget_alloc(b, d->sizeof_message);

	if (m)
		protobuf_c_message_init(d, m);
	return m;
}

/* Count the wanted repeated fields in one walk and make their arrays. */
static int make_arrays(ProtobufCMessage *m, const rules *r, const uint8_t *p, const uint8_t *end,
		       csf__pb_budget *b)
{
	size_t counts[RULE_IDS_MAX] = { 0 };
	wire_field w;
	uint32_t id;

	while (p < end) {
		const rule *ru;

		next_field(&p, end, &w);
		if ((ru = wanted_rule(r, &w)) != NULL && ru->repeated)
			counts[w.id]++;
	}
	for (id = 0; id < r->n; id++) {
		void *arr;

		if (!counts[id])
			continue;
		if (!(arr = csf__pb_budget_alloc(b, counts[id] * sizeof(void *))))
			return b->over ? CSF_ELIMIT : CSF_ENOMEM;
		memcpy((char *)m + r->rule[id].f->offset, &arr, sizeof(arr));
	}
	return 0;
}

/*
 * Fill `m` (initialized, of type `r`) with the wanted fields of its wire
 * bytes [p, end), as protobuf-c would: the last value of a scalar wins,
 * strings are copied with a NUL, repeated sub-messages keep their order.
 * The bytes passed the check, so every tag, length and wire type is sound.
 */
static int fill_wanted(ProtobufCMessage *m, const rules *r, const uint8_t *p, const uint8_t *end,
		       csf__pb_budget *b)
{
	wire_field w;
	int rc;

	if (r->repeated_wanted && (rc = make_arrays(m, r, p, end, b)) != 0)
		return rc;
	while (p < end) {
		const rule *ru;
		const ProtobufCFieldDescriptor *f;
		char *member;

		next_field(&p, end, &w);
		if (!(ru = wanted_rule(r, &w)))
			continue;
		f = ru->f;
		member = (char *)m + f->offset;
		switch (f->type) {
		case PROTOBUF_C_TYPE_DOUBLE:
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_UINT64:
			memcpy(member, &w.v, sizeof(w.v)); /* the same 8 bytes as the wire's */
			break;
		case PROTOBUF_C_TYPE_STRING: {
			char *str = csf__pb_budget_alloc(b, w.len + 1);

			if (!str)
				return b->over ? CSF_ELIMIT : CSF_ENOMEM;
			memcpy(str, w.data, w.len);
			str[w.len] = '\0';
			memcpy(member, &str, sizeof(str));
			break;
		}
		default: { /* MESSAGE: the table wants no other type */
			ProtobufCMessage *sub = new_message(f->descriptor, b);

			if (!sub)
				return b->over ? CSF_ELIMIT : CSF_ENOMEM;
			if ((rc = fill_wanted(sub, ru->sub, w.data, w.data + w.len, b)) != 0)
				return rc;
			if (ru->repeated) {
				size_t *n = (size_t *)(void *)((char *)m + f->quantifier_offset);
				ProtobufCMessage **arr;

				memcpy(&arr, member, sizeof(arr));
				arr[(*n)++] = sub;
			} else {
				memcpy(member, &sub, sizeof(sub));
			}
		}
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			*(uint32_t *)(void *)((char *)m + f->quantifier_offset) = f->id;
	}
	return 0;
}

/* The only body is one metrics field (not two: protobuf-c would merge them). */
static int metrics_body_only(const uint8_t *p, const uint8_t *end)
{
	unsigned bodies = 0, metrics = 0;
	wire_field w;

	while (p < end) {
		next_field(&p, end, &w);
		if (w.id < agent_rules->n && agent_rules->rule[w.id].f &&
		    (agent_rules->rule[w.id].f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
			bodies++;
			metrics += w.id == METRICS_FIELD;
		}
	}
	return bodies == 1 && metrics == 1;
}

int csf__pb_agent_message_decode_ingest(Csf__V1__AgentMessage **out, csf__arena *arena, const uint8_t *data,
					size_t len)
{
	csf__pb_budget b = { 0, 0, 0, arena };
	ProtobufCMessage *m;
	int rc;

	if (!out || !arena || (!data && len))
		return csf__misuse("csf__pb_agent_message_decode_ingest: NULL argument");
	*out = NULL;
	pthread_once(&tables_once, build_tables);
	/* bad bytes (the generic decoder names the fault) and other bodies */
	if (!agent_rules || len > INPUT_MAX || !data || check(agent_rules, data, data + len, 0) != 0 ||
	    !metrics_body_only(data, data + len))
		return csf__pb_agent_message_decode_in(out, arena, data, len);
	b.left = len > (SIZE_MAX - DECODE_SLACK) / DECODE_AMPLIFICATION ? SIZE_MAX
									 : len * DECODE_AMPLIFICATION + DECODE_SLACK;
	m = new_message(&csf__v1__agent_message__descriptor, &b);
	rc = m ? fill_wanted(m, agent_rules, data, data + len, &b) : b.over ? CSF_ELIMIT : CSF_ENOMEM;
	if (rc == CSF_ENOMEM)
		return csf__error_set(rc, "AgentMessage: out of memory decoding %zu bytes", len);
	if (rc)
		return csf__error_set(rc, "AgentMessage: decoding %zu bytes needs more than %zu bytes of memory", len,
				      len * DECODE_AMPLIFICATION + DECODE_SLACK);
	if ((rc = csf__pb_check_agent_message(m)) != 0)
		return rc;
	*out = (Csf__V1__AgentMessage *)m;
	return 0;
}
