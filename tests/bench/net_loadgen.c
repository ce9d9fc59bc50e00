/*
 * The load generator of the transport benchmark (net_bench.sh): N agents,
 * each its own csf_net_channel (one HTTP/2 connection, TLS 1.3 with a client
 * certificate) carrying one StreamMetrics call, each sending one metrics
 * message per interval, the sends spread evenly over the interval. It
 * measures, per message, the time from handing it to csf_net_call_send()
 * to reading its Ack.
 *
 *   csf-net-loadgen --url https://127.0.0.1:PORT --pki DIR -n N
 *                   [--batch 200] [--interval-ms 1000] [--connect-timeout-s 600]
 *
 * DIR holds client.pem, client.key and ca.pem (tests/interop/make_pki.py).
 * The message is one real MetricsSnapshot of this machine (the system
 * collector with processes, top 5, as csf-agent sends), wrapped in an
 * AgentMessage whose seq and sent_at_ms change per send.
 *
 * Phases, each started by SIGUSR1 (so the driver decides when to sample the
 * server):
 *   start      open the N calls, at most --batch handshakes in flight, and
 *              print "connected up=U failed=F secs=S"; then stay idle.
 *   SIGUSR1 #1 start streaming; print "streaming".
 *   SIGUSR1 #2 start the measurement window; print "window".
 *   SIGUSR1 #3 end it; 2 s later (the load still running, for the last
 *              Acks) print one "result ..." line (RTT percentiles of the
 *              messages sent inside the window, our own CPU) and exit.
 * SIGTERM / SIGINT: exit at once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csf/csf.h>

#include "net_bench_common.h"
#include "proto/envelope.h"

#define STREAM_METHOD "/csf.v1.AgentService/StreamMetrics"
#define RING 16 /* sends remembered per connection, for matching Acks */

enum { C_NEW, C_CONNECTING, C_UP, C_FAILED, C_LOST };

typedef struct conn {
	csf_net_channel *ch;
	csf_net_call *call;
	uint32_t idx;
	uint8_t state, attempts;
	uint64_t seq;
	uint64_t ring_seq[RING];
	uint64_t ring_us[RING];
} conn;

typedef struct samples {
	uint32_t *v;
	size_t n, cap;
} samples;

static csf_net_loop *loop;
static volatile sig_atomic_t sig_usr1, sig_stop;
static conn *conns;
static size_t nconns, batch = 200;
static uint64_t interval_us = 1000000;
static csf_net_channel_options chopt;
static csf_net_tls_options tlsopt;

/* connecting */
static size_t next_new, inflight, up, failed, lost, retries;
static size_t *retry_q;
static size_t retry_n;
static uint64_t connect_start_us;
static int connect_reported;
static csf_net_timer *retry_timer, *deadline_timer;

/* streaming */
static int streaming, measuring, exiting;
static csf_net_timer *send_timer;
static uint64_t t0_us, round_no;
static size_t cursor;
static uint8_t *metrics;
static size_t metrics_len;
static uint8_t *msgbuf;
static const char boot_id[] = "8d3c1f52-6b7e-4f0a-9c21-5e4b7a90d1c3";

/* the window */
static uint64_t win_start_us, win_end_us = UINT64_MAX, win_cpu_user, win_cpu_sys, end_cpu_user, end_cpu_sys;
static csf_net_timer *finish_timer;
static uint64_t w_sent, w_acked, w_skipped, w_send_errors, w_unmatched, acks_total;
static samples rtt, lag;

static void samples_add(samples *s, uint64_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		uint32_t *p = realloc(s->v, cap * sizeof(*p));

		if (!p)
			return;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t pct(const samples *s, double p)
{
	size_t i;

	if (!s->n)
		return 0;
	i = (size_t)(p / 100.0 * (double)(s->n - 1) + 0.5);
	return s->v[i < s->n ? i : s->n - 1];
}

/* ------------------------------------------------------------- protobuf */

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static uint8_t *put_bytes(uint8_t *p, uint8_t tag, const void *data, size_t len)
{
	*p++ = tag;
	p = put_varint(p, len);
	memcpy(p, data, len);
	return p + len;
}

/* AgentMessage{agent_id=1, boot_id=2, seq=3, sent_at_ms=4, metrics=12}. */
static size_t encode_message(uint8_t *out, const conn *c, uint64_t seq)
{
	char agent_id[24];
	uint8_t *p = out;
	int n = snprintf(agent_id, sizeof(agent_id), "agent-%05u", (unsigned)c->idx);

	p = put_bytes(p, 0x0a, agent_id, (size_t)n);
	p = put_bytes(p, 0x12, boot_id, sizeof(boot_id) - 1);
	*p++ = 0x18;
	p = put_varint(p, seq);
	*p++ = 0x20;
	p = put_varint(p, (uint64_t)bench_wall_ms());
	p = put_bytes(p, 0x62, metrics, metrics_len);
	return (size_t)(p - out);
}

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	int shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

/* Skip one field of wire type `wt`; -1 on malformed input. */
static int skip_field(const uint8_t **p, const uint8_t *end, unsigned wt)
{
	uint64_t v;

	switch (wt) {
	case 0: return get_varint(p, end, &v);
	case 1: if (end - *p < 8) return -1; *p += 8; return 0;
	case 5: if (end - *p < 4) return -1; *p += 4; return 0;
	case 2:
		if (get_varint(p, end, &v) || v > (uint64_t)(end - *p))
			return -1;
		*p += v;
		return 0;
	default: return -1;
	}
}

/* The seq of a ServerMessage{ack=11{seq=1}}; -1 when it is no Ack. */
static int ack_seq(const uint8_t *data, size_t len, uint64_t *seq)
{
	const uint8_t *p = data, *end = data + len;

	while (p < end) {
		uint64_t key, l;

		if (get_varint(&p, end, &key))
			return -1;
		if (key == ((11u << 3) | 2)) {
			const uint8_t *q, *qend;

			if (get_varint(&p, end, &l) || l > (uint64_t)(end - p))
				return -1;
			q = p;
			qend = p + l;
			*seq = 0;
			while (q < qend) {
				if (get_varint(&q, qend, &key))
					return -1;
				if (key == ((1u << 3) | 0)) {
					if (get_varint(&q, qend, seq))
						return -1;
				} else if (skip_field(&q, qend, key & 7)) {
					return -1;
				}
			}
			return 0;
		}
		if (skip_field(&p, end, key & 7))
			return -1;
	}
	return -1;
}

/* One real snapshot of this machine, as csf-agent would send it. */
static int make_metrics(void)
{
	csf_system_options so;
	csf_collector *col = NULL;
	csf_snapshot *snap = NULL;
	Csf__V1__MetricsSnapshot *m;
	csf__arena arena;
	int rc;

	csf__arena_init(&arena, 8192);
	csf_system_options_init(&so, CSF_SYSTEM_OPTIONS_VERSION);
	rc = csf_collector_new(&col, csf_collector_system(), &so);
	/* two snapshots: the second has rates */
	if (!rc)
		rc = csf_snapshot_new(&snap);
	if (!rc)
		rc = csf_collector_collect(col, snap);
	if (!rc) {
		csf_snapshot_free(snap);
		snap = NULL;
		usleep(250000);
		rc = csf_snapshot_new(&snap);
	}
	if (!rc)
		rc = csf_collector_collect(col, snap);
	if (!rc)
		rc = csf__pb_metrics_from_snapshot(&m, &arena, snap);
	if (!rc)
		rc = csf__pb_pack(&metrics, &metrics_len, &m->base);
	csf__arena_free(&arena);
	csf_snapshot_free(snap);
	csf_collector_free(col);
	return rc;
}

/* ---------------------------------------------------------- connecting */

static void start_more(void);

static void report_connected(void)
{
	if (connect_reported || up + failed < nconns)
		return;
	connect_reported = 1;
	printf("connected up=%zu failed=%zu retries=%zu secs=%.2f message_bytes=%zu\n", up, failed, retries,
	       (double)(bench_mono_us() - connect_start_us) / 1e6, encode_message(msgbuf, &conns[0], 1));
	fflush(stdout);
}

static int on_start(csf_net_call *call, void *payload)
{
	conn *c = payload;

	(void)call;
	if (c->state == C_CONNECTING) {
		c->state = C_UP;
		inflight--;
		up++;
		if (up % 1000 == 0)
			fprintf(stderr, "loadgen: %zu up (%.1f s)\n", up, (double)(bench_mono_us() - connect_start_us) / 1e6);
		report_connected();
		start_more();
	}
	return 0;
}

static int on_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	conn *c = payload;
	uint64_t seq, now = bench_mono_us();
	unsigned slot;

	(void)call;
	acks_total++;
	if (ack_seq(data, len, &seq) != 0) {
		w_unmatched += measuring;
		return 0;
	}
	slot = (unsigned)(seq % RING);
	if (c->ring_seq[slot] != seq) {
		w_unmatched += measuring;
		return 0;
	}
	if (measuring && c->ring_us[slot] >= win_start_us && c->ring_us[slot] < win_end_us) {
		w_acked++;
		samples_add(&rtt, now - c->ring_us[slot]);
	}
	c->ring_seq[slot] = 0;
	return 0;
}

static void on_end(csf_net_call *call, int status, const char *message, void *payload)
{
	conn *c = payload;

	(void)call;
	c->call = NULL;
	if (c->state == C_CONNECTING) {
		inflight--;
		if (++c->attempts < 3) {
			retries++;
			retry_q[retry_n++] = c->idx;
			csf_net_timer_start(retry_timer, 200);
		} else {
			c->state = C_FAILED;
			failed++;
			fprintf(stderr, "loadgen: agent %u failed: %s: %s\n", (unsigned)c->idx,
				csf_net_status_name(status), message);
			report_connected();
		}
		start_more();
		return;
	}
	if (c->state == C_UP && !exiting) {
		c->state = C_LOST;
		lost++;
		if (lost <= 5)
			fprintf(stderr, "loadgen: agent %u lost its call: %s: %s\n", (unsigned)c->idx,
				csf_net_status_name(status), message);
	}
}

static const csf_net_call_handlers handlers = { on_start, on_message, NULL, NULL, on_end };

static void open_call(conn *c)
{
	c->state = C_CONNECTING;
	inflight++;
	if (!c->ch && csf_net_channel_new(&c->ch, loop, &chopt) != 0) {
		fprintf(stderr, "loadgen: channel: %s\n", csf_error_last()->message);
		exit(1);
	}
	/* any failure ends the call through on_end, from the loop */
	if (csf_net_channel_call(&c->call, c->ch, STREAM_METHOD, 0, &handlers, c) != 0) {
		fprintf(stderr, "loadgen: call: %s\n", csf_error_last()->message);
		exit(1);
	}
}

static void start_more(void)
{
	while (inflight < batch && retry_n == 0 && next_new < nconns)
		open_call(&conns[next_new++]);
}

static void on_retry(csf_net_timer *t, void *payload)
{
	(void)t;
	(void)payload;
	while (retry_n && inflight < batch)
		open_call(&conns[retry_q[--retry_n]]);
	if (retry_n)
		csf_net_timer_start(retry_timer, 100);
	else
		start_more();
}

static void on_connect_deadline(csf_net_timer *t, void *payload)
{
	(void)t;
	(void)payload;
	if (connect_reported)
		return;
	printf("connect timed out\n");
	failed = nconns - up;
	report_connected();
}

/* ----------------------------------------------------------- streaming */

static uint64_t due_of(uint64_t round, size_t i)
{
	return t0_us + round * interval_us + (uint64_t)i * interval_us / nconns;
}

static void send_one(conn *c, uint64_t now, uint64_t due)
{
	uint64_t seq;
	size_t len;
	int counted = measuring && now >= win_start_us && now < win_end_us;

	if (c->state != C_UP) {
		w_skipped += counted;
		return;
	}
	seq = ++c->seq;
	len = encode_message(msgbuf, c, seq);
	c->ring_seq[seq % RING] = seq;
	c->ring_us[seq % RING] = now;
	if (csf_net_call_send(c->call, msgbuf, len) != 0) {
		c->ring_seq[seq % RING] = 0;
		w_send_errors += counted;
		return;
	}
	if (counted) {
		w_sent++;
		samples_add(&lag, now - due);
	}
}

static void on_send_timer(csf_net_timer *t, void *payload)
{
	uint64_t now = bench_mono_us(), due;

	(void)payload;
	if (!streaming)
		return;
	for (;;) {
		due = due_of(round_no, cursor);
		if (due > now)
			break;
		send_one(&conns[cursor], now, due);
		if (++cursor == nconns) {
			cursor = 0;
			round_no++;
		}
		/* keep the clock honest when many sends fall due at once */
		if ((cursor & 63) == 0)
			now = bench_mono_us();
	}
	csf_net_timer_start(t, (due - now + 999) / 1000);
}

static void start_streaming(void)
{
	streaming = 1;
	t0_us = bench_mono_us() + 10000;
	round_no = 0;
	cursor = 0;
	csf_net_timer_start(send_timer, 10);
	printf("streaming\n");
	fflush(stdout);
}

static void start_window(void)
{
	win_start_us = bench_mono_us();
	bench_cpu_us(&win_cpu_user, &win_cpu_sys);
	w_sent = w_acked = w_skipped = w_send_errors = w_unmatched = 0;
	rtt.n = lag.n = 0;
	measuring = 1;
	printf("window\n");
	fflush(stdout);
}

/* The window ends now for sends and CPU; Acks of its messages are waited
 * for a little longer, with the load still running. */
static void end_window(void)
{
	win_end_us = bench_mono_us();
	bench_cpu_us(&end_cpu_user, &end_cpu_sys);
	csf_net_timer_start(finish_timer, 2000);
}

static void on_finish(csf_net_timer *t, void *payload)
{
	uint64_t now = win_end_us, user = end_cpu_user, sys = end_cpu_sys;
	double secs = (double)(now - win_start_us) / 1e6, mean = 0;
	size_t i;

	(void)t;
	(void)payload;
	measuring = 0;
	streaming = 0;
	for (i = 0; i < rtt.n; i++)
		mean += rtt.v[i];
	mean = rtt.n ? mean / (double)rtt.n : 0;
	qsort(rtt.v, rtt.n, sizeof(*rtt.v), cmp_u32);
	qsort(lag.v, lag.n, sizeof(*lag.v), cmp_u32);
	printf("result n=%zu up=%zu lost=%zu window_s=%.2f sent=%llu acked=%llu unacked=%llu skipped=%llu"
	       " send_errors=%llu unmatched=%llu send_rate=%.1f ack_rate=%.1f"
	       " rtt_us_p50=%u rtt_us_p90=%u rtt_us_p99=%u rtt_us_p999=%u rtt_us_max=%u rtt_us_mean=%.0f"
	       " lag_us_p50=%u lag_us_p99=%u lag_us_max=%u"
	       " cpu_pct=%.2f cpu_user_pct=%.2f cpu_sys_pct=%.2f rss_kb=%ld\n",
	       nconns, up, lost, secs, (unsigned long long)w_sent, (unsigned long long)w_acked,
	       (unsigned long long)(w_sent - w_acked), (unsigned long long)w_skipped,
	       (unsigned long long)w_send_errors, (unsigned long long)w_unmatched, (double)w_sent / secs,
	       (double)w_acked / secs, pct(&rtt, 50), pct(&rtt, 90), pct(&rtt, 99), pct(&rtt, 99.9),
	       rtt.n ? rtt.v[rtt.n - 1] : 0, mean, pct(&lag, 50), pct(&lag, 99), lag.n ? lag.v[lag.n - 1] : 0,
	       100.0 * (double)(user + sys - win_cpu_user - win_cpu_sys) / (double)(now - win_start_us),
	       100.0 * (double)(user - win_cpu_user) / (double)(now - win_start_us),
	       100.0 * (double)(sys - win_cpu_sys) / (double)(now - win_start_us),
	       bench_proc_kb("/proc/self/status", "VmRSS"));
	fflush(stdout);
	sig_stop = 1;
	csf_net_loop_stop(loop);
}

/* ---------------------------------------------------------------- main */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		sig_usr1++;
	else
		sig_stop = 1;
	csf_net_loop_stop_async(loop);
}

static char *slurp(const char *dir, const char *name)
{
	char path[1024];
	FILE *f;
	long len;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "loadgen: cannot read %s\n", path);
		exit(1);
	}
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "loadgen: cannot read %s\n", path);
		exit(1);
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static int usage(void)
{
	fprintf(stderr, "usage: csf-net-loadgen --url https://HOST:PORT --pki DIR -n N [--batch 200]\n"
			"                       [--interval-ms 1000] [--connect-timeout-s 600]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *url = NULL, *pki = NULL;
	unsigned long connect_timeout_s = 600;
	struct sigaction sa;
	int i, phase = 0;
	size_t k;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
			url = argv[++i];
		else if (strcmp(argv[i], "--pki") == 0 && i + 1 < argc)
			pki = argv[++i];
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			nconns = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			batch = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--interval-ms") == 0 && i + 1 < argc)
			interval_us = strtoull(argv[++i], NULL, 10) * 1000u;
		else if (strcmp(argv[i], "--connect-timeout-s") == 0 && i + 1 < argc)
			connect_timeout_s = strtoul(argv[++i], NULL, 10);
		else
			return usage();
	}
	if (!url || !pki || !nconns || !batch || !interval_us)
		return usage();
	bench_raise_nofile(1 << 20);
	if (make_metrics() != 0) {
		fprintf(stderr, "loadgen: cannot make a metrics snapshot: %s\n", csf_error_last()->message);
		return 1;
	}
	msgbuf = malloc(metrics_len + 128);
	conns = calloc(nconns, sizeof(*conns));
	retry_q = calloc(nconns, sizeof(*retry_q));
	if (!msgbuf || !conns || !retry_q)
		return 1;
	for (k = 0; k < nconns; k++)
		conns[k].idx = (uint32_t)k;

	csf_net_tls_options_init(&tlsopt, CSF_NET_TLS_OPTIONS_VERSION);
	/* from memory: 10k channels do not read the files 10k times */
	tlsopt.cert_pem = slurp(pki, "client.pem");
	tlsopt.key_pem = slurp(pki, "client.key");
	tlsopt.ca_pem = slurp(pki, "ca.pem");
	csf_net_channel_options_init(&chopt, CSF_NET_CHANNEL_OPTIONS_VERSION);
	chopt.url = url;
	chopt.tls = &tlsopt;
	chopt.transport = CSF_NET_CHANNEL_GRPC;
	chopt.connect_timeout_ms = (uint32_t)(connect_timeout_s * 1000 / 10);
	chopt.keepalive_ms = 3600000; /* no PINGs inside a run */

	if (csf_net_loop_new(&loop) || csf_net_timer_new(&retry_timer, loop, on_retry, NULL) ||
	    csf_net_timer_new(&send_timer, loop, on_send_timer, NULL) ||
	    csf_net_timer_new(&finish_timer, loop, on_finish, NULL) ||
	    csf_net_timer_new(&deadline_timer, loop, on_connect_deadline, NULL)) {
		fprintf(stderr, "loadgen: %s\n", csf_error_last()->message);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	connect_start_us = bench_mono_us();
	start_more();
	csf_net_timer_start(deadline_timer, (uint64_t)connect_timeout_s * 1000);
	while (!sig_stop) {
		if (csf_net_loop_run(loop) != 0)
			break;
		while (sig_usr1 > 0 && !sig_stop) {
			sig_usr1--;
			phase++;
			if (phase == 1)
				start_streaming();
			else if (phase == 2)
				start_window();
			else if (phase == 3)
				end_window();
		}
	}
	exiting = 1;
	for (k = 0; k < nconns; k++)
		csf_net_channel_free(conns[k].ch);
	csf_net_timer_free(send_timer);
	csf_net_timer_free(finish_timer);
	csf_net_timer_free(deadline_timer);
	csf_net_timer_free(retry_timer);
	csf_net_loop_free(loop);
	csf__free(metrics);
	return 0;
}
