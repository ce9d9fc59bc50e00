/*
 * nghttp2's allocations. All go through libcsf's allocator except one: the
 * output frame buffer every session makes (16 KiB + 10 bytes) and keeps for
 * its whole life. nghttp2 writes each frame from the buffer's start, so an
 * idle or lightly used connection touches only its first page. Given pages
 * of its own (a slot in a reserved, lazily committed region), the rest never
 * becomes resident: 9.3 KiB less per connection at 10k agents
 * (docs/performance.md, "Agent transport at scale"). Freed slots are handed
 * back to the kernel. If the region cannot be had or is full, the buffer
 * comes from the allocator like the rest.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "net/h2.h"

#define SLOT_MIN 16384u
#define SLOT_SIZE 20480u
#define SLOT_COUNT 65536u /* 1.25 GiB of address space, committed only where touched */
#define REGION ((size_t)SLOT_SIZE * SLOT_COUNT)

static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *slots;        /* the region, made on first use */
static uint32_t *free_slots;  /* a stack of freed slot numbers */
static uint32_t free_n, next_slot;
static int no_region;

static int in_slots(const void *p)
{
	const uint8_t *b = __atomic_load_n(&slots, __ATOMIC_ACQUIRE);

	return b && (const uint8_t *)p >= b && (const uint8_t *)p < b + REGION;
}

static void *reserve(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* With transparent huge pages on, one touched byte would commit 2 MiB. */
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

static void *slot_get(void)
{
	uint8_t *p = NULL;

	pthread_mutex_lock(&slots_mu);
	if (!slots && !no_region) {
		uint8_t *region = reserve(REGION);

		free_slots = reserve(SLOT_COUNT * sizeof(*free_slots));
		if (!region || !free_slots) {
			if (region)
				munmap(region, REGION);
			if (free_slots)
				munmap(free_slots, SLOT_COUNT * sizeof(*free_slots));
			no_region = 1;
		} else {
			__atomic_store_n(&slots, region, __ATOMIC_RELEASE);
		}
	}
	if (slots && free_n)
		p = slots + (size_t)free_slots[--free_n] * SLOT_SIZE;
	else if (slots && next_slot < SLOT_COUNT)
		p = slots + (size_t)next_slot++ * SLOT_SIZE;
	pthread_mutex_unlock(&slots_mu);
	return p;
}

static void slot_put(void *p)
{
	uint32_t i = (uint32_t)(((uint8_t *)p - slots) / SLOT_SIZE);

	madvise(p, SLOT_SIZE, MADV_DONTNEED); /* back to the kernel; reads as zeros again */
	pthread_mutex_lock(&slots_mu);
	free_slots[free_n++] = i;
	pthread_mutex_unlock(&slots_mu);
}

static void *h2_malloc(size_t size, void *ud)
{
	void *p = NULL;

	(void)ud;
	if (size >= SLOT_MIN && size <= SLOT_SIZE)
		p = slot_get();
	return p ? p : csf__malloc(size);
}

static void h2_free(void *ptr, void *ud)
{
	(void)ud;
	if (in_slots(ptr))
		slot_put(ptr);
	else
		csf__free(ptr);
}

static void *h2_calloc(size_t n, size_t size, void *ud)
{
	void *p = NULL;

	(void)ud;
	if (size && n <= SLOT_SIZE / size && n * size >= SLOT_MIN)
		p = slot_get(); /* fresh or given back: zeros */
	return p ? p : csf__calloc(n, size);
}

/* A block moves into a slot only when made (nghttp2 makes its frame buffer
 * with realloc(NULL, n)), never by a later realloc (its old size is not
 * known here); out of a slot, it keeps what fits. */
static void *h2_realloc(void *ptr, size_t size, void *ud)
{
	void *p;

	if (!ptr)
		return h2_malloc(size, ud);
	(void)ud;
	if (!in_slots(ptr))
		return csf__realloc(ptr, size);
	if (size >= SLOT_MIN && size <= SLOT_SIZE)
		return ptr;
	p = size ? csf__malloc(size) : NULL;
	if (p)
		memcpy(p, ptr, size < SLOT_SIZE ? size : SLOT_SIZE);
	if (p || !size)
		slot_put(ptr);
	return p;
}

nghttp2_mem csf__h2_mem = { NULL, h2_malloc, h2_free, h2_calloc, h2_realloc };
