/*
 * RegisterAgent: an enrollment token and a CSR in; an agent id and its
 * client certificate out. The token is checked and consumed in the same
 * transaction that records the agent; the identity the CSR asks for is
 * ignored. Failed attempts are counted per address (limit.c). The database
 * work and the signing run on a worker of the REST pool (with its
 * connection), so an enrollment storm, or a database that makes the
 * transaction wait, never holds up the loop and the agents it carries.
 */
#include <string.h>

#include "server/internal.h"

/* Tags (a map) and capabilities (a list) as the JSON the agents table keeps. */
static int tags_json(csf__buf *b, Csf__V1__RegisterAgentRequest__TagsEntry **tags, size_t n)
{
	csf__json j;
	size_t i;

	csf__json_init(&j, b);
	csf__json_begin_object(&j);
	for (i = 0; i < n; i++) {
		csf__json_key(&j, tags[i]->key);
		csf__json_string(&j, tags[i]->value);
	}
	csf__json_end_object(&j);
	return csf__json_finish(&j);
}

static int strings_json(csf__buf *b, char **v, size_t n)
{
	csf__json j;
	size_t i;

	csf__json_init(&j, b);
	csf__json_begin_array(&j);
	for (i = 0; i < n; i++)
		csf__json_string(&j, v[i]);
	csf__json_end_array(&j);
	return csf__json_finish(&j);
}

typedef struct enrollment {
	char agent_id[CSF__ID_LEN];
	char org_id[CSF__ID_LEN];
	uint8_t *cert;
	size_t cert_len;
	int64_t not_after;
	int status;      /* the gRPC status when it failed */
	char why[256];
} enrollment;

static int refuse(enrollment *e, int status, const char *why)
{
	e->status = status;
	snprintf(e->why, sizeof(e->why), "%s", why);
	return CSF_EAUTH;
}

/* Check and consume the token, record the agent and its certificate. */
static int enroll(csf_server *s, csf__db *db, const Csf__V1__RegisterAgentRequest *req, const char *addr,
		  enrollment *e)
{
	static const char *const q_token =
		"SELECT id, organization_id, expires_at, uses_left, revoked_at FROM enrollment_tokens "
		"WHERE secret_sha256 = $1";
	static const char *const q_use =
		"UPDATE enrollment_tokens SET uses_left = uses_left - 1, uses = uses + 1 WHERE id = $1 AND uses_left > 0";
	static const char *const q_agent =
		"INSERT INTO agents (id, organization_id, name, hostname, ip_address, agent_version, os_type, os_version, "
		"architecture, status, registered_at, updated_at, tags, capabilities) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'offline', $10, $10, $11, $12)";
	static const char *const q_cert =
		"INSERT INTO agent_certificates (serial, agent_id, organization_id, sha256, issued_at, expires_at) "
		"VALUES ($1, $2, $3, $4, $5, $6)";
	const Csf__V1__HostFacts *h = req->host;
	char ca_hash[65], secret_hash[65], token_id[CSF__ID_LEN], serial[65], sha[65];
	csf__buf tags = CSF__BUF_INIT(1u << 20), caps = CSF__BUF_INIT(1u << 20);
	int64_t now = csf__now_ms();
	const char *name;
	csf__stmt *st;
	int rc;

	if (csf__token_parse(req->enrollment_token, ca_hash, secret_hash) != 0)
		return refuse(e, CSF_NET_UNAUTHENTICATED, "the enrollment token is malformed");
	if (!csf__digest_equal(ca_hash, s->ca.sha256))
		return refuse(e, CSF_NET_UNAUTHENTICATED, "the enrollment token was issued by another server");
	rc = csf__db_begin(db);
	if (!rc)
		rc = csf__db_stmt(db, &st, q_token);
	if (rc)
		goto out;
	csf__db_bind_text(st, 1, secret_hash);
	rc = csf__db_step(st);
	if (rc <= 0) {
		rc = rc < 0 ? rc : refuse(e, CSF_NET_UNAUTHENTICATED, "the enrollment token is not known");
		goto out;
	}
	snprintf(token_id, sizeof(token_id), "%s", csf__db_col_text(st, 0));
	snprintf(e->org_id, sizeof(e->org_id), "%s", csf__db_col_text(st, 1));
	if (!csf__db_col_null(st, 4)) {
		rc = refuse(e, CSF_NET_UNAUTHENTICATED, "the enrollment token was revoked");
		goto out;
	}
	if (csf__db_col_i64(st, 2) <= now) {
		rc = refuse(e, CSF_NET_UNAUTHENTICATED, "the enrollment token has expired");
		goto out;
	}
	if (csf__db_col_i64(st, 3) <= 0) {
		rc = refuse(e, CSF_NET_UNAUTHENTICATED, "the enrollment token was already used");
		goto out;
	}
	csf__db_reset(st);
	if ((rc = csf__db_stmt(db, &st, q_use)) != 0)
		goto out;
	csf__db_bind_text(st, 1, token_id);
	if ((rc = csf__db_run(st)) != 0)
		goto out;
	if (csf__db_changes(st) != 1) { /* another enrollment took the last use */
		rc = refuse(e, CSF_NET_UNAUTHENTICATED, "the enrollment token was already used");
		goto out;
	}
	if ((rc = csf__random_id(e->agent_id)) != 0)
		goto out;
	rc = csf__ca_sign_csr(&s->ca, req->csr_der.data, req->csr_der.len, e->agent_id, e->org_id,
			      (int64_t)s->o.cert_lifetime_s, &e->cert, &e->cert_len, serial, &e->not_after);
	if (rc == CSF_EPARSE) {
		snprintf(e->why, sizeof(e->why), "%s", csf_error_last()->message);
		e->status = CSF_NET_INVALID_ARGUMENT;
		rc = CSF_EAUTH;
		goto out;
	}
	if (!rc)
		rc = tags_json(&tags, req->tags, req->n_tags);
	if (!rc)
		rc = strings_json(&caps, req->capabilities, req->n_capabilities);
	if (!rc)
		rc = csf__db_stmt(db, &st, q_agent);
	if (rc)
		goto out;
	name = req->name[0] ? req->name : h && h->hostname[0] ? h->hostname : e->agent_id;
	csf__db_bind_text(st, 1, e->agent_id);
	csf__db_bind_text(st, 2, e->org_id);
	csf__db_bind_text(st, 3, name);
	csf__db_bind_text(st, 4, h ? h->hostname : "");
	csf__db_bind_text(st, 5, addr);
	csf__db_bind_text(st, 6, req->agent_version);
	csf__db_bind_text(st, 7, h && h->os_type[0] ? h->os_type : "linux");
	csf__db_bind_text(st, 8, h ? (h->os_pretty[0] ? h->os_pretty : h->os_version) : "");
	csf__db_bind_text(st, 9, h ? h->arch : "");
	csf__db_bind_i64(st, 10, now);
	csf__db_bind_text(st, 11, tags.ptr);
	csf__db_bind_text(st, 12, caps.ptr);
	if ((rc = csf__db_run(st)) != 0 || (rc = csf__db_stmt(db, &st, q_cert)) != 0)
		goto out;
	csf__sha256_hex(e->cert, e->cert_len, sha);
	csf__db_bind_text(st, 1, serial);
	csf__db_bind_text(st, 2, e->agent_id);
	csf__db_bind_text(st, 3, e->org_id);
	csf__db_bind_text(st, 4, sha);
	csf__db_bind_i64(st, 5, now);
	csf__db_bind_i64(st, 6, e->not_after * 1000);
	rc = csf__db_run(st);
	if (!rc)
		rc = csf__server_audit(db, e->org_id, "enrollment", "agent.register", e->agent_id, NULL);
	if (!rc)
		rc = csf__db_commit(db);
out:
	if (rc)
		csf__db_abort(db);
	csf__buf_free(&tags);
	csf__buf_free(&caps);
	return rc;
}

static int reply(csf_server *s, csf_net_call *call, const enrollment *e)
{
	Csf__V1__RegisterAgentResponse resp = CSF__V1__REGISTER_AGENT_RESPONSE__INIT;
	Csf__V1__AgentSettings settings = CSF__V1__AGENT_SETTINGS__INIT;
	ProtobufCBinaryData chain[1];
	uint8_t *ca_der = NULL, *buf = NULL;
	size_t ca_len = 0, len = 0;
	int rc = csf__ca_cert_der(&s->ca, &ca_der, &ca_len);

	if (rc)
		return rc;
	settings.collect_interval_seconds = s->o.collect_interval_s;
	settings.heartbeat_interval_seconds = s->o.heartbeat_interval_s;
	settings.max_message_bytes = CSF__NET_DEFAULT_MAX_MESSAGE;
	chain[0].data = ca_der;
	chain[0].len = ca_len;
	resp.agent_id = (char *)e->agent_id;
	resp.organization_id = (char *)e->org_id;
	resp.certificate_der.data = e->cert;
	resp.certificate_der.len = e->cert_len;
	resp.n_ca_chain_der = 1;
	resp.ca_chain_der = chain;
	resp.certificate_expires_at = e->not_after;
	resp.settings = &settings;
	rc = csf__pb_pack(&buf, &len, &resp.base);
	if (!rc)
		rc = csf_net_call_send(call, buf, len);
	csf__free(buf);
	csf__free(ca_der);
	return rc;
}

/* One RegisterAgent on its way through a worker; the call's user data
 * while it is (NULL once the call ended: the answer has nowhere to go). */
typedef struct registration {
	csf__pool_job base;
	csf_server *s;
	csf_net_call *call;
	Csf__V1__RegisterAgentRequest *req;
	char addr[64];
	enrollment e;
	int rc;
} registration;

static void reg_run(csf__pool_job *base, void *worker)
{
	registration *r = (registration *)base;

	r->rc = enroll(r->s, worker, r->req, r->addr, &r->e);
	if (r->rc && r->rc != CSF_EAUTH) /* the message is this thread's */
		snprintf(r->e.why, sizeof(r->e.why), "%s", csf_error_last()->message);
}

/* On the loop: answer, count and log what the worker did. */
static void answer(registration *r)
{
	csf_server *s = r->s;
	csf_net_call *call = r->call;

	if (r->rc == CSF_EAUTH) {
		csf__limit_failed(s->enroll_limits, CSF__ARRAY_SIZE(s->enroll_limits), r->addr);
		__atomic_add_fetch(&s->stats.enrollment_failures, 1, __ATOMIC_RELAXED);
		csf__log(CSF_LOG_INFO, "server", "enrollment from %s refused: %s", r->addr, r->e.why);
		if (call)
			csf_net_call_finish(call, r->e.status, r->e.why);
	} else if (r->rc) {
		csf__log(CSF_LOG_ERROR, "server", "enrollment from %s failed: %s", r->addr, r->e.why);
		if (call)
			csf_net_call_finish(call, CSF_NET_INTERNAL, "the server could not record the enrollment");
	} else if (!call) {
		csf__log(CSF_LOG_WARN, "server", "agent %s enrolled from %s, but the call ended before the answer",
			 r->e.agent_id, r->addr);
	} else if (reply(s, call, &r->e) != 0) {
		csf_net_call_finish(call, CSF_NET_INTERNAL, "the server could not answer");
	} else {
		__atomic_add_fetch(&s->stats.enrollments, 1, __ATOMIC_RELAXED);
		csf__log(CSF_LOG_INFO, "server", "agent %s enrolled from %s", r->e.agent_id, r->addr);
		csf_net_call_finish(call, CSF_NET_OK, NULL);
	}
}

/* dropped: shutting down, the agents' calls are already gone */
static void reg_finish(csf__pool_job *base, int dropped)
{
	registration *r = (registration *)base;

	if (!dropped) {
		if (r->call)
			csf_net_call_set_user_data(r->call, NULL);
		answer(r);
	}
	csf__free(r->e.cert);
	csf__pb_free(&r->req->base);
	csf__free(r);
}

static int reg_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	csf_server *s = payload;
	registration *r;

	if (csf_net_call_user_data(call))
		return CSF_NET_INVALID_ARGUMENT; /* a second request on a unary call */
	r = csf__calloc(1, sizeof(*r));
	if (!r) {
		csf_net_call_finish(call, CSF_NET_RESOURCE_EXHAUSTED, "the server is out of memory");
		return 0;
	}
	csf__addr_only(csf_net_call_peer(call)->address, r->addr, sizeof(r->addr));
	if (csf__limit_blocked(s->enroll_limits, CSF__ARRAY_SIZE(s->enroll_limits), r->addr)) {
		csf__free(r);
		csf_net_call_finish(call, CSF_NET_RESOURCE_EXHAUSTED,
				    "too many failed enrollments from this address; try again in a minute");
		return 0;
	}
	if (csf__pb_register_request_decode(&r->req, data, len) != 0) {
		csf__free(r);
		csf_net_call_finish(call, CSF_NET_INVALID_ARGUMENT, csf_error_last()->message);
		return 0;
	}
	r->s = s;
	r->call = call;
	r->base.run = reg_run;
	r->base.finish = reg_finish;
	csf_net_call_set_user_data(call, r);
	csf__net_server_submit(s->http, &r->base);
	return 0;
}

static void reg_half_close(csf_net_call *call, void *payload)
{
	(void)payload;
	if (csf_net_call_user_data(call))
		return; /* the request is on a worker: its answer ends the call */
	/* a request without a message: finish is a no-op once answered */
	csf_net_call_finish(call, CSF_NET_INVALID_ARGUMENT, "RegisterAgent needs a RegisterAgentRequest");
}

static void reg_end(csf_net_call *call, int status, const char *message, void *payload)
{
	registration *r = csf_net_call_user_data(call);

	(void)status;
	(void)message;
	(void)payload;
	if (r)
		r->call = NULL; /* the worker's answer has nowhere to go */
}

int csf__enroll_register(csf_server *s)
{
	static const csf_net_call_handlers h = { NULL, reg_message, reg_half_close, NULL, reg_end };

	return csf_net_server_add_method(s->agents, "/csf.v1.AgentService/RegisterAgent", 0, &h, s);
}
