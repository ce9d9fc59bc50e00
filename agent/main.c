/* csf-agent: the reference agent daemon. Subcommands live in their own files. */
#include <stdio.h>
#include <string.h>

#include "agent.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: csf-agent <command> [options]\n"
		"\n"
		"commands:\n"
		"  collect    print a snapshot of this host (csf-agent collect --help)\n"
		"  enroll     enroll this host with a csf-server (csf-agent enroll --help)\n"
		"  run        run the agent daemon (csf-agent run --help)\n"
		"  status     show the daemon's state (csf-agent status --help)\n"
		"  install    enroll and install as a system service (csf-agent install --help)\n"
		"  uninstall  remove the service; --purge also the identity and user\n"
		"  version    print the version\n"
		"  help       print this help\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return AGENT_EXIT_USAGE;
	}
	if (strcmp(argv[1], "collect") == 0)
		return agent_collect_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "enroll") == 0)
		return agent_enroll_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return agent_run_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return agent_status_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "install") == 0)
		return agent_install_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "uninstall") == 0)
		return agent_uninstall_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("csf-agent %s (libcsf %s)\n", CSF_VERSION, csf_version(NULL));
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "csf-agent: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return AGENT_EXIT_USAGE;
}
