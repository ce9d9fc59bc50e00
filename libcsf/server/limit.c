/* Failed attempts per address (enrollment, login): past a threshold in a
 * window, further attempts are refused until the window passes. A fixed
 * table: the oldest entry makes room, so memory stays bounded whatever the
 * number of addresses. Enrollment runs on the loop and login on REST
 * workers: one lock guards every table. */
#include <pthread.h>
#include <string.h>

#include "server/internal.h"

#define WINDOW_MS 60000
#define THRESHOLD 10

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static csf__rate_limit *entry(csf__rate_limit *t, size_t n, const char *addr, int create)
{
	csf__rate_limit *oldest = &t[0];
	uint64_t now = csf__time_mono_ms();
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(t[i].addr, addr) == 0) {
			if (now - t[i].window_start_ms >= WINDOW_MS) {
				t[i].window_start_ms = now;
				t[i].failures = 0;
			}
			return &t[i];
		}
		if (t[i].window_start_ms < oldest->window_start_ms)
			oldest = &t[i];
	}
	if (!create)
		return NULL;
	snprintf(oldest->addr, sizeof(oldest->addr), "%s", addr);
	oldest->window_start_ms = now;
	oldest->failures = 0;
	return oldest;
}

int csf__limit_blocked(csf__rate_limit *t, size_t n, const char *addr)
{
	csf__rate_limit *e;
	int blocked;

	pthread_mutex_lock(&lock);
	e = entry(t, n, addr, 0);
	blocked = e && e->failures >= THRESHOLD;
	pthread_mutex_unlock(&lock);
	return blocked;
}

void csf__limit_failed(csf__rate_limit *t, size_t n, const char *addr)
{
	pthread_mutex_lock(&lock);
	entry(t, n, addr, 1)->failures++;
	pthread_mutex_unlock(&lock);
}

void csf__addr_only(const char *peer, char *out, size_t cap)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon ? (size_t)(colon - peer) : strlen(peer);

	if (n >= cap)
		n = cap - 1;
	memcpy(out, peer, n);
	out[n] = '\0';
}
