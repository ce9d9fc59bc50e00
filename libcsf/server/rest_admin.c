/*
 * Administration over REST (admin role): enrollment tokens, API keys and
 * users of the caller's organization. Secrets are shown once, when made;
 * lists never hold them.
 */
#include <string.h>

#include <jansson.h>

#include "server/internal.h"

static int int_field(json_t *in, const char *key, int64_t lo, int64_t hi, int64_t def, int64_t *out, char *why,
		     size_t cap)
{
	json_t *v = json_object_get(in, key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(why, cap, "%s must be an integer from %lld to %lld", key, (long long)lo, (long long)hi);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static const char *str_field(json_t *in, const char *key, size_t max, int required, char *why, size_t cap,
			     int *bad)
{
	json_t *v = json_object_get(in, key);

	if (!v && !required)
		return NULL;
	if (!json_is_string(v) || (required && !json_string_length(v)) || json_string_length(v) > max) {
		snprintf(why, cap, "%s must be a string of %s%zu characters", key, required ? "1 to " : "at most ", max);
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

static void finish_json(csf__http_exchange *x, int status, csf__json *j, csf__buf *body)
{
	if (csf__json_finish(j) != 0)
		csf__rest_fail(x, csf_error_last()->code);
	else
		csf__rest_json(x, status, body);
}

/* ----------------------------------------------------- enrollment tokens */

static void token_create(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const allowed[] = { "ttl_seconds", "uses", "description", NULL };
	csf_server *s = payload;
	csf__principal who;
	csf__buf body = CSF__BUF_INIT(1u << 16);
	int64_t ttl, uses, now = csf__now_ms();
	char why[200], id[CSF__ID_LEN];
	const char *desc;
	char *token = NULL;
	csf__json j;
	json_t *in;
	int bad = 0, rc;

	(void)p;
	if (csf__rest_auth(s, x, req, CSF__ADMIN, &who) || !(in = csf__rest_body(x, req, allowed)))
		return;
	desc = str_field(in, "description", 200, 0, why, sizeof(why), &bad);
	if (bad || int_field(in, "ttl_seconds", 60, 30 * 86400, 1800, &ttl, why, sizeof(why)) ||
	    int_field(in, "uses", 1, 100000, 1, &uses, why, sizeof(why))) {
		json_decref(in);
		csf__http_respond_error(x, 400, "invalid_argument", why);
		return;
	}
	rc = csf__server_token_create(csf__rest_db(s, x), &s->ca, who.org_id, (uint32_t)ttl, (uint32_t)uses, desc, who.name, &token, id);
	json_decref(in);
	if (rc) {
		csf__rest_fail(x, rc);
		return;
	}
	csf__json_init(&j, &body);
	csf__json_begin_object(&j);
	csf__json_key(&j, "id"); csf__json_string(&j, id);
	csf__json_key(&j, "token"); csf__json_string(&j, token);
	csf__json_key(&j, "expires_at"); csf__json_i64(&j, now + ttl * 1000);
	csf__json_key(&j, "uses_left"); csf__json_i64(&j, uses);
	csf__json_key(&j, "uses"); csf__json_i64(&j, 0);
	csf__json_key(&j, "ca_sha256"); csf__json_string(&j, s->ca.sha256);
	csf__json_end_object(&j);
	csf__free(token);
	finish_json(x, 201, &j, &body);
}

/* An admin's listing, one page at a time, ordered on (key, id): newest
 * first by created_at (an integer), or by a text key such as the username.
 * The query takes $1 the caller's organization, $2 and $3 the cursor's key
 * and id, $4 the rows wanted; `row` makes one JSON object of a row. */
typedef struct admin_list {
	const char *sql;
	int key_col;   /* the key's column (the id is column 0) */
	int time_key;  /* the key is created_at, newest first */
	void (*row)(csf__json *, csf__stmt *);
} admin_list;

static void org_list(csf__http_exchange *x, const csf__http_request *req, csf_server *s, const admin_list *l)
{
	csf__principal who;
	csf__buf body = CSF__BUF_INIT(16u << 20);
	char key[600], id[64], last_key[600] = "", last_id[64] = "";
	long limit = 100, n = 0;
	csf__json j;
	csf__stmt *st;
	int rc;

	if (csf__rest_auth(s, x, req, CSF__ADMIN, &who) ||
	    csf__rest_page(x, req, &limit, key, sizeof(key), id, sizeof(id)))
		return;
	if ((rc = csf__db_stmt(csf__rest_db(s, x), &st, l->sql)) != 0) {
		csf__rest_fail(x, rc);
		return;
	}
	csf__db_bind_text(st, 1, who.org_id);
	if (l->time_key) {
		char *end;
		long long t = key[0] ? strtoll(key, &end, 10) : INT64_MAX;

		if (key[0] && *end) {
			csf__db_reset(st);
			csf__http_respond_error(x, 400, "invalid_argument", "cursor is not one this server gave out");
			return;
		}
		csf__db_bind_i64(st, 2, t);
	} else {
		csf__db_bind_text(st, 2, key);
	}
	csf__db_bind_text(st, 3, id);
	csf__db_bind_i64(st, 4, limit + 1); /* one more tells whether there is a next page */
	csf__json_init(&j, &body);
	csf__json_begin_object(&j);
	csf__json_key(&j, "items");
	csf__json_begin_array(&j);
	while ((rc = csf__db_step(st)) == 1 && n < limit) {
		l->row(&j, st);
		if (l->time_key)
			snprintf(last_key, sizeof(last_key), "%lld", (long long)csf__db_col_i64(st, l->key_col));
		else
			snprintf(last_key, sizeof(last_key), "%s", csf__db_col_text(st, l->key_col));
		snprintf(last_id, sizeof(last_id), "%s", csf__db_col_text(st, 0));
		n++;
	}
	csf__db_reset(st);
	csf__rest_page_finish(x, &j, &body, rc, last_key, last_id);
}

static void token_json(csf__json *j, csf__stmt *st)
{
	csf__json_begin_object(j);
	csf__json_key(j, "id"); csf__json_string(j, csf__db_col_text(st, 0));
	csf__json_key(j, "description"); csf__json_string(j, csf__db_col_text(st, 1));
	csf__json_key(j, "created_by"); csf__json_string(j, csf__db_col_text(st, 2));
	csf__json_key(j, "created_at"); csf__json_i64(j, csf__db_col_i64(st, 3));
	csf__json_key(j, "expires_at"); csf__json_i64(j, csf__db_col_i64(st, 4));
	csf__json_key(j, "uses_left"); csf__json_i64(j, csf__db_col_i64(st, 5));
	csf__json_key(j, "uses"); csf__json_i64(j, csf__db_col_i64(st, 6));
	csf__json_key(j, "revoked"); csf__json_bool(j, !csf__db_col_null(st, 7));
	csf__json_end_object(j);
}

static void token_list(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const admin_list l = {
		"SELECT id, description, created_by, created_at, expires_at, uses_left, uses, revoked_at "
		"FROM enrollment_tokens WHERE organization_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3)) "
		"ORDER BY created_at DESC, id DESC LIMIT $4",
		3, 1, token_json
	};

	(void)p;
	org_list(x, req, payload, &l);
}

/* Revoke a row of `table` in the caller's organization: 204 or 404. */
static void revoke(csf_server *s, csf__http_exchange *x, const csf__principal *who, const char *sql, const char *id,
		   const char *action)
{
	csf__db *db = csf__rest_db(s, x);
	csf__stmt *st;
	int rc = csf__db_stmt(db, &st, sql);

	if (!rc) {
		csf__db_bind_text(st, 1, who->org_id);
		csf__db_bind_text(st, 2, id);
		csf__db_bind_i64(st, 3, csf__now_ms());
		rc = csf__db_run(st);
	}
	if (!rc && csf__db_changes(st) == 0)
		rc = csf__error_set(CSF_ENOTFOUND, "not found");
	if (!rc)
		rc = csf__server_audit(db, who->org_id, who->name, action, id, NULL);
	if (rc) {
		csf__rest_fail(x, rc);
		return;
	}
	csf__rest_feed_recheck(s, x);
	csf__http_respond(x, 204, NULL, NULL, 0);
}

static void token_delete(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const q =
		"UPDATE enrollment_tokens SET revoked_at = $3 WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL";
	csf_server *s = payload;
	csf__principal who;

	if (!csf__rest_auth(s, x, req, CSF__ADMIN, &who))
		revoke(s, x, &who, q, csf__http_param(p, "id"), "enrollment_token.revoke");
}

/* --------------------------------------------------------------- API keys */

static void key_create(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const allowed[] = { "name", "role", NULL };
	csf_server *s = payload;
	csf__principal who;
	csf__buf body = CSF__BUF_INIT(1u << 16);
	char why[200], id[CSF__ID_LEN];
	const char *name, *role;
	char *key = NULL;
	csf__json j;
	json_t *in;
	int bad = 0, rc;

	(void)p;
	if (csf__rest_auth(s, x, req, CSF__ADMIN, &who) || !(in = csf__rest_body(x, req, allowed)))
		return;
	name = str_field(in, "name", 128, 1, why, sizeof(why), &bad);
	role = bad ? NULL : str_field(in, "role", 16, 1, why, sizeof(why), &bad);
	if (!bad && !csf__valid_role(role)) {
		snprintf(why, sizeof(why), "role must be admin, operator or viewer");
		bad = 1;
	}
	if (bad) {
		json_decref(in);
		csf__http_respond_error(x, 400, "invalid_argument", why);
		return;
	}
	rc = csf__server_apikey_create(csf__rest_db(s, x), who.org_id, name, role, who.name, &key, id);
	if (rc) {
		json_decref(in);
		csf__rest_fail(x, rc);
		return;
	}
	csf__json_init(&j, &body);
	csf__json_begin_object(&j);
	csf__json_key(&j, "id"); csf__json_string(&j, id);
	csf__json_key(&j, "name"); csf__json_string(&j, name);
	csf__json_key(&j, "role"); csf__json_string(&j, role);
	csf__json_key(&j, "key"); csf__json_string(&j, key);
	csf__json_end_object(&j);
	json_decref(in);
	csf__free(key);
	finish_json(x, 201, &j, &body);
}

static void key_json(csf__json *j, csf__stmt *st)
{
	csf__json_begin_object(j);
	csf__json_key(j, "id"); csf__json_string(j, csf__db_col_text(st, 0));
	csf__json_key(j, "name"); csf__json_string(j, csf__db_col_text(st, 1));
	csf__json_key(j, "role"); csf__json_string(j, csf__db_col_text(st, 2));
	csf__json_key(j, "created_by"); csf__json_string(j, csf__db_col_text(st, 3));
	csf__json_key(j, "created_at"); csf__json_i64(j, csf__db_col_i64(st, 4));
	csf__json_key(j, "last_used_at");
	if (csf__db_col_null(st, 5)) csf__json_null(j); else csf__json_i64(j, csf__db_col_i64(st, 5));
	csf__json_key(j, "revoked"); csf__json_bool(j, !csf__db_col_null(st, 6));
	csf__json_end_object(j);
}

static void key_list(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const admin_list l = {
		"SELECT id, name, role, created_by, created_at, last_used_at, revoked_at FROM api_keys "
		"WHERE organization_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3)) "
		"ORDER BY created_at DESC, id DESC LIMIT $4",
		4, 1, key_json
	};

	(void)p;
	org_list(x, req, payload, &l);
}

static void key_delete(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const q =
		"UPDATE api_keys SET revoked_at = $3 WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL";
	csf_server *s = payload;
	csf__principal who;

	if (!csf__rest_auth(s, x, req, CSF__ADMIN, &who))
		revoke(s, x, &who, q, csf__http_param(p, "id"), "api_key.revoke");
}

/* ------------------------------------------------------------------ users */

static void user_json(csf__json *j, csf__stmt *st)
{
	csf__json_begin_object(j);
	csf__json_key(j, "id"); csf__json_string(j, csf__db_col_text(st, 0));
	csf__json_key(j, "username"); csf__json_string(j, csf__db_col_text(st, 1));
	csf__json_key(j, "role"); csf__json_string(j, csf__db_col_text(st, 2));
	csf__json_key(j, "disabled"); csf__json_bool(j, csf__db_col_i64(st, 3) != 0);
	csf__json_key(j, "created_at"); csf__json_i64(j, csf__db_col_i64(st, 4));
	csf__json_end_object(j);
}

static void user_list(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const admin_list l = {
		"SELECT id, username, role, disabled, created_at FROM users WHERE organization_id = $1 "
		"AND (username > $2 OR (username = $2 AND id > $3)) ORDER BY username, id LIMIT $4",
		1, 0, user_json
	};

	(void)p;
	org_list(x, req, payload, &l);
}

static int password_ok(const char *pw, char *why, size_t cap)
{
	if (strlen(pw) < 10 || strlen(pw) > 256) {
		snprintf(why, cap, "password must be 10 to 256 characters");
		return 0;
	}
	return 1;
}

static void user_create(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const allowed[] = { "username", "password", "role", NULL };
	static const char *const q =
		"INSERT INTO users (id, organization_id, username, password_hash, role, disabled, created_at, updated_at) "
		"VALUES ($1, $2, $3, $4, $5, 0, $6, $6) ON CONFLICT (username) DO NOTHING";
	static const char *const q_get =
		"SELECT id, username, role, disabled, created_at FROM users WHERE organization_id = $1 AND id = $2";
	csf_server *s = payload;
	csf__db *db = csf__rest_db(s, x);
	csf__principal who;
	char why[200], id[CSF__ID_LEN], hash[256];
	const char *user, *pass, *role;
	csf__buf body = CSF__BUF_INIT(1u << 16);
	csf__json j;
	csf__stmt *st;
	json_t *in;
	int bad = 0, rc;

	(void)p;
	if (csf__rest_auth(s, x, req, CSF__ADMIN, &who) || !(in = csf__rest_body(x, req, allowed)))
		return;
	user = str_field(in, "username", 64, 1, why, sizeof(why), &bad);
	pass = bad ? NULL : str_field(in, "password", 256, 1, why, sizeof(why), &bad);
	role = bad ? NULL : str_field(in, "role", 16, 1, why, sizeof(why), &bad);
	if (!bad && !csf__valid_role(role))
		bad = 1, snprintf(why, sizeof(why), "role must be admin, operator or viewer");
	if (!bad && !password_ok(pass, why, sizeof(why)))
		bad = 1;
	if (bad) {
		json_decref(in);
		csf__http_respond_error(x, 400, "invalid_argument", why);
		return;
	}
	rc = csf__random_id(id);
	if (!rc)
		rc = csf__password_hash(pass, hash, sizeof(hash));
	if (!rc)
		rc = csf__db_stmt(db, &st, q);
	if (!rc) {
		int64_t now = csf__now_ms();

		csf__db_bind_text(st, 1, id);
		csf__db_bind_text(st, 2, who.org_id);
		csf__db_bind_text(st, 3, user);
		csf__db_bind_text(st, 4, hash);
		csf__db_bind_text(st, 5, role);
		csf__db_bind_i64(st, 6, now);
		rc = csf__db_run(st);
		if (!rc && csf__db_changes(st) == 0)
			rc = csf__error_set(CSF_EEXISTS, "the username %.64s is taken", user);
	}
	if (!rc)
		rc = csf__server_audit(db, who.org_id, who.name, "user.create", id, NULL);
	json_decref(in);
	if (!rc && !(rc = csf__db_stmt(db, &st, q_get))) {
		csf__db_bind_text(st, 1, who.org_id);
		csf__db_bind_text(st, 2, id);
		rc = csf__db_step(st) == 1 ? 0 : CSF_ERROR;
	}
	if (rc) {
		csf__rest_fail(x, rc);
		return;
	}
	csf__json_init(&j, &body);
	user_json(&j, st);
	csf__db_reset(st);
	finish_json(x, 201, &j, &body);
}

static void user_patch(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const allowed[] = { "password", "role", "disabled", NULL };
	static const char *const q =
		"UPDATE users SET password_hash = COALESCE($3, password_hash), role = COALESCE($4, role), "
		"disabled = COALESCE($5, disabled), updated_at = $6 WHERE organization_id = $1 AND id = $2";
	static const char *const q_sessions = "DELETE FROM sessions WHERE user_id = $1";
	static const char *const q_get =
		"SELECT id, username, role, disabled, created_at FROM users WHERE organization_id = $1 AND id = $2";
	csf_server *s = payload;
	csf__db *db = csf__rest_db(s, x);
	const char *id = csf__http_param(p, "id");
	csf__principal who;
	char why[200], hash[256];
	const char *pass, *role;
	json_t *in, *jd;
	csf__buf body = CSF__BUF_INIT(1u << 16);
	csf__json j;
	csf__stmt *st;
	int bad = 0, rc;

	if (csf__rest_auth(s, x, req, CSF__ADMIN, &who) || !(in = csf__rest_body(x, req, allowed)))
		return;
	pass = str_field(in, "password", 256, 0, why, sizeof(why), &bad);
	role = bad ? NULL : str_field(in, "role", 16, 0, why, sizeof(why), &bad);
	jd = json_object_get(in, "disabled");
	if (!bad && role && !csf__valid_role(role))
		bad = 1, snprintf(why, sizeof(why), "role must be admin, operator or viewer");
	if (!bad && pass && !password_ok(pass, why, sizeof(why)))
		bad = 1;
	if (!bad && jd && !json_is_boolean(jd))
		bad = 1, snprintf(why, sizeof(why), "disabled must be true or false");
	if (!bad && strcmp(id, who.actor_id) == 0 && ((role && strcmp(role, "admin") != 0) || json_is_true(jd)))
		bad = 1, snprintf(why, sizeof(why), "an admin cannot demote or disable themselves");
	if (bad) {
		json_decref(in);
		csf__http_respond_error(x, 400, "invalid_argument", why);
		return;
	}
	rc = pass ? csf__password_hash(pass, hash, sizeof(hash)) : 0;
	if (!rc)
		rc = csf__db_begin(db);
	if (!rc && !(rc = csf__db_stmt(db, &st, q))) {
		csf__db_bind_text(st, 1, who.org_id);
		csf__db_bind_text(st, 2, id);
		csf__db_bind_text(st, 3, pass ? hash : NULL);
		csf__db_bind_text(st, 4, role);
		if (jd)
			csf__db_bind_i64(st, 5, json_is_true(jd));
		else
			csf__db_bind_null(st, 5);
		csf__db_bind_i64(st, 6, csf__now_ms());
		rc = csf__db_run(st);
		if (!rc && csf__db_changes(st) == 0)
			rc = csf__error_set(CSF_ENOTFOUND, "no such user");
	}
	/* a new password or a disabled account ends the user's sessions */
	if (!rc && (pass || json_is_true(jd)) && !(rc = csf__db_stmt(db, &st, q_sessions))) {
		csf__db_bind_text(st, 1, id);
		rc = csf__db_run(st);
	}
	if (!rc)
		rc = csf__server_audit(db, who.org_id, who.name, "user.update", id, NULL);
	if (!rc)
		rc = csf__db_commit(db);
	if (!rc)
		csf__rest_feed_recheck(s, x); /* disabled, or a new role or password */
	json_decref(in);
	if (!rc && !(rc = csf__db_stmt(db, &st, q_get))) {
		csf__db_bind_text(st, 1, who.org_id);
		csf__db_bind_text(st, 2, id);
		rc = csf__db_step(st) == 1 ? 0 : CSF_ERROR;
	}
	if (rc) {
		csf__db_abort(db);
		csf__rest_fail(x, rc);
		return;
	}
	csf__json_init(&j, &body);
	user_json(&j, st);
	csf__db_reset(st);
	finish_json(x, 200, &j, &body);
}

static void user_delete(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const q = "DELETE FROM users WHERE organization_id = $1 AND id = $2";
	csf_server *s = payload;
	csf__db *db = csf__rest_db(s, x);
	const char *id = csf__http_param(p, "id");
	csf__principal who;
	csf__stmt *st;
	int rc;

	if (csf__rest_auth(s, x, req, CSF__ADMIN, &who))
		return;
	if (strcmp(id, who.actor_id) == 0) {
		csf__http_respond_error(x, 400, "invalid_argument", "an admin cannot delete themselves");
		return;
	}
	rc = csf__db_stmt(db, &st, q);
	if (!rc) {
		csf__db_bind_text(st, 1, who.org_id);
		csf__db_bind_text(st, 2, id);
		rc = csf__db_run(st);
	}
	if (!rc && csf__db_changes(st) == 0)
		rc = csf__error_set(CSF_ENOTFOUND, "no such user");
	if (!rc)
		rc = csf__server_audit(db, who.org_id, who.name, "user.delete", id, NULL);
	if (rc) {
		csf__rest_fail(x, rc);
		return;
	}
	csf__rest_feed_recheck(s, x);
	csf__http_respond(x, 204, NULL, NULL, 0);
}

int csf__rest_admin_routes(csf_server *s)
{
	static const struct {
		const char *method, *pattern;
		csf__http_handler h;
	} routes[] = {
		{ "POST", "/api/v1/enrollment-tokens", token_create },
		{ "GET", "/api/v1/enrollment-tokens", token_list },
		{ "DELETE", "/api/v1/enrollment-tokens/{id}", token_delete },
		{ "POST", "/api/v1/api-keys", key_create },
		{ "GET", "/api/v1/api-keys", key_list },
		{ "DELETE", "/api/v1/api-keys/{id}", key_delete },
		{ "GET", "/api/v1/users", user_list },
		{ "POST", "/api/v1/users", user_create },
		{ "PATCH", "/api/v1/users/{id}", user_patch },
		{ "DELETE", "/api/v1/users/{id}", user_delete },
	};
	size_t i;
	int rc = 0;

	for (i = 0; i < CSF__ARRAY_SIZE(routes) && !rc; i++)
		rc = csf__rest_route(s, routes[i].method, routes[i].pattern, routes[i].h);
	return rc;
}
