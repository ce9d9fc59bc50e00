/*
 * csf_agent: the daemon's life. One loop: the collector every interval
 * (each snapshot goes to the outbox first, then to the stream), heartbeats,
 * reconnects, certificate renewal at about half its life, a status file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include "agent/internal.h"

#define DEFAULT_INTERVAL_S 10
#define DEFAULT_HEARTBEAT_S 10
#define DEFAULT_OUTBOX_BYTES (64ull << 20)
#define DEFAULT_OUTBOX_AGE_S (7ull * 86400)
#define DEFAULT_BACKOFF_MAX_MS 60000
#define STATUS_EVERY_MS 1000

int csf_agent_options_init(csf_agent_options *opts, unsigned int version)
{
	if (!opts || version != CSF_AGENT_OPTIONS_VERSION)
		return csf__misuse("csf_agent_options_init: unknown version %u", version);
	*opts = (csf_agent_options)CSF_AGENT_OPTIONS_INIT;
	return 0;
}

static int check_options(const csf_agent_options *o)
{
	if (o->version != CSF_AGENT_OPTIONS_VERSION)
		return csf__misuse("csf_agent: unknown options version %u", o->version);
	if (o->interval_s > 86400 || o->heartbeat_interval_s > 86400)
		return csf__error_set(CSF_EINVALID, "agent: intervals are 1 to 86400 seconds");
	if ((unsigned)o->transport > CSF_AGENT_TRANSPORT_WEBSOCKET)
		return csf__error_set(CSF_EINVALID, "agent: unknown transport %d", (int)o->transport);
	return 0;
}

/* The options with the defaults filled in (strings stay borrowed). */
static void with_defaults(csf_agent_options *o)
{
	if (!o->outbox_max_bytes)
		o->outbox_max_bytes = DEFAULT_OUTBOX_BYTES;
	if (!o->outbox_max_age_s)
		o->outbox_max_age_s = DEFAULT_OUTBOX_AGE_S;
	if (!o->backoff_max_ms)
		o->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
}

void csf__agent_apply_settings(csf_agent *a, const Csf__V1__AgentSettings *s)
{
	uint32_t interval = a->o.interval_s ? a->o.interval_s
			    : s && s->collect_interval_seconds && s->collect_interval_seconds <= 86400
			    ? s->collect_interval_seconds : a->interval_s;
	uint32_t heartbeat = a->o.heartbeat_interval_s ? a->o.heartbeat_interval_s
			     : s && s->heartbeat_interval_seconds && s->heartbeat_interval_seconds <= 86400
			     ? s->heartbeat_interval_seconds : a->heartbeat_s;

	if (interval != a->interval_s) {
		csf__log(CSF_LOG_INFO, "agent", "collecting every %u s", interval);
		a->interval_s = interval;
		a->next_collect_ms = csf__time_mono_ms() + (uint64_t)interval * 1000;
		csf_net_timer_start(a->collect_timer, (uint64_t)interval * 1000);
	}
	if (heartbeat != a->heartbeat_s) {
		a->heartbeat_s = heartbeat;
		csf_net_timer_start(a->heartbeat_timer, (uint64_t)heartbeat * 1000);
	}
}

/* ---------------------------------------------------------------- timers */

static void collect_once(csf_agent *a)
{
	Csf__V1__AgentMessage m = CSF__V1__AGENT_MESSAGE__INIT;
	csf__outbox_stats st;
	csf_snapshot *snap = NULL;
	csf__arena arena;
	uint8_t *buf = NULL;
	size_t len = 0;
	int64_t now = csf__time_unix_ms();
	int rc;

	csf__arena_init(&arena, 8192);
	rc = csf_snapshot_new(&snap);
	if (!rc)
		rc = csf_collector_collect(a->collector, snap);
	if (!rc)
		rc = csf__pb_metrics_from_snapshot(&m.metrics, &arena, snap);
	if (!rc) {
		csf__outbox_stats_get(a->ob, &st);
		m.agent_id = a->id.agent_id;
		m.boot_id = st.boot_id;
		m.seq = st.next_seq;
		m.sent_at_ms = now;
		m.body_case = CSF__V1__AGENT_MESSAGE__BODY_METRICS;
		rc = csf__pb_pack(&buf, &len, &m.base);
	}
	if (rc) {
		csf__log(CSF_LOG_WARN, "agent", "collection failed: %s", csf_error_last()->message);
	} else if (csf__outbox_put(a->ob, m.seq, buf, len, now) != 0) {
		/* not sent either: what is not in the outbox could be lost */
		csf__log(CSF_LOG_ERROR, "agent", "the outbox cannot take a message: %s", csf_error_last()->message);
	} else {
		a->status_dirty = 1;
		csf__agent_pump(a);
	}
	csf__free(buf);
	csf_snapshot_free(snap);
	csf__arena_free(&arena);
}

static void on_collect(csf_net_timer *t, void *payload)
{
	csf_agent *a = payload;
	uint64_t now, step = (uint64_t)a->interval_s * 1000;

	collect_once(a);
	/* keep the cadence: the next one is due one interval after the last due time */
	now = csf__time_mono_ms();
	a->next_collect_ms += step;
	if (a->next_collect_ms <= now)
		a->next_collect_ms = now + step;
	csf_net_timer_start(t, a->next_collect_ms - now);
}

static void on_heartbeat(csf_net_timer *t, void *payload)
{
	csf_agent *a = payload;

	csf__agent_send_heartbeat(a);
	if (csf__outbox_expire(a->ob, csf__time_unix_ms()) != 0)
		csf__log(CSF_LOG_WARN, "agent", "outbox: %s", csf_error_last()->message);
	csf_net_timer_start(t, (uint64_t)a->heartbeat_s * 1000);
}

static void on_reconnect(csf_net_timer *t, void *payload)
{
	(void)t;
	csf__agent_connect(payload);
}

static void on_renew(csf_net_timer *t, void *payload)
{
	csf_agent *a = payload;

	(void)t;
	if (csf__time_unix_ms() / 1000 >= a->id.cert_expires_at) {
		csf__agent_fail(a, CSF_EAUTH, "this agent's certificate expired at %lld before it could be renewed; "
			       "enroll it again with csf-agent enroll and a new token", (long long)a->id.cert_expires_at);
		return;
	}
	csf__agent_request_renewal(a);
	/* until the answer comes, ask again every tenth of the remaining life */
	csf_net_timer_start(a->renew_timer,
			    (uint64_t)((a->id.cert_expires_at - csf__time_unix_ms() / 1000) * 100) + 1000);
}

/*
 * Renew at about half the certificate's life, with a tenth of it as jitter
 * either way. The server starts certificates a minute back (clock skew), so
 * for short lifetimes that midpoint is already past when the certificate
 * arrives: then renew when 40 to 60 % of the remaining life has passed,
 * which never loops and never comes after the expiry.
 */
void csf__agent_schedule_renewal(csf_agent *a)
{
	int64_t nb = a->id.cert_not_before, na = a->id.cert_expires_at, now = csf__time_unix_ms(), due;
	int64_t life_ms = (na - nb) * 1000, left_ms = na * 1000 - now;
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)now;
	if (life_ms > 0 && nb * 1000 + life_ms / 2 > now)
		due = nb * 1000 + life_ms * 2 / 5 + (int64_t)(r % (uint64_t)(life_ms / 5 + 1));
	else
		due = now + (left_ms > 0 ? left_ms * 2 / 5 + (int64_t)(r % (uint64_t)(left_ms / 5 + 1)) : 0);
	csf_net_timer_start(a->renew_timer, due > now ? (uint64_t)(due - now) : 0);
}

static void on_status(csf_net_timer *t, void *payload)
{
	csf_agent *a = payload;

	if (a->reload_requested) {
		csf_agent_options o = a->o;

		a->reload_requested = 0;
		if (a->reload_cb && a->reload_cb(&o, a->reload_payload) == 0 && check_options(&o) == 0) {
			with_defaults(&o);
			a->o.transport = o.transport;
			a->o.interval_s = o.interval_s;
			a->o.heartbeat_interval_s = o.heartbeat_interval_s;
			a->o.outbox_max_bytes = o.outbox_max_bytes;
			a->o.outbox_max_age_s = o.outbox_max_age_s;
			a->o.backoff_max_ms = o.backoff_max_ms;
			csf__outbox_set_caps(a->ob, o.outbox_max_bytes, o.outbox_max_age_s * 1000);
			csf__agent_apply_settings(a, NULL);
			csf__log(CSF_LOG_INFO, "agent", "configuration reloaded");
		} else {
			csf__log(CSF_LOG_WARN, "agent", "configuration not reloaded: kept the running one");
		}
	}
	if (a->status_dirty)
		csf__agent_write_status(a);
	csf_net_timer_start(t, STATUS_EVERY_MS);
}

/* ------------------------------------------------------------- lifecycle */

/* One daemon per state directory: an flock held as long as the agent lives. */
static int take_lock(csf_agent *a)
{
	char path[CSF__PATH_MAX];
	int rc = csf__path_join(path, a->state_dir, "run.lock");

	if (rc)
		return rc;
	a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (a->lock_fd < 0)
		return csf__error_set_errno(CSF_EIO, errno, "cannot open %s", path);
	if (flock(a->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return csf__error_set(CSF_EEXISTS, "another csf-agent runs on %s", a->state_dir);
	return 0;
}

static int make_timers(csf_agent *a)
{
	int rc = csf_net_timer_new(&a->collect_timer, a->loop, on_collect, a);

	if (!rc)
		rc = csf_net_timer_new(&a->heartbeat_timer, a->loop, on_heartbeat, a);
	if (!rc)
		rc = csf_net_timer_new(&a->reconnect_timer, a->loop, on_reconnect, a);
	if (!rc)
		rc = csf_net_timer_new(&a->renew_timer, a->loop, on_renew, a);
	if (!rc)
		rc = csf_net_timer_new(&a->status_timer, a->loop, on_status, a);
	return rc;
}

/* The collector, primed once (rates need a previous sample), and the host
 * facts every Hello carries. */
static int start_collector(csf_agent *a)
{
	csf_system_options sys;
	csf_snapshot *snap = NULL;
	int rc;

	csf_system_options_init(&sys, CSF_SYSTEM_OPTIONS_VERSION);
	rc = csf_collector_new(&a->collector, csf_collector_system(), &sys);
	if (!rc)
		rc = csf_snapshot_new(&snap);
	if (!rc)
		rc = csf_collector_collect(a->collector, snap);
	if (!rc)
		rc = csf__agent_host_facts(&a->host, &a->host_arena, snap);
	csf_snapshot_free(snap);
	return rc;
}

int csf_agent_new(csf_agent **out, const csf_agent_options *opts)
{
	static const csf_agent_options defaults = CSF_AGENT_OPTIONS_INIT;
	char path[CSF__PATH_MAX];
	csf_agent *a;
	int rc, reset = 0;

	if (!out)
		return csf__misuse("csf_agent_new: out is NULL");
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if ((rc = check_options(opts)) != 0)
		return rc;
	a = csf__calloc(1, sizeof(*a));
	if (!a)
		return CSF_ENOMEM;
	a->lock_fd = -1;
	a->o = *opts;
	with_defaults(&a->o);
	csf__arena_init(&a->host_arena, 2048);
	a->state_dir = csf__strdup(opts->state_dir ? opts->state_dir : CSF_AGENT_DEFAULT_STATE_DIR);
	if (!a->state_dir) {
		rc = CSF_ENOMEM;
		goto fail;
	}
	a->o.state_dir = a->state_dir;
	if ((rc = csf__identity_load(&a->id, a->state_dir)) != 0)
		goto fail;
	if (a->id.cert_expires_at <= csf__time_unix_ms() / 1000) {
		rc = csf__error_set(CSF_EAUTH, "this agent's certificate expired at %lld; enroll it again with "
				    "csf-agent enroll and a new token", (long long)a->id.cert_expires_at);
		goto fail;
	}
	a->server_url = csf__strdup(opts->server_url ? opts->server_url : a->id.server_url);
	if (!a->server_url) {
		rc = CSF_ENOMEM;
		goto fail;
	}
	a->o.server_url = a->server_url;
	rc = take_lock(a);
	if (!rc)
		rc = csf__path_join(path, a->state_dir, "outbox.db");
	if (!rc)
		rc = csf__outbox_open(&a->ob, path, a->o.outbox_max_bytes, a->o.outbox_max_age_s * 1000, &reset);
	if (!rc)
		rc = start_collector(a);
	if (!rc)
		rc = csf_net_loop_new(&a->loop);
	if (!rc)
		rc = make_timers(a);
	if (rc)
		goto fail;
	a->interval_s = a->o.interval_s ? a->o.interval_s : DEFAULT_INTERVAL_S;
	a->heartbeat_s = a->o.heartbeat_interval_s ? a->o.heartbeat_interval_s : DEFAULT_HEARTBEAT_S;
	*out = a;
	return 0;
fail:
	csf_agent_free(a);
	return rc;
}

int csf_agent_run(csf_agent *a)
{
	csf__outbox_stats st;

	if (!a)
		return csf__misuse("csf_agent_run: agent is NULL");
	csf__outbox_stats_get(a->ob, &st);
	csf__log(CSF_LOG_INFO, "agent", "agent %s starting: server %s, every %u s, outbox %llu message(s), boot_id %s",
		 a->id.agent_id, a->server_url, a->interval_s, (unsigned long long)st.depth, st.boot_id);
	a->next_collect_ms = csf__time_mono_ms() + (uint64_t)a->interval_s * 1000;
	csf_net_timer_start(a->collect_timer, (uint64_t)a->interval_s * 1000);
	csf_net_timer_start(a->heartbeat_timer, (uint64_t)a->heartbeat_s * 1000);
	csf_net_timer_start(a->status_timer, STATUS_EVERY_MS);
	csf__agent_schedule_renewal(a);
	csf__agent_connect(a);
	csf__agent_write_status(a);
	while (!a->fatal && !a->stop_requested) {
		if (csf_net_loop_run(a->loop) != 0)
			break;
		if (a->reload_requested)
			on_status(a->status_timer, a); /* the wake-up was a reload: apply it and go on */
	}
	a->stop_requested = 1;
	csf__agent_disconnect(a);
	csf__agent_write_status(a);
	if (a->fatal)
		return csf__error_set(a->fatal, "%s", a->fatal_msg);
	csf__log(CSF_LOG_INFO, "agent", "stopped");
	return 0;
}

void csf_agent_stop_async(csf_agent *a)
{
	if (!a)
		return;
	a->stop_requested = 1;
	csf_net_loop_stop_async(a->loop);
}

void csf_agent_reload_async(csf_agent *a)
{
	if (!a)
		return;
	a->reload_requested = 1;
	csf_net_loop_stop_async(a->loop);
}

void csf_agent_set_reload_callback(csf_agent *a, csf_agent_reload_cb cb, void *payload)
{
	if (!a)
		return;
	a->reload_cb = cb;
	a->reload_payload = payload;
}

void csf_agent_free(csf_agent *a)
{
	if (!a)
		return;
	a->stop_requested = 1;
	csf__agent_disconnect(a);
	csf_net_timer_free(a->collect_timer);
	csf_net_timer_free(a->heartbeat_timer);
	csf_net_timer_free(a->reconnect_timer);
	csf_net_timer_free(a->renew_timer);
	csf_net_timer_free(a->status_timer);
	csf_net_loop_free(a->loop);
	csf_collector_free(a->collector);
	csf__outbox_close(a->ob);
	if (a->renew_key_pem) {
		memset(a->renew_key_pem, 0, strlen(a->renew_key_pem));
		csf__free(a->renew_key_pem);
	}
	if (a->lock_fd >= 0)
		close(a->lock_fd); /* releases the flock */
	csf__arena_free(&a->host_arena);
	csf__free(a->state_dir);
	csf__free(a->server_url);
	csf__free(a);
}
