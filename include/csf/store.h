/*
 * csf/store.h - the server's database: open it and bring its schema up to
 * date (what `csf-server migrate` does).
 *
 * Two backends: SQLite (embedded, the default; one file) and PostgreSQL
 * (several csf-server replicas share one). docs/schema.md describes the
 * tables.
 *
 * Threading: a csf_store is one database connection, used by one thread at
 * a time. Separate handles may be used from separate threads, on the same
 * database.
 */
#ifndef CSF_STORE_H
#define CSF_STORE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An open database connection. */
typedef struct csf_store csf_store;

/*
 * Open the database at `url`:
 *   "sqlite:PATH"                  a SQLite file, created if missing
 *   "postgresql://USER:PASSWORD@HOST:PORT/DB?..." (or "postgres://...")
 *                                  a libpq connection URI
 * Opening does not change the schema: call csf_store_migrate().
 * On success `*out` receives a handle the caller frees with
 * csf_store_close(); on failure `*out` is NULL.
 * Errors: CSF_EINVALID (a NULL argument, an unknown scheme or a malformed
 * URL), CSF_EIO (the file cannot be opened or is not a database, the server
 * cannot be reached, or it refused the credentials), CSF_ENOMEM. Error
 * messages never contain the URL's password.
 */
CSF_API int csf_store_open(csf_store **out, const char *url);

/*
 * Bring the schema to the newest version this library knows, applying each
 * missing migration in its own transaction. Servers sharing one PostgreSQL
 * database may call it at the same time: they take turns. `*from` and `*to`
 * (each may be NULL) receive the schema version before and after; equal
 * versions mean there was nothing to do.
 * Errors: CSF_EUNSUPPORTED (the database has a newer schema than this
 * library: upgrade csf), CSF_EIO (the connection broke), CSF_ETIMEOUT (the
 * database stayed busy), CSF_EINVALID (a NULL handle), CSF_ERROR.
 */
CSF_API int csf_store_migrate(csf_store *s, int *from, int *to);

/*
 * The schema version of the database into `*version`: 0 for a database no
 * migration has touched.
 * Errors: CSF_EINVALID (a NULL argument), CSF_EIO, CSF_ERROR.
 */
CSF_API int csf_store_schema_version(csf_store *s, int *version);

/* Close the connection and free the handle. NULL-safe. */
CSF_API void csf_store_close(csf_store *s);

#ifdef __cplusplus
}
#endif

#endif
