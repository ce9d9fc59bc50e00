/*
 * The load generator of the ingest benchmark (ingest_bench.sh), and the
 * floor it is compared with.
 *
 *   csf-ingest-loadgen run --url https://127.0.0.1:PORT --token TOKEN -n N -k K
 *                          [--window W] [--handshakes 200] [--server-pid PID]
 *                          [--pg-pid PID] [--insecure]
 *
 * enrolls N agents as csf-agent does (RegisterAgent with the token and a CSR
 * for a fresh P-256 key; the server's CA is pinned by the token), opens one
 * StreamMetrics call per agent on its own mTLS connection (TLS 1.3, its
 * client certificate), sends Hello, and once every agent has its Welcome
 * streams K metrics messages per agent (seq 1..K), at most W unacked at a
 * time per agent: a message goes out as soon as an Ack makes room. The
 * result line gives rows per second from the first send to the last Ack
 * (the server acks only what it has committed), and the CPU the server
 * (its event loop thread and its other threads: the writer), the PostgreSQL
 * server (the postmaster's children, with --pg-pid) and this program used
 * over the same interval. --insecure: cleartext h2c and no client
 * certificates (csf-server --insecure-dev).
 *
 * Each message is an AgentMessage holding one real MetricsSnapshot of this
 * machine (the system collector with its defaults, as csf-agent sends it),
 * with that agent's id, its seq, the time it is sent, and a sample time one
 * second apart per seq. The snapshot is packed once; a send writes the
 * fields that change (seq, sent_at_ms, the snapshot's timestamp_ms and the
 * lengths around them) in front of a copy of the rest, which gives the
 * bytes protobuf-c would pack for the same message: every agent's first
 * and last messages are checked against a full pack before the timed
 * phase, so the harness spends little CPU and the server gets exactly the
 * messages it got when they were packed whole per send.
 *
 *   csf-ingest-loadgen floor --db URL -n N -k K
 *
 * checks that agent_metrics holds exactly the N x K rows a run wrote (N
 * agents, seq 1..K each, no duplicates), reads them into memory, empties
 * the table (SQLite: and VACUUMs the file), and times writing the same rows
 * with the same columns straight into the same database: on SQLite one
 * transaction of one prepared single-row INSERT per row, on a connection
 * set up as the server's (WAL, synchronous NORMAL); on PostgreSQL one COPY
 * FROM STDIN. It checks the count again and prints the rows per second.
 * The server must be stopped first.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csf/csf.h>

#include "auth/auth.h"
#include "ingest_floor.h"
#include "net_bench_common.h"
#include "proto/envelope.h"

#define REGISTER_METHOD "/csf.v1.AgentService/RegisterAgent"
#define STREAM_METHOD "/csf.v1.AgentService/StreamMetrics"
#define ENROLL_INFLIGHT 64

static const char boot_id[] = "ingest-bench-boot-1";

static void die(const char *what)
{
	fprintf(stderr, "ingest-loadgen: %s: %s\n", what, csf_error_last()->message);
	exit(1);
}

/* ------------------------------------------------------------ CPU time */

/* utime + stime (clock ticks) and the parent pid of a /proc stat file. */
static int stat_ticks(const char *path, uint64_t *ticks, long *ppid)
{
	char buf[1024], *p;
	unsigned long ut = 0, st = 0;
	long pp = 0;
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	if (!p || sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pp, &ut, &st) != 3)
		return -1;
	*ticks = ut + st;
	if (ppid)
		*ppid = pp;
	return 0;
}

/* The server's event loop thread (its main thread) and its other threads
 * (the writer), the children of the PostgreSQL postmaster (backends), this
 * process, and the whole machine (busy time of all CPUs), in clock ticks
 * (ours in microseconds). */
#define PG_PROCS 64

typedef struct cpu_sample {
	uint64_t machine, loop, others, self_us;
	long pg_pid[PG_PROCS];
	uint64_t pg_ticks[PG_PROCS];
	size_t pg_n;
} cpu_sample;

static long server_pid, pg_pid;

static void sample_cpu(cpu_sample *s)
{
	char path[300];
	struct dirent *e;
	DIR *d;
	unsigned long long v[8] = { 0 };
	uint64_t user, sys;
	FILE *f = fopen("/proc/stat", "r");

	memset(s, 0, sizeof(*s));
	bench_cpu_us(&user, &sys);
	s->self_us = user + sys;
	/* cpu  user nice system idle iowait irq softirq steal */
	if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			&v[6], &v[7]) == 8)
		s->machine = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%ld/task", server_pid);
	if (server_pid > 0 && (d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			uint64_t t;

			snprintf(path, sizeof(path), "/proc/%ld/task/%s/stat", server_pid, e->d_name);
			if (e->d_name[0] == '.' || stat_ticks(path, &t, NULL) != 0)
				continue;
			if (atol(e->d_name) == server_pid)
				s->loop += t;
			else
				s->others += t;
		}
		closedir(d);
	}
	if (pg_pid > 0 && (d = opendir("/proc")) != NULL) {
		while ((e = readdir(d)) != NULL && s->pg_n < PG_PROCS) {
			long ppid, pid = atol(e->d_name);

			snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
			if (pid > 0 && stat_ticks(path, &s->pg_ticks[s->pg_n], &ppid) == 0 && ppid == pg_pid)
				s->pg_pid[s->pg_n++] = pid;
		}
		closedir(d);
	}
}

/* PostgreSQL's CPU between two samples: all backends, and the busiest one
 * (the writer's), in ticks. */
static void pg_delta(const cpu_sample *a, const cpu_sample *b, uint64_t *all, uint64_t *busiest)
{
	size_t i, j;

	*all = *busiest = 0;
	for (j = 0; j < b->pg_n; j++) {
		uint64_t before = 0, d;

		for (i = 0; i < a->pg_n; i++)
			if (a->pg_pid[i] == b->pg_pid[j])
				before = a->pg_ticks[i];
		d = b->pg_ticks[j] - before;
		*all += d;
		if (d > *busiest)
			*busiest = d;
	}
}

typedef struct agent {
	char name[32];
	char agent_id[64];
	char *key_pem, *cert_pem;
	csf_net_channel *ch;
	csf_net_call *call;
	int welcomed, done;
	uint64_t sent, acked;
} agent;

static csf_net_loop *loop;
static agent *agents;
static size_t n_agents, next_agent, inflight, enrolled, welcomed, finished;
static uint64_t k_msgs, window = 32;
static size_t handshakes = 200;
static int insecure, failed;
static const char *url, *token;
static char ca_sha256[65];
static char *ca_pem;
static csf_net_channel *enroll_ch;

/* The benchmark counts exact rows: any failure ends the run. */
static void fail(const agent *a, const char *what, int status, const char *message)
{
	fprintf(stderr, "ingest-loadgen: %s: %s: %s: %s\n", a->name, what, csf_net_status_name(status),
		message ? message : "");
	failed = 1;
	csf_net_loop_stop(loop);
}

/* A channel to the server: first contact trusts the CA the token names;
 * an enrolled agent presents its certificate and trusts the CA it got. */
static void channel_for(csf_net_channel **out, const agent *a)
{
	csf_net_channel_options o;
	csf_net_tls_options tls;

	csf_net_tls_options_init(&tls, CSF_NET_TLS_OPTIONS_VERSION);
	if (a) {
		tls.cert_pem = a->cert_pem;
		tls.key_pem = a->key_pem;
		tls.ca_pem = ca_pem;
	} else {
		tls.ca_pin_sha256 = ca_sha256;
	}
	csf_net_channel_options_init(&o, CSF_NET_CHANNEL_OPTIONS_VERSION);
	o.url = url;
	o.tls = insecure ? NULL : &tls;
	o.allow_insecure = insecure;
	o.transport = CSF_NET_CHANNEL_GRPC;
	o.connect_timeout_ms = 60000;
	o.keepalive_ms = 3600000; /* no PINGs inside a run */
	if (csf_net_channel_new(out, loop, &o) != 0)
		die("channel");
}

/* ---------------------------------------------------------- enrollment */

static void enroll_more(void);

static int enroll_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	agent *a = payload;
	Csf__V1__RegisterAgentResponse *r = NULL;
	csf__buf pem = CSF__BUF_INIT(1u << 20);

	(void)call;
	if (csf__pb_register_response_decode(&r, data, len) != 0 ||
	    csf__der_to_pem(&pem, r->certificate_der.data, r->certificate_der.len) != 0)
		die("RegisterAgentResponse");
	snprintf(a->agent_id, sizeof(a->agent_id), "%s", r->agent_id);
	a->cert_pem = csf__buf_detach(&pem, NULL);
	if (!ca_pem && r->n_ca_chain_der) {
		if (csf__der_to_pem(&pem, r->ca_chain_der[0].data, r->ca_chain_der[0].len) != 0)
			die("CA certificate");
		ca_pem = csf__buf_detach(&pem, NULL);
	}
	csf__pb_free(&r->base);
	return 0;
}

static void enroll_end(csf_net_call *call, int status, const char *message, void *payload)
{
	agent *a = payload;

	(void)call;
	inflight--;
	if (status != CSF_NET_OK || !a->cert_pem) {
		fail(a, "RegisterAgent", status, message);
		return;
	}
	if (++enrolled == n_agents)
		csf_net_loop_stop(loop);
	enroll_more();
}

static const csf_net_call_handlers enroll_handlers = { NULL, enroll_message, NULL, NULL, enroll_end };

static void enroll(agent *a)
{
	Csf__V1__RegisterAgentRequest req = CSF__V1__REGISTER_AGENT_REQUEST__INIT;
	Csf__V1__HostFacts host = CSF__V1__HOST_FACTS__INIT;
	csf_net_call *call;
	uint8_t *csr = NULL, *buf = NULL;
	size_t csr_len = 0, len = 0;

	if (csf__csr_create(a->name, &a->key_pem, &csr, &csr_len) != 0)
		die("CSR");
	host.hostname = a->name;
	host.os_type = "linux";
	host.arch = "x86_64";
	req.enrollment_token = (char *)token;
	req.csr_der.data = csr;
	req.csr_der.len = csr_len;
	req.host = &host;
	req.name = a->name;
	req.agent_version = "ingest-bench";
	if (csf__pb_pack(&buf, &len, &req.base) != 0)
		die("RegisterAgentRequest");
	inflight++;
	if (csf_net_channel_call(&call, enroll_ch, REGISTER_METHOD, 60000, &enroll_handlers, a) != 0 ||
	    csf_net_call_send(call, buf, len) != 0 || csf_net_call_close_send(call) != 0)
		die("RegisterAgent");
	csf__free(buf);
	csf__free(csr);
}

static void enroll_more(void)
{
	while (!failed && inflight < ENROLL_INFLIGHT && next_agent < n_agents)
		enroll(&agents[next_agent++]);
}

/* ----------------------------------------------------------- streaming */

static Csf__V1__AgentMessage msg = CSF__V1__AGENT_MESSAGE__INIT;
static Csf__V1__MetricsSnapshot *metrics;
static int64_t first_sample_ms;
static uint8_t *msgbuf, *metrics_rest;
static size_t msgbuf_cap, metrics_rest_len;
static uint64_t t_first_send, t_last_ack, acks, send_full;
static cpu_sample cpu_start, cpu_end;

/* Protobuf wire format: a varint, a field's tag (field number, wire type). */
static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	for (; v >= 0x80; v >>= 7)
		*p++ = (uint8_t)(v | 0x80);
	*p++ = (uint8_t)v;
	return p;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	for (; v >= 0x80; v >>= 7)
		n++;
	return n;
}

#define TAG(field, type) ((uint8_t)((field) << 3 | (type)))
#define WIRE_VARINT 0
#define WIRE_LEN 2

static uint8_t *put_string(uint8_t *p, int field, const char *s)
{
	size_t n = strlen(s);

	*p++ = TAG(field, WIRE_LEN);
	p = put_varint(p, n);
	memcpy(p, s, n);
	return p + n;
}

/* The snapshot without its timestamp_ms (field 1, packed first), once. */
static void pack_metrics_rest(void)
{
	int64_t ts = metrics->timestamp_ms;

	metrics->timestamp_ms = 0; /* proto3: a zero is not packed */
	metrics_rest_len = protobuf_c_message_get_packed_size(&metrics->base);
	metrics_rest = malloc(metrics_rest_len);
	if (!metrics_rest)
		die("snapshot");
	protobuf_c_message_pack(&metrics->base, metrics_rest);
	metrics->timestamp_ms = ts;
}

/* An agent's metrics message: AgentMessage fields 1-4 in order, then the
 * snapshot (field 12) with its timestamp_ms first; what protobuf-c packs. */
static size_t encode(uint8_t *out, const agent *a, uint64_t seq, int64_t sent_at_ms, int64_t sample_ms)
{
	uint8_t *p = out;

	p = put_string(p, 1, a->agent_id);
	p = put_string(p, 2, boot_id);
	*p++ = TAG(3, WIRE_VARINT);
	p = put_varint(p, seq);
	*p++ = TAG(4, WIRE_VARINT);
	p = put_varint(p, (uint64_t)sent_at_ms);
	*p++ = TAG(12, WIRE_LEN);
	p = put_varint(p, 1 + varint_len((uint64_t)sample_ms) + metrics_rest_len);
	*p++ = TAG(1, WIRE_VARINT);
	p = put_varint(p, (uint64_t)sample_ms);
	memcpy(p, metrics_rest, metrics_rest_len);
	return (size_t)(p - out) + metrics_rest_len;
}

/* The message of `seq` as protobuf-c packs it whole (what this program
 * sent per message before encode). */
static size_t pack_whole(uint8_t *out, const agent *a, uint64_t seq, int64_t sent_at_ms, int64_t sample_ms)
{
	msg.agent_id = (char *)a->agent_id;
	msg.seq = seq;
	msg.sent_at_ms = sent_at_ms;
	metrics->timestamp_ms = sample_ms;
	return protobuf_c_message_pack(&msg.base, out);
}

/* encode must give exactly the bytes of a whole pack: the first and the
 * last message of the agent, before anything is timed. */
static void check_encode(const agent *a)
{
	uint64_t seqs[2] = { 1, k_msgs };
	uint8_t *whole = malloc(msgbuf_cap);
	int i;

	if (!whole)
		die("check");
	for (i = 0; i < 2; i++) {
		int64_t sent = bench_wall_ms(), sample = first_sample_ms + (int64_t)seqs[i] * 1000;
		size_t n = encode(msgbuf, a, seqs[i], sent, sample);

		if (n != pack_whole(whole, a, seqs[i], sent, sample) || memcmp(msgbuf, whole, n) != 0) {
			fprintf(stderr, "ingest-loadgen: %s: seq %llu is not encoded as protobuf-c packs it\n", a->name,
				(unsigned long long)seqs[i]);
			exit(1);
		}
	}
	free(whole);
}

/* Send what the window allows. */
static void pump(agent *a)
{
	while (a->sent < k_msgs && a->sent - a->acked < window) {
		uint64_t seq = a->sent + 1;
		size_t len = encode(msgbuf, a, seq, bench_wall_ms(), first_sample_ms + (int64_t)seq * 1000);
		int rc = csf_net_call_send(a->call, msgbuf, len);

		if (rc == CSF_ELIMIT) {
			send_full++;
			return; /* on_writable resumes */
		}
		if (rc != 0)
			die("send");
		a->sent = seq;
	}
}

static void open_more(void);

static void all_welcomed(void)
{
	size_t i;

	fprintf(stderr, "ingest-loadgen: %zu streams up, streaming\n", welcomed);
	sample_cpu(&cpu_start);
	t_first_send = bench_mono_us();
	for (i = 0; i < n_agents; i++)
		pump(&agents[i]);
}

static void acked(agent *a, uint64_t seq)
{
	if (seq <= a->acked || seq > a->sent)
		return;
	a->acked = seq;
	if (a->acked == k_msgs && !a->done) {
		a->done = 1;
		if (++finished == n_agents) {
			t_last_ack = bench_mono_us();
			sample_cpu(&cpu_end);
			csf_net_loop_stop(loop);
		}
	}
	pump(a);
}

static int stream_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	agent *a = payload;
	Csf__V1__ServerMessage *m = NULL;

	(void)call;
	if (csf__pb_server_message_decode(&m, data, len) != 0)
		die("ServerMessage");
	if (m->body_case == CSF__V1__SERVER_MESSAGE__BODY_WELCOME && !a->welcomed) {
		a->welcomed = 1;
		a->acked = a->sent = m->welcome->acked_seq;
		inflight--;
		if (++welcomed == n_agents)
			all_welcomed();
		else
			open_more();
	} else if (m->body_case == CSF__V1__SERVER_MESSAGE__BODY_ACK) {
		acks++;
		acked(a, m->ack->seq);
	}
	csf__pb_free(&m->base);
	return 0;
}

static void stream_writable(csf_net_call *call, void *payload)
{
	(void)call;
	if (welcomed == n_agents)
		pump(payload);
}

static void stream_end(csf_net_call *call, int status, const char *message, void *payload)
{
	agent *a = payload;

	(void)call;
	a->call = NULL;
	if (finished < n_agents)
		fail(a, "StreamMetrics", status, message);
}

static const csf_net_call_handlers stream_handlers = { NULL, stream_message, NULL, stream_writable, stream_end };

static void open_stream(agent *a)
{
	Csf__V1__AgentMessage hello = CSF__V1__AGENT_MESSAGE__INIT;
	Csf__V1__Hello h = CSF__V1__HELLO__INIT;
	Csf__V1__HostFacts host = CSF__V1__HOST_FACTS__INIT;
	uint8_t *buf = NULL;
	size_t len = 0;

	host.hostname = a->name;
	h.agent_version = "ingest-bench";
	h.host = &host;
	hello.agent_id = a->agent_id;
	hello.boot_id = (char *)boot_id;
	hello.body_case = CSF__V1__AGENT_MESSAGE__BODY_HELLO;
	hello.hello = &h;
	if (csf__pb_pack(&buf, &len, &hello.base) != 0)
		die("Hello");
	check_encode(a);
	channel_for(&a->ch, a);
	inflight++;
	if (csf_net_channel_call(&a->call, a->ch, STREAM_METHOD, 0, &stream_handlers, a) != 0 ||
	    csf_net_call_send(a->call, buf, len) != 0)
		die("StreamMetrics");
	csf__free(buf);
}

static void open_more(void)
{
	while (!failed && inflight < handshakes && next_agent < n_agents)
		open_stream(&agents[next_agent++]);
}

/* One real snapshot of this machine; the second of two, so it has rates. */
static void make_metrics(csf__arena *arena)
{
	csf_collector *col = NULL;
	csf_snapshot *snap = NULL;
	int round;

	if (csf_collector_new(&col, csf_collector_system(), NULL) != 0)
		die("system collector");
	for (round = 0; round < 2; round++) {
		csf_snapshot_free(snap);
		snap = NULL;
		if (round)
			usleep(200000);
		if (csf_snapshot_new(&snap) != 0 || csf_collector_collect(col, snap) != 0)
			die("snapshot");
	}
	if (csf__pb_metrics_from_snapshot(&metrics, arena, snap) != 0)
		die("MetricsSnapshot");
	csf_snapshot_free(snap);
	csf_collector_free(col);
}

static void print_result(uint64_t enroll_us, uint64_t connect_us)
{
	double secs = (double)(t_last_ack - t_first_send) / 1e6, hz = (double)sysconf(_SC_CLK_TCK);
	double rows = (double)n_agents * (double)k_msgs;
	uint64_t pg_all, pg_busiest, server;
	double self, rest;

	pg_delta(&cpu_start, &cpu_end, &pg_all, &pg_busiest);
	server = cpu_end.loop + cpu_end.others - cpu_start.loop - cpu_start.others;
	self = (double)(cpu_end.self_us - cpu_start.self_us) / 1e6 * hz;
	/* what else ran on the machine meanwhile (other users skew the result) */
	rest = (double)(cpu_end.machine - cpu_start.machine) - (double)server - (double)pg_all - self;
	printf("result agents=%zu messages=%llu window=%llu rows=%.0f secs=%.3f rows_per_s=%.0f acks=%llu"
	       " send_full=%llu enroll_s=%.2f connect_s=%.2f server_cpu_pct=%.1f loop_cpu_pct=%.1f"
	       " other_threads_cpu_pct=%.1f pg_cpu_pct=%.1f pg_busiest_cpu_pct=%.1f loadgen_cpu_pct=%.1f"
	       " rest_of_machine_cpu_pct=%.1f message_bytes=%zu\n",
	       n_agents, (unsigned long long)k_msgs, (unsigned long long)window, rows, secs, rows / secs,
	       (unsigned long long)acks, (unsigned long long)send_full, (double)enroll_us / 1e6,
	       (double)connect_us / 1e6, 100.0 * (double)server / hz / secs,
	       100.0 * (double)(cpu_end.loop - cpu_start.loop) / hz / secs,
	       100.0 * (double)(cpu_end.others - cpu_start.others) / hz / secs, 100.0 * (double)pg_all / hz / secs,
	       100.0 * (double)pg_busiest / hz / secs, 100.0 * self / hz / secs, 100.0 * rest / hz / secs,
	       protobuf_c_message_get_packed_size(&msg.base));
}

static int run(void)
{
	char secret_sha256[65];
	csf__arena arena;
	uint64_t t0, t1;
	size_t i;

	if (csf__token_parse(token, ca_sha256, secret_sha256) != 0)
		die("token");
	csf__arena_init(&arena, 16384);
	make_metrics(&arena);
	/* samples one second apart, the last one now */
	first_sample_ms = bench_wall_ms() - (int64_t)k_msgs * 1000;
	msg.boot_id = (char *)boot_id;
	msg.agent_id = "0123456789abcdef0123456789abcdef";
	msg.seq = k_msgs;
	msg.sent_at_ms = bench_wall_ms();
	msg.body_case = CSF__V1__AGENT_MESSAGE__BODY_METRICS;
	msg.metrics = metrics;
	metrics->timestamp_ms = bench_wall_ms();
	pack_metrics_rest();
	/* the rest, both ids, and six tags and six varints of 10 bytes at most */
	msgbuf_cap = metrics_rest_len + sizeof(agents->agent_id) + sizeof(boot_id) + 6 * 11;
	msgbuf = malloc(msgbuf_cap);
	agents = calloc(n_agents, sizeof(*agents));
	if (!msgbuf || !agents)
		return 1;
	for (i = 0; i < n_agents; i++)
		snprintf(agents[i].name, sizeof(agents[i].name), "bench-%05zu", i);
	if (csf_net_loop_new(&loop) != 0)
		die("loop");

	t0 = bench_mono_us();
	channel_for(&enroll_ch, NULL);
	enroll_more();
	if (csf_net_loop_run(loop) != 0 || failed)
		return 1;
	/* its connection would be one more than the agents' */
	csf_net_channel_free(enroll_ch);
	t1 = bench_mono_us();
	fprintf(stderr, "ingest-loadgen: %zu agents enrolled in %.1f s\n", enrolled, (double)(t1 - t0) / 1e6);

	next_agent = inflight = 0;
	open_more();
	if (csf_net_loop_run(loop) != 0 || failed || finished != n_agents)
		return 1;
	print_result(t1 - t0, t_first_send - t1);
	for (i = 0; i < n_agents; i++) {
		csf_net_channel_free(agents[i].ch);
		csf__free(agents[i].key_pem);
		csf__free(agents[i].cert_pem);
	}
	csf_net_loop_free(loop);
	csf__free(ca_pem);
	csf__arena_free(&arena);
	free(agents);
	free(msgbuf);
	free(metrics_rest);
	return 0;
}

/* ---------------------------------------------------------------- main */

static int usage(void)
{
	fprintf(stderr, "usage: csf-ingest-loadgen run --url URL --token TOKEN -n N -k K [--window W]\n"
			"                          [--handshakes 200] [--server-pid PID] [--pg-pid PID] [--insecure]\n"
			"       csf-ingest-loadgen floor --db URL -n N -k K\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *db = NULL;
	int i;

	if (argc < 2)
		return usage();
	for (i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--insecure") == 0) {
			insecure = 1;
			continue;
		}
		if (!v)
			return usage();
		if (strcmp(argv[i], "--url") == 0)
			url = v;
		else if (strcmp(argv[i], "--token") == 0)
			token = v;
		else if (strcmp(argv[i], "--db") == 0)
			db = v;
		else if (strcmp(argv[i], "-n") == 0)
			n_agents = strtoul(v, NULL, 10);
		else if (strcmp(argv[i], "-k") == 0)
			k_msgs = strtoull(v, NULL, 10);
		else if (strcmp(argv[i], "--window") == 0)
			window = strtoull(v, NULL, 10);
		else if (strcmp(argv[i], "--handshakes") == 0)
			handshakes = strtoul(v, NULL, 10);
		else if (strcmp(argv[i], "--server-pid") == 0)
			server_pid = atol(v);
		else if (strcmp(argv[i], "--pg-pid") == 0)
			pg_pid = atol(v);
		else
			return usage();
		i++;
	}
	if (!n_agents || !k_msgs || !window || !handshakes)
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "run") == 0 && url && token)
		return run();
	if (strcmp(argv[1], "floor") == 0 && db && strncmp(db, "sqlite:", 7) == 0)
		return ingest_floor_sqlite(db + 7, n_agents, k_msgs);
	if (strcmp(argv[1], "floor") == 0 && db)
		return ingest_floor_postgres(db, n_agents, k_msgs);
	return usage();
}
