/*
 * The server side of the transport benchmark (net_bench.sh): serves
 * /csf.v1.AgentService/StreamMetrics over TLS 1.3 with a client certificate
 * required, and answers every AgentMessage with an Ack at once.
 *
 *   csf-net-bench-server --pki DIR [--listen ADDR:PORT] [--tally]
 *                        [--exit-fast] [--keepalive-ms MS]
 *
 * DIR holds server.pem, server.key and ca.pem (tests/interop/make_pki.py).
 * Prints "ready port=PORT pid=PID", then:
 *   SIGUSR1  one "stats ..." line: RSS/PSS (smaps_rollup), CPU time, open
 *            connections and calls, messages received and acked, the C
 *            library heap (mallinfo2) and, with --tally, the bytes each
 *            library holds through its allocator;
 *   SIGTERM  / SIGINT: close everything and exit (with --exit-fast: exit
 *            at once, leaving everything allocated, so that a heap
 *            profiler such as heaptrack reports the live connections'
 *            memory as leaked, by call stack).
 *
 * --tally counts live bytes per library with malloc_usable_size: libcsf's
 * allocator (libcsf, nghttp2 and protobuf-c, which allocate through it),
 * OpenSSL's (CRYPTO_set_mem_functions) and libevent's
 * (event_set_mem_functions). It adds no bytes to any allocation.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include <csf/csf.h>

#include "net_bench_common.h"
#include "proto/envelope.h"

#define STREAM_METHOD "/csf.v1.AgentService/StreamMetrics"

static csf_net_loop *loop;
static csf_net_server *server;
static volatile sig_atomic_t want_stats, want_stop;

static struct {
	uint64_t calls_open, calls_total, msgs, acks, bad_messages, send_errors;
	uint64_t ended_ok, ended_other;
} n;

/* ------------------------------------------------------------ tallies */

enum { T_CSF, T_SSL, T_EVENT, T_N };
static const char *const tally_name[T_N] = { "csf", "ssl", "event" };
static struct {
	int64_t bytes, allocs;
} tally[T_N];

static void *tally_malloc(int t, size_t size)
{
	void *p = malloc(size);

	if (p) {
		tally[t].bytes += (int64_t)malloc_usable_size(p);
		tally[t].allocs++;
	}
	return p;
}

static void tally_free(int t, void *ptr);

static void *tally_realloc(int t, void *ptr, size_t size)
{
	size_t old;
	void *p;

	if (!size) { /* OpenSSL's CRYPTO_realloc(p, 0) means free */
		tally_free(t, ptr);
		return NULL;
	}
	old = ptr ? malloc_usable_size(ptr) : 0;
	p = realloc(ptr, size);
	if (!p)
		return NULL;
	tally[t].bytes += (int64_t)malloc_usable_size(p) - (int64_t)old;
	if (!ptr)
		tally[t].allocs++;
	return p;
}

static void tally_free(int t, void *ptr)
{
	if (!ptr)
		return;
	tally[t].bytes -= (int64_t)malloc_usable_size(ptr);
	tally[t].allocs--;
	free(ptr);
}

static void *csf_m(size_t s, void *p) { (void)p; return tally_malloc(T_CSF, s); }
static void *csf_r(void *q, size_t s, void *p) { (void)p; return tally_realloc(T_CSF, q, s); }
static void csf_f(void *q, void *p) { (void)p; tally_free(T_CSF, q); }
static void *ssl_m(size_t s, const char *f, int l) { (void)f, (void)l; return tally_malloc(T_SSL, s); }
static void *ssl_r(void *q, size_t s, const char *f, int l) { (void)f, (void)l; return tally_realloc(T_SSL, q, s); }
static void ssl_f(void *q, const char *f, int l) { (void)f, (void)l; tally_free(T_SSL, q); }
static void *ev_m(size_t s) { return tally_malloc(T_EVENT, s); }
static void *ev_r(void *q, size_t s) { return tally_realloc(T_EVENT, q, s); }
static void ev_f(void *q) { tally_free(T_EVENT, q); }

static int tally_install(void)
{
	static const csf_allocator a = { csf_m, csf_r, csf_f, NULL };

	/* before anything allocates through these libraries */
	if (!CRYPTO_set_mem_functions(ssl_m, ssl_r, ssl_f)) {
		fprintf(stderr, "net-bench-server: OpenSSL allocated before CRYPTO_set_mem_functions\n");
		return -1;
	}
	event_set_mem_functions(ev_m, ev_r, ev_f);
	return csf_allocator_set(&a);
}

/* -------------------------------------------------------------- stats */

static void print_stats(void)
{
	struct mallinfo2 mi = mallinfo2();
	uint64_t user, sys;
	int t;

	bench_cpu_us(&user, &sys);
	printf("stats mono_us=%llu rss_kb=%ld pss_kb=%ld anon_kb=%ld vmrss_kb=%ld utime_us=%llu stime_us=%llu"
	       " conns=%zu calls=%llu calls_total=%llu msgs=%llu acks=%llu bad=%llu send_errors=%llu"
	       " heap_used=%zu heap_free=%zu heap_mmap=%zu",
	       (unsigned long long)bench_mono_us(), bench_proc_kb("/proc/self/smaps_rollup", "Rss"),
	       bench_proc_kb("/proc/self/smaps_rollup", "Pss"),
	       bench_proc_kb("/proc/self/smaps_rollup", "Anonymous"), bench_proc_kb("/proc/self/status", "VmRSS"),
	       (unsigned long long)user, (unsigned long long)sys, csf_net_server_connections(server),
	       (unsigned long long)n.calls_open, (unsigned long long)n.calls_total, (unsigned long long)n.msgs,
	       (unsigned long long)n.acks, (unsigned long long)n.bad_messages, (unsigned long long)n.send_errors,
	       mi.uordblks, mi.fordblks, mi.hblkhd);
	for (t = 0; t < T_N; t++)
		printf(" %s_bytes=%lld %s_allocs=%lld", tally_name[t], (long long)tally[t].bytes, tally_name[t],
		       (long long)tally[t].allocs);
	printf("\n");
	fflush(stdout);
}

/* -------------------------------------------------------------- calls */

static int stream_start(csf_net_call *call, void *payload)
{
	(void)call;
	(void)payload;
	n.calls_open++;
	n.calls_total++;
	return CSF_NET_OK;
}

static int stream_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	Csf__V1__AgentMessage *in;
	Csf__V1__ServerMessage msg = CSF__V1__SERVER_MESSAGE__INIT;
	Csf__V1__Ack ack = CSF__V1__ACK__INIT;
	uint8_t *buf;
	size_t blen;
	int rc;

	(void)payload;
	n.msgs++;
	if (csf__pb_agent_message_decode(&in, data, len) != 0) {
		n.bad_messages++;
		csf_net_call_finish(call, CSF_NET_INVALID_ARGUMENT, csf_error_last()->message);
		return 0;
	}
	ack.seq = in->seq;
	ack.boot_id = in->boot_id;
	msg.body_case = CSF__V1__SERVER_MESSAGE__BODY_ACK;
	msg.ack = &ack;
	rc = csf__pb_pack(&buf, &blen, &msg.base);
	if (!rc) {
		rc = csf_net_call_send(call, buf, blen);
		csf__free(buf);
	}
	if (rc)
		n.send_errors++;
	else
		n.acks++;
	csf__pb_free(&in->base);
	return 0;
}

static void stream_half_close(csf_net_call *call, void *payload)
{
	(void)payload;
	csf_net_call_finish(call, CSF_NET_OK, NULL);
}

static void stream_end(csf_net_call *call, int status, const char *message, void *payload)
{
	(void)call;
	(void)message;
	(void)payload;
	n.calls_open--;
	if (status == CSF_NET_OK)
		n.ended_ok++;
	else
		n.ended_other++;
}

/* ------------------------------------------------------------- main */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_stats = 1;
	else
		want_stop = 1;
	csf_net_loop_stop_async(loop);
}

static char *join(const char *dir, const char *name)
{
	static char buf[3][1024];
	static int i;

	snprintf(buf[i % 3], sizeof(buf[0]), "%s/%s", dir, name);
	return buf[i++ % 3];
}

static int usage(void)
{
	fprintf(stderr, "usage: csf-net-bench-server --pki DIR [--listen ADDR:PORT] [--tally] [--exit-fast]\n"
			"                            [--keepalive-ms MS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const csf_net_call_handlers stream = { stream_start, stream_message, stream_half_close, NULL,
						      stream_end };
	const char *pki = NULL, *listen = "127.0.0.1:0";
	csf_net_server_options so;
	csf_net_tls_options tls;
	struct sigaction sa;
	int i, do_tally = 0, exit_fast = 0;
	unsigned long keepalive_ms = 3600000;
	rlim_t nofile;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pki") == 0 && i + 1 < argc)
			pki = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen = argv[++i];
		else if (strcmp(argv[i], "--keepalive-ms") == 0 && i + 1 < argc)
			keepalive_ms = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--tally") == 0)
			do_tally = 1;
		else if (strcmp(argv[i], "--exit-fast") == 0)
			exit_fast = 1;
		else
			return usage();
	}
	if (!pki)
		return usage();
	if (do_tally && tally_install() != 0)
		return 1;
	nofile = bench_raise_nofile(1 << 20);

	csf_net_server_options_init(&so, CSF_NET_SERVER_OPTIONS_VERSION);
	/* the whole load comes from 127.0.0.1 */
	so.max_connections = 1000000;
	so.max_connections_per_ip = 1000000;
	/* handshakes queue up behind each other on two cores */
	so.handshake_timeout_ms = 60000;
	/* no PINGs inside a run (keepalive is its own cost, not measured here) */
	so.keepalive_ms = (uint32_t)keepalive_ms;
	so.idle_timeout_ms = 3600000;
	csf_net_tls_options_init(&tls, CSF_NET_TLS_OPTIONS_VERSION);
	tls.cert_file = join(pki, "server.pem");
	tls.key_file = join(pki, "server.key");
	tls.ca_file = join(pki, "ca.pem");
	if (csf_net_loop_new(&loop) || csf_net_server_new(&server, loop, &so) ||
	    csf_net_server_add_method(server, STREAM_METHOD, CSF_NET_METHOD_CLIENT_CERT, &stream, NULL) ||
	    csf_net_server_listen(server, listen, &tls)) {
		fprintf(stderr, "net-bench-server: %s\n", csf_error_last()->message);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	printf("ready port=%d pid=%d nofile=%llu tally=%d\n", csf_net_server_port(server, 0), (int)getpid(),
	       (unsigned long long)nofile, do_tally);
	fflush(stdout);
	while (!want_stop) {
		if (csf_net_loop_run(loop) != 0) {
			fprintf(stderr, "net-bench-server: %s\n", csf_error_last()->message);
			break;
		}
		if (want_stats) {
			want_stats = 0;
			print_stats();
		}
	}
	if (exit_fast) {
		/* what is still allocated now is what heaptrack reports as leaked */
		fflush(stdout);
		exit(0);
	}
	printf("stopped calls_total=%llu msgs=%llu acks=%llu ended_ok=%llu ended_other=%llu\n",
	       (unsigned long long)n.calls_total, (unsigned long long)n.msgs, (unsigned long long)n.acks,
	       (unsigned long long)n.ended_ok, (unsigned long long)n.ended_other);
	csf_net_server_free(server);
	csf_net_loop_free(loop);
	return 0;
}
