/* The public csf_store handle: a thin wrapper over one csf__db connection
 * (what `csf-server migrate` needs without reaching into the library). */
#include "store/db.h"

struct csf_store {
	csf__db *db;
};

int csf_store_open(csf_store **out, const char *url)
{
	csf_store *s;
	int rc;

	if (!out)
		return csf__misuse("csf_store_open: out is NULL");
	*out = NULL;
	if (!url)
		return csf__misuse("csf_store_open: url is NULL");
	s = csf__calloc(1, sizeof(*s));
	if (!s)
		return CSF_ENOMEM;
	rc = csf__db_open(&s->db, url);
	if (rc) {
		csf__free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int csf_store_migrate(csf_store *s, int *from, int *to)
{
	if (!s)
		return csf__misuse("csf_store_migrate: store is NULL");
	return csf__db_migrate(s->db, from, to);
}

int csf_store_schema_version(csf_store *s, int *version)
{
	if (!s || !version)
		return csf__misuse("csf_store_schema_version: store and version are required");
	return csf__db_schema_version(s->db, version);
}

void csf_store_close(csf_store *s)
{
	if (!s)
		return;
	csf__db_close(s->db);
	csf__free(s);
}

csf__db *csf__store_db(csf_store *s)
{
	return s ? s->db : NULL;
}
