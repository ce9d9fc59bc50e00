/*
 * An AgentService client on libcsf's net API, for the interop tests (it
 * talks to a stock grpcio server and to our own test_server).
 *
 *   test_client URL [--ca F] [--pin HEX] [--cert F --key F] [--name SNI]
 *               [--transport auto|grpc|websocket] [--timeout-ms N]
 *               (register NAME | stream AGENT_ID COUNT)
 *
 * Prints what it received ("agent_id ...", "welcome CN", "ack N") and
 * finally "end STATUS_NAME message" and "transport grpc|websocket"; exits 0
 * when the call ended OK.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csf/csf.h>

#include "proto/envelope.h"
#include "pb_send.h"

static csf_net_loop *loop;
static csf_net_channel *channel;
static int final_status = -1;
static unsigned long acks_wanted, acks;

static void on_end(csf_net_call *call, int status, const char *message, void *payload)
{
	(void)call;
	(void)payload;
	final_status = status;
	printf("end %s %s\n", csf_net_status_name(status), message);
	printf("transport %s\n", csf_net_channel_transport_in_use(channel) == CSF_NET_TRANSPORT_WEBSOCKET
				       ? "websocket" : "grpc");
	fflush(stdout);
	csf_net_loop_stop(loop);
}

static int on_register_reply(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	Csf__V1__RegisterAgentResponse *r;

	(void)call;
	(void)payload;
	if (csf__pb_unpack((ProtobufCMessage **)&r, &csf__v1__register_agent_response__descriptor, data, len))
		return CSF_NET_INTERNAL;
	printf("agent_id %s\n", r->agent_id);
	csf__pb_free(&r->base);
	return 0;
}

static int on_stream_reply(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	Csf__V1__ServerMessage *m;

	(void)payload;
	if (csf__pb_server_message_decode(&m, data, len))
		return CSF_NET_INTERNAL;
	if (m->body_case == CSF__V1__SERVER_MESSAGE__BODY_WELCOME)
		printf("welcome %s\n", m->welcome->session_id);
	else if (m->body_case == CSF__V1__SERVER_MESSAGE__BODY_ACK)
		printf("ack %llu\n", (unsigned long long)m->ack->seq), acks++;
	fflush(stdout);
	csf__pb_free(&m->base);
	/* half-close once everything is acked: over WebSocket a close is the
	 * end of the session, as it is for an agent whose outbox is empty */
	if (acks == acks_wanted)
		csf_net_call_close_send(call);
	return 0;
}


int main(int argc, char **argv)
{
	static const csf_net_call_handlers reg = { NULL, on_register_reply, NULL, NULL, on_end };
	static const csf_net_call_handlers stream = { NULL, on_stream_reply, NULL, NULL, on_end };
	csf_net_channel_options co;
	csf_net_tls_options tls;
	csf_net_call *call;
	uint64_t timeout_ms = 10000;
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: test_client URL [options] (register NAME | stream AGENT_ID COUNT)\n");
		return 2;
	}
	csf_net_channel_options_init(&co, CSF_NET_CHANNEL_OPTIONS_VERSION);
	csf_net_tls_options_init(&tls, CSF_NET_TLS_OPTIONS_VERSION);
	co.url = argv[1];
	co.tls = &tls;
	co.allow_insecure = 1;
	for (i = 2; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		if (strcmp(argv[i], "--ca") == 0)
			tls.ca_file = v;
		else if (strcmp(argv[i], "--pin") == 0)
			tls.ca_pin_sha256 = v;
		else if (strcmp(argv[i], "--cert") == 0)
			tls.cert_file = v;
		else if (strcmp(argv[i], "--key") == 0)
			tls.key_file = v;
		else if (strcmp(argv[i], "--name") == 0)
			tls.server_name = v;
		else if (strcmp(argv[i], "--timeout-ms") == 0)
			timeout_ms = strtoull(v, NULL, 10);
		else if (strcmp(argv[i], "--transport") == 0)
			co.transport = strcmp(v, "grpc") == 0 ? CSF_NET_CHANNEL_GRPC
				       : strcmp(v, "websocket") == 0 ? CSF_NET_CHANNEL_WEBSOCKET : CSF_NET_CHANNEL_AUTO;
	}
	if (csf_net_loop_new(&loop) || csf_net_channel_new(&channel, loop, &co)) {
		fprintf(stderr, "test_client: %s\n", csf_error_last()->message);
		return 1;
	}
	if (i + 1 < argc && strcmp(argv[i], "register") == 0) {
		Csf__V1__RegisterAgentRequest req = CSF__V1__REGISTER_AGENT_REQUEST__INIT;

		req.name = argv[i + 1];
		req.enrollment_token = "token";
		if (csf_net_channel_call(&call, channel, "/csf.v1.AgentService/RegisterAgent", timeout_ms, &reg, NULL) ||
		    (call && (send_msg(call, &req.base) || csf_net_call_close_send(call)))) {
			fprintf(stderr, "test_client: %s\n", csf_error_last()->message);
			return 1;
		}
	} else if (i + 2 < argc && strcmp(argv[i], "stream") == 0) {
		long n = strtol(argv[i + 2], NULL, 10), k;

		if (csf_net_channel_call(&call, channel, "/csf.v1.AgentService/StreamMetrics", timeout_ms, &stream,
					 NULL)) {
			fprintf(stderr, "test_client: %s\n", csf_error_last()->message);
			return 1;
		}
		acks_wanted = (unsigned long)n;
		for (k = 1; call && k <= n; k++) {
			Csf__V1__AgentMessage m = CSF__V1__AGENT_MESSAGE__INIT;
			Csf__V1__Heartbeat hb = CSF__V1__HEARTBEAT__INIT;

			m.agent_id = argv[i + 1];
			m.boot_id = "boot-1";
			m.seq = (uint64_t)k;
			m.body_case = CSF__V1__AGENT_MESSAGE__BODY_HEARTBEAT;
			m.heartbeat = &hb;
			if (send_msg(call, &m.base) != 0) {
				fprintf(stderr, "test_client: %s\n", csf_error_last()->message);
				return 1;
			}
		}
	} else {
		fprintf(stderr, "test_client: say register NAME or stream AGENT_ID COUNT\n");
		return 2;
	}
	if (final_status < 0)
		csf_net_loop_run(loop);
	csf_net_channel_free(channel);
	csf_net_loop_free(loop);
	return final_status == CSF_NET_OK ? 0 : 1;
}
