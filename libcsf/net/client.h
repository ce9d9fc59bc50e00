/*
 * Client calls (channel.c, h2_client.c, ws_client.c). A call is created
 * pending; the channel binds it to a transport once a connection is up:
 * a stream of the channel's HTTP/2 connection, or a WebSocket connection of
 * its own. Until then its messages wait, framed as gRPC messages, in `out`.
 */
#ifndef CSF_NET_CLIENT_H
#define CSF_NET_CLIENT_H

#include "net/internal.h"
#include "net/h2.h"
#include "net/http1.h"
#include "net/ws.h"
#include "proto/grpc_frame.h"

struct csf__client_call {
	csf_net_call call; /* first: the public handle points here */
	csf_net_channel *ch;
	csf__client_call *prev, *next;
	struct event *deadline;
	struct event *failed;     /* ends a call that could not be carried, from the loop */
	uint64_t deadline_ms;     /* monotonic; 0: none */
	csf__buf out;             /* framed messages not yet taken by the transport */
	size_t out_off;
	csf__conn *conn;          /* the connection carrying it, once bound */
	/* HTTP/2 */
	int32_t stream_id;
	csf__grpc_deframer in;
	csf__buf held;            /* DATA received while paused */
	int http_status;
	int grpc_status;          /* -1 until a grpc-status arrived */
	char grpc_message[256];
	unsigned bound_h2 : 1, deferred : 1, got_headers : 1, eof_sent : 1;
	/* WebSocket */
	csf__ws_session *ws;
	csf__http1_response_reader *hs;
	char ws_key[25];
	unsigned bound_ws : 1, ws_open : 1;
};

struct csf_net_channel {
	csf_net_loop *loop;
	csf_net_channel_options o;   /* strings below are our copies */
	char *url, *host, *authority, *ws_path, *ws_subprotocol, *server_name, *pin;
	int port;
	int tls;
	SSL_CTX *ssl_ctx;
	csf__conn *h2conn;           /* the shared HTTP/2 connection (connecting or up) */
	int h2_up;
	int ws_mode;                 /* calls go over WebSocket (chosen, or fallen back to) */
	csf_net_transport in_use;
	csf__client_call *calls;     /* every live call */
	csf__conn *conns;            /* every connection not yet torn down */
	int freeing;
};

/* channel.c */
void csf__client_call_end(csf__client_call *cc, int status, const char *message);
void csf__client_call_free(csf__client_call *cc);
int csf__channel_connect(csf_net_channel *ch, csf__client_call *ws_call, csf__conn **out);

/* h2_client.c */
int csf__h2_client_start(csf__conn *c);
int csf__h2_client_bind(csf__h2 *h, csf__client_call *cc);
int csf__h2_client_send(csf__client_call *cc);
int csf__h2_client_close_send(csf__client_call *cc);
void csf__h2_client_cancel(csf__client_call *cc);
void csf__h2_client_pause(csf__client_call *cc, int paused);
void csf__h2_client_free(csf__h2 *h, const char *why);

/* ws_client.c */
int csf__ws_client_start(csf__conn *c);
int csf__ws_client_feed(csf__conn *c, const uint8_t *data, size_t len);
int csf__ws_client_flush(csf__conn *c);
void csf__ws_client_ping(csf__conn *c);
void csf__ws_client_free(csf__conn *c, const char *why);
int csf__ws_client_send(csf__client_call *cc);
int csf__ws_client_close_send(csf__client_call *cc);
void csf__ws_client_cancel(csf__client_call *cc);
void csf__ws_client_pause(csf__client_call *cc, int paused);

#endif
