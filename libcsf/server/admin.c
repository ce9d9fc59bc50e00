/* Administration shared by the CLI and the REST API: enrollment tokens,
 * API keys, organizations, the audit log. */
#include <string.h>

#include "server/internal.h"

int csf__valid_role(const char *role)
{
	return role && (strcmp(role, "admin") == 0 || strcmp(role, "operator") == 0 || strcmp(role, "viewer") == 0);
}

int csf__server_org_id(csf__db *db, const char *name, char out[CSF__ID_LEN])
{
	static const char *const q = "SELECT id FROM organizations WHERE name = $1";
	csf__stmt *st;
	int rc = csf__db_stmt(db, &st, q);

	if (rc)
		return rc;
	csf__db_bind_text(st, 1, name);
	rc = csf__db_step(st);
	if (rc == 1) {
		snprintf(out, CSF__ID_LEN, "%s", csf__db_col_text(st, 0));
		csf__db_reset(st);
		return 0;
	}
	return rc < 0 ? rc : csf__error_set(CSF_ENOTFOUND, "no organization named '%s'", name);
}

int csf__server_audit(csf__db *db, const char *org_id, const char *actor, const char *action, const char *target,
		      const char *details_json)
{
	static const char *const q =
		"INSERT INTO audit_log (id, organization_id, actor, action, target, details, created_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7)";
	char id[CSF__ID_LEN];
	csf__stmt *st;
	int rc = csf__random_id(id);

	if (!rc)
		rc = csf__db_stmt(db, &st, q);
	if (rc)
		return rc;
	csf__db_bind_text(st, 1, id);
	csf__db_bind_text(st, 2, org_id);
	csf__db_bind_text(st, 3, actor);
	csf__db_bind_text(st, 4, action);
	csf__db_bind_text(st, 5, target);
	csf__db_bind_text(st, 6, details_json ? details_json : "{}");
	csf__db_bind_i64(st, 7, csf__now_ms());
	return csf__db_run(st);
}

int csf__server_token_create(csf__db *db, const csf__ca *ca, const char *org_id, uint32_t ttl_s, uint32_t uses,
			     const char *description, const char *created_by, char **token, char id_out[CSF__ID_LEN])
{
	static const char *const q =
		"INSERT INTO enrollment_tokens (id, organization_id, secret_sha256, description, created_by, created_at, "
		"expires_at, uses_left, uses) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)";
	char text[CSF__TOKEN_MAX], hash[65], id[CSF__ID_LEN];
	int64_t now = csf__now_ms();
	csf__stmt *st;
	int rc;

	*token = NULL;
	if (!ttl_s)
		ttl_s = 1800;
	if (!uses)
		uses = 1;
	rc = csf__token_new(text, ca->sha256, hash);
	if (!rc)
		rc = csf__random_id(id);
	if (!rc)
		rc = csf__db_stmt(db, &st, q);
	if (rc)
		return rc;
	csf__db_bind_text(st, 1, id);
	csf__db_bind_text(st, 2, org_id);
	csf__db_bind_text(st, 3, hash);
	csf__db_bind_text(st, 4, description ? description : "");
	csf__db_bind_text(st, 5, created_by);
	csf__db_bind_i64(st, 6, now);
	csf__db_bind_i64(st, 7, now + (int64_t)ttl_s * 1000);
	csf__db_bind_i64(st, 8, uses);
	rc = csf__db_run(st);
	if (!rc)
		rc = csf__server_audit(db, org_id, created_by, "enrollment_token.create", id, NULL);
	if (rc)
		return rc;
	*token = csf__strdup(text);
	if (id_out)
		memcpy(id_out, id, sizeof(id));
	return *token ? 0 : CSF_ENOMEM;
}

int csf__server_apikey_create(csf__db *db, const char *org_id, const char *name, const char *role,
			      const char *created_by, char **key, char id_out[CSF__ID_LEN])
{
	static const char *const q =
		"INSERT INTO api_keys (id, organization_id, name, key_sha256, role, created_by, created_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7)";
	char text[CSF__KEY_MAX], hash[65], id[CSF__ID_LEN];
	csf__stmt *st;
	int rc;

	*key = NULL;
	if (!csf__valid_role(role))
		return csf__error_set(CSF_EINVALID, "role must be admin, operator or viewer");
	if (!name || !name[0] || strlen(name) > 128)
		return csf__error_set(CSF_EINVALID, "an API key needs a name of 1 to 128 characters");
	rc = csf__api_key_new(text, hash);
	if (!rc)
		rc = csf__random_id(id);
	if (!rc)
		rc = csf__db_stmt(db, &st, q);
	if (rc)
		return rc;
	csf__db_bind_text(st, 1, id);
	csf__db_bind_text(st, 2, org_id);
	csf__db_bind_text(st, 3, name);
	csf__db_bind_text(st, 4, hash);
	csf__db_bind_text(st, 5, role);
	csf__db_bind_text(st, 6, created_by);
	csf__db_bind_i64(st, 7, csf__now_ms());
	rc = csf__db_run(st);
	if (!rc)
		rc = csf__server_audit(db, org_id, created_by, "api_key.create", id, NULL);
	if (rc)
		return rc;
	*key = csf__strdup(text);
	if (id_out)
		memcpy(id_out, id, sizeof(id));
	return *key ? 0 : CSF_ENOMEM;
}

/* ------------------------------------------------------ the CLI's side */

/* Open what the options name, bring the schema up to date, and find the
 * organization. */
static int open_admin(const csf_server_options *o, const char *org, csf__db **db, csf__ca *ca,
		      char org_id[CSF__ID_LEN])
{
	const char *dir = o && o->data_dir ? o->data_dir : "./csf-data";
	csf__buf url = CSF__BUF_INIT(8192);
	int rc;

	rc = o && o->db_url ? csf__buf_puts(&url, o->db_url) : csf__buf_printf(&url, "sqlite:%s/csf.db", dir);
	if (!rc)
		rc = csf__db_open(db, url.ptr);
	csf__buf_free(&url);
	if (!rc)
		rc = csf__db_migrate(*db, NULL, NULL);
	if (!rc && ca)
		rc = csf__ca_load_or_create(ca, dir);
	if (!rc)
		rc = csf__server_org_id(*db, org ? org : "default", org_id);
	return rc;
}

int csf_server_token_create(char **token, const csf_server_options *opts, const char *org, uint32_t ttl_s,
			    uint32_t uses, const char *description)
{
	csf__db *db = NULL;
	csf__ca ca;
	char org_id[CSF__ID_LEN];
	int rc;

	if (!token)
		return csf__misuse("csf_server_token_create: token is NULL");
	*token = NULL;
	memset(&ca, 0, sizeof(ca));
	rc = open_admin(opts, org, &db, &ca, org_id);
	if (!rc)
		rc = csf__server_token_create(db, &ca, org_id, ttl_s, uses, description, "cli", token, NULL);
	csf__ca_free(&ca);
	csf__db_close(db);
	return rc;
}

int csf_server_apikey_create(char **key, const csf_server_options *opts, const char *org, const char *name,
			     const char *role)
{
	csf__db *db = NULL;
	char org_id[CSF__ID_LEN];
	int rc;

	if (!key)
		return csf__misuse("csf_server_apikey_create: key is NULL");
	*key = NULL;
	if (!csf__valid_role(role))
		return csf__error_set(CSF_EINVALID, "role must be admin, operator or viewer");
	rc = open_admin(opts, org, &db, NULL, org_id);
	if (!rc)
		rc = csf__server_apikey_create(db, org_id, name, role, "cli", key, NULL);
	csf__db_close(db);
	return rc;
}
