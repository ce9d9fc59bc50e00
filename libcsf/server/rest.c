/* REST plumbing: who is calling (a session token or an API key), roles,
 * JSON bodies (jansson) and JSON answers, errors as DESIGN.md section 3 says:
 * {"error":{"code":"...","message":"..."}} with the right status. */
#include <string.h>

#include <jansson.h>

#include "server/internal.h"

#define KEY_TOUCH_MS 60000

static csf__role_level level_of(const char *role)
{
	if (strcmp(role, "admin") == 0)
		return CSF__ADMIN;
	if (strcmp(role, "operator") == 0)
		return CSF__OPERATOR;
	return CSF__VIEWER;
}

static int deny(csf__http_exchange *x, int status, const char *code, const char *message)
{
	csf__http_respond_error(x, status, code, message);
	return 1;
}

static int by_session(csf__db *db, const char *hash, csf__principal *who, const char **why)
{
	static const char *const q =
		"SELECT s.user_id, s.organization_id, s.expires_at, u.username, u.role, u.disabled "
		"FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = $1";
	csf__stmt *st;
	int rc = csf__db_stmt(db, &st, q);

	if (!rc) {
		csf__db_bind_text(st, 1, hash);
		rc = csf__db_step(st);
	}
	if (rc < 0)
		return rc;
	if (rc == 0 || csf__db_col_i64(st, 5)) {
		*why = rc == 0 ? "the session is not known (log in again)" : "this user is disabled";
		csf__db_reset(st);
		return CSF_EAUTH;
	}
	if (csf__db_col_i64(st, 2) <= csf__now_ms()) {
		*why = "the session has expired (log in again)";
		csf__db_reset(st);
		return CSF_EAUTH;
	}
	snprintf(who->actor_id, sizeof(who->actor_id), "%s", csf__db_col_text(st, 0));
	snprintf(who->org_id, sizeof(who->org_id), "%s", csf__db_col_text(st, 1));
	snprintf(who->name, sizeof(who->name), "%s", csf__db_col_text(st, 3));
	snprintf(who->role, sizeof(who->role), "%s", csf__db_col_text(st, 4));
	csf__db_reset(st);
	return 0;
}

static int by_key(csf__db *db, const char *hash, csf__principal *who, const char **why)
{
	static const char *const q =
		"SELECT id, organization_id, name, role, revoked_at, last_used_at FROM api_keys WHERE key_sha256 = $1";
	static const char *const touch = "UPDATE api_keys SET last_used_at = $2 WHERE id = $1";
	int64_t now = csf__now_ms(), last_used;
	csf__stmt *st;
	int rc = csf__db_stmt(db, &st, q);

	if (!rc) {
		csf__db_bind_text(st, 1, hash);
		rc = csf__db_step(st);
	}
	if (rc < 0)
		return rc;
	if (rc == 0 || !csf__db_col_null(st, 4)) {
		*why = rc == 0 ? "the API key is not known" : "the API key was revoked";
		csf__db_reset(st);
		return CSF_EAUTH;
	}
	snprintf(who->actor_id, sizeof(who->actor_id), "%s", csf__db_col_text(st, 0));
	snprintf(who->org_id, sizeof(who->org_id), "%s", csf__db_col_text(st, 1));
	snprintf(who->name, sizeof(who->name), "%s", csf__db_col_text(st, 2));
	snprintf(who->role, sizeof(who->role), "%s", csf__db_col_text(st, 3));
	who->is_key = 1;
	last_used = csf__db_col_i64(st, 5);
	csf__db_reset(st);
	if (now - last_used > KEY_TOUCH_MS && csf__db_stmt(db, &st, touch) == 0) {
		csf__db_bind_text(st, 1, who->actor_id);
		csf__db_bind_i64(st, 2, now);
		csf__db_run(st); /* best effort: last_used_at is informational */
	}
	return 0;
}

int csf__auth_hash(csf__db *db, int is_key, const char *hash, csf__principal *who, const char **why)
{
	memset(who, 0, sizeof(*who));
	return is_key ? by_key(db, hash, who, why) : by_session(db, hash, who, why);
}

int csf__auth_token(csf__db *db, const char *tok, csf__principal *who, const char **why, char hash[65])
{
	memset(who, 0, sizeof(*who));
	csf__sha256_hex(tok, strlen(tok), hash);
	if (strncmp(tok, "csfs_", 5) == 0 || strncmp(tok, "csfk_", 5) == 0)
		return csf__auth_hash(db, tok[3] == 'k', hash, who, why);
	*why = "the token is neither a session token nor an API key";
	return CSF_EAUTH;
}

int csf__rest_auth(csf_server *s, csf__http_exchange *x, const csf__http_request *req, csf__role_level need,
		   csf__principal *who)
{
	const char *h = csf__http_request_header(req, "authorization");
	const char *why = "an Authorization: Bearer token is needed";
	char hash[65];
	int rc = CSF_EAUTH;

	__atomic_add_fetch(&s->stats.http_requests, 1, __ATOMIC_RELAXED);
	memset(who, 0, sizeof(*who));
	if (h && strncmp(h, "Bearer ", 7) == 0)
		rc = csf__auth_token(csf__rest_db(s, x), h + 7, who, &why, hash);
	if (rc == CSF_EAUTH)
		return deny(x, 401, "unauthenticated", why);
	if (rc)
		return deny(x, 503, "unavailable", "the database is not reachable");
	if (level_of(who->role) < need)
		return deny(x, 403, "forbidden",
			    need == CSF__ADMIN ? "this needs the admin role" : "this needs the operator role");
	return 0;
}

csf__db *csf__rest_db(const csf_server *s, const csf__http_exchange *x)
{
	csf__db *worker = csf__http_exchange_worker(x);

	return worker ? worker : s->db;
}

int csf__rest_route(csf_server *s, const char *method, const char *pattern, csf__http_handler h)
{
	return csf__net_server_add_pooled_route(s->http, method, pattern, h, s);
}

static void recheck(void *arg)
{
	csf__feed_recheck(arg);
}

void csf__rest_feed_recheck(csf_server *s, csf__http_exchange *x)
{
	/* out of memory: the feed's periodic check (every 30 s) still ends it */
	csf__http_exchange_on_loop(x, recheck, s, NULL);
}

int csf__rest_json(csf__http_exchange *x, int status, csf__buf *body)
{
	static const char *const headers[] = { "Content-Type", "application/json", "Cache-Control", "no-store", NULL };
	int rc = csf__http_respond(x, status, headers, body->ptr ? body->ptr : "{}", body->ptr ? body->len : 2);

	csf__buf_free(body);
	return rc;
}

int csf__rest_agent_row(csf_server *s, csf__http_exchange *x, const char *sql, const char *org_id,
			const char *agent_id, csf__stmt **st)
{
	int rc = csf__db_stmt(csf__rest_db(s, x), st, sql);

	if (!rc) {
		csf__db_bind_text(*st, 1, org_id);
		csf__db_bind_text(*st, 2, agent_id);
		rc = csf__db_step(*st);
	}
	if (rc < 0)
		return csf__rest_fail(x, rc), -1;
	if (rc == 0)
		return csf__http_respond_error(x, 404, "not_found", "no such agent"), -1;
	return 0;
}

int csf__rest_fail(csf__http_exchange *x, int rc)
{
	const char *msg = csf_error_last()->message;

	switch (rc) {
	case CSF_ENOTFOUND:
		return csf__http_respond_error(x, 404, "not_found", msg);
	case CSF_EINVALID:
	case CSF_EPARSE:
		return csf__http_respond_error(x, 400, "invalid_argument", msg);
	case CSF_EEXISTS:
		return csf__http_respond_error(x, 409, "conflict", msg);
	case CSF_EAUTH:
		return csf__http_respond_error(x, 401, "unauthenticated", msg);
	case CSF_EIO:
	case CSF_ETIMEOUT:
		csf__log(CSF_LOG_WARN, "server", "request failed: %s", msg);
		return csf__http_respond_error(x, 503, "unavailable", "the database is not reachable; try again");
	default:
		csf__log(CSF_LOG_ERROR, "server", "request failed: %s", msg);
		return csf__http_respond_error(x, 500, "internal", "the server failed; see its log");
	}
}

json_t *csf__rest_body(csf__http_exchange *x, const csf__http_request *req, const char *const *allowed)
{
	const char *ct = csf__http_request_header(req, "content-type");
	json_error_t err;
	const char *key;
	json_t *root, *value;
	char msg[300];

	if (!ct || strncmp(ct, "application/json", 16) != 0) {
		csf__http_respond_error(x, 415, "unsupported_media_type", "the body must be application/json");
		return NULL;
	}
	root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s", err.line, err.column, err.text);
		csf__http_respond_error(x, 400, "invalid_argument", msg);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		csf__http_respond_error(x, 400, "invalid_argument", "the body must be a JSON object");
		return NULL;
	}
	json_object_foreach(root, key, value) {
		const char *const *a;

		for (a = allowed; *a && strcmp(*a, key) != 0; a++)
			;
		if (!*a) {
			snprintf(msg, sizeof(msg), "unknown field '%.100s'", key);
			json_decref(root);
			csf__http_respond_error(x, 400, "invalid_argument", msg);
			return NULL;
		}
	}
	return root;
}

int csf__rest_page(csf__http_exchange *x, const csf__http_request *req, long *limit, char *key, size_t kcap,
		   char *id, size_t icap)
{
	char limit_s[16], cursor[1200];

	if (csf__http_request_query(req, "limit", limit_s, sizeof(limit_s))) {
		char *end;

		*limit = strtol(limit_s, &end, 10);
		if (*end || *limit < 1 || *limit > CSF__PAGE_MAX) {
			csf__http_respond_error(x, 400, "invalid_argument", "limit must be 1 to 1000");
			return -1;
		}
	}
	key[0] = id[0] = '\0';
	if (csf__http_request_query(req, "cursor", cursor, sizeof(cursor)) && cursor[0] &&
	    csf__cursor_decode(cursor, key, kcap, id, icap) != 0) {
		csf__http_respond_error(x, 400, "invalid_argument", "cursor is not one this server gave out");
		return -1;
	}
	return 0;
}

void csf__rest_page_finish(csf__http_exchange *x, csf__json *j, csf__buf *body, int rc, const char *last_key,
			   const char *last_id)
{
	char next[1400];

	if (rc < 0) {
		csf__buf_free(body);
		csf__rest_fail(x, rc);
		return;
	}
	csf__json_end_array(j);
	csf__json_key(j, "next_cursor");
	if (rc == 1 && csf__cursor_encode(next, sizeof(next), last_key, last_id) == 0)
		csf__json_string(j, next);
	else
		csf__json_null(j);
	csf__json_end_object(j);
	if (csf__json_finish(j) != 0)
		csf__rest_fail(x, csf_error_last()->code);
	else
		csf__rest_json(x, 200, body);
}

int csf__rest_register(csf_server *s)
{
	int rc = csf__rest_auth_routes(s);

	if (!rc)
		rc = csf__rest_agent_routes(s);
	if (!rc)
		rc = csf__rest_admin_routes(s);
	if (!rc)
		rc = csf__rest_health_routes(s);
	return rc;
}
