/* csf-agent enroll: make this host's identity with a one-time token. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define MAX_TAGS 64

static void enroll_usage(FILE *out)
{
	fprintf(out,
		"usage: csf-agent enroll --server-url URL --token TOKEN [--name NAME]\n"
		"                        [--tags k=v,...] [--state-dir DIR]\n"
		"\n"
		"Enroll this host with csf-server: the token (csf-server token create) pins\n"
		"the server's CA; the key is made here and never leaves the host.\n"
		"Every option can also come from CSF_<OPTION> (CSF_TOKEN, CSF_SERVER_URL, ...).\n"
		"\n"
		"  --server-url URL  the server's agent listener, e.g. https://csf.example:7443\n"
		"  --token TOKEN     the enrollment token (CSF_TOKEN keeps it out of `ps`)\n"
		"  --name NAME       display name (default: the hostname)\n"
		"  --tags k=v,...    labels\n"
		"  --state-dir DIR   where the identity is stored (default " CSF_AGENT_DEFAULT_STATE_DIR ")\n");
}

/* "k=v,k2=v2" into keys and values (pointers into `list`, which is cut up). */
static int split_tags(char *list, const char **keys, const char **values, size_t *n)
{
	char *save = NULL, *tok;

	*n = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok || *n == MAX_TAGS) {
			fprintf(stderr, "csf-agent enroll: --tags takes up to %d key=value pairs, not '%s'\n", MAX_TAGS, tok);
			return AGENT_EXIT_USAGE;
		}
		*eq = '\0';
		keys[*n] = tok;
		values[(*n)++] = eq + 1;
	}
	return 0;
}

static int exit_code(csf_agent_enroll_failure f)
{
	switch (f) {
	case CSF_AGENT_ENROLL_OK: return AGENT_EXIT_OK;
	case CSF_AGENT_ENROLL_PIN_MISMATCH: return AGENT_EXIT_PIN_MISMATCH;
	case CSF_AGENT_ENROLL_TOKEN_REJECTED: return AGENT_EXIT_TOKEN_REJECTED;
	case CSF_AGENT_ENROLL_UNREACHABLE: return AGENT_EXIT_UNREACHABLE;
	case CSF_AGENT_ENROLL_STATE_DIR: return AGENT_EXIT_STATE_DIR;
	default: return AGENT_EXIT_FAILURE;
	}
}

int agent_enroll_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server-url", required_argument, NULL, 'u' },
		{ "token", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "tags", required_argument, NULL, 'g' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tag_keys[MAX_TAGS], *tag_values[MAX_TAGS];
	csf_agent_enroll_options o;
	csf_agent_enroll_failure failure;
	char *tags = NULL, *agent_id = NULL;
	const char *tags_arg = NULL;
	int opt, rc;

	csf_agent_enroll_options_init(&o, CSF_AGENT_ENROLL_OPTIONS_VERSION);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'u': o.server_url = optarg; break;
		case 't': o.token = optarg; break;
		case 'n': o.name = optarg; break;
		case 'g': tags_arg = optarg; break;
		case 'd': o.state_dir = optarg; break;
		case 'h': enroll_usage(stdout); return 0;
		default: enroll_usage(stderr); return AGENT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "csf-agent enroll: unexpected argument '%s'\n", argv[optind]);
		return AGENT_EXIT_USAGE;
	}
	if (!o.server_url)
		o.server_url = agent_env("server-url");
	if (!o.token)
		o.token = agent_env("token");
	if (!o.name)
		o.name = agent_env("name");
	if (!tags_arg)
		tags_arg = agent_env("tags");
	if (!o.state_dir)
		o.state_dir = agent_env("state-dir");
	if (!o.server_url || !o.token) {
		fprintf(stderr, "csf-agent enroll: --server-url and --token are required\n");
		return AGENT_EXIT_USAGE;
	}
	if (tags_arg) {
		tags = strdup(tags_arg);
		if (!tags || (rc = split_tags(tags, tag_keys, tag_values, &o.tags_count)) != 0) {
			free(tags);
			return tags ? rc : AGENT_EXIT_FAILURE;
		}
		o.tag_keys = tag_keys;
		o.tag_values = tag_values;
	}
	rc = agent_log_setup(agent_env("log-format"), agent_env("log-level") ? agent_env("log-level") : "warn");
	if (!rc && csf_agent_enroll(&agent_id, &failure, &o) != 0) {
		const csf_error *e = csf_error_last();

		fprintf(stderr, "csf-agent enroll: %s\n", e->message[0] ? e->message : csf_strerror(e->code));
		rc = exit_code(failure);
	} else if (!rc) {
		printf("enrolled: agent %s, identity in %s\n", agent_id,
		       o.state_dir ? o.state_dir : CSF_AGENT_DEFAULT_STATE_DIR);
	}
	csf_free(agent_id);
	free(tags);
	return rc;
}
