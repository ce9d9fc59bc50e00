/* The HTTP/2 session shared by the gRPC server (h2_server.c) and client
 * (h2_client.c): nghttp2 with libcsf's allocator, manual flow control, and
 * the byte pumps between the session and the connection. */
#ifndef CSF_NET_H2_H
#define CSF_NET_H2_H

#include <nghttp2/nghttp2.h>

#include "net/internal.h"

/* Flow-control windows we grant: per stream, and for the connection. */
#define CSF__H2_STREAM_WINDOW (256u << 10)
#define CSF__H2_CONN_WINDOW (1u << 20)

struct csf__h2 {
	nghttp2_session *session;
	csf__conn *conn;
	void *streams;          /* the side's own stream list (h2_server.c / h2_client.c) */
	void *owner;            /* client: the channel */
	/* after each flush: tell calls whose send queue drained */
	void (*after_flush)(csf__h2 *h);
	unsigned dying : 1;     /* being freed: callbacks and call ops do nothing */
	unsigned goaway_sent : 1;
	unsigned in_recv : 1;   /* inside nghttp2_session_mem_recv */
	unsigned in_send : 1;   /* inside nghttp2_session_mem_send */
	unsigned again : 1;     /* a flush was asked for during one */
};

/* Make h->session with our allocator and options (server or client). */
/* nghttp2's allocator (h2_mem.c). */
extern nghttp2_mem csf__h2_mem;
int csf__h2_session_new(csf__h2 *h, nghttp2_session_callbacks *cb, int server);


#endif
