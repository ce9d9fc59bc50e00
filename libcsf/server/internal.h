/*
 * The server runtime's private structures. One event loop thread runs the
 * listeners, agent sessions, REST handlers and the live feed; one writer
 * thread (ingest.c) batches everything agents send into transactions and
 * hands back what it committed, so acks follow commits.
 */
#ifndef CSF_SERVER_INTERNAL_H
#define CSF_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/internal.h"
#include "csf/net.h"
#include "csf/server.h"
#include "net/http1.h"
#include "net/internal.h"
#include "proto/envelope.h"
#include "store/db.h"

#define CSF__ID_LEN 33       /* 32 hex + NUL */
#define CSF__BOOT_ID_MAX 129

typedef struct csf__ingest csf__ingest;
typedef struct csf__session csf__session;
typedef struct csf__feed csf__feed;

/* What ingest counts for /metrics (written by both threads: atomics). */
typedef struct csf__server_stats {
	uint64_t messages_received;
	uint64_t rows_committed;
	uint64_t duplicates_skipped;
	uint64_t batches_committed;
	uint64_t commit_failures;
	uint64_t commit_us_total;     /* time spent committing */
	uint64_t enrollments;
	uint64_t enrollment_failures;
	uint64_t http_requests;
	uint64_t snapshots_written;   /* agent_snapshots upserts committed */
	uint64_t snapshot_failures;   /* snapshot writes that did not commit (not retried) */
} csf__server_stats;

/* Failed attempts per address (limit.c). */
typedef struct csf__rate_limit {
	char addr[64];
	uint64_t window_start_ms;
	uint32_t failures;
} csf__rate_limit;

int csf__limit_blocked(csf__rate_limit *t, size_t n, const char *addr);
void csf__limit_failed(csf__rate_limit *t, size_t n, const char *addr);
/* The address part of "ip:port" / "[ip]:port". */
void csf__addr_only(const char *peer, char *out, size_t cap);

struct csf_server {
	csf_server_options o;          /* strings point at our copies below */
	char *data_dir, *db_url, *http_listen, *agent_listen, *web_root, *allowed_origins;
	char *agent_files_dir, *public_url, *agent_public_url;
	char **agent_names;
	size_t agent_names_count;

	csf_net_loop *loop;
	csf_net_server *agents;        /* agent listener: gRPC + WebSocket, TLS */
	csf_net_server *http;          /* REST, live feed, dashboard */
	csf__db *db;                   /* the loop thread's connection */
	csf__db **rest_dbs;            /* one per REST worker (rest_workers) */
	csf__ca ca;
	char *server_cert_pem, *server_key_pem;
	char *ca_pem;
	char default_org[CSF__ID_LEN];

	csf__ingest *ingest;
	csf__session **sessions;       /* open-addressing table by agent id */
	size_t sessions_cap, sessions_n;
	csf__feed *feed;

	csf__rate_limit enroll_limits[64];
	csf__rate_limit login_limits[64];
	struct event *tick;            /* once a second: heartbeats, offline, scheduler */
	uint64_t last_rollup_ms, last_retention_ms;
	int upkeep_running;            /* a rollup/retention turn is on a worker */
	/* the oldest sample written since the last rollup (INT64_MAX: none) */
	int64_t rollup_dirty_from;
	uint64_t started_ms;
	csf__server_stats stats;
	int stopping;
};

/* ------------------------------------------------------------ bootstrap */

/* First start: organization "default", user "admin". Loads the CA and makes
 * the agent listener's certificate. */
int csf__server_bootstrap(csf_server *s);
/* The id of an organization by name, into `out`. CSF_ENOTFOUND. */
int csf__server_org_id(csf__db *db, const char *name, char out[CSF__ID_LEN]);
/* Shared by the CLI and the REST API. */
int csf__server_token_create(csf__db *db, const csf__ca *ca, const char *org_id, uint32_t ttl_s, uint32_t uses,
			     const char *description, const char *created_by, char **token, char id_out[CSF__ID_LEN]);
int csf__server_apikey_create(csf__db *db, const char *org_id, const char *name, const char *role,
			      const char *created_by, char **key, char id_out[CSF__ID_LEN]);
int csf__server_audit(csf__db *db, const char *org_id, const char *actor, const char *action, const char *target,
		      const char *details_json);
int csf__valid_role(const char *role);

/* ----------------------------------------------------------- agent side */

int csf__enroll_register(csf_server *s);   /* RegisterAgent */
int csf__sessions_register(csf_server *s); /* StreamMetrics (gRPC and WebSocket) */
/* The session of an agent, or NULL. */
csf__session *csf__session_find(csf_server *s, const char *agent_id);
/* Cut an agent's live stream (revocation): GoAway then UNAUTHENTICATED. */
void csf__session_revoke(csf_server *s, const char *agent_id);
/* Once a second: heartbeat deadlines, last_heartbeat writes. */
void csf__sessions_tick(csf_server *s, uint64_t now_ms);
/* What committed (ingest.c calls this on the loop thread). */
void csf__session_acked(csf_server *s, const char *agent_id, const char *boot_id, uint64_t seq);
size_t csf__sessions_online(const csf_server *s);

/* A stream's start, checked against the database on a worker (admit.c). */
typedef struct csf__admission {
	/* in */
	int insecure;
	char cert_serial[80], cert_cn[80];
	char hello_agent_id[CSF__ID_LEN], boot_id[CSF__BOOT_ID_MAX];
	/* out: status CSF_NET_OK with the agent, or a refusal and why */
	int status;
	char why[256];
	char agent_id[CSF__ID_LEN], org_id[CSF__ID_LEN];
	uint64_t acked_seq;
} csf__admission;

void csf__admit(csf__db *db, csf__admission *a);
void csf__sessions_free(csf_server *s);

/* --------------------------------------------------------------- ingest */

typedef enum csf__ingest_kind {
	CSF__INGEST_MESSAGE = 1, /* a data AgentMessage: metrics, logs, containers, task update */
	CSF__INGEST_STATUS       /* an agent's status/heartbeat/host facts (no seq) */
} csf__ingest_kind;

/* What an agent_metrics row stores of a metrics message (and how many
 * custom metrics its JSON column holds). */
typedef struct csf__metrics_row {
	int64_t ts, mem_total, mem_used, disk_total, disk_used, rx, tx;
	double cpu;
	size_t n_custom;
} csf__metrics_row;

typedef struct csf__ingest_item {
	struct csf__ingest_item *next;
	csf__ingest_kind kind;
	char agent_id[CSF__ID_LEN];
	char org_id[CSF__ID_LEN];
	char boot_id[CSF__BOOT_ID_MAX];
	uint64_t seq;
	int64_t received_ms;
	/* The item lives in this arena, with the message decoded into it: one
	 * allocation per message rather than one per field (the loop thread
	 * decodes thousands a second). Freed by csf__ingest_item_free. */
	csf__arena arena;
	Csf__V1__AgentMessage *msg;  /* in arena: the data message, or a status's Hello */
	/* STATUS */
	const char *status;          /* "online", "offline", "error" or NULL: unchanged */
	int64_t last_heartbeat;      /* 0: unchanged */
	/* with last_heartbeat: the agent's outbox as its Hello or Heartbeat
	 * reported it (messages waiting for an ack, dropped since enrollment) */
	uint64_t outbox_depth, dropped_messages;
	Csf__V1__HostFacts *host;    /* inside msg (a Hello), may be NULL */
	char agent_version[64];
	char ip_address[64];
	/* MESSAGE with metrics, at most every few seconds per agent: the
	 * message's bytes as received (in arena), for agent_snapshots */
	const uint8_t *snapshot;
	size_t snapshot_len;
	/* MESSAGE with metrics: its row, taken by csf__ingest_push on the loop
	 * thread, which has just decoded the message (the writer's thread
	 * would read it from another core's cache) */
	csf__metrics_row row;
} csf__ingest_item;

/* A zeroed item allocated in `arena`, which it takes over (`*arena` is left
 * empty); NULL: in an arena of its own. NULL on ENOMEM (`arena` is freed). */
csf__ingest_item *csf__ingest_item_new(csf__arena *arena);

/* Start the writer thread on its own connection to `db_url`. */
int csf__ingest_start(csf_server *s, csf__ingest **out);
/* Queue an item (takes ownership). Never blocks; CSF_ELIMIT when the queue
 * is full (the caller pauses the stream). */
int csf__ingest_push(csf__ingest *in, csf__ingest_item *item);
/* Items queued and not yet committed. */
size_t csf__ingest_depth(const csf__ingest *in);
/* After `items` committed: upsert the snapshots some of them carry, in a
 * transaction of their own on the writer's `db`. Best effort: a failure is
 * logged and counted, never retried (the next snapshot replaces it). */
void csf__snapshots_store(csf_server *s, csf__db *db, const csf__ingest_item *items);
/* Commit what is queued, stop the thread, free. */
void csf__ingest_stop(csf__ingest *in);
void csf__ingest_item_free(csf__ingest_item *item);

/* --------------------------------------------------------------- REST */

/* Who is calling: from a session token or an API key. */
typedef struct csf__principal {
	char org_id[CSF__ID_LEN];
	char actor_id[CSF__ID_LEN];  /* user id or API key id */
	char name[128];              /* username or key name */
	char role[16];               /* admin, operator, viewer */
	int is_key;
} csf__principal;

typedef enum csf__role_level { CSF__VIEWER = 1, CSF__OPERATOR = 2, CSF__ADMIN = 3 } csf__role_level;

int csf__rest_register(csf_server *s);
/* The database connection a REST handler uses: its worker's own when it runs
 * on the pool (routes added with csf__rest_route), the loop's otherwise. */
csf__db *csf__rest_db(const csf_server *s, const csf__http_exchange *x);
/* Add a REST route whose handler runs on the pool: it touches the database
 * only through csf__rest_db and loop-thread state (sessions, the feed) only
 * through csf__http_exchange_on_loop. */
int csf__rest_route(csf_server *s, const char *method, const char *pattern, csf__http_handler h);
/* After the handler committed a change to users, sessions or keys: the live
 * feed checks its browsers' credentials again (on the loop thread). */
void csf__rest_feed_recheck(csf_server *s, csf__http_exchange *x);
/* Who a session token or API key belongs to, and the token's SHA-256 (hex)
 * in `hash`. CSF_EAUTH with `why` when it is unknown, expired or revoked. */
int csf__auth_token(csf__db *db, const char *token, csf__principal *who, const char **why, char hash[65]);
/* The same from the hash csf__auth_token gave, for a check made again later. */
int csf__auth_hash(csf__db *db, int is_key, const char *hash, csf__principal *who, const char **why);
/* Authenticate the request and check the role; answers 401/403 itself and
 * returns non-zero when the request must stop here. */
int csf__rest_auth(csf_server *s, csf__http_exchange *x, const csf__http_request *req, csf__role_level need,
		   csf__principal *who);
/* Answer JSON from a writer the caller filled. */
int csf__rest_json(csf__http_exchange *x, int status, csf__buf *body);
/* An error from a csf error code: 404/400/409/500... with the last error's message. */
int csf__rest_fail(csf__http_exchange *x, int rc);
/* Run `sql` with $1 = org_id and $2 = agent_id and step to its first row:
 * 0 with *st on it, or -1 after answering 404 ("no such agent", no row) or
 * the error itself. */
int csf__rest_agent_row(csf_server *s, csf__http_exchange *x, const char *sql, const char *org_id,
			const char *agent_id, csf__stmt **st);
/* Parse a JSON object body with only `allowed` keys (NULL-terminated);
 * answers 400 itself on bad JSON, unknown keys or a body too large. */
struct json_t;
struct json_t *csf__rest_body(csf__http_exchange *x, const csf__http_request *req, const char *const *allowed);

/* The `limit` (1 to CSF__PAGE_MAX; *limit is left alone when absent, so
 * set the default first) and `cursor` query parameters of a list: the
 * cursor's two parts in key and id ("" without one). Answers 400 itself and
 * returns non-zero when either is bad. */
#define CSF__PAGE_MAX 1000
int csf__rest_page(csf__http_exchange *x, const csf__http_request *req, long *limit, char *key, size_t kcap,
		   char *id, size_t icap);
/* End a list page begun as {"items": [ and answer it: `rc` is the query's
 * last step (1: a row past the page, so a next_cursor made of last_key and
 * last_id; 0: the last page; < 0: the error is the answer). */
void csf__rest_page_finish(csf__http_exchange *x, csf__json *j, csf__buf *body, int rc, const char *last_key,
			   const char *last_id);

/* The REST groups (one file each). */
int csf__rest_auth_routes(csf_server *s);
int csf__rest_agent_routes(csf_server *s);
int csf__rest_admin_routes(csf_server *s);
int csf__rest_health_routes(csf_server *s);
int csf__rest_agent_metrics_routes(csf_server *s);
int csf__rest_agent_snapshot_routes(csf_server *s);

/* --------------------------------------------------------- agent files */

#define CSF__AGENT_URL_MAX 512

/* agent/install.sh, compiled in (cmake/CsfEmbed.cmake). */
extern const char csf__agent_install_sh[];
/* GET /agent/install.sh and /agent/{file} (agent_files.c). */
int csf__agent_files_routes(csf_server *s);
/* Whether a --public-url / --agent-public-url is http(s):// and plain
 * enough to be written into a shell script. */
int csf__agent_files_url_ok(const char *url);
/* The server's HTTP URL and the agents' URL as a client that sent `host`
 * (and maybe X-Forwarded-Proto) sees them; either out may be NULL.
 * CSF_EINVALID when the host is not a plain host[:port] (fuzzed). */
int csf__agent_files_urls(const char *host, const char *forwarded_proto, int tls, int agent_tls, int agent_port,
			  char http_url[CSF__AGENT_URL_MAX], char agent_url[CSF__AGENT_URL_MAX]);

/* ----------------------------------------------------------- live feed */

int csf__feed_start(csf_server *s);
void csf__feed_agent_status(csf_server *s, const char *org_id, const char *agent_id, const char *status);
void csf__feed_agent_metrics(csf_server *s, const char *org_id, const char *agent_id,
			     const Csf__V1__MetricsSnapshot *m);
size_t csf__feed_clients(const csf_server *s);
/* A session, user or API key was ended or changed: check every feed
 * client's credentials again within a second (closing those that no longer
 * hold). Loop thread only. */
void csf__feed_recheck(csf_server *s);

/* What a browser sends on the feed, parsed (feed.c; fuzzed). */
enum { CSF__FEED_INVALID, CSF__FEED_AUTH, CSF__FEED_SUBSCRIBE, CSF__FEED_UNSUBSCRIBE, CSF__FEED_PING,
       CSF__FEED_UNKNOWN };
typedef struct csf__feed_msg {
	int kind;
	const char *token;      /* AUTH */
	struct json_t *topics;  /* (UN)SUBSCRIBE: an array */
	struct json_t *root;    /* owns the above */
} csf__feed_msg;
int csf__feed_parse(const unsigned char *data, size_t len, csf__feed_msg *m);
void csf__feed_msg_free(csf__feed_msg *m);
/* A topic's kind, or -1; `agent_id` gets the id of "metrics:<id>". */
enum { CSF__TOPIC_AGENTS, CSF__TOPIC_METRICS, CSF__TOPIC_AGENT_METRICS };
int csf__feed_topic(const char *name, char agent_id[CSF__ID_LEN]);
void csf__feed_free(csf_server *s);

/* ----------------------------------------------------------- scheduler */

/* Rollups (1m, 1h) and retention, on connection `db`. */
int csf__rollup_run(csf_server *s, csf__db *db, int64_t now_ms);
/* A sample at `ts` was written: the rollup covers it next time (any thread). */
void csf__rollup_touch(csf_server *s, int64_t ts);
/* At start: the first rollup covers what the last run of the server did not. */
int csf__rollup_resume(csf_server *s);
int csf__retention_run(csf_server *s, csf__db *db, int64_t now_ms);
/* From the tick: rollups once a minute, retention on the first tick (it
 * also makes the coming days' partitions) and then once an hour, on a REST
 * worker; failures are logged and retried at the next turn. */
void csf__upkeep_tick(csf_server *s, uint64_t mono_ms, int64_t now_ms);

/* params.c: what REST clients put in URLs; 0 or -1. Times: Unix seconds or
 * RFC 3339 ("2026-12-04T20:00:00Z", fractions and offsets allowed) into
 * milliseconds. Steps: "60", "60s", "5m", "1h", "1d" into milliseconds.
 * Cursors: the hex of "name\x1fid" of a page's last row. */
int csf__parse_time_ms(const char *v, int64_t *out);
int csf__parse_step_ms(const char *v, int64_t *out);
int csf__cursor_encode(char *out, size_t cap, const char *name, const char *id);
int csf__cursor_decode(const char *hex, char *name, size_t ncap, char *id, size_t icap);

/* Unix milliseconds, and the monotonic clock in milliseconds. */
int64_t csf__now_ms(void);

#endif
