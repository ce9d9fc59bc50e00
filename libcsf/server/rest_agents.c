/*
 * /api/v1/agents: list (filters, keyset pagination), get, patch name and
 * tags, delete (revoke: certificates too, and the live stream is cut), and
 * the fleet summary. Every query is scoped to the caller's organization; an
 * agent of another organization is "not found".
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "server/internal.h"

#define COLUMNS \
	"id, name, hostname, ip_address, agent_version, os_type, os_version, architecture, status, " \
	"last_heartbeat, registered_at, updated_at, tags, capabilities, outbox_depth, dropped_messages"

static void agent_json(csf__json *j, csf__stmt *st)
{
	csf__json_begin_object(j);
	csf__json_key(j, "id"); csf__json_string(j, csf__db_col_text(st, 0));
	csf__json_key(j, "name"); csf__json_string(j, csf__db_col_text(st, 1));
	csf__json_key(j, "hostname"); csf__json_string(j, csf__db_col_text(st, 2));
	csf__json_key(j, "ip_address"); csf__json_string(j, csf__db_col_text(st, 3));
	csf__json_key(j, "agent_version"); csf__json_string(j, csf__db_col_text(st, 4));
	csf__json_key(j, "os_type"); csf__json_string(j, csf__db_col_text(st, 5));
	csf__json_key(j, "os_version"); csf__json_string(j, csf__db_col_text(st, 6));
	csf__json_key(j, "architecture"); csf__json_string(j, csf__db_col_text(st, 7));
	csf__json_key(j, "status"); csf__json_string(j, csf__db_col_text(st, 8));
	csf__json_key(j, "last_heartbeat");
	if (csf__db_col_null(st, 9))
		csf__json_null(j);
	else
		csf__json_i64(j, csf__db_col_i64(st, 9));
	csf__json_key(j, "registered_at"); csf__json_i64(j, csf__db_col_i64(st, 10));
	csf__json_key(j, "updated_at"); csf__json_i64(j, csf__db_col_i64(st, 11));
	csf__json_key(j, "tags"); csf__json_raw(j, csf__db_col_text(st, 12));
	csf__json_key(j, "capabilities"); csf__json_raw(j, csf__db_col_text(st, 13));
	csf__json_key(j, "outbox_depth"); csf__json_i64(j, csf__db_col_i64(st, 14));
	csf__json_key(j, "dropped_messages"); csf__json_i64(j, csf__db_col_i64(st, 15));
	csf__json_end_object(j);
}

/* "%...%" for LIKE, with %, _ and \ escaped, lowercased. */
static void like_pattern(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	out[o++] = '%';
	for (; *s && o + 4 < cap; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			out[o++] = '\\';
		out[o++] = (char)tolower((unsigned char)*s);
	}
	out[o++] = '%';
	out[o] = '\0';
}

static void list(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	/* One static query per backend (statements are cached by their text's
	 * address); an empty parameter switches its filter off. */
	static const char *const q_sqlite =
		"SELECT " COLUMNS " FROM agents WHERE organization_id = $1 AND revoked_at IS NULL "
		"AND ($2 = '' OR status = $2) AND ($3 = '' OR lower(name) LIKE $3 ESCAPE '\\') "
		"AND ($4 = '' OR json_extract(tags, $4) = $5) AND ($6 = '' OR name > $6 OR (name = $6 AND id > $7)) "
		"ORDER BY name, id LIMIT $8";
	static const char *const q_postgres =
		"SELECT " COLUMNS " FROM agents WHERE organization_id = $1 AND revoked_at IS NULL "
		"AND ($2 = '' OR status = $2) AND ($3 = '' OR lower(name) LIKE $3 ESCAPE '\\') "
		"AND ($4 = '' OR tags->>$4 = $5) AND ($6 = '' OR name > $6 OR (name = $6 AND id > $7)) "
		"ORDER BY name, id LIMIT $8";
	csf_server *s = payload;
	csf__db *db = csf__rest_db(s, x);
	csf__principal who;
	char status[16], name[200], pattern[420], tag[300], tagkey[310], cname[600], cid[64];
	char last_name[600] = "", last_id[64] = "";
	const char *tagval = "";
	long limit = 50;
	int sqlite = csf__db_kind_of(db) == CSF__DB_SQLITE, rc, n = 0;
	csf__buf body = CSF__BUF_INIT(64u << 20);
	csf__json j;
	csf__stmt *st;

	(void)p;
	if (csf__rest_auth(s, x, req, CSF__VIEWER, &who))
		return;
	if (!csf__http_request_query(req, "status", status, sizeof(status)))
		status[0] = '\0';
	if (status[0] && strcmp(status, "online") && strcmp(status, "offline") && strcmp(status, "error")) {
		csf__http_respond_error(x, 400, "invalid_argument", "status must be online, offline or error");
		return;
	}
	pattern[0] = '\0';
	if (csf__http_request_query(req, "name", name, sizeof(name)) && name[0])
		like_pattern(pattern, sizeof(pattern), name);
	tagkey[0] = '\0';
	if (csf__http_request_query(req, "tag", tag, sizeof(tag)) && tag[0]) {
		char *eq = strchr(tag, '=');

		if (!eq || eq == tag || strchr(tag, '"')) {
			csf__http_respond_error(x, 400, "invalid_argument", "tag must be key=value");
			return;
		}
		*eq = '\0';
		tagval = eq + 1;
		if (sqlite)
			snprintf(tagkey, sizeof(tagkey), "$.\"%s\"", tag);
		else
			snprintf(tagkey, sizeof(tagkey), "%s", tag);
	}
	if (csf__rest_page(x, req, &limit, cname, sizeof(cname), cid, sizeof(cid)))
		return;
	rc = csf__db_stmt(db, &st, sqlite ? q_sqlite : q_postgres);
	if (rc) {
		csf__rest_fail(x, rc);
		return;
	}
	csf__db_bind_text(st, 1, who.org_id);
	csf__db_bind_text(st, 2, status);
	csf__db_bind_text(st, 3, pattern);
	csf__db_bind_text(st, 4, tagkey);
	csf__db_bind_text(st, 5, tagval);
	csf__db_bind_text(st, 6, cname);
	csf__db_bind_text(st, 7, cid);
	csf__db_bind_i64(st, 8, limit + 1); /* one more tells whether there is a next page */
	csf__json_init(&j, &body);
	csf__json_begin_object(&j);
	csf__json_key(&j, "items");
	csf__json_begin_array(&j);
	while ((rc = csf__db_step(st)) == 1) {
		if (n == limit)
			break;
		agent_json(&j, st);
		snprintf(last_name, sizeof(last_name), "%s", csf__db_col_text(st, 1));
		snprintf(last_id, sizeof(last_id), "%s", csf__db_col_text(st, 0));
		n++;
	}
	csf__db_reset(st);
	csf__rest_page_finish(x, &j, &body, rc, last_name, last_id);
}

/* The agent's row into `st` (stepped), or answers 404 itself. */
static int find(csf_server *s, csf__http_exchange *x, const char *org, const char *id, csf__stmt **st)
{
	static const char *const q =
		"SELECT " COLUMNS " FROM agents WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL";

	return csf__rest_agent_row(s, x, q, org, id, st);
}

static void get(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	csf_server *s = payload;
	csf__principal who;
	csf__buf body = CSF__BUF_INIT(1u << 20);
	csf__json j;
	csf__stmt *st;

	if (csf__rest_auth(s, x, req, CSF__VIEWER, &who) || find(s, x, who.org_id, csf__http_param(p, "id"), &st))
		return;
	csf__json_init(&j, &body);
	agent_json(&j, st);
	csf__db_reset(st);
	if (csf__json_finish(&j) != 0)
		csf__rest_fail(x, csf_error_last()->code);
	else
		csf__rest_json(x, 200, &body);
}

/* Tags: an object of string values, 64 at most, keys 1..64 and values 0..256 bytes. */
static int tags_of(json_t *tags, csf__buf *out, char *why, size_t cap)
{
	const char *k;
	json_t *v;
	csf__json j;

	if (!json_is_object(tags) || json_object_size(tags) > 64) {
		snprintf(why, cap, "tags must be an object of at most 64 string values");
		return -1;
	}
	csf__json_init(&j, out);
	csf__json_begin_object(&j);
	json_object_foreach(tags, k, v) {
		if (!json_is_string(v) || !k[0] || strlen(k) > 64 || json_string_length(v) > 256) {
			snprintf(why, cap, "tag '%.64s': keys are 1 to 64 characters and values strings of at most 256", k);
			return -1;
		}
		csf__json_key(&j, k);
		csf__json_string(&j, json_string_value(v));
	}
	csf__json_end_object(&j);
	return csf__json_finish(&j) ? -1 : 0;
}

static void patch(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const allowed[] = { "name", "tags", NULL };
	static const char *const q =
		"UPDATE agents SET name = COALESCE($3, name), tags = COALESCE($4, tags), updated_at = $5 "
		"WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL";
	csf_server *s = payload;
	csf__db *db = csf__rest_db(s, x);
	const char *id = csf__http_param(p, "id");
	csf__principal who;
	csf__buf tags = CSF__BUF_INIT(1u << 16);
	const char *name = NULL;
	char why[200];
	json_t *in, *jn, *jt;
	csf__stmt *st;
	int rc;

	if (csf__rest_auth(s, x, req, CSF__OPERATOR, &who) || !(in = csf__rest_body(x, req, allowed)))
		return;
	jn = json_object_get(in, "name");
	jt = json_object_get(in, "tags");
	if (jn && (!json_is_string(jn) || !json_string_length(jn) || json_string_length(jn) > 128)) {
		json_decref(in);
		csf__http_respond_error(x, 400, "invalid_argument", "name must be a string of 1 to 128 characters");
		return;
	}
	if (jt && tags_of(jt, &tags, why, sizeof(why)) != 0) {
		json_decref(in);
		csf__buf_free(&tags);
		csf__http_respond_error(x, 400, "invalid_argument", why);
		return;
	}
	name = jn ? json_string_value(jn) : NULL;
	rc = csf__db_stmt(db, &st, q);
	if (!rc) {
		csf__db_bind_text(st, 1, who.org_id);
		csf__db_bind_text(st, 2, id);
		csf__db_bind_text(st, 3, name);
		csf__db_bind_text(st, 4, jt ? tags.ptr : NULL);
		csf__db_bind_i64(st, 5, csf__now_ms());
		rc = csf__db_run(st);
	}
	if (!rc && csf__db_changes(st) == 0)
		rc = csf__error_set(CSF_ENOTFOUND, "no such agent");
	if (!rc)
		rc = csf__server_audit(db, who.org_id, who.name, "agent.update", id, NULL);
	json_decref(in);
	csf__buf_free(&tags);
	if (rc) {
		csf__rest_fail(x, rc);
		return;
	}
	if (!find(s, x, who.org_id, id, &st)) {
		csf__buf body = CSF__BUF_INIT(1u << 20);
		csf__json j;

		csf__json_init(&j, &body);
		agent_json(&j, st);
		csf__db_reset(st);
		if (csf__json_finish(&j) != 0)
			csf__rest_fail(x, csf_error_last()->code);
		else
			csf__rest_json(x, 200, &body);
	}
}

struct revoked {
	csf_server *s;
	char org_id[CSF__ID_LEN], agent_id[CSF__ID_LEN];
};

/* On the loop: cut the revoked agent's stream and tell the browsers. */
static void revoked_live(void *arg)
{
	struct revoked *r = arg;

	csf__session_revoke(r->s, r->agent_id);
	csf__feed_agent_status(r->s, r->org_id, r->agent_id, "revoked");
	csf__free(r);
}

static void del(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const q_agent =
		"UPDATE agents SET revoked_at = $3, status = 'offline', updated_at = $3 "
		"WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL";
	static const char *const q_certs =
		"UPDATE agent_certificates SET revoked_at = $2 WHERE agent_id = $1 AND revoked_at IS NULL";
	csf_server *s = payload;
	csf__db *db = csf__rest_db(s, x);
	const char *id = csf__http_param(p, "id");
	int64_t now = csf__now_ms();
	struct revoked *gone;
	csf__principal who;
	csf__stmt *st;
	int rc;

	if (csf__rest_auth(s, x, req, CSF__ADMIN, &who))
		return;
	gone = csf__calloc(1, sizeof(*gone));
	if (!gone) {
		csf__rest_fail(x, CSF_ENOMEM);
		return;
	}
	gone->s = s;
	snprintf(gone->org_id, sizeof(gone->org_id), "%s", who.org_id);
	snprintf(gone->agent_id, sizeof(gone->agent_id), "%s", id);
	rc = csf__db_begin(db);
	if (!rc && !(rc = csf__db_stmt(db, &st, q_agent))) {
		csf__db_bind_text(st, 1, who.org_id);
		csf__db_bind_text(st, 2, id);
		csf__db_bind_i64(st, 3, now);
		rc = csf__db_run(st);
		if (!rc && csf__db_changes(st) == 0)
			rc = csf__error_set(CSF_ENOTFOUND, "no such agent");
	}
	if (!rc && !(rc = csf__db_stmt(db, &st, q_certs))) {
		csf__db_bind_text(st, 1, id);
		csf__db_bind_i64(st, 2, now);
		rc = csf__db_run(st);
	}
	if (!rc)
		rc = csf__server_audit(db, who.org_id, who.name, "agent.revoke", id, NULL);
	if (!rc)
		rc = csf__db_commit(db);
	if (rc) {
		csf__db_abort(db);
		csf__free(gone);
		csf__rest_fail(x, rc);
		return;
	}
	/* committed: the live stream goes at once (before the answer) */
	if (csf__http_exchange_on_loop(x, revoked_live, gone, csf__free) == 0)
		gone = NULL;
	else
		csf__log(CSF_LOG_WARN, "server", "agent %s revoked; its live stream ends when it reconnects", id);
	csf__free(gone);
	csf__http_respond(x, 204, NULL, NULL, 0);
}

static void summary(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	static const char *const q_counts =
		"SELECT status, count(*) FROM agents WHERE organization_id = $1 AND revoked_at IS NULL GROUP BY status";
	/* the latest sample of each agent in the last 10 minutes */
	static const char *const q_latest =
		"SELECT a.id, a.name, a.status, m.cpu_usage_percent, m.memory_total_bytes, m.memory_used_bytes, "
		"m.disk_total_bytes, m.disk_used_bytes FROM agents a LEFT JOIN agent_metrics m ON m.agent_id = a.id "
		"AND m.\"timestamp\" = (SELECT max(\"timestamp\") FROM agent_metrics WHERE agent_id = a.id AND "
		"\"timestamp\" > $2) WHERE a.organization_id = $1 AND a.revoked_at IS NULL ORDER BY a.name, a.id";
	csf_server *s = payload;
	csf__db *db = csf__rest_db(s, x);
	csf__principal who;
	int64_t online = 0, offline = 0, error = 0, with_metrics = 0, attention = 0;
	double cpu_sum = 0, mem_sum = 0;
	csf__buf body = CSF__BUF_INIT(16u << 20), list = CSF__BUF_INIT(16u << 20);
	csf__json j, l;
	csf__stmt *st;
	int rc;

	(void)p;
	if (csf__rest_auth(s, x, req, CSF__VIEWER, &who))
		return;
	rc = csf__db_stmt(db, &st, q_counts);
	if (!rc) {
		csf__db_bind_text(st, 1, who.org_id);
		while ((rc = csf__db_step(st)) == 1) {
			const char *status = csf__db_col_text(st, 0);
			int64_t n = csf__db_col_i64(st, 1);

			if (strcmp(status, "online") == 0)
				online = n;
			else if (strcmp(status, "error") == 0)
				error = n;
			else
				offline = n;
		}
	}
	if (rc < 0 || (rc = csf__db_stmt(db, &st, q_latest)) != 0) {
		csf__rest_fail(x, rc);
		return;
	}
	csf__db_bind_text(st, 1, who.org_id);
	csf__db_bind_i64(st, 2, csf__now_ms() - 600000);
	csf__json_init(&l, &list);
	csf__json_begin_array(&l);
	while ((rc = csf__db_step(st)) == 1) {
		const char *status = csf__db_col_text(st, 2);
		double cpu = csf__db_col_double(st, 3);
		int64_t mt = csf__db_col_i64(st, 4), mu = csf__db_col_i64(st, 5);
		int64_t dt = csf__db_col_i64(st, 6), du = csf__db_col_i64(st, 7);
		double mem_pct = mt ? 100.0 * (double)mu / (double)mt : 0, disk_pct = dt ? 100.0 * (double)du / (double)dt : 0;
		const char *reason = NULL;

		if (!csf__db_col_null(st, 3) && strcmp(status, "online") == 0) {
			with_metrics++;
			cpu_sum += cpu;
			mem_sum += mem_pct;
		}
		if (strcmp(status, "online") != 0)
			reason = "offline";
		else if (cpu >= 90)
			reason = "cpu";
		else if (disk_pct >= 90)
			reason = "disk";
		else if (mem_pct >= 90)
			reason = "memory";
		if (reason && attention < 50) {
			attention++;
			csf__json_begin_object(&l);
			csf__json_key(&l, "id"); csf__json_string(&l, csf__db_col_text(st, 0));
			csf__json_key(&l, "name"); csf__json_string(&l, csf__db_col_text(st, 1));
			csf__json_key(&l, "status"); csf__json_string(&l, status);
			csf__json_key(&l, "reason"); csf__json_string(&l, reason);
			csf__json_key(&l, "cpu_percent"); csf__json_double(&l, cpu);
			csf__json_key(&l, "memory_percent"); csf__json_double(&l, mem_pct);
			csf__json_key(&l, "disk_percent"); csf__json_double(&l, disk_pct);
			csf__json_end_object(&l);
		}
	}
	csf__json_end_array(&l);
	if (rc < 0 || csf__json_finish(&l) != 0) {
		csf__buf_free(&list);
		csf__rest_fail(x, rc < 0 ? rc : CSF_ENOMEM);
		return;
	}
	csf__json_init(&j, &body);
	csf__json_begin_object(&j);
	csf__json_key(&j, "agents");
	csf__json_begin_object(&j);
	csf__json_key(&j, "total"); csf__json_i64(&j, online + offline + error);
	csf__json_key(&j, "online"); csf__json_i64(&j, online);
	csf__json_key(&j, "offline"); csf__json_i64(&j, offline);
	csf__json_key(&j, "error"); csf__json_i64(&j, error);
	csf__json_end_object(&j);
	csf__json_key(&j, "cpu_percent_avg");
	if (with_metrics) csf__json_double(&j, cpu_sum / (double)with_metrics); else csf__json_null(&j);
	csf__json_key(&j, "memory_percent_avg");
	if (with_metrics) csf__json_double(&j, mem_sum / (double)with_metrics); else csf__json_null(&j);
	csf__json_key(&j, "attention");
	csf__json_raw(&j, list.ptr);
	csf__json_end_object(&j);
	csf__buf_free(&list);
	if (csf__json_finish(&j) != 0)
		csf__rest_fail(x, csf_error_last()->code);
	else
		csf__rest_json(x, 200, &body);
}

int csf__rest_agent_routes(csf_server *s)
{
	int rc = csf__rest_route(s, "GET", "/api/v1/agents", list);

	if (!rc)
		rc = csf__rest_route(s, "GET", "/api/v1/agents/{id}", get);
	if (!rc)
		rc = csf__rest_route(s, "PATCH", "/api/v1/agents/{id}", patch);
	if (!rc)
		rc = csf__rest_route(s, "DELETE", "/api/v1/agents/{id}", del);
	if (!rc)
		rc = csf__rest_route(s, "GET", "/api/v1/fleet/summary", summary);
	if (!rc)
		rc = csf__rest_agent_metrics_routes(s);
	if (!rc)
		rc = csf__rest_agent_snapshot_routes(s);
	return rc;
}
