/*
 * agent outbox: order, acks, the byte and age caps with an exact dropped
 * count, what survives a close and reopen, and a damaged file replaced by a
 * new outbox with a new boot_id. Real SQLite files in a temp directory.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <csf/csf.h>

#include "agent/internal.h"
#include "csf_check.h"
#include "failalloc.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/csf-outbox-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/outbox.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Put message `seq` holding "m<seq>" padded to `size` bytes. */
static void put(csf__outbox *ob, uint64_t seq, size_t size, int64_t created_ms)
{
	char buf[256];

	assert_true(size < sizeof(buf));
	memset(buf, 'x', size);
	snprintf(buf, sizeof(buf), "m%" PRIu64, seq);
	buf[strlen(buf)] = size > strlen(buf) ? 'x' : '\0';
	assert_int_equal(csf__outbox_next_seq(ob), seq);
	OK(csf__outbox_put(ob, seq, buf, size, created_ms));
}

/* The outbox holds `depth` messages of `bytes` in all, and dropped `dropped`. */
static void expect(csf__outbox *ob, uint64_t depth, uint64_t bytes, uint64_t dropped)
{
	csf__outbox_stats st;

	csf__outbox_stats_get(ob, &st);
	assert_int_equal(st.depth, depth);
	assert_int_equal(st.bytes, bytes);
	assert_int_equal(st.dropped, dropped);
}

typedef struct seen {
	uint64_t seqs[64];
	size_t n;
} seen;

static int collect(uint64_t seq, const void *data, size_t len, int64_t created_ms, void *payload)
{
	seen *s = payload;
	char want[32];

	(void)created_ms;
	snprintf(want, sizeof(want), "m%" PRIu64, seq);
	assert_true(len >= strlen(want));
	assert_memory_equal(data, want, strlen(want));
	s->seqs[s->n++] = seq;
	return 0;
}

static seen all_after(csf__outbox *ob, uint64_t after)
{
	seen s;

	memset(&s, 0, sizeof(s));
	OK(csf__outbox_each(ob, after, 64, collect, &s));
	return s;
}

static void test_order_and_acks(void **state)
{
	csf__outbox *ob;
	csf__outbox_stats st;
	seen s;
	size_t i;

	(void)state;
	OK(csf__outbox_open(&ob, path, 0, 0, NULL));
	for (i = 1; i <= 10; i++)
		put(ob, i, 20, 1000 + (int64_t)i);
	s = all_after(ob, 0);
	assert_int_equal(s.n, 10);
	for (i = 0; i < s.n; i++)
		assert_int_equal(s.seqs[i], i + 1);
	OK(csf__outbox_ack(ob, 4, 5000));
	csf__outbox_stats_get(ob, &st);
	assert_int_equal(st.depth, 6);
	assert_int_equal(st.bytes, 6 * 20);
	assert_int_equal(st.last_acked_seq, 4);
	assert_int_equal(st.last_ack_ms, 5000);
	s = all_after(ob, 0);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.seqs[0], 5);
	/* a window: only what was not sent yet */
	s = all_after(ob, 7);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.seqs[0], 8);
	/* an older ack changes nothing */
	OK(csf__outbox_ack(ob, 2, 6000));
	csf__outbox_stats_get(ob, &st);
	assert_int_equal(st.depth, 6);
	assert_int_equal(st.last_acked_seq, 4);
	OK(csf__outbox_ack(ob, 10, 7000));
	expect(ob, 0, 0, 0);
	assert_int_equal(csf__outbox_next_seq(ob), 11);
	csf__outbox_close(ob);
}

static void test_byte_cap_drops_the_oldest(void **state)
{
	csf__outbox *ob;
	seen s;
	uint64_t i;

	(void)state;
	OK(csf__outbox_open(&ob, path, 100, 0, NULL));
	for (i = 1; i <= 15; i++)
		put(ob, i, 10, 1000);
	expect(ob, 10, 100, 5);
	s = all_after(ob, 0);
	assert_int_equal(s.seqs[0], 6);
	assert_int_equal(s.seqs[9], 15);
	/* a 30-byte message pushes out three 10-byte ones */
	put(ob, 16, 30, 1000);
	expect(ob, 8, 100, 8);
	/* one bigger than the cap alone goes at once, and is counted */
	put(ob, 17, 150, 1000);
	expect(ob, 8, 100, 9);
	csf__outbox_close(ob);
}

static void test_age_cap(void **state)
{
	csf__outbox *ob;
	csf__outbox_stats st;
	seen s;

	(void)state;
	OK(csf__outbox_open(&ob, path, 0, 1000, NULL));
	put(ob, 1, 10, 0);
	put(ob, 2, 10, 500);
	put(ob, 3, 10, 900);
	put(ob, 4, 10, 1600); /* 1 and 2 are now older than 1 s */
	csf__outbox_stats_get(ob, &st);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.depth, 2);
	s = all_after(ob, 0);
	assert_int_equal(s.seqs[0], 3);
	OK(csf__outbox_expire(ob, 2700)); /* 3 and 4 expire with no new message */
	expect(ob, 0, 0, 4);
	csf__outbox_close(ob);
}

static void test_reopen_keeps_everything(void **state)
{
	csf__outbox *ob;
	csf__outbox_stats a, b;
	seen s;
	struct stat sb;
	int reset = -1;

	(void)state;
	OK(csf__outbox_open(&ob, path, 50, 0, NULL));
	put(ob, 1, 20, 1);
	put(ob, 2, 20, 2);
	put(ob, 3, 20, 3); /* drops 1 */
	OK(csf__outbox_ack(ob, 2, 99));
	csf__outbox_stats_get(ob, &a);
	csf__outbox_close(ob);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	OK(csf__outbox_open(&ob, path, 50, 0, &reset));
	assert_int_equal(reset, 0);
	csf__outbox_stats_get(ob, &b);
	assert_string_equal(a.boot_id, b.boot_id);
	assert_int_equal(strlen(b.boot_id), 36);
	assert_int_equal(b.next_seq, 4);
	assert_int_equal(b.dropped, 1);
	assert_int_equal(b.last_acked_seq, 2);
	assert_int_equal(b.last_ack_ms, 99);
	assert_int_equal(b.depth, 1);
	assert_int_equal(b.bytes, 20);
	s = all_after(ob, 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.seqs[0], 3);
	put(ob, 4, 20, 4);
	csf__outbox_close(ob);
}

static void test_corrupt_file_is_replaced_with_a_new_boot_id(void **state)
{
	csf__outbox *ob;
	csf__outbox_stats a, b;
	char aside[160];
	FILE *f;
	int reset = 0;

	(void)state;
	OK(csf__outbox_open(&ob, path, 0, 0, NULL));
	put(ob, 1, 20, 1);
	csf__outbox_stats_get(ob, &a);
	csf__outbox_close(ob);
	f = fopen(path, "r+");
	assert_non_null(f);
	fputs("this is not a SQLite database, whatever it was before......", f);
	fclose(f);
	OK(csf__outbox_open(&ob, path, 0, 0, &reset));
	assert_int_equal(reset, 1);
	csf__outbox_stats_get(ob, &b);
	assert_string_not_equal(a.boot_id, b.boot_id);
	assert_int_equal(b.next_seq, 1);
	assert_int_equal(b.depth, 0);
	put(ob, 1, 20, 1);
	csf__outbox_close(ob);
	snprintf(aside, sizeof(aside), "%s.corrupt", path);
	assert_int_equal(access(aside, F_OK), 0);
}

/* Each allocation of open, put, ack and close failing in turn: CSF_ENOMEM
 * and nothing leaked (SQLite's own memory is SQLite's business). */
static void test_every_allocation_failure_is_clean(void **state)
{
	long k;

	(void)state;
	assert_int_equal(csf_allocator_set(&failalloc), 0);
	for (k = 0; k < 1000; k++) {
		csf__outbox *ob = NULL;
		int rc;

		unlink(path);
		fa_arm(k);
		rc = csf__outbox_open(&ob, path, 100, 0, NULL);
		if (!rc)
			rc = csf__outbox_put(ob, 1, "m1", 2, 1);
		if (!rc)
			rc = csf__outbox_ack(ob, 1, 2);
		csf__outbox_close(ob);
		if (fa.live != 0)
			fail_msg("allocation %ld failing leaked %ld allocations", k, fa.live);
		if (!fa.failed) {
			assert_int_equal(rc, 0);
			break;
		}
		assert_int_equal(rc, CSF_ENOMEM);
	}
	assert_true(k >= 2);
	assert_int_equal(csf_allocator_set(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_acks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_cap_drops_the_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_age_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file_is_replaced_with_a_new_boot_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_allocation_failure_is_clean, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
