/*
 * Private helpers of the core module, shared by every other module:
 * error setting, logging, allocation, arenas, bounded buffers and a JSON
 * writer. Nothing here is exported from the shared library.
 */
#ifndef CSF_CORE_INTERNAL_H
#define CSF_CORE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "csf/core.h"

#define CSF__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CSF__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Errors: set the calling thread's last error and return `code`. */
int csf__error_set(int code, const char *fmt, ...) CSF__PRINTF(2, 3);
/* The same, with ": <strerror(errnum)>" appended. */
int csf__error_set_errno(int code, int errnum, const char *fmt, ...) CSF__PRINTF(3, 4);
/* CSF_EINVALID for a misused API; asserts in debug builds. */
#ifdef NDEBUG
#define csf__misuse(...) csf__error_set(CSF_EINVALID, __VA_ARGS__)
#else
#include <assert.h>
#define csf__misuse(...) (assert(!"libcsf API misuse"), csf__error_set(CSF_EINVALID, __VA_ARGS__))
#endif

/* Logging through the installed callback; a no-op below its level. */
int csf__log_enabled(csf_log_level level);
void csf__log(csf_log_level level, const char *module, const char *fmt, ...) CSF__PRINTF(3, 4);

/* Allocation through the installed allocator. Each sets CSF_ENOMEM as the
 * last error when it fails. Sizes of 0 are rounded up to 1. */
void *csf__malloc(size_t size);
void *csf__calloc(size_t n, size_t size);
void *csf__realloc(void *ptr, size_t size);
void *csf__reallocarray(void *ptr, size_t n, size_t size);
/* Make room for `need` elements in a growing array (capacity doubles from
 * 8). `array_ref` is the address of the array pointer. */
int csf__array_reserve(void *array_ref, size_t *cap, size_t need, size_t elem_size);
#define CSF__ARRAY_RESERVE(arr, cap, need) \
	csf__array_reserve(&(arr), &(cap), (need), sizeof(*(arr)))
char *csf__strdup(const char *s);
char *csf__strndup(const char *s, size_t n);
void csf__free(void *ptr);

/* An arena: many small allocations freed at once (snapshots use one). */
typedef struct csf__arena_chunk csf__arena_chunk;
typedef struct csf__arena {
	csf__arena_chunk *head;
	size_t chunk_size;
} csf__arena;

void csf__arena_init(csf__arena *a, size_t chunk_size);
void *csf__arena_alloc(csf__arena *a, size_t size);   /* zeroed, max-aligned */
/* n zeroed items of `size` bytes and an array of n pointers to them, in
 * order (how snapshots hold their arrays). Returns the items and stores the
 * pointer array at `ptrs_ref` (the address of a `T **`); NULL on ENOMEM. */
void *csf__arena_alloc_items(csf__arena *a, size_t n, size_t size, void *ptrs_ref);
char *csf__arena_strndup(csf__arena *a, const char *s, size_t n);
char *csf__arena_strdup(csf__arena *a, const char *s);
void csf__arena_free(csf__arena *a);

/* A growing buffer with a hard maximum: growth past `max` fails with
 * CSF_ELIMIT. The content is always NUL-terminated once anything was put. */
typedef struct csf__buf {
	char *ptr;
	size_t len;
	size_t cap;
	size_t max;
} csf__buf;

#define CSF__BUF_INIT(max) { NULL, 0, 0, (max) }

int csf__buf_reserve(csf__buf *b, size_t extra);
int csf__buf_put(csf__buf *b, const char *data, size_t n);
int csf__buf_puts(csf__buf *b, const char *s);
int csf__buf_putc(csf__buf *b, char c);
int csf__buf_printf(csf__buf *b, const char *fmt, ...) CSF__PRINTF(2, 3);
void csf__buf_clear(csf__buf *b);
/* Hand the content over (caller frees with csf__free); the buffer is reset. */
char *csf__buf_detach(csf__buf *b, size_t *len);
void csf__buf_free(csf__buf *b);

/* A JSON writer. Errors stick: after the first failure every call is a
 * no-op and csf__json_finish() returns that failure. */
typedef struct csf__json {
	csf__buf *out;
	int err;
	unsigned int depth;
	uint64_t need_comma; /* one bit per nesting level */
	int after_key;
} csf__json;

void csf__json_init(csf__json *j, csf__buf *out);
void csf__json_begin_object(csf__json *j);
void csf__json_end_object(csf__json *j);
void csf__json_begin_array(csf__json *j);
void csf__json_end_array(csf__json *j);
void csf__json_key(csf__json *j, const char *key);
/* Strings are escaped; bytes that are not valid UTF-8 become U+FFFD. */
void csf__json_string(csf__json *j, const char *s);
void csf__json_u64(csf__json *j, uint64_t v);
void csf__json_i64(csf__json *j, int64_t v);
/* At most 3 decimals, trailing zeros dropped; NaN and infinities become null. */
void csf__json_double(csf__json *j, double v);
/* A value that is already JSON (from a trusted source, e.g. a JSON column). */
void csf__json_raw(csf__json *j, const char *json);
/* Full precision (%.15g), for values a user supplied. */
void csf__json_real(csf__json *j, double v);
void csf__json_bool(csf__json *j, int v);
void csf__json_null(csf__json *j);
int csf__json_finish(csf__json *j);

/* Time: wall clock, and a monotonic clock for deadlines and durations. */
int64_t csf__time_unix_ms(void);
uint64_t csf__time_mono_ms(void);
/* Days since 1970-01-01 <-> a proleptic Gregorian date (any time zone: UTC). */
void csf__civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);
int64_t csf__days_from_civil(int64_t y, unsigned m, unsigned d);

/* Files. Paths are at most CSF__PATH_MAX bytes (CSF_EINVALID beyond). */
#define CSF__PATH_MAX 4096
int csf__path_join(char out[CSF__PATH_MAX], const char *dir, const char *name);
/* 1 when `path` exists, 0 when not, CSF_EIO when stat fails otherwise. */
int csf__file_exists(const char *path);
/* mkdir -p: new directories 0700, existing ones keep their mode. */
int csf__dir_make(const char *dir);
/*
 * Write DIR/NAME atomically with `mode`: a temporary file created with
 * O_EXCL (never through a link an attacker left), written, synced, then
 * renamed into place, so the file is never seen half-written or with wider
 * permissions. Sync the directory afterwards (csf__dir_sync) for the
 * rename to survive a power loss.
 */
int csf__file_write_atomic(const char *dir, const char *name, const char *data, size_t len, unsigned int mode);
int csf__dir_sync(const char *dir);
/* The same without the sync: for files that are rewritten often and only
 * ever need to be whole, not durable (a status file). */
int csf__file_replace(const char *dir, const char *name, const char *data, size_t len, unsigned int mode);

/* Hex: `n` bytes as 2n lowercase digits and a NUL; a digit's value (either
 * case), or -1. */
void csf__hex_encode(char *out, const void *in, size_t n);
int csf__hex_value(int c);

#endif
