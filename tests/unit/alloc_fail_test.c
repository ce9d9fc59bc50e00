/*
 * Every allocation failure in the collector path gives a clean CSF_ENOMEM and
 * leaks nothing: make allocation k fail, for k = 0, 1, 2, ... until a run
 * completes without reaching the failure, and check after each run that
 * every allocation was freed (nghttp2's failmalloc, curl's torture runs).
 * Runs against the live /proc and /sys, with processes on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <csf/csf.h>

#include "failalloc.h"


/* What an agent does: make a collector, take two snapshots (the second
 * computes rates from the first), encode both. */
static int scenario(void)
{
	csf_system_options opts;
	csf_collector *c = NULL;
	csf_snapshot *s = NULL;
	char *json = NULL;
	int rc, i;

	csf_system_options_init(&opts, CSF_SYSTEM_OPTIONS_VERSION);
	rc = csf_collector_new(&c, csf_collector_system(), &opts);
	for (i = 0; !rc && i < 2; i++) {
		rc = csf_snapshot_new(&s);
		if (!rc)
			rc = csf_collector_collect(c, s);
		if (!rc)
			rc = csf_snapshot_add_metric(s, "test.value", i);
		if (!rc)
			rc = csf_snapshot_to_json(&json, NULL, s);
		csf_free(json);
		json = NULL;
		csf_snapshot_free(s);
		s = NULL;
	}
	csf_collector_free(c);
	return rc;
}

static void test_every_allocation_failure_is_clean(void **state)
{
	long k;

	(void)state;
	assert_int_equal(csf_allocator_set(&failalloc), 0);
	for (k = 0; k < 100000; k++) {
		int rc;

		fa_arm(k);
		csf_error_clear();
		rc = scenario();
		if (fa.live != 0)
			fail_msg("allocation %ld failing leaked %ld allocations", k, fa.live);
		if (!fa.failed) {
			assert_int_equal(rc, 0);
			break;
		}
		if (rc != CSF_ENOMEM)
			fail_msg("allocation %ld failing returned %d (%s), not CSF_ENOMEM", k, rc,
				 csf_error_last()->message);
		assert_int_equal(csf_error_last()->code, CSF_ENOMEM);
	}
	printf("checked %ld allocation failure points\n", k);
	assert_true(k > 20);
	assert_int_equal(csf_allocator_set(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_allocation_failure_is_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
