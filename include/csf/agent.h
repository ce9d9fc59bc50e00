/*
 * csf/agent.h - the agent runtime: enrollment with a csf-server, and the
 * daemon that collects, keeps every data message in an on-disk outbox until
 * the server acks it, and stays connected (docs/protocol.md, docs/csf-agent.md).
 *
 * Threading: a csf_agent is used by one thread at a time, except
 * csf_agent_stop_async() and csf_agent_reload_async(), which any thread or a
 * signal handler may call.
 */
#ifndef CSF_AGENT_H
#define CSF_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default state directory. */
#define CSF_AGENT_DEFAULT_STATE_DIR "/var/lib/csf-agent"

/* Why an enrollment failed, beyond its error code: what a program needs to
 * tell the user which step to fix. */
typedef enum csf_agent_enroll_failure {
	CSF_AGENT_ENROLL_OK = 0,
	CSF_AGENT_ENROLL_OTHER = 1,        /* anything below does not fit */
	CSF_AGENT_ENROLL_PIN_MISMATCH = 2, /* the server's CA is not the one the token names */
	CSF_AGENT_ENROLL_TOKEN_REJECTED = 3, /* unknown, used, expired or revoked token */
	CSF_AGENT_ENROLL_UNREACHABLE = 4,  /* no connection to the server */
	CSF_AGENT_ENROLL_STATE_DIR = 5     /* already enrolled there, or cannot write it */
} csf_agent_enroll_failure;

#define CSF_AGENT_ENROLL_OPTIONS_VERSION 1

/* What enrollment needs. Strings are borrowed for the call. */
typedef struct csf_agent_enroll_options {
	unsigned int version;          /* CSF_AGENT_ENROLL_OPTIONS_VERSION */
	const char *server_url;        /* the agent listener: "https://host:7443" (required) */
	const char *token;             /* from `csf-server token create` (required) */
	const char *state_dir;         /* [CSF_AGENT_DEFAULT_STATE_DIR] */
	const char *name;              /* display name [the hostname] */
	const char *const *tag_keys;   /* tags_count labels: key i = value i */
	const char *const *tag_values;
	size_t tags_count;
	const char *const *capabilities; /* [{"metrics"}] */
	size_t capabilities_count;
	uint32_t timeout_ms;           /* connect + answer [30000] */
} csf_agent_enroll_options;

#define CSF_AGENT_ENROLL_OPTIONS_INIT \
	{ CSF_AGENT_ENROLL_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, 0 }

/* Fill `opts` with the defaults. CSF_EINVALID for an unknown version. */
CSF_API int csf_agent_enroll_options_init(csf_agent_enroll_options *opts, unsigned int version);

/*
 * Enroll this host: make a key (EC P-256; it never leaves the host), send a
 * CSR and the host's facts through RegisterAgent trusting only the CA the
 * token pins, and store the identity in the state directory (created 0700):
 * agent.key (0600), agent.crt, ca.crt and identity.conf (0600), each
 * written to a temporary name and renamed.
 * `*agent_id_out` (may be NULL) receives the new agent id (csf_free it);
 * `*failure` (may be NULL) says which step failed.
 * Errors: CSF_EINVALID (bad options or a malformed token), CSF_EEXISTS (the
 * state directory already holds an identity), CSF_EIO (state directory, or
 * the server unreachable), CSF_EAUTH (pin mismatch, token rejected: the
 * message is the server's), CSF_ETIMEOUT, CSF_ENOMEM, CSF_ERROR.
 * Not thread-safe with other enrollments of the same directory.
 */
CSF_API int csf_agent_enroll(char **agent_id_out, csf_agent_enroll_failure *failure,
			     const csf_agent_enroll_options *opts);

/* ------------------------------------------------------------------ run */

typedef enum csf_agent_transport_choice {
	CSF_AGENT_TRANSPORT_AUTO = 0,      /* gRPC, WebSocket when HTTP/2 does not get through */
	CSF_AGENT_TRANSPORT_GRPC = 1,
	CSF_AGENT_TRANSPORT_WEBSOCKET = 2
} csf_agent_transport_choice;

#define CSF_AGENT_OPTIONS_VERSION 1

/* The daemon's settings. 0 / NULL means the default in brackets. */
typedef struct csf_agent_options {
	unsigned int version;            /* CSF_AGENT_OPTIONS_VERSION */
	const char *state_dir;           /* [CSF_AGENT_DEFAULT_STATE_DIR] */
	const char *server_url;          /* [the one stored at enrollment] */
	uint32_t interval_s;             /* collection, 1..86400 [10] */
	uint32_t heartbeat_interval_s;   /* 1..86400 [10] */
	csf_agent_transport_choice transport;
	uint64_t outbox_max_bytes;       /* [64 MiB] */
	uint64_t outbox_max_age_s;       /* [7 days] */
	uint32_t backoff_max_ms;         /* reconnect backoff cap [60000] */
} csf_agent_options;

#define CSF_AGENT_OPTIONS_INIT { CSF_AGENT_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, 0, 0, 0 }

/* Fill `opts` with the defaults. CSF_EINVALID for an unknown version. */
CSF_API int csf_agent_options_init(csf_agent_options *opts, unsigned int version);

typedef struct csf_agent csf_agent;

/*
 * Load the identity from the state directory, open (or create) the outbox
 * and the system collector. Nothing connects yet. Holds the directory's
 * run lock (one daemon per state directory) until freed.
 * Errors: CSF_ENOTFOUND (not enrolled there), CSF_EEXISTS (another daemon
 * runs on it), CSF_EINVALID (bad options), CSF_EAUTH (the certificate has
 * expired: enroll again), CSF_EIO, CSF_EPARSE (identity files), CSF_ENOMEM.
 */
CSF_API int csf_agent_new(csf_agent **out, const csf_agent_options *opts);

/*
 * Run until stopped: collect every interval, write each message to the
 * outbox, stream it, reconnect with backoff. Returns 0 after
 * csf_agent_stop_async(); CSF_EAUTH when the server revoked or no longer
 * accepts this identity (the message says to enroll again); CSF_EIO when
 * the outbox can no longer be written.
 */
CSF_API int csf_agent_run(csf_agent *agent);

/* Make csf_agent_run() return soon (async-signal-safe). */
CSF_API void csf_agent_stop_async(csf_agent *agent);

/*
 * Ask the running agent to call `cb` on its loop (async-signal-safe): the
 * callback fills new options (interval, heartbeat, outbox caps and
 * transport take effect; state_dir and server_url need a restart) and
 * returns 0, or non-zero to keep the old ones.
 */
typedef int (*csf_agent_reload_cb)(csf_agent_options *opts, void *payload);
CSF_API void csf_agent_reload_async(csf_agent *agent);

/* Set the reload callback (before csf_agent_run). */
CSF_API void csf_agent_set_reload_callback(csf_agent *agent, csf_agent_reload_cb cb, void *payload);

/* Release the lock, close the outbox, free. NULL-safe. */
CSF_API void csf_agent_free(csf_agent *agent);

#ifdef __cplusplus
}
#endif

#endif
