/* Growing buffers with a hard maximum (nothing grows without a bound). */
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

int csf__buf_reserve(csf__buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return csf__error_set(CSF_ELIMIT, "buffer: size overflow");
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	if (need > b->max)
		return csf__error_set(CSF_ELIMIT, "buffer: %zu bytes needed, limit is %zu", need, b->max);
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max)
		cap = b->max;
	p = csf__realloc(b->ptr, cap);
	if (!p)
		return CSF_ENOMEM;
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int csf__buf_put(csf__buf *b, const char *data, size_t n)
{
	int rc = csf__buf_reserve(b, n);

	if (rc)
		return rc;
	memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int csf__buf_puts(csf__buf *b, const char *s)
{
	return csf__buf_put(b, s, strlen(s));
}

int csf__buf_putc(csf__buf *b, char c)
{
	return csf__buf_put(b, &c, 1);
}

int csf__buf_printf(csf__buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(b->ptr ? b->ptr + b->len : NULL, b->ptr ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return csf__error_set(CSF_ERROR, "buffer: format failed");
	if (b->ptr && (size_t)n < b->cap - b->len) {
		b->len += (size_t)n;
		return 0;
	}
	rc = csf__buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void csf__buf_clear(csf__buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

char *csf__buf_detach(csf__buf *b, size_t *len)
{
	char *p = b->ptr;

	if (len)
		*len = b->len;
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void csf__buf_free(csf__buf *b)
{
	csf__free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}
