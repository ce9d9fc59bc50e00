/* Shared declarations of the csf-agent subcommands. */
#ifndef CSF_AGENT_AGENT_H
#define CSF_AGENT_AGENT_H

#include <stdio.h>

#include <csf/csf.h>

/* Exit codes (documented in docs/csf-agent.md). */
#define AGENT_EXIT_OK 0
#define AGENT_EXIT_FAILURE 1
#define AGENT_EXIT_USAGE 2
#define AGENT_EXIT_PIN_MISMATCH 3   /* enroll: the server's CA is not the token's */
#define AGENT_EXIT_TOKEN_REJECTED 4 /* enroll: unknown, used, expired or revoked token */
#define AGENT_EXIT_UNREACHABLE 5    /* enroll: no connection to the server */
#define AGENT_EXIT_STATE_DIR 6      /* the state dir: enrolled already / not enrolled / not writable / damaged */
#define AGENT_EXIT_IDENTITY 7       /* run: identity revoked or expired: enroll again */

int agent_collect_main(int argc, char **argv);
int agent_enroll_main(int argc, char **argv);
int agent_run_main(int argc, char **argv);
int agent_status_main(int argc, char **argv);
int agent_install_main(int argc, char **argv);   /* install_cmd.c */
int agent_uninstall_main(int argc, char **argv); /* install_cmd.c */

/* The value of --NAME from the environment: CSF_NAME (upper case, '-' as
 * '_'), or NULL when unset or empty. */
const char *agent_env(const char *name);

/* Logs to stderr as `format` ("text" or "json"; NULL: text) at `level`
 * ("debug", "info", "warn", "error"; NULL: info). AGENT_EXIT_USAGE with a
 * message when either is bad, else 0. */
int agent_log_setup(const char *format, const char *level);

/* Print a snapshot as the human-readable table of `csf-agent collect`. */
void agent_print_snapshot(FILE *out, const csf_snapshot *snap);

#endif
