/* Collector instances and the registry of named descriptors. */
#include <pthread.h>
#include <string.h>

#include "collect/snapshot.h"

#define REGISTRY_MAX 64
#define NAME_MAX_LEN 32

struct csf_collector {
	const csf_collector_desc *desc;
	void *state;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static const csf_collector_desc *registry[REGISTRY_MAX];

static int valid_name(const char *name)
{
	size_t i;

	if (!name || !name[0])
		return 0;
	for (i = 0; name[i]; i++)
		if (i >= NAME_MAX_LEN ||
		    !((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	return 1;
}

static int check_desc(const csf_collector_desc *desc, const char *fn)
{
	if (!desc)
		return csf__misuse("%s: descriptor is NULL", fn);
	if (desc->version != CSF_COLLECTOR_DESC_VERSION)
		return csf__misuse("%s: descriptor version %u is not %d", fn, desc->version,
				   CSF_COLLECTOR_DESC_VERSION);
	if (!valid_name(desc->name))
		return csf__misuse("%s: collector name must be [a-z0-9_]{1,%d}", fn, NAME_MAX_LEN);
	if (!desc->init || !desc->collect)
		return csf__misuse("%s: collector %s has no init or collect", fn, desc->name);
	return 0;
}

int csf_collector_new(csf_collector **out, const csf_collector_desc *desc, const void *options)
{
	csf_collector *c;
	int rc;

	if (!out)
		return csf__misuse("csf_collector_new: out is NULL");
	*out = NULL;
	rc = check_desc(desc, "csf_collector_new");
	if (rc)
		return rc;
	c = csf__calloc(1, sizeof(*c));
	if (!c)
		return CSF_ENOMEM;
	c->desc = desc;
	rc = desc->init(&c->state, options, desc->payload);
	if (rc) {
		csf__free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int csf_collector_collect(csf_collector *c, csf_snapshot *snap)
{
	if (!c || !snap)
		return csf__misuse("csf_collector_collect: collector or snapshot is NULL");
	return c->desc->collect(c->state, snap, c->desc->payload);
}

const csf_collector_desc *csf_collector_desc_of(const csf_collector *c)
{
	return c ? c->desc : NULL;
}

void csf_collector_free(csf_collector *c)
{
	if (!c)
		return;
	if (c->desc->free)
		c->desc->free(c->state, c->desc->payload);
	csf__free(c);
}

int csf_collector_register(const csf_collector_desc *desc)
{
	size_t i, free_slot = REGISTRY_MAX;
	int rc = check_desc(desc, "csf_collector_register");

	if (rc)
		return rc;
	pthread_mutex_lock(&registry_lock);
	for (i = 0; i < REGISTRY_MAX; i++) {
		if (!registry[i]) {
			if (free_slot == REGISTRY_MAX)
				free_slot = i;
		} else if (strcmp(registry[i]->name, desc->name) == 0) {
			rc = csf__error_set(CSF_EEXISTS, "collector %s is already registered", desc->name);
			goto out;
		}
	}
	if (free_slot == REGISTRY_MAX)
		rc = csf__error_set(CSF_ELIMIT, "collector registry is full (%d)", REGISTRY_MAX);
	else
		registry[free_slot] = desc;
out:
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

static size_t find(const char *name)
{
	size_t i;

	for (i = 0; i < REGISTRY_MAX; i++)
		if (registry[i] && strcmp(registry[i]->name, name) == 0)
			return i;
	return REGISTRY_MAX;
}

int csf_collector_unregister(const char *name)
{
	size_t i;
	int rc = 0;

	if (!name)
		return csf__misuse("csf_collector_unregister: name is NULL");
	pthread_mutex_lock(&registry_lock);
	i = find(name);
	if (i == REGISTRY_MAX)
		rc = csf__error_set(CSF_ENOTFOUND, "collector %s is not registered", name);
	else
		registry[i] = NULL;
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

int csf_collector_lookup(const csf_collector_desc **out, const char *name)
{
	size_t i;
	int rc = 0;

	if (!out || !name)
		return csf__misuse("csf_collector_lookup: out or name is NULL");
	*out = NULL;
	pthread_mutex_lock(&registry_lock);
	i = find(name);
	if (i == REGISTRY_MAX)
		rc = csf__error_set(CSF_ENOTFOUND, "collector %s is not registered", name);
	else
		*out = registry[i];
	pthread_mutex_unlock(&registry_lock);
	return rc;
}
