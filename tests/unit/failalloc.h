/*
 * The failing allocator of the allocation-failure walks (nghttp2's
 * failmalloc, curl's torture runs): allocation number `fa.countdown` fails
 * (negative: none does); `fa.live` counts allocations not yet freed. Install
 * it with csf_allocator_set(&failalloc) and set the counters per run.
 */
#ifndef CSF_TESTS_FAILALLOC_H
#define CSF_TESTS_FAILALLOC_H

#include <stdlib.h>

#include <csf/core.h>

static struct {
	long countdown; /* fail when it reaches 0; negative: never */
	long live;      /* allocations not yet freed */
	int failed;     /* the injected failure happened */
	size_t largest; /* the largest size asked for */
} fa = { -1, 0, 0, 0 };

static int fa_fail_now(size_t n)
{
	if (n > fa.largest)
		fa.largest = n;
	if (fa.countdown >= 0 && fa.countdown-- == 0) {
		fa.failed = 1;
		return 1;
	}
	return 0;
}

static void *fa_malloc(size_t n, void *p)
{
	void *ptr;

	(void)p;
	if (fa_fail_now(n))
		return NULL;
	ptr = malloc(n);
	if (ptr)
		fa.live++;
	return ptr;
}

static void *fa_realloc(void *ptr, size_t n, void *p)
{
	(void)p;
	if (fa_fail_now(n))
		return NULL;
	return realloc(ptr, n);
}

static void fa_free(void *ptr, void *p)
{
	(void)p;
	if (ptr)
		fa.live--;
	free(ptr);
}

static const csf_allocator failalloc = { fa_malloc, fa_realloc, fa_free, NULL };

/* Start a run in which allocation number k fails. */
static inline void fa_arm(long k)
{
	fa.countdown = k;
	fa.live = 0;
	fa.failed = 0;
}

#endif
