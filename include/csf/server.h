/*
 * csf/server.h - the server runtime: agents enroll and stream to it, it
 * stores what they send (SQLite or PostgreSQL) and serves the REST API, the
 * browser's live feed and the dashboard. csf-server is a thin program over
 * this header.
 *
 * Threading: csf_server_run() runs the server on the calling thread (plus
 * one database writer thread of its own). csf_server_stop() may be called
 * from any thread or a signal handler; everything else from the thread that
 * made the server.
 */
#ifndef CSF_SERVER_H
#define CSF_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CSF_SERVER_OPTIONS_VERSION 1

/* Where a field is 0 or NULL the default in brackets applies. */
typedef struct csf_server_options {
	unsigned int version;            /* CSF_SERVER_OPTIONS_VERSION */
	const char *data_dir;            /* the database, the internal CA, keys [./csf-data] */
	const char *db_url;              /* sqlite:PATH or postgresql://... [sqlite:DATA_DIR/csf.db] */
	const char *http_listen;         /* REST, browser feed, dashboard [127.0.0.1:8080] */
	const char *agent_listen;        /* gRPC + WebSocket for agents, TLS 1.3 [0.0.0.0:7443] */
	int insecure_dev;                /* agents in cleartext h2c, no client certificates: tests only */
	/* The admin's password on the first start; NULL: generated and written
	 * once to DATA_DIR/initial-admin-password (0600). */
	const char *admin_password;
	/* Names in the agent listener's certificate [this host's name,
	 * localhost, 127.0.0.1, ::1]. */
	const char *const *agent_names;
	size_t agent_names_count;
	uint32_t heartbeat_interval_s;   /* what agents are told [10]; offline after 3 missed */
	uint32_t collect_interval_s;     /* what agents are told [10] */
	uint32_t cert_lifetime_s;        /* agent certificates [86400] */
	uint32_t retention_raw_days;     /* raw metrics [7] */
	uint32_t retention_1m_days;      /* 1-minute rollups [90] */
	uint32_t retention_1h_days;      /* 1-hour rollups [730] */
	const char *web_root;            /* the dashboard's built files [none: no dashboard] */
	/* Origins allowed to open the browser feed, comma-separated, besides
	 * the server's own [none]. */
	const char *allowed_origins;
	/* Where the csf-agent-OS-ARCH binaries served at /agent/ are [none:
	 * /agent/install.sh is served, the binaries answer 404]. */
	const char *agent_files_dir;
	/* This server's HTTP URL as hosts reach it, written into
	 * /agent/install.sh [from each request: Host, and https when the
	 * connection is TLS or X-Forwarded-Proto says so]. */
	const char *public_url;
	/* The agent listener's URL as hosts reach it, given to
	 * `csf-agent install` [https://REQUEST-HOST:AGENT-PORT]. */
	const char *agent_public_url;
	/* REST requests run on this many worker threads, each with a database
	 * connection of its own, so a slow query or a login's password hash
	 * never holds up agents or other requests [4; at most 64]. */
	uint32_t rest_workers;
} csf_server_options;

#define CSF_SERVER_OPTIONS_INIT { CSF_SERVER_OPTIONS_VERSION }

CSF_API int csf_server_options_init(csf_server_options *opts, unsigned int version);

typedef struct csf_server csf_server;

/*
 * Open (and migrate) the database, create organization "default" and user
 * "admin" on an empty one, load or create the internal CA, and bind both
 * listeners. Errors: CSF_EINVALID (options), CSF_EIO (database, files,
 * ports), CSF_EUNSUPPORTED (a database newer than this program), CSF_ENOMEM.
 */
CSF_API int csf_server_new(csf_server **out, const csf_server_options *opts);

/* Serve until csf_server_stop(). */
CSF_API int csf_server_run(csf_server *s);

/* Stop serving: agents get GOAWAY, what is queued is committed and acked,
 * then csf_server_run() returns. Any thread, async-signal-safe. */
CSF_API void csf_server_stop(csf_server *s);

/* The ports the listeners are bound to (useful with port 0). */
CSF_API int csf_server_http_port(const csf_server *s);
CSF_API int csf_server_agent_port(const csf_server *s);

/* The internal CA's SHA-256 (what enrollment tokens pin). Borrowed. */
CSF_API const char *csf_server_ca_sha256(const csf_server *s);

/* NULL-safe. */
CSF_API void csf_server_free(csf_server *s);

/*
 * Administration without a running server (the CLI's `token create` and
 * `apikey create`): they open the database and CA the options name.
 *
 * An enrollment token for organization `org` (NULL: "default"), valid for
 * `ttl_s` seconds (0: 1800) and `uses` enrollments (0: 1). `*token` receives
 * the token to hand to the agent (csf_free it); only its hash is stored.
 * Errors: CSF_ENOTFOUND (no such organization), CSF_EIO, CSF_ENOMEM.
 */
CSF_API int csf_server_token_create(char **token, const csf_server_options *opts, const char *org,
				    uint32_t ttl_s, uint32_t uses, const char *description);

/* An API key with `role` ("admin", "operator", "viewer") for `org`.
 * Errors: CSF_EINVALID (role), CSF_ENOTFOUND (organization), CSF_EIO. */
CSF_API int csf_server_apikey_create(char **key, const csf_server_options *opts, const char *org,
				     const char *name, const char *role);

#ifdef __cplusplus
}
#endif

#endif
