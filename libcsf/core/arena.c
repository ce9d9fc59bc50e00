/* Arenas: bump allocation in chunks, all freed at once. */
#include <stdalign.h>
#include <string.h>

#include "core/internal.h"

struct csf__arena_chunk {
	csf__arena_chunk *next;
	size_t used;
	size_t size;
	alignas(max_align_t) unsigned char data[];
};

#define ALIGN_UP(n) (((n) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))

void csf__arena_init(csf__arena *a, size_t chunk_size)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : 4096;
}

void *csf__arena_alloc(csf__arena *a, size_t size)
{
	csf__arena_chunk *c = a->head;
	void *p;

	if (size > SIZE_MAX / 2) {
		csf__error_set(CSF_ENOMEM, "arena: allocation of %zu bytes too large", size);
		return NULL;
	}
	size = ALIGN_UP(size ? size : 1);
	if (!c || c->size - c->used < size) {
		size_t want = size > a->chunk_size ? size : a->chunk_size;

		c = csf__malloc(sizeof(*c) + want);
		if (!c)
			return NULL;
		c->size = want;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

void *csf__arena_alloc_items(csf__arena *a, size_t n, size_t size, void *ptrs_ref)
{
	unsigned char *items;
	void **ptrs;
	size_t i;

	if (size && n > SIZE_MAX / 2 / size) {
		csf__error_set(CSF_ENOMEM, "arena: %zu items of %zu bytes too large", n, size);
		return NULL;
	}
	items = csf__arena_alloc(a, n * size);
	ptrs = csf__arena_alloc(a, n * sizeof(*ptrs));
	if (!items || !ptrs)
		return NULL;
	for (i = 0; i < n; i++)
		ptrs[i] = items + i * size;
	memcpy(ptrs_ref, &ptrs, sizeof(ptrs));
	return items;
}

char *csf__arena_strndup(csf__arena *a, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = csf__arena_alloc(a, len + 1);

	if (p)
		memcpy(p, s, len);
	return p;
}

char *csf__arena_strdup(csf__arena *a, const char *s)
{
	return csf__arena_strndup(a, s, SIZE_MAX);
}

void csf__arena_free(csf__arena *a)
{
	csf__arena_chunk *c = a->head;

	while (c) {
		csf__arena_chunk *next = c->next;

		csf__free(c);
		c = next;
	}
	a->head = NULL;
}
