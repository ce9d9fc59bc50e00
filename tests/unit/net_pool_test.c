/*
 * Pooled REST routes: handlers that run on worker threads while the loop
 * goes on serving, driven over loopback by blocking clients on another
 * thread. Each scenario is a fresh server (2 workers, a short idle timeout).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/http1.h"
#include "net/internal.h"
#include "loopback.h"

static csf_net_loop *loop;
static csf_net_server *srv;
static pthread_t loop_thread;
static int port;
static char worker_names[2][16] = { "worker-0", "worker-1" };

/* what the handlers' effects saw (written on the loop thread only) */
static int effects_run, effects_off_loop, effects_dropped;
static int jobs_after; /* the pool's after-job hook, on the workers */

static void after_job(void *worker)
{
	(void)worker;
	__atomic_add_fetch(&jobs_after, 1, __ATOMIC_RELAXED);
}

static void effect(void *arg)
{
	effects_run++;
	if (!pthread_equal(pthread_self(), loop_thread))
		effects_off_loop++;
	free(arg);
}

static void drop(void *arg)
{
	effects_dropped++;
	free(arg);
}

/* GET /slow/{ms}: sleeps on its worker, then answers which worker it was. */
static void slow(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	const char *worker = csf__http_exchange_worker(x);
	long ms = strtol(csf__http_param(p, "ms"), NULL, 10);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	char body[128];

	(void)req;
	(void)payload;
	nanosleep(&ts, NULL);
	csf__http_exchange_on_loop(x, effect, malloc(1), drop);
	snprintf(body, sizeof(body), "slow %ld on %s on_loop=%d", ms, worker ? worker : "the loop",
		 pthread_equal(pthread_self(), loop_thread));
	csf__http_respond(x, 200, NULL, body, strlen(body));
}

/* POST /echo: the body back, read on the worker. */
static void echo(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	(void)p;
	(void)payload;
	csf__http_respond(x, 201, NULL, req->body, req->body_len);
}

static void silent(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	(void)x;
	(void)req;
	(void)p;
	(void)payload;
}

/* GET /fast: on the loop; its effect runs at once, there. */
static void fast(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	(void)req;
	(void)p;
	(void)payload;
	csf__http_exchange_on_loop(x, effect, malloc(1), drop);
	csf__http_respond(x, 200, NULL, "fast", 4);
}

static void start_server(void)
{
	csf_net_server_options o = CSF_NET_SERVER_OPTIONS_INIT;
	static void *workers[2] = { worker_names[0], worker_names[1] };

	o.allow_insecure = 1;
	o.idle_timeout_ms = 300; /* shorter than the slow requests: a busy connection must not idle out */
	effects_run = effects_off_loop = effects_dropped = jobs_after = 0;
	loop_thread = pthread_self();
	assert_int_equal(csf_net_loop_new(&loop), 0);
	assert_int_equal(csf_net_server_new(&srv, loop, &o), 0);
	assert_int_equal(csf__net_server_set_pool(srv, 2, workers, after_job), 0);
	assert_int_equal(csf__net_server_add_pooled_route(srv, "GET", "/slow/{ms}", slow, NULL), 0);
	assert_int_equal(csf__net_server_add_pooled_route(srv, "POST", "/echo", echo, NULL), 0);
	assert_int_equal(csf__net_server_add_pooled_route(srv, "GET", "/silent", silent, NULL), 0);
	assert_int_equal(csf__net_server_add_route(srv, "GET", "/fast", fast, NULL), 0);
	assert_int_equal(csf_net_server_listen(srv, "127.0.0.1:0", NULL), 0);
	port = csf_net_server_port(srv, 0);
}

static void run_with(void *(*client)(void *))
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, client, NULL), 0);
	assert_int_equal(csf_net_loop_run(loop), 0);
	pthread_join(t, NULL);
}

static void stop_server(void)
{
	csf_net_server_free(srv);
	csf_net_loop_free(loop);
}

/* ---------------------------------------------------------------- client */

static int send_all(int fd, const char *s)
{
	return write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

/* Read until the server closes (every exchange here ends with a
 * Connection: close request or an error that closes). */
static void read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

static int readable(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0) == 1;
}

#define GET(path, extra) "GET " path " HTTP/1.1\r\nHost: x\r\n" extra "\r\n"

struct results {
	char slow[1024], fast[1024], second[1024], pipelined[2048], echo[1024], silent[1024], after_close[1024];
	int slow_pending_when_fast_done;
	int effects_at_end;
};

static struct results res;

/* A slow pooled request does not hold up the loop; two run at once. */
static void *concurrency_client(void *arg)
{
	int a = loopback_dial(port), b = loopback_dial(port), c;

	(void)arg;
	send_all(a, GET("/slow/800", "Connection: close\r\n"));
	usleep(100000); /* the job is on a worker */
	send_all(b, GET("/fast", "Connection: close\r\n"));
	read_all(b, res.fast, sizeof(res.fast));
	res.slow_pending_when_fast_done = !readable(a);
	c = loopback_dial(port);
	send_all(c, GET("/slow/100", "Connection: close\r\n"));
	read_all(c, res.second, sizeof(res.second));
	read_all(a, res.slow, sizeof(res.slow));
	close(a);
	close(b);
	close(c);
	csf_net_loop_stop_async(loop);
	return NULL;
}

static void test_slow_pooled_request_does_not_hold_up_the_loop(void **state)
{
	(void)state;
	start_server();
	memset(&res, 0, sizeof(res));
	run_with(concurrency_client);
	assert_non_null(strstr(res.fast, "HTTP/1.1 200"));
	assert_true(res.slow_pending_when_fast_done);
	assert_non_null(strstr(res.slow, "HTTP/1.1 200"));
	assert_non_null(strstr(res.slow, "slow 800 on worker-"));
	assert_non_null(strstr(res.slow, "on_loop=0"));
	/* the second slow request ran while the first held the other worker */
	assert_non_null(strstr(res.second, "slow 100 on worker-"));
	assert_int_not_equal(strstr(res.second, "worker-")[7], strstr(res.slow, "worker-")[7]);
	assert_int_equal(effects_run, 3);
	assert_int_equal(effects_off_loop, 0);
	assert_int_equal(jobs_after, 2); /* the two slow requests; /fast ran on the loop */
	stop_server();
}

/* Pipelined pooled requests are answered in order, one at a time; bodies
 * reach the worker; a handler without an answer gets 500; the connection
 * outlives the idle timeout while its worker is busy. */
static void *pipeline_client(void *arg)
{
	int fd = loopback_dial(port);

	(void)arg;
	send_all(fd, GET("/slow/400", "") GET("/slow/10", "")
		     "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" GET("/silent", ""));
	read_all(fd, res.pipelined, sizeof(res.pipelined));
	close(fd);
	csf_net_loop_stop_async(loop);
	return NULL;
}

static void test_pipelined_pooled_requests_in_order(void **state)
{
	char *first, *second, *third, *fourth;

	(void)state;
	start_server();
	memset(&res, 0, sizeof(res));
	run_with(pipeline_client);
	first = strstr(res.pipelined, "slow 400");
	second = strstr(res.pipelined, "slow 10 ");
	third = strstr(res.pipelined, "HTTP/1.1 201");
	fourth = strstr(res.pipelined, "HTTP/1.1 500");
	assert_non_null(first);
	assert_non_null(second);
	assert_non_null(third);
	assert_non_null(fourth);
	assert_true(first < second && second < third && third < fourth);
	assert_non_null(strstr(third, "hello"));
	assert_non_null(strstr(fourth, "the handler gave no answer"));
	stop_server();
}

/* The client goes while its job runs: the effect still runs (what the
 * handler committed reaches the live state), nothing is written, and the
 * server goes on. */
static void *close_client(void *arg)
{
	int fd = loopback_dial(port), again;

	(void)arg;
	send_all(fd, GET("/slow/300", ""));
	usleep(50000);
	close(fd);
	usleep(500000);
	again = loopback_dial(port);
	send_all(again, GET("/slow/1", "Connection: close\r\n"));
	read_all(again, res.after_close, sizeof(res.after_close));
	close(again);
	csf_net_loop_stop_async(loop);
	return NULL;
}

static void test_client_gone_while_its_job_runs(void **state)
{
	(void)state;
	start_server();
	memset(&res, 0, sizeof(res));
	run_with(close_client);
	assert_non_null(strstr(res.after_close, "HTTP/1.1 200"));
	assert_int_equal(effects_run, 2);
	stop_server();
}

/* The server is freed while a job runs: the worker finishes it, and its
 * effect is dropped (freed, not run). */
static void *shutdown_client(void *arg)
{
	int fd = loopback_dial(port);

	(void)arg;
	send_all(fd, GET("/slow/300", ""));
	usleep(100000);
	csf_net_loop_stop_async(loop);
	usleep(50000);
	close(fd);
	return NULL;
}

static void test_shutdown_with_a_job_in_flight(void **state)
{
	(void)state;
	start_server();
	run_with(shutdown_client);
	stop_server();
	assert_int_equal(effects_run, 0);
	assert_int_equal(effects_dropped, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_pooled_request_does_not_hold_up_the_loop),
		cmocka_unit_test(test_pipelined_pooled_requests_in_order),
		cmocka_unit_test(test_client_gone_while_its_job_runs),
		cmocka_unit_test(test_shutdown_with_a_job_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
