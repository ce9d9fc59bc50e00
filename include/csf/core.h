/*
 * csf/core.h - version, errors, logging and memory: what every other libcsf
 * module relies on.
 *
 * Threading: a handle is used by one thread at a time unless its header says
 * otherwise. The functions in this header are thread-safe except where a
 * comment says they must be called before other threads use the library.
 */
#ifndef CSF_CORE_H
#define CSF_CORE_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CSF_API __attribute__((visibility("default")))
#else
#define CSF_API
#endif

/* Release version of the headers. The shared library's SONAME is versioned
 * apart from it (see docs/architecture.md, "ABI"). */
#define CSF_VERSION_MAJOR 0
#define CSF_VERSION_MINOR 1
#define CSF_VERSION_PATCH 0
#define CSF_VERSION "0.1.0"

/* One integer that orders versions: 0xMMmmpp. */
#define CSF_VERSION_NUM \
	((CSF_VERSION_MAJOR << 16) | (CSF_VERSION_MINOR << 8) | CSF_VERSION_PATCH)

/* True when the headers are at least version a.b.c. */
#define CSF_VERSION_CHECK(a, b, c) (CSF_VERSION_NUM >= (((a) << 16) | ((b) << 8) | (c)))

/*
 * The version of the library actually loaded, as "MAJOR.MINOR.PATCH".
 * If `num` is not NULL it receives the CSF_VERSION_NUM of the library, so a
 * program can compare it with the headers it was built against.
 * Thread-safe. The string is static.
 */
CSF_API const char *csf_version(int *num);

/*
 * Error codes. Every function that can fail returns 0 or one of these
 * negative values. They are numbered explicitly and are never renumbered or
 * reused; new codes are added at the end.
 */
typedef enum csf_error_code {
	CSF_OK = 0,
	CSF_ERROR = -1,       /* a failure with no more specific code */
	CSF_EINVALID = -2,    /* the API was misused: a bad argument or state */
	CSF_ENOMEM = -3,      /* an allocation failed */
	CSF_EIO = -4,         /* a system call failed (file, socket, ...) */
	CSF_EPARSE = -5,      /* input was malformed or truncated */
	CSF_ENOTFOUND = -6,   /* the named thing does not exist */
	CSF_EEXISTS = -7,     /* the named thing already exists */
	CSF_EUNSUPPORTED = -8,/* not available on this platform or build */
	CSF_ELIMIT = -9,      /* a configured or built-in limit was exceeded */
	CSF_EUSER = -10,      /* returned by a user callback to stop an operation */
	CSF_ETIMEOUT = -11,   /* an operation did not finish in time */
	CSF_EAUTH = -12       /* credentials were wrong, expired or revoked */
} csf_error_code;

/* The last error of the calling thread. */
typedef struct csf_error {
	int code;            /* a csf_error_code, CSF_OK when there was none */
	const char *message; /* never NULL; "" when there was none */
} csf_error;

/*
 * The name of an error code ("CSF_ENOMEM: out of memory").
 * Unknown codes get "unknown error". Thread-safe; the string is static.
 */
CSF_API const char *csf_strerror(int code);

/*
 * The last error set on the calling thread. Never NULL. The pointer stays
 * valid until the next libcsf call on this thread. Thread-safe (thread-local).
 */
CSF_API const csf_error *csf_error_last(void);

/* Forget the calling thread's last error. Thread-safe. */
CSF_API void csf_error_clear(void);

/*
 * Logging. The library never prints: it hands each record to the callback
 * installed here, and drops it when none is installed.
 */
typedef enum csf_log_level {
	CSF_LOG_OFF = 0,
	CSF_LOG_ERROR = 1,
	CSF_LOG_WARN = 2,
	CSF_LOG_INFO = 3,
	CSF_LOG_DEBUG = 4,
	CSF_LOG_TRACE = 5
} csf_log_level;

/*
 * A log sink. `module` names the libcsf module ("collect", "net", ...);
 * `message` is one line without a newline and never holds a secret. Both
 * strings are valid only during the call. The callback may be called from
 * any thread that uses the library.
 */
typedef void (*csf_log_cb)(csf_log_level level, const char *module,
			   const char *message, void *payload);

/*
 * Install `cb` for records at `max_level` and below (CSF_LOG_OFF or a NULL
 * `cb` turns logging off). Call it before other threads use the library.
 * Returns CSF_EINVALID for a level out of range.
 */
CSF_API int csf_log_set_callback(csf_log_level max_level, csf_log_cb cb, void *payload);

/* The name of a level ("error", "warn", "info", "debug", "trace"). */
CSF_API const char *csf_log_level_name(csf_log_level level);

/*
 * Write one record to `out` as one line, for a daemon's log callback:
 * "PROGRAM: LEVEL: MODULE: MESSAGE", or with `json` an object
 * {"level":...,"module":...,"message":...} (control characters escaped).
 * Thread-safe as stdio is.
 */
CSF_API void csf_log_write_line(FILE *out, int json, const char *program, csf_log_level level,
				const char *module, const char *message);

/*
 * Memory. Every allocation the library makes goes through one allocator.
 * `malloc` and `realloc` return NULL on failure and are never called with a
 * size of 0; `free` accepts NULL. All three receive `payload`.
 */
typedef struct csf_allocator {
	void *(*malloc)(size_t size, void *payload);
	void *(*realloc)(void *ptr, size_t size, void *payload);
	void (*free)(void *ptr, void *payload);
	void *payload;
} csf_allocator;

/*
 * Replace the allocator (NULL restores the C library's). Call it before any
 * other libcsf call or while no libcsf object is alive: memory is always
 * freed by the allocator that made it. The struct is copied.
 * Returns CSF_EINVALID when a function pointer is missing.
 */
CSF_API int csf_allocator_set(const csf_allocator *allocator);

/* Free memory the library handed to the caller (strings, buffers). NULL-safe. */
CSF_API void csf_free(void *ptr);

/*
 * Configuration files: one `key = value` per line, `#` starts a comment,
 * blank lines are ignored. Keys are [a-z0-9_-]+ ('-' and '_' are the same:
 * the callback sees '_'). A value is the rest of the line without the
 * blanks around it, or a double-quoted string with \" \\ \n \t escapes.
 * Files are UTF-8 and at most 1 MiB.
 */
typedef int (*csf_config_cb)(const char *key, const char *value, int line, void *payload);

/*
 * Call `cb` for every setting of the file at `path`, in order. A non-zero
 * return from `cb` stops the parse and is passed back unchanged (return
 * CSF_EPARSE with csf_error_last() set to name an unknown key, for example).
 * Errors: CSF_ENOTFOUND, CSF_EIO, CSF_EPARSE ("FILE:LINE: what is wrong"),
 * CSF_ELIMIT (file too large), CSF_ENOMEM.
 */
CSF_API int csf_config_parse_file(const char *path, csf_config_cb cb, void *payload);

/* The same for text in memory; `name` is used in messages. */
CSF_API int csf_config_parse(const char *text, size_t len, const char *name, csf_config_cb cb, void *payload);

#ifdef __cplusplus
}
#endif

#endif
