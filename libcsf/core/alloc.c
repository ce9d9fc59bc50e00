/* The pluggable allocator every library allocation goes through. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

static void *default_malloc(size_t size, void *payload)
{
	(void)payload;
	return malloc(size);
}

static void *default_realloc(void *ptr, size_t size, void *payload)
{
	(void)payload;
	return realloc(ptr, size);
}

static void default_free(void *ptr, void *payload)
{
	(void)payload;
	free(ptr);
}

static csf_allocator allocator = { default_malloc, default_realloc, default_free, NULL };

int csf_allocator_set(const csf_allocator *a)
{
	if (!a) {
		allocator = (csf_allocator){ default_malloc, default_realloc, default_free, NULL };
		return 0;
	}
	if (!a->malloc || !a->realloc || !a->free)
		return csf__misuse("csf_allocator_set: malloc, realloc and free are all required");
	allocator = *a;
	return 0;
}

void csf_free(void *ptr)
{
	csf__free(ptr);
}

static void *oom(size_t size)
{
	csf__error_set(CSF_ENOMEM, "out of memory allocating %zu bytes", size);
	return NULL;
}

void *csf__malloc(size_t size)
{
	void *p;

	if (size == 0)
		size = 1;
	p = allocator.malloc(size, allocator.payload);
	return p ? p : oom(size);
}

void *csf__calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return oom(SIZE_MAX);
	p = csf__malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *csf__realloc(void *ptr, size_t size)
{
	void *p;

	if (!ptr)
		return csf__malloc(size);
	if (size == 0)
		size = 1;
	p = allocator.realloc(ptr, size, allocator.payload);
	return p ? p : oom(size);
}

void *csf__reallocarray(void *ptr, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return oom(SIZE_MAX);
	return csf__realloc(ptr, n * size);
}

int csf__array_reserve(void *array_ref, size_t *cap, size_t need, size_t elem_size)
{
	size_t n = *cap ? *cap : 8;
	void *old, *v;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2) {
			oom(SIZE_MAX);
			return CSF_ENOMEM;
		}
		n *= 2;
	}
	/* memcpy: the array pointer may be of any object pointer type */
	memcpy(&old, array_ref, sizeof(old));
	v = csf__reallocarray(old, n, elem_size);
	if (!v)
		return CSF_ENOMEM;
	memcpy(array_ref, &v, sizeof(v));
	*cap = n;
	return 0;
}

char *csf__strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = csf__malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

char *csf__strdup(const char *s)
{
	return csf__strndup(s, SIZE_MAX);
}

void csf__free(void *ptr)
{
	if (ptr)
		allocator.free(ptr, allocator.payload);
}
