/*
 * Enrollment: a key made here, a CSR and the host's facts sent through
 * RegisterAgent to the server the token names by its CA hash, and the
 * identity stored in the state directory. The directory is checked (and
 * proved writable) before the token is spent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/internal.h"
#include "auth/auth.h"

#define DEFAULT_TIMEOUT_MS 30000
#define REGISTER_PATH "/csf.v1.AgentService/RegisterAgent"

int csf_agent_enroll_options_init(csf_agent_enroll_options *opts, unsigned int version)
{
	if (!opts || version != CSF_AGENT_ENROLL_OPTIONS_VERSION)
		return csf__misuse("csf_agent_enroll_options_init: unknown version %u", version);
	*opts = (csf_agent_enroll_options)CSF_AGENT_ENROLL_OPTIONS_INIT;
	return 0;
}

typedef struct unary {
	csf_net_loop *loop;
	csf__buf reply;
	int status;
	char message[512];
	int ended;
} unary;

static int on_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	unary *u = payload;

	(void)call;
	csf__buf_clear(&u->reply);
	return csf__buf_put(&u->reply, (const char *)data, len) ? CSF_NET_RESOURCE_EXHAUSTED : 0;
}

static void on_end(csf_net_call *call, int status, const char *message, void *payload)
{
	unary *u = payload;

	(void)call;
	u->status = status;
	snprintf(u->message, sizeof(u->message), "%s", message ? message : "");
	u->ended = 1;
	csf_net_loop_stop(u->loop);
}

/* The directory exists (0700 when made), holds no identity and takes files. */
static int check_state_dir(const char *dir)
{
	char path[CSF__PATH_MAX];
	int rc = csf__dir_make(dir);

	if (!rc)
		rc = csf__path_join(path, dir, "identity.conf");
	if (rc)
		return rc;
	rc = csf__file_exists(path);
	if (rc)
		return rc < 0 ? rc : csf__error_set(CSF_EEXISTS, "%s already holds an agent identity; use another "
						     "--state-dir, or remove it to enroll again", dir);
	rc = csf__file_write_atomic(dir, "enroll.probe", "", 0, 0600);
	if (!rc && csf__path_join(path, dir, "enroll.probe") == 0)
		unlink(path);
	return rc;
}

static int build_request(uint8_t **buf, size_t *len, const csf_agent_enroll_options *o, const uint8_t *csr,
			 size_t csr_len, csf__arena *arena, char *hostname, size_t host_cap)
{
	Csf__V1__RegisterAgentRequest req = CSF__V1__REGISTER_AGENT_REQUEST__INIT;
	Csf__V1__RegisterAgentRequest__TagsEntry *tags = NULL, **tagp = NULL;
	csf_system_options sys;
	csf_collector *c = NULL;
	csf_snapshot *snap = NULL;
	size_t i;
	int rc;

	csf_system_options_init(&sys, CSF_SYSTEM_OPTIONS_VERSION);
	sys.processes = 0;
	rc = csf_collector_new(&c, csf_collector_system(), &sys);
	if (!rc)
		rc = csf_snapshot_new(&snap);
	if (!rc)
		rc = csf_collector_collect(c, snap);
	if (!rc)
		rc = csf__agent_host_facts(&req.host, arena, snap);
	if (rc)
		goto out;
	snprintf(hostname, host_cap, "%s", req.host->hostname);
	req.enrollment_token = (char *)o->token;
	req.csr_der.data = (uint8_t *)csr;
	req.csr_der.len = csr_len;
	req.name = (char *)(o->name && *o->name ? o->name : req.host->hostname);
	req.agent_version = CSF_VERSION;
	if (o->capabilities_count) {
		req.capabilities = (char **)o->capabilities;
		req.n_capabilities = o->capabilities_count;
	} else {
		req.capabilities = (char **)csf__agent_capabilities;
		req.n_capabilities = csf__agent_capabilities_n;
	}
	if (o->tags_count) {
		tags = csf__arena_alloc_items(arena, o->tags_count, sizeof(*tags), &tagp);
		if (!tags) {
			rc = CSF_ENOMEM;
			goto out;
		}
		for (i = 0; i < o->tags_count; i++) {
			csf__v1__register_agent_request__tags_entry__init(&tags[i]);
			tags[i].key = (char *)o->tag_keys[i];
			tags[i].value = (char *)o->tag_values[i];
		}
		req.tags = tagp;
		req.n_tags = o->tags_count;
	}
	rc = csf__pb_pack(buf, len, &req.base);
out:
	csf_snapshot_free(snap);
	csf_collector_free(c);
	return rc;
}

/* The call, run on a loop of its own until it ends. */
static int call_register(unary *u, const char *url, const char *pin, const uint8_t *req, size_t req_len,
			 uint32_t timeout_ms)
{
	static const csf_net_call_handlers h = { NULL, on_message, NULL, NULL, on_end };
	csf_net_tls_options tls;
	csf_net_channel_options co;
	csf_net_channel *ch = NULL;
	csf_net_call *call = NULL;
	int rc;

	csf_net_tls_options_init(&tls, CSF_NET_TLS_OPTIONS_VERSION);
	tls.ca_pin_sha256 = pin;
	csf_net_channel_options_init(&co, CSF_NET_CHANNEL_OPTIONS_VERSION);
	co.url = url;
	co.tls = &tls;
	co.transport = CSF_NET_CHANNEL_GRPC; /* enrollment is gRPC only (docs/protocol.md) */
	co.connect_timeout_ms = timeout_ms;
	rc = csf_net_loop_new(&u->loop);
	if (!rc)
		rc = csf_net_channel_new(&ch, u->loop, &co);
	if (!rc)
		rc = csf_net_channel_call(&call, ch, REGISTER_PATH, timeout_ms, &h, u);
	if (!rc && call) {
		rc = csf_net_call_send(call, req, req_len);
		if (!rc)
			rc = csf_net_call_close_send(call);
		if (rc)
			csf_net_call_cancel(call);
	}
	while (!u->ended && (rc == 0 || call))
		if (csf_net_loop_run(u->loop) != 0)
			break;
	csf_net_channel_free(ch);
	csf_net_loop_free(u->loop);
	u->loop = NULL;
	return rc;
}

/* What went wrong with the call, for the user and as a failure kind. */
static int classify(const unary *u, const char *url, csf_agent_enroll_failure *why)
{
	if (u->status == CSF_NET_UNAUTHENTICATED) {
		*why = CSF_AGENT_ENROLL_TOKEN_REJECTED;
		return csf__error_set(CSF_EAUTH, "the server refused the token: %s", u->message);
	}
	if (u->status == CSF_NET_UNAVAILABLE && strstr(u->message, "server certificate rejected")) {
		*why = CSF_AGENT_ENROLL_PIN_MISMATCH;
		return csf__error_set(CSF_EAUTH, "%s did not present the CA the token pins (wrong server, or a "
					  "machine in the middle): %s", url, u->message);
	}
	if (u->status == CSF_NET_UNAVAILABLE || u->status == CSF_NET_DEADLINE_EXCEEDED) {
		*why = CSF_AGENT_ENROLL_UNREACHABLE;
		return csf__error_set(u->status == CSF_NET_UNAVAILABLE ? CSF_EIO : CSF_ETIMEOUT,
				      "cannot reach %s: %s", url, u->message);
	}
	*why = CSF_AGENT_ENROLL_OTHER;
	return csf__error_set(CSF_ERROR, "enrollment failed: %s: %s", csf_net_status_name(u->status), u->message);
}

static int store(const char *dir, const char *url, const char *pin, const char *name, const char *key_pem,
		 const Csf__V1__RegisterAgentResponse *r)
{
	const uint8_t *chain[8];
	size_t chain_len[8], i, n = r->n_ca_chain_der < 8 ? r->n_ca_chain_der : 8;
	csf__identity id;
	int rc;

	memset(&id, 0, sizeof(id));
	for (i = 0; i < n; i++) {
		chain[i] = r->ca_chain_der[i].data;
		chain_len[i] = r->ca_chain_der[i].len;
	}
	if (strlen(r->agent_id) >= sizeof(id.agent_id) || strlen(r->organization_id) >= sizeof(id.org_id))
		return csf__error_set(CSF_EPARSE, "the server's answer holds an id that is too long");
	snprintf(id.agent_id, sizeof(id.agent_id), "%s", r->agent_id);
	snprintf(id.org_id, sizeof(id.org_id), "%s", r->organization_id);
	snprintf(id.server_url, sizeof(id.server_url), "%s", url);
	snprintf(id.ca_sha256, sizeof(id.ca_sha256), "%s", pin);
	snprintf(id.name, sizeof(id.name), "%s", name);
	rc = csf__identity_store_cert(dir, key_pem, r->certificate_der.data, r->certificate_der.len, chain, chain_len,
				      n, 0, &id.cert_not_before, &id.cert_expires_at);
	if (!rc) /* last: identity.conf is what says the directory is enrolled */
		rc = csf__identity_write(&id, dir);
	return rc;
}

int csf_agent_enroll(char **agent_id_out, csf_agent_enroll_failure *failure, const csf_agent_enroll_options *o)
{
	csf_agent_enroll_failure why = CSF_AGENT_ENROLL_OTHER, dummy;
	char pin[65], secret[65], hostname[256] = "";
	char *key_pem = NULL;
	uint8_t *csr = NULL, *req = NULL;
	size_t csr_len = 0, req_len = 0;
	Csf__V1__RegisterAgentResponse *resp = NULL;
	csf__arena arena;
	const char *dir;
	unary u;
	int rc;

	if (!failure)
		failure = &dummy;
	*failure = CSF_AGENT_ENROLL_OTHER;
	if (agent_id_out)
		*agent_id_out = NULL;
	if (!o || o->version != CSF_AGENT_ENROLL_OPTIONS_VERSION || !o->server_url || !o->token)
		return csf__misuse("csf_agent_enroll: options with a server_url and a token are required");
	if (csf__token_parse(o->token, pin, secret) != 0) {
		*failure = CSF_AGENT_ENROLL_TOKEN_REJECTED;
		return csf__error_set(CSF_EINVALID, "this is not an enrollment token: %s", csf_error_last()->message);
	}
	dir = o->state_dir ? o->state_dir : CSF_AGENT_DEFAULT_STATE_DIR;
	memset(&u, 0, sizeof(u));
	u.reply = (csf__buf)CSF__BUF_INIT(1u << 20);
	csf__arena_init(&arena, 4096);
	rc = check_state_dir(dir);
	if (rc) {
		why = CSF_AGENT_ENROLL_STATE_DIR;
		goto out;
	}
	rc = csf__csr_create("csf-agent", &key_pem, &csr, &csr_len);
	if (!rc)
		rc = build_request(&req, &req_len, o, csr, csr_len, &arena, hostname, sizeof(hostname));
	if (!rc)
		rc = call_register(&u, o->server_url, pin, req, req_len, o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
	if (rc)
		goto out;
	if (u.status != CSF_NET_OK || !u.reply.ptr) {
		rc = u.status == CSF_NET_OK ? csf__error_set(CSF_ERROR, "the server sent no answer") : classify(&u, o->server_url, &why);
		goto out;
	}
	rc = csf__pb_register_response_decode(&resp, (const uint8_t *)u.reply.ptr, u.reply.len);
	if (!rc) {
		rc = store(dir, o->server_url, pin, o->name && *o->name ? o->name : hostname, key_pem, resp);
		if (rc)
			why = CSF_AGENT_ENROLL_STATE_DIR;
	}
	if (!rc && agent_id_out) {
		*agent_id_out = csf__strdup(resp->agent_id);
		if (!*agent_id_out)
			rc = CSF_ENOMEM;
	}
	if (!rc) {
		why = CSF_AGENT_ENROLL_OK;
		csf__log(CSF_LOG_INFO, "agent", "enrolled as %s (organization %s) in %s", resp->agent_id,
			 resp->organization_id, dir);
	}
out:
	*failure = why;
	if (key_pem) {
		memset(key_pem, 0, strlen(key_pem)); /* the key lives on only in agent.key */
		csf__free(key_pem);
	}
	if (resp)
		csf__pb_free(&resp->base);
	csf__free(csr);
	csf__free(req);
	csf__buf_free(&u.reply);
	csf__arena_free(&arena);
	return rc;
}
