/* Shared declarations of the csf-agent subcommands. */
#ifndef CSF_AGENT_AGENT_H
#define CSF_AGENT_AGENT_H

#include <stdio.h>

#include <csf/csf.h>

/* Exit codes (documented in docs/csf-agent.md). */
#define AGENT_EXIT_OK 0
#define AGENT_EXIT_FAILURE 1
#define AGENT_EXIT_USAGE 2

int agent_collect_main(int argc, char **argv);
int agent_install_main(int argc, char **argv);   /* install_cmd.c */
int agent_uninstall_main(int argc, char **argv); /* install_cmd.c */

/* Print a snapshot as the human-readable table of `csf-agent collect`. */
void agent_print_snapshot(FILE *out, const csf_snapshot *snap);

#endif
