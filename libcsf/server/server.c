/* The server runtime: options, the two listeners, the writer thread, a
 * one-second tick, and an orderly stop. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "server/internal.h"

#define DRAIN_MS 2000

int64_t csf__now_ms(void)
{
	return csf__time_unix_ms();
}

int csf_server_options_init(csf_server_options *opts, unsigned int version)
{
	if (!opts || version != CSF_SERVER_OPTIONS_VERSION)
		return csf__misuse("csf_server_options_init: unknown version %u", version);
	memset(opts, 0, sizeof(*opts));
	opts->version = version;
	return 0;
}

static char *dup_or(const char *s, const char *def, int *failed)
{
	char *d;

	if (!s)
		s = def;
	if (!s)
		return NULL;
	d = csf__strdup(s);
	if (!d)
		*failed = 1;
	return d;
}

/* Copy the caller's options and fill in the defaults. */
static int take_options(csf_server *s, const csf_server_options *in)
{
	csf_server_options *o = &s->o;
	csf__buf url = CSF__BUF_INIT(8192);
	int failed = 0;
	size_t i;

	if (in && in->version != CSF_SERVER_OPTIONS_VERSION)
		return csf__misuse("csf_server_new: unknown options version %u", in->version);
	if (in)
		*o = *in;
	else
		csf_server_options_init(o, CSF_SERVER_OPTIONS_VERSION);
	s->data_dir = dup_or(o->data_dir, "./csf-data", &failed);
	if (!failed && !o->db_url && csf__buf_printf(&url, "sqlite:%s/csf.db", s->data_dir) != 0)
		failed = 1;
	s->db_url = dup_or(o->db_url, url.ptr, &failed);
	csf__buf_free(&url);
	s->http_listen = dup_or(o->http_listen, "127.0.0.1:8080", &failed);
	s->agent_listen = dup_or(o->agent_listen, "0.0.0.0:7443", &failed);
	s->web_root = dup_or(o->web_root, NULL, &failed);
	s->allowed_origins = dup_or(o->allowed_origins, NULL, &failed);
	s->agent_files_dir = dup_or(o->agent_files_dir, NULL, &failed);
	s->public_url = dup_or(o->public_url, NULL, &failed);
	s->agent_public_url = dup_or(o->agent_public_url, NULL, &failed);
	if (o->agent_names_count) {
		s->agent_names = csf__calloc(o->agent_names_count, sizeof(char *));
		if (!s->agent_names)
			return CSF_ENOMEM;
		s->agent_names_count = o->agent_names_count;
		for (i = 0; i < o->agent_names_count; i++)
			s->agent_names[i] = dup_or(o->agent_names[i], "", &failed);
	}
	if (failed)
		return CSF_ENOMEM;
	o->data_dir = s->data_dir;
	o->db_url = s->db_url;
	o->http_listen = s->http_listen;
	o->agent_listen = s->agent_listen;
	o->web_root = s->web_root;
	o->allowed_origins = s->allowed_origins;
	o->agent_files_dir = s->agent_files_dir;
	o->public_url = s->public_url;
	o->agent_public_url = s->agent_public_url;
	o->admin_password = NULL; /* used once, in bootstrap, from `in` */
	if (!o->heartbeat_interval_s)
		o->heartbeat_interval_s = 10;
	if (!o->collect_interval_s)
		o->collect_interval_s = 10;
	if (!o->cert_lifetime_s)
		o->cert_lifetime_s = 86400;
	if (!o->retention_raw_days)
		o->retention_raw_days = 7;
	if (!o->rest_workers)
		o->rest_workers = 4;
	if (!o->retention_1m_days)
		o->retention_1m_days = 90;
	if (!o->retention_1h_days)
		o->retention_1h_days = 730;
	if ((o->public_url && !csf__agent_files_url_ok(o->public_url)) ||
	    (o->agent_public_url && !csf__agent_files_url_ok(o->agent_public_url)))
		return csf__error_set(CSF_EINVALID, "the public URLs must be http(s)://host[:port][/path] "
				      "with letters, digits and . - _ : / [ ] only");
	if (o->rest_workers > 64)
		return csf__error_set(CSF_EINVALID, "rest workers must be 1 to 64 (not %u)", o->rest_workers);
	/* each rollup is made from the finer one: that one must still be there */
	if (o->retention_1m_days < o->retention_raw_days || o->retention_1h_days < o->retention_1m_days)
		return csf__error_set(CSF_EINVALID, "retention must not shrink from raw to 1m to 1h "
				      "(now %u, %u and %u days)", o->retention_raw_days, o->retention_1m_days,
				      o->retention_1h_days);
	return 0;
}

static int make_data_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return csf__error_set_errno(CSF_EIO, errno, "cannot create the data directory %s", dir);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return csf__error_set(CSF_EIO, "%s is not a directory", dir);
	return 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	csf_server *s = arg;
	int64_t now = csf__now_ms();
	uint64_t mono = csf__time_mono_ms();

	(void)fd;
	(void)what;
	csf__sessions_tick(s, mono);
	csf__upkeep_tick(s, mono, now);
}

static int listen_agents(csf_server *s)
{
	csf_net_server_options so = CSF_NET_SERVER_OPTIONS_INIT;
	csf_net_tls_options tls = CSF_NET_TLS_OPTIONS_INIT;
	int rc;

	so.allow_insecure = s->o.insecure_dev;
	/* a fleet behind one NAT is many agents from one address */
	so.max_connections_per_ip = 100000;
	rc = csf_net_server_new(&s->agents, s->loop, &so);
	if (!rc)
		rc = csf__enroll_register(s);
	if (!rc)
		rc = csf__sessions_register(s);
	if (rc)
		return rc;
	tls.cert_pem = s->server_cert_pem;
	tls.key_pem = s->server_key_pem;
	tls.ca_pem = s->ca_pem;
	return csf_net_server_listen(s->agents, s->agent_listen, s->o.insecure_dev ? NULL : &tls);
}

/* After each job on a worker: no statement left half-read keeps its
 * connection on an old snapshot until the next job. */
static void worker_done(void *worker)
{
	csf__db_release(worker);
}

/* The REST workers' connections, opened here so that a database that
 * cannot be reached fails the start rather than the first requests. */
static int start_rest_workers(csf_server *s)
{
	uint32_t i;
	int rc;

	s->rest_dbs = csf__calloc(s->o.rest_workers, sizeof(*s->rest_dbs));
	if (!s->rest_dbs)
		return CSF_ENOMEM;
	for (i = 0; i < s->o.rest_workers; i++)
		if ((rc = csf__db_open(&s->rest_dbs[i], s->db_url)) != 0)
			return rc;
	return csf__net_server_set_pool(s->http, s->o.rest_workers, (void **)s->rest_dbs, worker_done);
}

static int listen_http(csf_server *s)
{
	csf_net_server_options so = CSF_NET_SERVER_OPTIONS_INIT;
	int rc;

	/* the dashboard's listener is plain HTTP on loopback by default; put a
	 * TLS proxy in front to expose it (docs/operations.md) */
	so.allow_insecure = 1;
	rc = csf_net_server_new(&s->http, s->loop, &so);
	if (!rc)
		rc = start_rest_workers(s);
	if (!rc)
		rc = csf__rest_register(s);
	if (!rc)
		rc = csf__agent_files_routes(s);
	if (!rc)
		rc = csf__feed_start(s);
	if (!rc && s->web_root) /* the dashboard: a single-page app */
		rc = csf__net_server_set_static(s->http, s->web_root, 1);
	if (!rc)
		rc = csf_net_server_listen(s->http, s->http_listen, NULL);
	return rc;
}

int csf_server_new(csf_server **out, const csf_server_options *opts)
{
	csf_server *s;
	struct timeval sec = { 1, 0 };
	int rc;

	if (!out)
		return csf__misuse("csf_server_new: out is NULL");
	*out = NULL;
	s = csf__calloc(1, sizeof(*s));
	if (!s)
		return CSF_ENOMEM;
	s->started_ms = csf__time_mono_ms();
	s->rollup_dirty_from = INT64_MAX;
	s->last_rollup_ms = s->started_ms;
	rc = take_options(s, opts);
	if (!rc)
		rc = make_data_dir(s->data_dir);
	if (!rc)
		rc = csf__db_open(&s->db, s->db_url);
	if (!rc)
		rc = csf__db_migrate(s->db, NULL, NULL);
	if (!rc) {
		s->o.admin_password = opts ? opts->admin_password : NULL;
		rc = csf__server_bootstrap(s);
		s->o.admin_password = NULL;
	}
	if (!rc)
		rc = csf__rollup_resume(s);
	if (!rc)
		rc = csf_net_loop_new(&s->loop);
	if (!rc)
		rc = listen_agents(s);
	if (!rc)
		rc = listen_http(s);
	if (!rc)
		rc = csf__ingest_start(s, &s->ingest);
	if (!rc) {
		s->tick = event_new(csf__net_loop_base(s->loop), -1, EV_PERSIST, on_tick, s);
		if (!s->tick || event_add(s->tick, &sec) != 0)
			rc = csf__error_set(CSF_ENOMEM, "server: cannot start the tick");
	}
	if (rc) {
		csf_server_free(s);
		return rc;
	}
	csf__log(CSF_LOG_INFO, "server", "serving: agents on %s (%s), http on %s, database %s",
		 s->agent_listen, s->o.insecure_dev ? "cleartext, insecure-dev" : "TLS 1.3, mutual TLS",
		 s->http_listen, csf__db_kind_of(s->db) == CSF__DB_SQLITE ? "SQLite" : "PostgreSQL");
	*out = s;
	return 0;
}

static void on_drained(csf_net_server *srv, void *payload)
{
	csf_server *s = payload;

	(void)srv;
	csf_net_loop_stop(s->loop);
}

int csf_server_run(csf_server *s)
{
	int rc;

	if (!s)
		return csf__misuse("csf_server_run: server is NULL");
	rc = csf_net_loop_run(s->loop);
	if (rc)
		return rc;
	/* Stop: agents get GOAWAY and up to DRAIN_MS for calls in flight, while
	 * the writer keeps committing and acks keep going out. */
	s->stopping = 1;
	csf__log(CSF_LOG_INFO, "server", "stopping: draining %zu connections", csf_net_server_connections(s->agents));
	csf_net_server_shutdown(s->http, 0, NULL, NULL);
	csf_net_server_shutdown(s->agents, DRAIN_MS, on_drained, s);
	if (csf_net_server_connections(s->agents) > 0)
		rc = csf_net_loop_run(s->loop);
	return rc;
}

void csf_server_stop(csf_server *s)
{
	if (s)
		csf_net_loop_stop_async(s->loop);
}

int csf_server_http_port(const csf_server *s)
{
	return s ? csf_net_server_port(s->http, 0) : 0;
}

int csf_server_agent_port(const csf_server *s)
{
	return s ? csf_net_server_port(s->agents, 0) : 0;
}

const char *csf_server_ca_sha256(const csf_server *s)
{
	return s ? s->ca.sha256 : NULL;
}

void csf_server_free(csf_server *s)
{
	size_t i;

	if (!s)
		return;
	if (s->tick)
		event_free(s->tick);
	/* calls end as their servers go, and their handlers still report to
	 * the writer and the feed; then the writer commits what it holds */
	csf_net_server_free(s->agents);
	csf_net_server_free(s->http); /* joins the REST workers */
	if (s->rest_dbs)
		for (i = 0; i < s->o.rest_workers; i++)
			csf__db_close(s->rest_dbs[i]);
	csf__free(s->rest_dbs);
	csf__ingest_stop(s->ingest);
	csf__feed_free(s);
	csf__sessions_free(s);
	csf_net_loop_free(s->loop);
	csf__db_close(s->db);
	csf__ca_free(&s->ca);
	csf__free(s->server_cert_pem);
	csf__free(s->server_key_pem);
	csf__free(s->ca_pem);
	for (i = 0; i < s->agent_names_count; i++)
		csf__free(s->agent_names[i]);
	csf__free(s->agent_names);
	csf__free(s->data_dir);
	csf__free(s->db_url);
	csf__free(s->http_listen);
	csf__free(s->agent_listen);
	csf__free(s->web_root);
	csf__free(s->allowed_origins);
	csf__free(s->agent_files_dir);
	csf__free(s->public_url);
	csf__free(s->agent_public_url);
	csf__free(s);
}
