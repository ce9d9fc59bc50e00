/* A pool of worker threads for work that may block (database queries,
 * password hashing) and must not hold up the event loop: a job runs on a
 * worker with that worker's own context (a database connection), then
 * finishes on the loop thread. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "net/internal.h"

struct csf__pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	csf__pool_job *queue, *queue_tail; /* waiting for a worker, in order */
	csf__pool_job *done;             /* run, waiting for the loop (any order) */
	int stop;
	struct event *ev;
	int wake[2];
	pthread_t *threads;
	size_t started;
	void (*after)(void *worker);
	csf__pool_stats stats;           /* under mu */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct worker_arg {
	csf__pool *p;
	void *worker;
};

static void *work(void *arg)
{
	csf__pool *p = ((struct worker_arg *)arg)->p;
	void *worker = ((struct worker_arg *)arg)->worker;
	uint64_t started;
	char one = 1;

	csf__free(arg);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		csf__pool_job *job;

		while (!p->queue && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		job = p->queue;
		p->queue = job->next;
		if (!p->queue)
			p->queue_tail = NULL;
		started = now_us();
		p->stats.queued--;
		p->stats.busy++;
		p->stats.wait_us_total += started - job->queued_us;
		pthread_mutex_unlock(&p->mu);
		job->run(job, worker);
		if (p->after)
			p->after(worker);
		pthread_mutex_lock(&p->mu);
		p->stats.busy--;
		p->stats.jobs++;
		p->stats.run_us_total += now_us() - started;
		job->next = p->done;
		p->done = job;
		if (write(p->wake[1], &one, 1) < 0) {
			/* the pipe is full: a wake-up is pending anyway */
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	csf__pool *p = arg;
	csf__pool_job *job;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&p->mu);
	job = p->done;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	while (job) {
		csf__pool_job *next = job->next;

		job->finish(job, 0);
		job = next;
	}
}

int csf__pool_new(csf__pool **out, csf_net_loop *loop, size_t n, void **workers, void (*after)(void *worker))
{
	csf__pool *p = csf__calloc(1, sizeof(*p));
	int rc = 0, i;

	*out = NULL;
	if (!p || !(p->threads = csf__calloc(n, sizeof(*p->threads)))) {
		csf__free(p);
		return CSF_ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->after = after;
	p->stats.workers = n;
	p->wake[0] = p->wake[1] = -1;
	if (pipe(p->wake) != 0)
		rc = csf__error_set_errno(CSF_EIO, errno, "net: pool pipe");
	for (i = 0; !rc && i < 2; i++) {
		fcntl(p->wake[i], F_SETFL, fcntl(p->wake[i], F_GETFL) | O_NONBLOCK);
		fcntl(p->wake[i], F_SETFD, FD_CLOEXEC);
	}
	if (!rc) {
		p->ev = event_new(csf__net_loop_base(loop), p->wake[0], EV_READ | EV_PERSIST, on_done, p);
		if (!p->ev || event_add(p->ev, NULL) != 0)
			rc = csf__error_set(CSF_ENOMEM, "net: cannot watch the worker pool");
	}
	while (!rc && p->started < n) {
		struct worker_arg *a = csf__malloc(sizeof(*a));

		if (!a) {
			rc = CSF_ENOMEM;
			break;
		}
		a->p = p;
		a->worker = workers ? workers[p->started] : NULL;
		if (pthread_create(&p->threads[p->started], NULL, work, a) != 0) {
			csf__free(a);
			rc = csf__error_set(CSF_EIO, "net: cannot start a worker thread");
			break;
		}
		p->started++;
	}
	if (rc) {
		csf__pool_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void csf__pool_submit(csf__pool *p, csf__pool_job *job)
{
	job->next = NULL;
	job->queued_us = now_us();
	pthread_mutex_lock(&p->mu);
	p->stats.queued++;
	if (p->queue_tail)
		p->queue_tail->next = job;
	else
		p->queue = job;
	p->queue_tail = job;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void csf__pool_get_stats(csf__pool *p, csf__pool_stats *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->stats;
	pthread_mutex_unlock(&p->mu);
}

static void drop_all(csf__pool_job *job)
{
	while (job) {
		csf__pool_job *next = job->next;

		job->finish(job, 1);
		job = next;
	}
}

void csf__pool_free(csf__pool *p)
{
	size_t i;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->started; i++)
		pthread_join(p->threads[i], NULL); /* each ends after its current job */
	drop_all(p->queue);
	drop_all(p->done);
	if (p->ev)
		event_free(p->ev);
	for (i = 0; i < 2; i++)
		if (p->wake[i] >= 0)
			close(p->wake[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	csf__free(p->threads);
	csf__free(p);
}
