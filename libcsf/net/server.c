/* csf_net_server: listeners, the method table, connection limits, shutdown. */
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "net/http1.h"
#include "net/internal.h"

struct csf__route_entry {
	csf__http_handler h;
	void *payload;
	int pooled;
	char *method;
	char *pattern;
};

struct csf__listener {
	csf_net_server *srv;
	struct evconnlistener *evl;
	SSL_CTX *ssl_ctx; /* NULL: cleartext */
	int port;
};

struct csf__ip_count {
	uint8_t key[16];
	uint32_t count;
	uint8_t used; /* 1 live, 2 tombstone */
};

int csf__conn_accept(csf_net_server *s, SSL_CTX *ssl_ctx, evutil_socket_t fd,
		     const struct sockaddr *sa, int salen);

int csf_net_server_options_init(csf_net_server_options *opts, unsigned int version)
{
	if (!opts || version != CSF_NET_SERVER_OPTIONS_VERSION)
		return csf__misuse("csf_net_server_options_init: unknown version %u", version);
	*opts = (csf_net_server_options)CSF_NET_SERVER_OPTIONS_INIT;
	return 0;
}

#define DEFAULT(field, value) \
	do { \
		if (!o->field) \
			o->field = (value); \
	} while (0)

static void fill_defaults(csf_net_server_options *o)
{
	DEFAULT(max_message_bytes, CSF__NET_DEFAULT_MAX_MESSAGE);
	DEFAULT(max_header_list_bytes, 16u << 10);
	DEFAULT(max_concurrent_streams, 100);
	DEFAULT(max_connections, 100000);
	DEFAULT(max_connections_per_ip, 1000);
	DEFAULT(handshake_timeout_ms, 10000);
	DEFAULT(idle_timeout_ms, 300000);
	DEFAULT(max_output_bytes, 1u << 20);
	DEFAULT(keepalive_ms, 60000);
	DEFAULT(keepalive_timeout_ms, 20000);
}

int csf_net_server_new(csf_net_server **out, csf_net_loop *loop, const csf_net_server_options *opts)
{
	csf_net_server *s;

	if (!out || !loop)
		return csf__misuse("csf_net_server_new: out and loop are required");
	*out = NULL;
	if (opts && opts->version != CSF_NET_SERVER_OPTIONS_VERSION)
		return csf__misuse("csf_net_server_new: unknown options version %u", opts->version);
	s = csf__calloc(1, sizeof(*s));
	if (!s)
		return CSF_ENOMEM;
	s->loop = loop;
	if (opts)
		s->opts = *opts;
	else
		s->opts = (csf_net_server_options)CSF_NET_SERVER_OPTIONS_INIT;
	fill_defaults(&s->opts);
	*out = s;
	return 0;
}

static int valid_method_path(const char *p)
{
	const char *slash;

	/* "/package.Service/Method" */
	if (!p || p[0] != '/' || !(slash = strchr(p + 1, '/')) || slash == p + 1 || !slash[1] ||
	    strchr(slash + 1, '/'))
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

int csf_net_server_add_method(csf_net_server *s, const char *path, unsigned int flags,
			      const csf_net_call_handlers *h, void *payload)
{
	csf__method *m;

	if (!s || !h || !valid_method_path(path))
		return csf__misuse("csf_net_server_add_method: server, handlers and a /package.Service/Method path are required");
	if (csf__server_find_method(s, path, strlen(path)))
		return csf__error_set(CSF_EEXISTS, "net: method %s is already served", path);
	/* each method is its own allocation: calls keep pointers to it */
	if (CSF__ARRAY_RESERVE(s->methods, s->methods_cap, s->methods_n + 1))
		return CSF_ENOMEM;
	m = csf__calloc(1, sizeof(*m));
	if (!m)
		return CSF_ENOMEM;
	m->path = csf__strdup(path);
	if (!m->path) {
		csf__free(m);
		return CSF_ENOMEM;
	}
	m->flags = flags;
	m->h = *h;
	m->payload = payload;
	s->methods[s->methods_n++] = m;
	return 0;
}

const csf__method *csf__server_find_method(const csf_net_server *s, const char *path, size_t len)
{
	size_t i;

	for (i = 0; i < s->methods_n; i++)
		if (strlen(s->methods[i]->path) == len && memcmp(s->methods[i]->path, path, len) == 0)
			return s->methods[i];
	return NULL;
}

int csf_net_server_add_websocket(csf_net_server *s, const char *http_path, const char *subprotocol,
				 const char *method)
{
	const csf__method *m;
	csf__ws_route *r;

	if (!s || !http_path || http_path[0] != '/' || !method)
		return csf__misuse("csf_net_server_add_websocket: server, an absolute path and a method are required");
	m = csf__server_find_method(s, method, strlen(method));
	if (!m)
		return csf__error_set(CSF_ENOTFOUND, "net: method %s is not served", method);
	if (csf__server_find_ws(s, http_path))
		return csf__error_set(CSF_EEXISTS, "net: %s already serves WebSocket sessions", http_path);
	if (CSF__ARRAY_RESERVE(s->ws, s->ws_cap, s->ws_n + 1))
		return CSF_ENOMEM;
	r = &s->ws[s->ws_n];
	memset(r, 0, sizeof(*r));
	r->http_path = csf__strdup(http_path);
	r->subprotocol = subprotocol ? csf__strdup(subprotocol) : NULL;
	if (!r->http_path || (subprotocol && !r->subprotocol)) {
		csf__free(r->http_path);
		csf__free(r->subprotocol);
		return CSF_ENOMEM;
	}
	r->method = m;
	s->ws_n++;
	return 0;
}

int csf__net_server_add_websocket_text(csf_net_server *s, const char *http_path, const char *subprotocol,
				       const char *method)
{
	int rc = csf_net_server_add_websocket(s, http_path, subprotocol, method);

	if (!rc)
		s->ws[s->ws_n - 1].text = 1;
	return rc;
}

static int add_route(csf_net_server *s, const char *method, const char *pattern, csf__http_handler h,
		     void *payload, int pooled)
{
	struct csf__route_entry *e;
	int rc;

	if (!s || !method || !pattern || !h)
		return csf__misuse("csf__net_server_add_route: server, method, pattern and handler are required");
	if (!s->routes && (rc = csf__router_new(&s->routes)) != 0)
		return rc;
	if (CSF__ARRAY_RESERVE(s->route_entries, s->route_entries_cap, s->route_entries_n + 1))
		return CSF_ENOMEM;
	e = csf__calloc(1, sizeof(*e));
	if (!e)
		return CSF_ENOMEM;
	e->h = h;
	e->payload = payload;
	e->pooled = pooled;
	e->method = csf__strdup(method);
	e->pattern = csf__strdup(pattern);
	rc = e->method && e->pattern ? csf__router_add(s->routes, method, pattern, e) : CSF_ENOMEM;
	if (rc) {
		csf__free(e->method);
		csf__free(e->pattern);
		csf__free(e);
		return rc;
	}
	s->route_entries[s->route_entries_n++] = e;
	return 0;
}

int csf__net_server_add_route(csf_net_server *s, const char *method, const char *pattern,
			      csf__http_handler h, void *payload)
{
	return add_route(s, method, pattern, h, payload, 0);
}

int csf__net_server_add_pooled_route(csf_net_server *s, const char *method, const char *pattern,
				     csf__http_handler h, void *payload)
{
	return add_route(s, method, pattern, h, payload, 1);
}

int csf__net_server_set_pool(csf_net_server *s, size_t n, void **workers, void (*after)(void *worker))
{
	if (!s || !n || s->pool)
		return csf__misuse("csf__net_server_set_pool: a server without a pool and n > 0 are required");
	return csf__pool_new(&s->pool, s->loop, n, workers, after);
}

size_t csf__net_server_route_count(const csf_net_server *s)
{
	return s ? s->route_entries_n : 0;
}

int csf__net_server_route(const csf_net_server *s, size_t i, const char **method, const char **pattern)
{
	const struct csf__route_entry *e;

	if (!s || i >= s->route_entries_n)
		return csf__error_set(CSF_ENOTFOUND, "net: no route %zu", i);
	e = s->route_entries[i];
	*method = e->method;
	*pattern = e->pattern;
	return 0;
}

void csf__net_server_pool_stats(csf_net_server *s, csf__pool_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (s->pool)
		csf__pool_get_stats(s->pool, out);
}

void csf__net_server_submit(csf_net_server *s, csf__pool_job *job)
{
	csf__pool_submit(s->pool, job);
}

/* Whether the matched route runs on the pool (see http_conn.c). */
int csf__route_entry_pooled(const csf_net_server *s, const void *entry)
{
	return s->pool && ((const struct csf__route_entry *)entry)->pooled;
}

/* The handler of the route that matched (see http_conn.c). */
void csf__route_entry_call(void *entry, csf__http_exchange *x, const csf__http_request *req,
			   const csf__http_params *params)
{
	struct csf__route_entry *e = entry;

	e->h(x, req, params, e->payload);
}

const csf__ws_route *csf__server_find_ws(const csf_net_server *s, const char *path)
{
	size_t i;

	for (i = 0; i < s->ws_n; i++)
		if (strcmp(s->ws[i].http_path, path) == 0)
			return &s->ws[i];
	return NULL;
}

static void on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	csf__listener *l = arg;

	(void)evl;
	if (l->srv->shutting_down) {
		evutil_closesocket(fd);
		return;
	}
	/* a failure here (limit, memory) closes fd; nothing else to do */
	if (csf__conn_accept(l->srv, l->ssl_ctx, fd, sa, salen) != 0)
		csf__log(CSF_LOG_DEBUG, "net", "connection refused: %s", csf_error_last()->message);
}

static void on_accept_error(struct evconnlistener *evl, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();

	(void)evl;
	(void)arg;
	/* EMFILE and friends: keep listening; the next accept may succeed */
	csf__log(CSF_LOG_WARN, "net", "accept failed: %s", evutil_socket_error_to_string(e));
}

/* "ADDR:PORT" with port 0 allowed (libevent's parser refuses it). */
static int parse_address(const char *address, struct sockaddr_storage *ss, int *len)
{
	char buf[128];
	size_t n = strlen(address);

	if (n < 2 || n >= sizeof(buf) - 1)
		return -1;
	if (strcmp(address + n - 2, ":0") != 0)
		return evutil_parse_sockaddr_port(address, (struct sockaddr *)ss, len);
	memcpy(buf, address, n - 1);
	memcpy(buf + n - 1, "1", 2);
	if (evutil_parse_sockaddr_port(buf, (struct sockaddr *)ss, len) != 0)
		return -1;
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = 0;
	else
		((struct sockaddr_in *)ss)->sin_port = 0;
	return 0;
}

int csf_net_server_listen(csf_net_server *s, const char *address, const csf_net_tls_options *tls)
{
	struct sockaddr_storage ss;
	int sslen = (int)sizeof(ss);
	csf__listener *l;
	int rc;

	if (!s || !address)
		return csf__misuse("csf_net_server_listen: server and address are required");
	if (!tls && !s->opts.allow_insecure)
		return csf__error_set(CSF_EINVALID,
				      "net: %s: a listener without TLS needs allow_insecure (development only)", address);
	memset(&ss, 0, sizeof(ss));
	if (parse_address(address, &ss, &sslen) != 0)
		return csf__error_set(CSF_EINVALID, "net: cannot parse listen address '%s' (want ADDR:PORT)", address);
	if (CSF__ARRAY_RESERVE(s->listeners, s->listeners_cap, s->listeners_n + 1))
		return CSF_ENOMEM;
	l = csf__calloc(1, sizeof(*l));
	if (!l)
		return CSF_ENOMEM;
	l->srv = s;
	if (tls) {
		rc = csf__tls_server_ctx_new(&l->ssl_ctx, tls);
		if (rc) {
			csf__free(l);
			return rc;
		}
	}
	l->evl = evconnlistener_new_bind(csf__net_loop_base(s->loop), on_accept, l,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
					 4096, (struct sockaddr *)&ss, sslen);
	if (!l->evl) {
		int e = EVUTIL_SOCKET_ERROR();

		SSL_CTX_free(l->ssl_ctx);
		csf__free(l);
		return csf__error_set(CSF_EIO, "net: cannot listen on %s: %s", address,
				      evutil_socket_error_to_string(e));
	}
	evconnlistener_set_error_cb(l->evl, on_accept_error);
	{
		struct sockaddr_storage bound;
		socklen_t blen = sizeof(bound);
		evutil_socket_t fd = evconnlistener_get_fd(l->evl);

		if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
			l->port = bound.ss_family == AF_INET6
				? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
				: ntohs(((struct sockaddr_in *)&bound)->sin_port);
	}
	s->listeners[s->listeners_n++] = l;
	return 0;
}

int csf_net_server_port(const csf_net_server *s, size_t n)
{
	return s && n < s->listeners_n ? s->listeners[n]->port : 0;
}

size_t csf_net_server_connections(const csf_net_server *s)
{
	return s ? s->conns_n : 0;
}

/* ------------------------------------------------- connections per address */

static uint32_t ip_hash(const uint8_t k[16])
{
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

static csf__ip_count *ip_slot(csf_net_server *s, const uint8_t key[16], int insert)
{
	size_t mask = s->ips_cap - 1, i = ip_hash(key) & mask;
	csf__ip_count *tomb = NULL;

	for (;; i = (i + 1) & mask) {
		csf__ip_count *e = &s->ips[i];

		if (!e->used)
			return insert ? (tomb ? tomb : e) : NULL;
		if (e->used == 2) {
			if (!tomb)
				tomb = e;
		} else if (memcmp(e->key, key, 16) == 0) {
			return e;
		}
	}
}

static int ip_grow(csf_net_server *s)
{
	csf__ip_count *old = s->ips;
	size_t old_cap = s->ips_cap, i;

	s->ips_cap = old_cap ? old_cap * 2 : 64;
	s->ips = csf__calloc(s->ips_cap, sizeof(*s->ips));
	if (!s->ips) {
		s->ips = old;
		s->ips_cap = old_cap;
		return CSF_ENOMEM;
	}
	s->ips_used = 0;
	for (i = 0; i < old_cap; i++) {
		if (old[i].used == 1) {
			*ip_slot(s, old[i].key, 1) = old[i];
			s->ips_used++;
		}
	}
	csf__free(old);
	return 0;
}

int csf__server_ip_acquire(csf_net_server *s, const uint8_t key[16])
{
	csf__ip_count *e;

	if (s->conns_n >= s->opts.max_connections)
		return csf__error_set(CSF_ELIMIT, "net: %u connections already open", s->opts.max_connections);
	if ((s->ips_used + 1) * 2 > s->ips_cap && ip_grow(s) != 0)
		return CSF_ENOMEM;
	e = ip_slot(s, key, 1);
	if (e->used != 1) {
		memcpy(e->key, key, 16);
		e->count = 0;
		if (!e->used)
			s->ips_used++;
		e->used = 1;
	}
	if (e->count >= s->opts.max_connections_per_ip)
		return csf__error_set(CSF_ELIMIT, "net: %u connections already open from this address",
				      s->opts.max_connections_per_ip);
	e->count++;
	return 0;
}

void csf__server_ip_release(csf_net_server *s, const uint8_t key[16])
{
	csf__ip_count *e = s->ips_cap ? ip_slot(s, key, 0) : NULL;

	if (e && e->count && --e->count == 0)
		e->used = 2;
}

/* ------------------------------------------------------------- shutdown */

static void maybe_done(csf_net_server *s)
{
	void (*done)(csf_net_server *, void *) = s->done;

	if (!s->shutting_down || s->conns_n || !done)
		return;
	s->done = NULL;
	if (s->drain_timer)
		evtimer_del(s->drain_timer);
	done(s, s->done_payload);
}

void csf__server_conn_gone(csf_net_server *s, csf__conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->conns_n--;
	maybe_done(s);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	csf_net_server *s = arg;
	csf__conn *c;

	(void)fd;
	(void)what;
	for (c = s->conns; c; c = c->next)
		csf__conn_close(c, "server shutting down");
}

void csf_net_server_shutdown(csf_net_server *s, uint32_t drain_ms,
			     void (*done)(csf_net_server *server, void *payload), void *payload)
{
	struct timeval tv = { drain_ms / 1000, (drain_ms % 1000) * 1000 };
	csf__conn *c;
	size_t i;

	if (!s || s->shutting_down)
		return;
	s->shutting_down = 1;
	s->done = done;
	s->done_payload = payload;
	/* close the listening sockets: new clients are refused at once and
	 * can go to another replica */
	for (i = 0; i < s->listeners_n; i++) {
		evconnlistener_free(s->listeners[i]->evl);
		s->listeners[i]->evl = NULL;
	}
	for (c = s->conns; c; c = c->next)
		csf__conn_drain(c);
	s->drain_timer = evtimer_new(csf__net_loop_base(s->loop), on_drain_timeout, s);
	if (s->drain_timer)
		evtimer_add(s->drain_timer, &tv);
	else
		on_drain_timeout(-1, 0, s);
	maybe_done(s);
}

void csf_net_server_free(csf_net_server *s)
{
	size_t i;

	if (!s)
		return;
	s->done = NULL;
	csf__pool_free(s->pool); /* before the connections and routes its jobs use */
	s->pool = NULL;
	while (s->conns)
		csf__conn_free_now(s->conns);
	for (i = 0; i < s->listeners_n; i++) {
		if (s->listeners[i]->evl)
			evconnlistener_free(s->listeners[i]->evl);
		SSL_CTX_free(s->listeners[i]->ssl_ctx);
		csf__free(s->listeners[i]);
	}
	csf__free(s->listeners);
	for (i = 0; i < s->methods_n; i++) {
		csf__free(s->methods[i]->path);
		csf__free(s->methods[i]);
	}
	csf__free(s->methods);
	for (i = 0; i < s->ws_n; i++) {
		csf__free(s->ws[i].http_path);
		csf__free(s->ws[i].subprotocol);
	}
	csf__free(s->ws);
	for (i = 0; i < s->route_entries_n; i++) {
		struct csf__route_entry *e = s->route_entries[i];

		csf__free(e->method);
		csf__free(e->pattern);
		csf__free(e);
	}
	csf__free(s->route_entries);
	csf__router_free(s->routes);
	csf__free(s->static_root);
	csf__free(s->ips);
	if (s->drain_timer)
		event_free(s->drain_timer);
	csf__free(s);
}
