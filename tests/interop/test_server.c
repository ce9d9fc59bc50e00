/*
 * An AgentService server on libcsf's net API, for the interop tests (stock
 * grpcio, grpc-go and websockets clients talk to it).
 *
 *   test_server --pki DIR [--max-message BYTES] [--handshake-ms MS]
 *
 * Listens on 127.0.0.1 with TLS (DIR/server.pem, client certificates checked
 * against DIR/ca.pem) and in cleartext (h2c), serves the WebSocket fallback
 * at /api/v1/agent/ws, prints "ready tls=PORT h2c=PORT" and then one line per
 * finished call ("end METHOD STATUS_NAME message"), and drains on SIGTERM.
 *
 * RegisterAgent: answers agent_id "agent-" + the request's name.
 * StreamMetrics (client certificate required): answers a Welcome whose
 * session_id is the certificate's CN, then an Ack per message; a message
 * from agent_id "silent" is not answered (for deadlines); half-close ends
 * the call OK; agent_id "fail-N" ends it with status N.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csf/csf.h>

#include "proto/envelope.h"
#include "pb_send.h"

static csf_net_loop *loop;
static csf_net_server *server;

static void on_end(csf_net_call *call, int status, const char *message, void *payload)
{
	(void)payload;
	printf("end %s %s %s\n", csf_net_call_method(call), csf_net_status_name(status), message);
	fflush(stdout);
}


static int register_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	Csf__V1__RegisterAgentRequest *req;
	Csf__V1__RegisterAgentResponse resp = CSF__V1__REGISTER_AGENT_RESPONSE__INIT;
	char id[4096];

	(void)payload;
	if (csf__pb_unpack((ProtobufCMessage **)&req, &csf__v1__register_agent_request__descriptor, data, len))
		return csf_net_call_finish(call, CSF_NET_INVALID_ARGUMENT, csf_error_last()->message), 0;
	snprintf(id, sizeof(id), "agent-%s", req->name);
	resp.agent_id = id;
	resp.organization_id = (char *)(csf_net_call_metadata(call, "x-org") ? csf_net_call_metadata(call, "x-org") : "");
	send_msg(call, &resp.base);
	csf__pb_free(&req->base);
	csf_net_call_finish(call, CSF_NET_OK, NULL);
	return 0;
}

static int stream_start(csf_net_call *call, void *payload)
{
	const csf_net_peer *peer = csf_net_call_peer(call);
	Csf__V1__ServerMessage msg = CSF__V1__SERVER_MESSAGE__INIT;
	Csf__V1__Welcome welcome = CSF__V1__WELCOME__INIT;

	(void)payload;
	welcome.session_id = (char *)(peer->cert_subject_cn ? peer->cert_subject_cn : "");
	welcome.server_time_ms = 1;
	msg.body_case = CSF__V1__SERVER_MESSAGE__BODY_WELCOME;
	msg.welcome = &welcome;
	send_msg(call, &msg.base);
	return CSF_NET_OK;
}

static int stream_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	Csf__V1__AgentMessage *in;
	Csf__V1__ServerMessage msg = CSF__V1__SERVER_MESSAGE__INIT;
	Csf__V1__Ack ack = CSF__V1__ACK__INIT;

	(void)payload;
	if (csf__pb_agent_message_decode(&in, data, len) != 0) {
		csf_net_call_finish(call, CSF_NET_INVALID_ARGUMENT, csf_error_last()->message);
		return 0;
	}
	if (strncmp(in->agent_id, "fail-", 5) == 0) {
		csf_net_call_finish(call, atoi(in->agent_id + 5), "failed as asked");
	} else if (strcmp(in->agent_id, "silent") != 0) {
		ack.seq = in->seq;
		ack.boot_id = in->boot_id;
		msg.body_case = CSF__V1__SERVER_MESSAGE__BODY_ACK;
		msg.ack = &ack;
		if (send_msg(call, &msg.base) != 0)
			csf_net_call_finish(call, CSF_NET_RESOURCE_EXHAUSTED, csf_error_last()->message);
	}
	csf__pb_free(&in->base);
	return 0;
}

static void stream_half_close(csf_net_call *call, void *payload)
{
	(void)payload;
	csf_net_call_finish(call, CSF_NET_OK, NULL);
}

static void on_stop(csf_net_server *s, void *payload)
{
	(void)s;
	(void)payload;
	csf_net_loop_stop(loop);
}

static void on_signal(int sig)
{
	(void)sig;
	csf_net_loop_stop_async(loop);
}

static char *path(const char *dir, const char *name)
{
	static char buf[8][512];
	static int i;

	snprintf(buf[i % 8], sizeof(buf[0]), "%s/%s", dir, name);
	return buf[i++ % 8];
}

int main(int argc, char **argv)
{
	static const csf_net_call_handlers reg = { NULL, register_message, NULL, NULL, on_end };
	static const csf_net_call_handlers stream = { stream_start, stream_message, stream_half_close, NULL, on_end };
	csf_net_server_options so;
	csf_net_tls_options tls;
	const char *pki = NULL;
	int i, draining = 0;

	csf_net_server_options_init(&so, CSF_NET_SERVER_OPTIONS_VERSION);
	so.allow_insecure = 1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pki") == 0 && i + 1 < argc)
			pki = argv[++i];
		else if (strcmp(argv[i], "--max-message") == 0 && i + 1 < argc)
			so.max_message_bytes = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--handshake-ms") == 0 && i + 1 < argc)
			so.handshake_timeout_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--keepalive-ms") == 0 && i + 1 < argc)
			so.keepalive_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--keepalive-timeout-ms") == 0 && i + 1 < argc)
			so.keepalive_timeout_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--idle-ms") == 0 && i + 1 < argc)
			so.idle_timeout_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
	}
	if (!pki) {
		fprintf(stderr, "usage: test_server --pki DIR [--max-message BYTES] [--handshake-ms MS]\n");
		return 2;
	}
	csf_net_tls_options_init(&tls, CSF_NET_TLS_OPTIONS_VERSION);
	tls.cert_file = path(pki, "server.pem");
	tls.key_file = path(pki, "server.key");
	tls.ca_file = path(pki, "ca.pem");
	if (csf_net_loop_new(&loop) || csf_net_server_new(&server, loop, &so) ||
	    csf_net_server_add_method(server, "/csf.v1.AgentService/RegisterAgent", 0, &reg, NULL) ||
	    csf_net_server_add_method(server, "/csf.v1.AgentService/StreamMetrics", CSF_NET_METHOD_CLIENT_CERT,
				      &stream, NULL) ||
	    csf_net_server_add_websocket(server, "/api/v1/agent/ws", "csf.v1", "/csf.v1.AgentService/StreamMetrics") ||
	    csf_net_server_listen(server, "127.0.0.1:0", &tls) || csf_net_server_listen(server, "127.0.0.1:0", NULL)) {
		fprintf(stderr, "test_server: %s\n", csf_error_last()->message);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	printf("ready tls=%d h2c=%d\n", csf_net_server_port(server, 0), csf_net_server_port(server, 1));
	fflush(stdout);
	for (;;) {
		csf_net_loop_run(loop);
		if (draining)
			break;
		/* first stop: drain for up to 5 s, then run until drained */
		draining = 1;
		csf_net_server_shutdown(server, 5000, on_stop, NULL);
		printf("draining %zu connections\n", csf_net_server_connections(server));
		fflush(stdout);
		if (csf_net_server_connections(server) == 0)
			break;
	}
	printf("stopped\n");
	csf_net_server_free(server);
	csf_net_loop_free(loop);
	return 0;
}
