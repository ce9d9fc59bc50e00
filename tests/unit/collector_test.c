/* The collector API: descriptors, the registry, instances, snapshots and
 * user metrics, and misuse that must return CSF_EINVALID, not crash. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <csf/csf.h>

struct counter_state {
	int runs;
	int freed;
};

static int counter_init(void **state, const void *options, void *payload)
{
	const int *start = options;
	struct counter_state *s = calloc(1, sizeof(*s));

	(void)payload;
	if (!s)
		return CSF_ENOMEM;
	s->runs = start ? *start : 0;
	*state = s;
	return 0;
}

static int counter_collect(void *state, csf_snapshot *snap, void *payload)
{
	struct counter_state *s = state;

	(void)payload;
	s->runs++;
	if (s->runs == 1000)
		return 77; /* a collector's own failure code comes back unchanged */
	return csf_snapshot_add_metric(snap, "counter.runs", s->runs);
}

static void counter_free(void *state, void *payload)
{
	int *freed = payload;

	(*freed)++;
	free(state);
}

static int freed_count;

static const csf_collector_desc counter_desc = {
	CSF_COLLECTOR_DESC_VERSION, "counter", 3, counter_init, counter_collect, counter_free, &freed_count,
};

static void test_instance_keeps_state(void **state)
{
	csf_collector *c;
	csf_snapshot *s;
	int start = 10;

	(void)state;
	freed_count = 0;
	assert_int_equal(csf_collector_new(&c, &counter_desc, &start), 0);
	assert_ptr_equal(csf_collector_desc_of(c), &counter_desc);
	assert_int_equal(csf_snapshot_new(&s), 0);
	assert_true(s->timestamp_ms > 1600000000000LL);
	assert_null(s->system);
	assert_int_equal(csf_collector_collect(c, s), 0);
	assert_int_equal(csf_collector_collect(c, s), 0);
	assert_int_equal(s->metrics_count, 1); /* same name replaced */
	assert_string_equal(s->metrics[0]->name, "counter.runs");
	assert_true(s->metrics[0]->value == 12.0);
	csf_snapshot_free(s);
	csf_collector_free(c);
	assert_int_equal(freed_count, 1);
}

static void test_collector_error_passes_through(void **state)
{
	csf_collector *c;
	csf_snapshot *s;
	int start = 998;

	(void)state;
	assert_int_equal(csf_collector_new(&c, &counter_desc, &start), 0);
	assert_int_equal(csf_snapshot_new(&s), 0);
	assert_int_equal(csf_collector_collect(c, s), 0);
	assert_int_equal(csf_collector_collect(c, s), 77);
	csf_snapshot_free(s);
	csf_collector_free(c);
}

static void test_registry(void **state)
{
	const csf_collector_desc *d = NULL;
	csf_collector_desc bad = counter_desc;
	static csf_collector_desc many[70];
	static char names[70][16];
	int i, rc = 0;

	(void)state;
	assert_int_equal(csf_collector_lookup(&d, "counter"), CSF_ENOTFOUND);
	assert_null(d);
	assert_int_equal(csf_collector_register(&counter_desc), 0);
	assert_int_equal(csf_collector_register(&counter_desc), CSF_EEXISTS);
	assert_int_equal(csf_collector_lookup(&d, "counter"), 0);
	assert_ptr_equal(d, &counter_desc);
	assert_int_equal(csf_collector_register(csf_collector_system()), 0);
	assert_int_equal(csf_collector_lookup(&d, "system"), 0);
	assert_ptr_equal(d, csf_collector_system());

	bad.name = "Bad Name";
	assert_int_equal(csf_collector_register(&bad), CSF_EINVALID);
	bad = counter_desc;
	bad.version = 99;
	assert_int_equal(csf_collector_register(&bad), CSF_EINVALID);
	bad = counter_desc;
	bad.collect = NULL;
	assert_int_equal(csf_collector_register(&bad), CSF_EINVALID);

	/* 64 entries at most, then CSF_ELIMIT */
	for (i = 0; i < 70 && rc == 0; i++) {
		snprintf(names[i], sizeof(names[i]), "extra_%d", i);
		many[i] = counter_desc;
		many[i].name = names[i];
		rc = csf_collector_register(&many[i]);
	}
	assert_int_equal(rc, CSF_ELIMIT);
	assert_int_equal(i, 63); /* 2 were registered before: 62 fit, the 63rd fails */
	for (i = 0; i < 62; i++)
		assert_int_equal(csf_collector_unregister(names[i]), 0);
	assert_int_equal(csf_collector_unregister("counter"), 0);
	assert_int_equal(csf_collector_unregister("counter"), CSF_ENOTFOUND);
	assert_int_equal(csf_collector_unregister("system"), 0);
}

static void test_metric_names_and_values(void **state)
{
	csf_snapshot *s;
	char long_name[200];

	(void)state;
	assert_int_equal(csf_snapshot_new(&s), 0);
	assert_int_equal(csf_snapshot_add_metric(s, "app.requests:total", 1), 0);
	assert_int_equal(csf_snapshot_add_metric(s, "_x9", -2.5), 0);
	assert_int_equal(csf_snapshot_add_metric(s, "9lives", 1), CSF_EINVALID);
	assert_int_equal(csf_snapshot_add_metric(s, "has space", 1), CSF_EINVALID);
	assert_int_equal(csf_snapshot_add_metric(s, "", 1), CSF_EINVALID);
	assert_int_equal(csf_snapshot_add_metric(s, NULL, 1), CSF_EINVALID);
	assert_int_equal(csf_snapshot_add_metric(s, "nan", NAN), CSF_EINVALID);
	assert_int_equal(csf_snapshot_add_metric(s, "inf", INFINITY), CSF_EINVALID);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(csf_snapshot_add_metric(s, long_name, 1), CSF_EINVALID);
	long_name[128] = '\0';
	assert_int_equal(csf_snapshot_add_metric(s, long_name, 1), 0);
	assert_int_equal(s->metrics_count, 3);
	csf_snapshot_free(s);
}

static void test_many_metrics_grow(void **state)
{
	csf_snapshot *s;
	char name[32], *json;
	size_t len;
	int i;

	(void)state;
	assert_int_equal(csf_snapshot_new(&s), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		assert_int_equal(csf_snapshot_add_metric(s, name, i * 0.5), 0);
	}
	assert_int_equal(s->metrics_count, 1000);
	assert_string_equal(s->metrics[999]->name, "m999");
	assert_int_equal(csf_snapshot_to_json(&json, &len, s), 0);
	assert_int_equal(strlen(json), len);
	assert_non_null(strstr(json, "\"m999\":499.5"));
	assert_non_null(strstr(json, "\"schema\":1"));
	assert_null(strstr(json, "\"host\""));
	csf_free(json);
	csf_snapshot_free(s);
}

static void test_misuse_is_einvalid(void **state)
{
	csf_collector *c = NULL;
	csf_snapshot *s = NULL;
	csf_system_options opts;
	char *json = NULL;

	(void)state;
	assert_int_equal(csf_collector_new(NULL, &counter_desc, NULL), CSF_EINVALID);
	assert_int_equal(csf_collector_new(&c, NULL, NULL), CSF_EINVALID);
	assert_null(c);
	assert_int_equal(csf_collector_collect(NULL, NULL), CSF_EINVALID);
	assert_non_null(strstr(csf_error_last()->message, "csf_collector_collect"));
	assert_int_equal(csf_snapshot_new(NULL), CSF_EINVALID);
	assert_int_equal(csf_snapshot_to_json(&json, NULL, NULL), CSF_EINVALID);
	assert_int_equal(csf_snapshot_add_metric(NULL, "a", 1), CSF_EINVALID);
	assert_int_equal(csf_system_options_init(&opts, 999), CSF_EINVALID);
	assert_int_equal(csf_collector_lookup(NULL, "x"), CSF_EINVALID);
	csf_collector_free(NULL);
	csf_snapshot_free(NULL);
	csf_free(NULL);

	csf_system_options_init(&opts, CSF_SYSTEM_OPTIONS_VERSION);
	opts.top_processes = 101;
	assert_int_equal(csf_collector_new(&c, csf_collector_system(), &opts), CSF_EINVALID);
	opts.top_processes = 5;
	opts.version = 42;
	assert_int_equal(csf_collector_new(&c, csf_collector_system(), &opts), CSF_EINVALID);
	(void)s;
}

static void test_system_twice_in_one_snapshot(void **state)
{
	csf_collector *c;
	csf_snapshot *s;

	(void)state;
	assert_int_equal(csf_collector_new(&c, csf_collector_system(), NULL), 0);
	assert_int_equal(csf_snapshot_new(&s), 0);
	assert_int_equal(csf_collector_collect(c, s), 0);
	assert_non_null(s->system);
	assert_non_null(s->system->processes);
	assert_int_equal(csf_collector_collect(c, s), CSF_EEXISTS);
	csf_snapshot_free(s);
	csf_collector_free(c);
}

static void test_missing_proc_is_clear_error(void **state)
{
	csf_system_options opts;
	csf_collector *c = NULL;

	(void)state;
	csf_system_options_init(&opts, CSF_SYSTEM_OPTIONS_VERSION);
	opts.proc_path = "/nonexistent-proc";
	assert_int_equal(csf_collector_new(&c, csf_collector_system(), &opts), CSF_ENOTFOUND);
	assert_null(c);
	assert_non_null(strstr(csf_error_last()->message, "/nonexistent-proc/stat"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_instance_keeps_state),
		cmocka_unit_test(test_collector_error_passes_through),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_metric_names_and_values),
		cmocka_unit_test(test_many_metrics_grow),
		cmocka_unit_test(test_misuse_is_einvalid),
		cmocka_unit_test(test_system_twice_in_one_snapshot),
		cmocka_unit_test(test_missing_proc_is_clear_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
