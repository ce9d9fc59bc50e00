/*
 * A user-defined collector next to the built-in system collector.
 *
 * The "entropy" collector below reports the kernel's available entropy and
 * how many times it has run. It is registered by name, looked up again the
 * way a configuration file would name it, and run into the same snapshot as
 * the system collector; the snapshot is printed as JSON.
 *
 * Build: cc custom_collector.c $(pkg-config --cflags --libs libcsf)
 */
#include <stdio.h>
#include <stdlib.h>

#include <csf/csf.h>

struct entropy_state {
	unsigned long runs;
};

static int entropy_init(void **state, const void *options, void *payload)
{
	(void)options;
	(void)payload;
	*state = calloc(1, sizeof(struct entropy_state));
	return *state ? 0 : CSF_ENOMEM;
}

static int entropy_collect(void *state, csf_snapshot *snap, void *payload)
{
	struct entropy_state *st = state;
	FILE *f = fopen("/proc/sys/kernel/random/entropy_avail", "r");
	long bits = -1;
	int rc;

	(void)payload;
	if (f) {
		if (fscanf(f, "%ld", &bits) != 1)
			bits = -1;
		fclose(f);
	}
	st->runs++;
	rc = csf_snapshot_add_metric(snap, "entropy.runs", (double)st->runs);
	if (!rc && bits >= 0)
		rc = csf_snapshot_add_metric(snap, "entropy.available_bits", (double)bits);
	return rc;
}

static void entropy_free(void *state, void *payload)
{
	(void)payload;
	free(state);
}

static const csf_collector_desc entropy_desc = {
	CSF_COLLECTOR_DESC_VERSION, "entropy", 1, entropy_init, entropy_collect, entropy_free, NULL,
};

static int die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, csf_error_last()->message);
	return 1;
}

int main(void)
{
	const csf_collector_desc *desc;
	csf_collector *system = NULL, *entropy = NULL;
	csf_system_options opts;
	csf_snapshot *snap = NULL;
	char *json = NULL;
	int rc = 1;

	if (csf_collector_register(csf_collector_system()) || csf_collector_register(&entropy_desc))
		return die("register");
	if (csf_collector_lookup(&desc, "entropy"))
		return die("lookup");
	csf_system_options_init(&opts, CSF_SYSTEM_OPTIONS_VERSION);
	opts.processes = 0;
	if (csf_collector_new(&system, csf_collector_system(), &opts) ||
	    csf_collector_new(&entropy, desc, NULL)) {
		rc = die("collector");
		goto out;
	}
	if (csf_snapshot_new(&snap) || csf_collector_collect(system, snap) ||
	    csf_collector_collect(entropy, snap) || csf_snapshot_to_json(&json, NULL, snap)) {
		rc = die("snapshot");
		goto out;
	}
	printf("%s\n", json);
	rc = 0;
out:
	csf_free(json);
	csf_snapshot_free(snap);
	csf_collector_free(entropy);
	csf_collector_free(system);
	return rc;
}
