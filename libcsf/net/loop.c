/* The event loop (a libevent base) and timers. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <event2/event.h>

#include "net/internal.h"

struct csf_net_loop {
	struct event_base *base;
	struct event *wake;
	int wake_fd[2];
};

struct csf_net_timer {
	struct event *ev;
	csf_net_timer_cb cb;
	void *payload;
};

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	csf_net_loop *loop = arg;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	event_base_loopbreak(loop->base);
}

int csf_net_loop_new(csf_net_loop **out)
{
	csf_net_loop *loop;
	int i;

	if (!out)
		return csf__misuse("csf_net_loop_new: out is NULL");
	*out = NULL;
	loop = csf__calloc(1, sizeof(*loop));
	if (!loop)
		return CSF_ENOMEM;
	loop->wake_fd[0] = loop->wake_fd[1] = -1;
	loop->base = event_base_new();
	if (!loop->base) {
		csf_net_loop_free(loop);
		return csf__error_set(CSF_EIO, "net: cannot create an event base");
	}
	if (pipe(loop->wake_fd) != 0) {
		int e = errno;

		csf_net_loop_free(loop);
		return csf__error_set_errno(CSF_EIO, e, "net: pipe");
	}
	for (i = 0; i < 2; i++) {
		fcntl(loop->wake_fd[i], F_SETFL, fcntl(loop->wake_fd[i], F_GETFL) | O_NONBLOCK);
		fcntl(loop->wake_fd[i], F_SETFD, FD_CLOEXEC);
	}
	loop->wake = event_new(loop->base, loop->wake_fd[0], EV_READ | EV_PERSIST, on_wake, loop);
	if (!loop->wake || event_add(loop->wake, NULL) != 0) {
		csf_net_loop_free(loop);
		return csf__error_set(CSF_ENOMEM, "net: cannot add the wake-up event");
	}
	*out = loop;
	return 0;
}

int csf_net_loop_run(csf_net_loop *loop)
{
	if (!loop)
		return csf__misuse("csf_net_loop_run: loop is NULL");
	if (event_base_dispatch(loop->base) < 0)
		return csf__error_set(CSF_EIO, "net: event loop failed");
	return 0;
}

static void on_timeout_noop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

int csf_net_loop_run_once(csf_net_loop *loop, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct event *t;
	int rc;

	if (!loop || timeout_ms < 0)
		return csf__misuse("csf_net_loop_run_once: loop is NULL or timeout negative");
	if (timeout_ms == 0)
		return event_base_loop(loop->base, EVLOOP_NONBLOCK) < 0
			? csf__error_set(CSF_EIO, "net: event loop failed") : 0;
	t = evtimer_new(loop->base, on_timeout_noop, NULL);
	if (!t)
		return csf__error_set(CSF_ENOMEM, "net: cannot create a timer");
	evtimer_add(t, &tv);
	rc = event_base_loop(loop->base, EVLOOP_ONCE);
	event_free(t);
	return rc < 0 ? csf__error_set(CSF_EIO, "net: event loop failed") : 0;
}

void csf_net_loop_stop(csf_net_loop *loop)
{
	if (loop)
		event_base_loopbreak(loop->base);
}

void csf_net_loop_stop_async(csf_net_loop *loop)
{
	if (loop && loop->wake_fd[1] >= 0) {
		ssize_t n = write(loop->wake_fd[1], "", 1);

		(void)n; /* a full pipe already holds a wake-up */
	}
}

void csf_net_loop_free(csf_net_loop *loop)
{
	if (!loop)
		return;
	if (loop->wake)
		event_free(loop->wake);
	if (loop->base) {
		int i;

		/* A bufferevent freed while a deferred callback held it is only
		 * released when the loop runs that callback (its own callbacks
		 * are already detached): let the loop do so before it goes. */
		for (i = 0; i < 8; i++)
			event_base_loop(loop->base, EVLOOP_NONBLOCK);
		event_base_free(loop->base);
	}
	if (loop->wake_fd[0] >= 0)
		close(loop->wake_fd[0]);
	if (loop->wake_fd[1] >= 0)
		close(loop->wake_fd[1]);
	csf__free(loop);
}

struct event_base *csf__net_loop_base(csf_net_loop *loop)
{
	return loop->base;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	csf_net_timer *t = arg;

	(void)fd;
	(void)what;
	t->cb(t, t->payload);
}

int csf_net_timer_new(csf_net_timer **out, csf_net_loop *loop, csf_net_timer_cb cb, void *payload)
{
	csf_net_timer *t;

	if (!out || !loop || !cb)
		return csf__misuse("csf_net_timer_new: out, loop and cb are required");
	*out = NULL;
	t = csf__calloc(1, sizeof(*t));
	if (!t)
		return CSF_ENOMEM;
	t->cb = cb;
	t->payload = payload;
	t->ev = evtimer_new(loop->base, on_timer, t);
	if (!t->ev) {
		csf__free(t);
		return csf__error_set(CSF_ENOMEM, "net: cannot create a timer");
	}
	*out = t;
	return 0;
}

int csf_net_timer_start(csf_net_timer *t, uint64_t ms)
{
	struct timeval tv;

	if (!t)
		return csf__misuse("csf_net_timer_start: timer is NULL");
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return evtimer_add(t->ev, &tv) == 0 ? 0 : csf__error_set(CSF_EIO, "net: cannot arm a timer");
}

void csf_net_timer_stop(csf_net_timer *t)
{
	if (t)
		evtimer_del(t->ev);
}

void csf_net_timer_free(csf_net_timer *t)
{
	if (!t)
		return;
	event_free(t->ev);
	csf__free(t);
}
