/* Snapshots: allocation, user metrics. */
#include <math.h>
#include <string.h>

#include "collect/snapshot.h"

#define SNAPSHOT_CHUNK 8192
#define METRIC_NAME_MAX 128
#define METRICS_MAX 100000

typedef struct snapshot {
	csf_snapshot pub; /* first, so the public pointer is the allocation */
	csf__arena arena;
	size_t metrics_cap;
} snapshot;

int csf_snapshot_new(csf_snapshot **out)
{
	snapshot *s;

	if (!out)
		return csf__misuse("csf_snapshot_new: out is NULL");
	*out = NULL;
	s = csf__calloc(1, sizeof(*s));
	if (!s)
		return CSF_ENOMEM;
	csf__arena_init(&s->arena, SNAPSHOT_CHUNK);
	s->pub.timestamp_ms = csf__time_unix_ms();
	*out = &s->pub;
	return 0;
}

void csf_snapshot_free(csf_snapshot *snap)
{
	snapshot *s = (snapshot *)snap;

	if (!s)
		return;
	csf__arena_free(&s->arena);
	csf__free(s);
}

csf__arena *csf__snapshot_arena(csf_snapshot *snap)
{
	return &((snapshot *)snap)->arena;
}

static int valid_name(const char *name)
{
	size_t i;

	if (!name || !name[0])
		return 0;
	for (i = 0; name[i]; i++) {
		char c = name[i];
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';

		if (i >= METRIC_NAME_MAX)
			return 0;
		if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '.' || c == ':')))
			return 0;
	}
	return 1;
}

int csf_snapshot_add_metric(csf_snapshot *snap, const char *name, double value)
{
	snapshot *s = (snapshot *)snap;
	csf_metric *m;
	size_t i;

	if (!s)
		return csf__misuse("csf_snapshot_add_metric: snapshot is NULL");
	if (!valid_name(name))
		return csf__error_set(CSF_EINVALID, "metric name \"%.140s\" is not [A-Za-z_][A-Za-z0-9_.:]{0,127}",
				      name ? name : "(null)");
	if (!isfinite(value))
		return csf__error_set(CSF_EINVALID, "metric %s: value is not finite", name);
	for (i = 0; i < snap->metrics_count; i++) {
		if (strcmp(snap->metrics[i]->name, name) == 0) {
			snap->metrics[i]->value = value;
			return 0;
		}
	}
	if (snap->metrics_count == s->metrics_cap) {
		size_t cap = s->metrics_cap ? s->metrics_cap * 2 : 16;
		csf_metric **v;

		if (snap->metrics_count >= METRICS_MAX)
			return csf__error_set(CSF_ELIMIT, "snapshot: more than %d metrics", METRICS_MAX);
		v = csf__arena_alloc(&s->arena, cap * sizeof(*v));
		if (!v)
			return CSF_ENOMEM;
		if (snap->metrics_count)
			memcpy(v, snap->metrics, snap->metrics_count * sizeof(*v));
		snap->metrics = v;
		s->metrics_cap = cap;
	}
	m = csf__arena_alloc(&s->arena, sizeof(*m));
	if (!m)
		return CSF_ENOMEM;
	m->name = csf__arena_strdup(&s->arena, name);
	if (!m->name)
		return CSF_ENOMEM;
	m->value = value;
	snap->metrics[snap->metrics_count++] = m;
	return 0;
}
