/*
 * /api/v1/ws: the browser's live feed (subprotocol "csf.feed.v1", JSON in
 * text frames). The page's Origin must be the server's own or an allowed
 * one; the first message authenticates ({"type":"auth","token":"..."}: a
 * token never goes in a URL); then the client subscribes to topics:
 *   "agents"          agent status changes (online, offline, revoked)
 *   "metrics"         the latest metrics of every agent
 *   "metrics:<id>"    the latest metrics of one agent
 * Events go only to clients of the agent's organization. Sending never
 * blocks: a browser that does not keep up loses events, and one that stays
 * behind for long is closed (RESOURCE_EXHAUSTED) so it reconnects fresh.
 * A client's credentials are checked again every RECHECK_MS, and within a
 * second of a logout, a user's change or an API key's revocation: a client
 * whose session or key no longer holds is closed (UNAUTHENTICATED), and a
 * changed role applies at once.
 */
#include <string.h>

#include <jansson.h>

#include "server/internal.h"

#define FEED_METHOD "/csf.internal.Feed/Subscribe"
#define AUTH_DEADLINE_MS 10000
#define RECHECK_MS 30000
#define MAX_AGENT_TOPICS 32
#define DROPS_BEFORE_CLOSE 1000

typedef struct client {
	struct client *prev, *next;
	csf_net_call *call;
	csf__principal who;
	uint64_t opened_ms, checked_ms;
	uint64_t dropped;
	char token_sha256[65];
	unsigned authed : 1, agents : 1, metrics_all : 1;
	size_t n_agent_topics;
	char agent_topics[MAX_AGENT_TOPICS][CSF__ID_LEN];
} client;

struct csf__feed {
	client *clients;
	size_t n;
	struct event *tick;
	int recheck;  /* every client's credentials, on the next tick */
};

size_t csf__feed_clients(const csf_server *s)
{
	return s->feed ? s->feed->n : 0;
}

static void send_json(client *c, csf__buf *b)
{
	if (csf_net_call_send(c->call, b->ptr, b->len) != 0) {
		/* the browser is behind: this event is lost for it */
		if (++c->dropped == DROPS_BEFORE_CLOSE)
			csf_net_call_finish(c->call, CSF_NET_RESOURCE_EXHAUSTED, "too slow for the live feed; reconnect");
	}
}

static void send_error(client *c, const char *message)
{
	csf__buf b = CSF__BUF_INIT(4096);
	csf__json j;

	csf__json_init(&j, &b);
	csf__json_begin_object(&j);
	csf__json_key(&j, "type"); csf__json_string(&j, "error");
	csf__json_key(&j, "message"); csf__json_string(&j, message);
	csf__json_end_object(&j);
	if (csf__json_finish(&j) == 0)
		send_json(c, &b);
	csf__buf_free(&b);
}

/* Origin: absent (not a browser), the server's own (Host), or allowed. */
static int origin_ok(const csf_server *s, csf_net_call *call)
{
	const char *origin = csf_net_call_metadata(call, "origin");
	const char *host = csf_net_call_metadata(call, "host");
	const char *p;
	size_t n;

	if (!origin)
		return 1;
	p = strstr(origin, "://");
	if (p && host && strcmp(p + 3, host) == 0)
		return 1;
	for (p = s->allowed_origins; p && *p; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		if (n == strlen(origin) && strncmp(p, origin, n) == 0)
			return 1;
	}
	return 0;
}

static int feed_start(csf_net_call *call, void *payload)
{
	csf_server *s = payload;
	client *c;

	if (!origin_ok(s, call)) {
		csf__log(CSF_LOG_INFO, "server", "live feed refused for origin %s", csf_net_call_metadata(call, "origin"));
		return CSF_NET_PERMISSION_DENIED;
	}
	c = csf__calloc(1, sizeof(*c));
	if (!c)
		return CSF_NET_RESOURCE_EXHAUSTED;
	c->call = call;
	c->opened_ms = csf__time_mono_ms();
	c->next = s->feed->clients;
	if (c->next)
		c->next->prev = c;
	s->feed->clients = c;
	s->feed->n++;
	csf_net_call_set_user_data(call, c);
	return CSF_NET_OK;
}

static void hello(client *c)
{
	csf__buf b = CSF__BUF_INIT(4096);
	csf__json j;

	csf__json_init(&j, &b);
	csf__json_begin_object(&j);
	csf__json_key(&j, "type"); csf__json_string(&j, "hello");
	csf__json_key(&j, "user"); csf__json_string(&j, c->who.name);
	csf__json_key(&j, "role"); csf__json_string(&j, c->who.role);
	csf__json_key(&j, "organization_id"); csf__json_string(&j, c->who.org_id);
	csf__json_end_object(&j);
	if (csf__json_finish(&j) == 0)
		send_json(c, &b);
	csf__buf_free(&b);
}

int csf__feed_parse(const unsigned char *data, size_t len, csf__feed_msg *m)
{
	json_error_t err;
	const char *type;

	memset(m, 0, sizeof(*m));
	m->root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &err);
	type = json_string_value(json_object_get(m->root, "type"));
	if (!type)
		return m->kind = CSF__FEED_INVALID;
	if (strcmp(type, "auth") == 0) {
		m->token = json_string_value(json_object_get(m->root, "token"));
		m->kind = m->token ? CSF__FEED_AUTH : CSF__FEED_INVALID;
	} else if (strcmp(type, "subscribe") == 0 || strcmp(type, "unsubscribe") == 0) {
		m->topics = json_object_get(m->root, "topics");
		m->kind = !json_is_array(m->topics) ? CSF__FEED_INVALID
			  : type[0] == 's' ? CSF__FEED_SUBSCRIBE : CSF__FEED_UNSUBSCRIBE;
	} else {
		m->kind = strcmp(type, "ping") == 0 ? CSF__FEED_PING : CSF__FEED_UNKNOWN;
	}
	return m->kind;
}

void csf__feed_msg_free(csf__feed_msg *m)
{
	json_decref(m->root);
	m->root = NULL;
}

int csf__feed_topic(const char *name, char agent_id[CSF__ID_LEN])
{
	agent_id[0] = '\0';
	if (strcmp(name, "agents") == 0)
		return CSF__TOPIC_AGENTS;
	if (strcmp(name, "metrics") == 0)
		return CSF__TOPIC_METRICS;
	if (strncmp(name, "metrics:", 8) == 0 && name[8] && strlen(name + 8) < CSF__ID_LEN) {
		snprintf(agent_id, CSF__ID_LEN, "%s", name + 8);
		return CSF__TOPIC_AGENT_METRICS;
	}
	return -1;
}

static void topics(client *c, json_t *list, int on)
{
	char id[CSF__ID_LEN];
	size_t i, k;
	json_t *t;

	json_array_foreach(list, i, t) {
		switch (json_is_string(t) ? csf__feed_topic(json_string_value(t), id) : -1) {
		case CSF__TOPIC_AGENTS:
			c->agents = on;
			break;
		case CSF__TOPIC_METRICS:
			c->metrics_all = on;
			break;
		case CSF__TOPIC_AGENT_METRICS:
			for (k = 0; k < c->n_agent_topics && strcmp(c->agent_topics[k], id) != 0; k++)
				;
			if (on && k == c->n_agent_topics && k < MAX_AGENT_TOPICS)
				memcpy(c->agent_topics[c->n_agent_topics++], id, CSF__ID_LEN);
			else if (!on && k < c->n_agent_topics)
				memmove(c->agent_topics[k], c->agent_topics[k + 1],
					(--c->n_agent_topics - k) * sizeof(c->agent_topics[0]));
			break;
		default:
			send_error(c, "unknown topic (agents, metrics, metrics:<agent id>)");
		}
	}
}

static int feed_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	static const char pong[] = "{\"type\":\"pong\"}";
	csf_server *s = payload;
	client *c = csf_net_call_user_data(call);
	const char *why = "the first message must be {\"type\":\"auth\",\"token\":\"...\"}";
	csf__feed_msg m;

	switch (csf__feed_parse(data, len, &m)) {
	case CSF__FEED_AUTH:
		if (!c->authed && csf__auth_token(s->db, m.token, &c->who, &why, c->token_sha256) == 0) {
			c->authed = 1;
			c->checked_ms = csf__time_mono_ms();
			hello(c);
			break;
		}
		/* fall through */
	default:
		if (!c->authed)
			csf_net_call_finish(call, CSF_NET_UNAUTHENTICATED, why);
		else if (m.kind == CSF__FEED_INVALID)
			send_error(c, "messages are JSON objects with a \"type\"; subscribe and unsubscribe "
				      "take \"topics\": [...]");
		else
			send_error(c, "unknown message type");
		break;
	case CSF__FEED_SUBSCRIBE:
	case CSF__FEED_UNSUBSCRIBE:
		if (!c->authed)
			csf_net_call_finish(call, CSF_NET_UNAUTHENTICATED, why);
		else
			topics(c, m.topics, m.kind == CSF__FEED_SUBSCRIBE);
		break;
	case CSF__FEED_PING:
		if (!c->authed)
			csf_net_call_finish(call, CSF_NET_UNAUTHENTICATED, why);
		else
			csf_net_call_send(call, pong, sizeof(pong) - 1);
		break;
	}
	csf__feed_msg_free(&m);
	return 0;
}

static void feed_end(csf_net_call *call, int status, const char *message, void *payload)
{
	csf_server *s = payload;
	client *c = csf_net_call_user_data(call);

	(void)status;
	(void)message;
	if (!c || !s->feed)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->feed->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->feed->n--;
	csf_net_call_set_user_data(call, NULL);
	csf__free(c);
}

void csf__feed_recheck(csf_server *s)
{
	if (s->feed)
		s->feed->recheck = 1;
}

/* The client's session or API key again; it is closed when that no longer
 * holds (a database that cannot answer keeps it open). */
static void check_again(csf_server *s, client *c, uint64_t now)
{
	csf__principal who;
	const char *why = NULL;
	int rc = csf__auth_hash(s->db, c->who.is_key, c->token_sha256, &who, &why);

	c->checked_ms = now;
	if (rc == CSF_EAUTH)
		csf_net_call_finish(c->call, CSF_NET_UNAUTHENTICATED, why ? why : "the session ended");
	else if (!rc)
		c->who = who;
}

/* Clients that did not authenticate in time are closed; the others'
 * credentials are checked again when due. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	csf_server *s = arg;
	uint64_t now = csf__time_mono_ms();
	int all = s->feed->recheck;
	client *c, *next;

	(void)fd;
	(void)what;
	s->feed->recheck = 0;
	for (c = s->feed->clients; c; c = next) {
		next = c->next;
		if (!c->authed && now - c->opened_ms > AUTH_DEADLINE_MS)
			csf_net_call_finish(c->call, CSF_NET_UNAUTHENTICATED, "no auth message in time");
		else if (c->authed && (all || now - c->checked_ms >= RECHECK_MS))
			check_again(s, c, now);
	}
}

int csf__feed_start(csf_server *s)
{
	static const csf_net_call_handlers h = { feed_start, feed_message, NULL, NULL, feed_end };
	struct timeval sec = { 1, 0 };
	int rc;

	s->feed = csf__calloc(1, sizeof(*s->feed));
	if (!s->feed)
		return CSF_ENOMEM;
	rc = csf_net_server_add_method(s->http, FEED_METHOD, CSF__METHOD_WEBSOCKET_ONLY, &h, s);
	if (!rc)
		rc = csf__net_server_add_websocket_text(s->http, "/api/v1/ws", "csf.feed.v1", FEED_METHOD);
	if (!rc) {
		s->feed->tick = event_new(csf__net_loop_base(s->loop), -1, EV_PERSIST, on_tick, s);
		if (!s->feed->tick || event_add(s->feed->tick, &sec) != 0)
			rc = csf__error_set(CSF_ENOMEM, "feed: cannot start its timer");
	}
	return rc;
}

void csf__feed_agent_status(csf_server *s, const char *org_id, const char *agent_id, const char *status)
{
	csf__buf b = CSF__BUF_INIT(4096);
	csf__json j;
	client *c;

	if (!s->feed || !s->feed->clients)
		return;
	csf__json_init(&j, &b);
	csf__json_begin_object(&j);
	csf__json_key(&j, "type"); csf__json_string(&j, "agent");
	csf__json_key(&j, "id"); csf__json_string(&j, agent_id);
	csf__json_key(&j, "status"); csf__json_string(&j, status);
	csf__json_key(&j, "t"); csf__json_i64(&j, csf__now_ms());
	csf__json_end_object(&j);
	if (csf__json_finish(&j) == 0)
		for (c = s->feed->clients; c; c = c->next)
			if (c->authed && c->agents && strcmp(c->who.org_id, org_id) == 0)
				send_json(c, &b);
	csf__buf_free(&b);
}

static int wants_metrics(const client *c, const char *org_id, const char *agent_id)
{
	size_t k;

	if (!c->authed || strcmp(c->who.org_id, org_id) != 0)
		return 0;
	if (c->metrics_all)
		return 1;
	for (k = 0; k < c->n_agent_topics; k++)
		if (strcmp(c->agent_topics[k], agent_id) == 0)
			return 1;
	return 0;
}

void csf__feed_agent_metrics(csf_server *s, const char *org_id, const char *agent_id,
			     const Csf__V1__MetricsSnapshot *m)
{
	csf__buf b = CSF__BUF_INIT(1u << 16);
	uint64_t disk_total = 0, disk_used = 0;
	csf__json j;
	client *c;
	size_t i;

	if (!s->feed)
		return;
	for (c = s->feed->clients; c && !wants_metrics(c, org_id, agent_id); c = c->next)
		;
	if (!c)
		return; /* nobody listens: no JSON to build */
	for (i = 0; i < m->n_filesystems; i++) {
		disk_total += m->filesystems[i]->total_bytes;
		disk_used += m->filesystems[i]->used_bytes;
	}
	csf__json_init(&j, &b);
	csf__json_begin_object(&j);
	csf__json_key(&j, "type"); csf__json_string(&j, "metrics");
	csf__json_key(&j, "id"); csf__json_string(&j, agent_id);
	csf__json_key(&j, "t"); csf__json_i64(&j, m->timestamp_ms ? m->timestamp_ms : csf__now_ms());
	csf__json_key(&j, "cpu_percent"); csf__json_double(&j, m->cpu && m->cpu->total ? m->cpu->total->usage : 0);
	csf__json_key(&j, "memory_used"); csf__json_u64(&j, m->memory ? m->memory->used : 0);
	csf__json_key(&j, "memory_total"); csf__json_u64(&j, m->memory ? m->memory->total : 0);
	csf__json_key(&j, "disk_used"); csf__json_u64(&j, disk_used);
	csf__json_key(&j, "disk_total"); csf__json_u64(&j, disk_total);
	csf__json_key(&j, "network_rx_rate"); csf__json_double(&j, m->rx_total ? m->rx_total->bytes_per_sec : 0);
	csf__json_key(&j, "network_tx_rate"); csf__json_double(&j, m->tx_total ? m->tx_total->bytes_per_sec : 0);
	csf__json_key(&j, "load1"); csf__json_double(&j, m->cpu ? m->cpu->load1 : 0);
	csf__json_end_object(&j);
	if (csf__json_finish(&j) == 0)
		for (; c; c = c->next)
			if (wants_metrics(c, org_id, agent_id))
				send_json(c, &b);
	csf__buf_free(&b);
}

void csf__feed_free(csf_server *s)
{
	if (!s->feed)
		return;
	if (s->feed->tick)
		event_free(s->feed->tick);
	/* the clients go with their calls (the HTTP server is freed after) */
	s->feed->clients = NULL;
	csf__free(s->feed);
	s->feed = NULL;
}
