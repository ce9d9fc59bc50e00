/* /api/v1/auth: log in (a session token for the dashboard), log out, who am I. */
#include <pthread.h>
#include <string.h>

#include <jansson.h>

#include "server/internal.h"

#define SESSION_TTL_MS (12ll * 3600 * 1000)

/* A hash to verify against when the user does not exist, so that a wrong
 * username takes as long as a wrong password (made once, by whichever REST
 * worker needs it first). */
static char dummy[256];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
	csf__password_hash("not a password", dummy, sizeof(dummy));
}

static void principal_json(csf__json *j, const csf__principal *who)
{
	csf__json_begin_object(j);
	csf__json_key(j, "id");
	csf__json_string(j, who->actor_id);
	csf__json_key(j, who->is_key ? "name" : "username");
	csf__json_string(j, who->name);
	csf__json_key(j, "role");
	csf__json_string(j, who->role);
	csf__json_key(j, "organization_id");
	csf__json_string(j, who->org_id);
	csf__json_key(j, "kind");
	csf__json_string(j, who->is_key ? "api_key" : "user");
	csf__json_end_object(j);
}

static void login(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const allowed[] = { "username", "password", NULL };
	static const char *const q_user =
		"SELECT id, organization_id, password_hash, role, disabled FROM users WHERE username = $1";
	static const char *const q_session =
		"INSERT INTO sessions (token_sha256, user_id, organization_id, created_at, expires_at, last_seen_at) "
		"VALUES ($1, $2, $3, $4, $5, $4)";
	csf_server *s = payload;
	csf__db *db = csf__rest_db(s, x);
	csf__principal who;
	char addr[64], token[CSF__KEY_MAX], hash[65], stored[256];
	const char *user, *pass;
	int64_t now = csf__now_ms();
	csf__buf body = CSF__BUF_INIT(1u << 16);
	csf__json j;
	csf__stmt *st;
	json_t *in;
	int rc, found;

	(void)p;
	csf__addr_only(csf__http_exchange_peer(x), addr, sizeof(addr));
	if (csf__limit_blocked(s->login_limits, CSF__ARRAY_SIZE(s->login_limits), addr)) {
		csf__http_respond_error(x, 429, "too_many_requests", "too many failed logins from this address; wait a minute");
		return;
	}
	in = csf__rest_body(x, req, allowed);
	if (!in)
		return;
	user = json_string_value(json_object_get(in, "username"));
	pass = json_string_value(json_object_get(in, "password"));
	if (!user || !pass) {
		json_decref(in);
		csf__http_respond_error(x, 400, "invalid_argument", "username and password are required strings");
		return;
	}
	memset(&who, 0, sizeof(who));
	rc = csf__db_stmt(db, &st, q_user);
	if (!rc) {
		csf__db_bind_text(st, 1, user);
		rc = csf__db_step(st);
	}
	if (rc < 0) {
		json_decref(in);
		csf__rest_fail(x, rc);
		return;
	}
	found = rc == 1 && !csf__db_col_i64(st, 4);
	if (found) {
		snprintf(who.actor_id, sizeof(who.actor_id), "%s", csf__db_col_text(st, 0));
		snprintf(who.org_id, sizeof(who.org_id), "%s", csf__db_col_text(st, 1));
		snprintf(stored, sizeof(stored), "%s", csf__db_col_text(st, 2));
		snprintf(who.role, sizeof(who.role), "%s", csf__db_col_text(st, 3));
		snprintf(who.name, sizeof(who.name), "%s", user);
		csf__db_reset(st);
	} else {
		pthread_once(&dummy_once, make_dummy);
		snprintf(stored, sizeof(stored), "%s", dummy);
	}
	rc = csf__password_verify(stored, pass);
	json_decref(in);
	if (!found || rc != 0) {
		csf__limit_failed(s->login_limits, CSF__ARRAY_SIZE(s->login_limits), addr);
		csf__log(CSF_LOG_INFO, "server", "login refused from %s", addr);
		csf__http_respond_error(x, 401, "unauthenticated", "wrong username or password");
		return;
	}
	rc = csf__session_token_new(token, hash);
	if (!rc)
		rc = csf__db_stmt(db, &st, q_session);
	if (!rc) {
		csf__db_bind_text(st, 1, hash);
		csf__db_bind_text(st, 2, who.actor_id);
		csf__db_bind_text(st, 3, who.org_id);
		csf__db_bind_i64(st, 4, now);
		csf__db_bind_i64(st, 5, now + SESSION_TTL_MS);
		rc = csf__db_run(st);
	}
	if (!rc)
		rc = csf__server_audit(db, who.org_id, who.name, "auth.login", who.actor_id, NULL);
	if (rc) {
		csf__rest_fail(x, rc);
		return;
	}
	csf__json_init(&j, &body);
	csf__json_begin_object(&j);
	csf__json_key(&j, "token");
	csf__json_string(&j, token);
	csf__json_key(&j, "expires_at");
	csf__json_i64(&j, now + SESSION_TTL_MS);
	csf__json_key(&j, "user");
	principal_json(&j, &who);
	csf__json_end_object(&j);
	if (csf__json_finish(&j) != 0)
		csf__rest_fail(x, CSF_ENOMEM);
	else
		csf__rest_json(x, 200, &body);
}

static void logout(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const q = "DELETE FROM sessions WHERE token_sha256 = $1";
	csf_server *s = payload;
	csf__principal who;
	const char *tok;
	char hash[65];
	csf__stmt *st;
	int rc;

	(void)p;
	if (csf__rest_auth(s, x, req, CSF__VIEWER, &who))
		return;
	if (who.is_key) {
		csf__http_respond_error(x, 400, "invalid_argument", "API keys do not log out; revoke them instead");
		return;
	}
	/* only now is there an "Authorization: Bearer " header to skip */
	tok = csf__http_request_header(req, "authorization") + 7;
	csf__sha256_hex(tok, strlen(tok), hash);
	rc = csf__db_stmt(csf__rest_db(s, x), &st, q);
	if (!rc) {
		csf__db_bind_text(st, 1, hash);
		rc = csf__db_run(st);
	}
	if (rc) {
		csf__rest_fail(x, rc);
		return;
	}
	csf__rest_feed_recheck(s, x);
	csf__http_respond(x, 204, NULL, NULL, 0);
}

static void me(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	csf_server *s = payload;
	csf__principal who;
	csf__buf body = CSF__BUF_INIT(1u << 16);
	csf__json j;

	(void)p;
	if (csf__rest_auth(s, x, req, CSF__VIEWER, &who))
		return;
	csf__json_init(&j, &body);
	principal_json(&j, &who);
	if (csf__json_finish(&j) != 0)
		csf__rest_fail(x, CSF_ENOMEM);
	else
		csf__rest_json(x, 200, &body);
}

int csf__rest_auth_routes(csf_server *s)
{
	int rc = csf__rest_route(s, "POST", "/api/v1/auth/login", login);

	if (!rc)
		rc = csf__rest_route(s, "POST", "/api/v1/auth/logout", logout);
	if (!rc)
		rc = csf__rest_route(s, "GET", "/api/v1/auth/me", me);
	return rc;
}
