/*
 * csf-agent run: the daemon. Settings come from flags, then CSF_<OPTION>
 * in the environment, then the config file (/etc/csf/agent.conf when it
 * exists, or --config FILE), then the defaults. SIGTERM and SIGINT stop it;
 * SIGHUP reads the environment and the file again.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define DEFAULT_CONFIG "/etc/csf/agent.conf"

/* Every setting, by its flag name ("state-dir" is --state-dir, CSF_STATE_DIR
 * and state_dir in the file). */
static const char *const keys[] = {
	"server-url", "state-dir", "interval", "heartbeat-interval", "transport",
	"outbox-max-bytes", "outbox-max-age", "log-format", "log-level", "backoff-max",
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

typedef struct settings {
	const char *flag[N_KEYS];  /* from argv: they win, also on reload */
	const char *value[N_KEYS];
	char *owned[N_KEYS];       /* copies of file values */
	const char *config_path;
	int config_explicit;
} settings;

static int key_index(const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		const char *a = keys[i], *b = name;

		while (*a && (*a == *b || (*a == '-' && *b == '_')))
			a++, b++;
		if (!*a && !*b)
			return (int)i;
	}
	return -1;
}

static const char *get(const settings *st, const char *key)
{
	return st->value[key_index(key)];
}

static int on_config(const char *key, const char *value, int line, void *payload)
{
	settings *st = payload;
	int i = key_index(key);

	if (i < 0) {
		fprintf(stderr, "csf-agent run: %s:%d: unknown setting '%s'\n", st->config_path, line, key);
		return AGENT_EXIT_USAGE;
	}
	if (!st->value[i]) {
		free(st->owned[i]);
		st->owned[i] = strdup(value);
		st->value[i] = st->owned[i];
	}
	return 0;
}

static void settings_clear(settings *st)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		free(st->owned[i]);
		st->owned[i] = NULL;
		st->value[i] = NULL;
	}
}

/* Flags, then the environment, then the file. */
static int settings_resolve(settings *st)
{
	size_t i;
	int rc;

	settings_clear(st);
	for (i = 0; i < N_KEYS; i++)
		st->value[i] = st->flag[i] ? st->flag[i] : agent_env(keys[i]);
	if (access(st->config_path, F_OK) != 0 && !st->config_explicit)
		return 0;
	rc = csf_config_parse_file(st->config_path, on_config, st);
	if (rc == AGENT_EXIT_USAGE)
		return rc;
	if (rc) {
		const csf_error *e = csf_error_last();

		fprintf(stderr, "csf-agent run: config %s: %s\n", st->config_path,
			e->message[0] ? e->message : csf_strerror(e->code));
		return AGENT_EXIT_USAGE;
	}
	return 0;
}

static int parse_uint(const char *key, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max) {
		fprintf(stderr, "csf-agent run: %s must be %llu to %llu, not '%s'\n", key, (unsigned long long)min,
			(unsigned long long)max, v);
		return AGENT_EXIT_USAGE;
	}
	*out = n;
	return 0;
}

/* "30m", "24h", "7d", "90s" or plain seconds. */
static int parse_duration(const char *key, const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;
	uint64_t unit = 1;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (!errno && end != v && v[0] != '-') {
		switch (*end) {
		case '\0': case 's': break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: unit = 0; break;
		}
		if (unit && (!*end || !end[1]) && n > 0 && n <= 3650ull * 86400 / unit) {
			*out = n * unit;
			return 0;
		}
	}
	fprintf(stderr, "csf-agent run: %s must be a duration such as 90s, 30m, 24h or 7d, not '%s'\n", key, v);
	return AGENT_EXIT_USAGE;
}

/* Bytes, or with a K, M or G suffix (binary units). */
static int parse_size(const char *key, const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;
	int shift = -1;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (!errno && end != v && v[0] != '-') {
		switch (*end) {
		case '\0': shift = 0; break;
		case 'K': case 'k': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		default: break;
		}
		if (shift >= 0 && *end && end[1] && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0)
			shift = -1;
		if (shift >= 0 && n > 0 && n <= (1ull << 40) >> shift) {
			*out = n << shift;
			return 0;
		}
	}
	fprintf(stderr, "csf-agent run: %s must be a size such as 65536, 512K or 64M, not '%s'\n", key, v);
	return AGENT_EXIT_USAGE;
}

static int to_options(const settings *st, csf_agent_options *o)
{
	const char *v;
	uint64_t n;
	int rc = 0;

	csf_agent_options_init(o, CSF_AGENT_OPTIONS_VERSION);
	o->state_dir = get(st, "state-dir");
	o->server_url = get(st, "server-url");
	if (!rc && (v = get(st, "interval")) && !(rc = parse_uint("interval", v, 1, 86400, &n)))
		o->interval_s = (uint32_t)n;
	if (!rc && (v = get(st, "heartbeat-interval")) && !(rc = parse_uint("heartbeat_interval", v, 1, 86400, &n)))
		o->heartbeat_interval_s = (uint32_t)n;
	if (!rc && (v = get(st, "outbox-max-bytes")))
		rc = parse_size("outbox_max_bytes", v, &o->outbox_max_bytes);
	if (!rc && (v = get(st, "outbox-max-age")))
		rc = parse_duration("outbox_max_age", v, &o->outbox_max_age_s);
	if (!rc && (v = get(st, "backoff-max")) && !(rc = parse_duration("backoff_max", v, &n))) {
		if (n > 3600)
			fprintf(stderr, "csf-agent run: backoff_max must be at most 1h, not '%s'\n", v), rc = AGENT_EXIT_USAGE;
		o->backoff_max_ms = (uint32_t)(n * 1000);
	}
	if (!rc && (v = get(st, "transport"))) {
		if (strcmp(v, "auto") == 0)
			o->transport = CSF_AGENT_TRANSPORT_AUTO;
		else if (strcmp(v, "grpc") == 0)
			o->transport = CSF_AGENT_TRANSPORT_GRPC;
		else if (strcmp(v, "websocket") == 0)
			o->transport = CSF_AGENT_TRANSPORT_WEBSOCKET;
		else
			fprintf(stderr, "csf-agent run: transport must be auto, grpc or websocket, not '%s'\n", v),
				rc = AGENT_EXIT_USAGE;
	}
	if (!rc)
		rc = agent_log_setup(get(st, "log-format"), get(st, "log-level"));
	return rc;
}

static csf_agent *running;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		csf_agent_reload_async(running);
	else
		csf_agent_stop_async(running);
}

/* SIGHUP: the environment and the file again; flags still win. */
static int on_reload(csf_agent_options *o, void *payload)
{
	settings *st = payload;

	return settings_resolve(st) == 0 && to_options(st, o) == 0 ? 0 : -1;
}

static void run_usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: csf-agent run [--config FILE] [--state-dir DIR] [--interval SECONDS] [options]\n"
		"\n"
		"Run the agent: collect, keep every message in the outbox until the server\n"
		"acks it, stay connected. Settings: flags, then CSF_<OPTION> in the\n"
		"environment, then the config file (" DEFAULT_CONFIG " when it exists).\n"
		"\n"
		"  --config FILE\n");
	for (i = 0; i < N_KEYS; i++)
		fprintf(out, "  --%s VALUE\n", keys[i]);
	fprintf(out, "\nSee docs/csf-agent.md for every setting.\n");
}

static int exit_code(int rc)
{
	switch (rc) {
	case CSF_ENOTFOUND: case CSF_EEXISTS: case CSF_EPARSE: return AGENT_EXIT_STATE_DIR;
	case CSF_EAUTH: return AGENT_EXIT_IDENTITY;
	default: return AGENT_EXIT_FAILURE;
	}
}

int agent_run_main(int argc, char **argv)
{
	struct option longopts[N_KEYS + 3];
	settings st;
	csf_agent_options o;
	struct sigaction sa;
	size_t i;
	int opt, rc;

	memset(&st, 0, sizeof(st));
	memset(longopts, 0, sizeof(longopts));
	for (i = 0; i < N_KEYS; i++)
		longopts[i] = (struct option){ keys[i], required_argument, NULL, (int)i };
	longopts[N_KEYS] = (struct option){ "config", required_argument, NULL, 'c' };
	longopts[N_KEYS + 1] = (struct option){ "help", no_argument, NULL, 'h' };
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt >= 0 && opt < (int)N_KEYS) {
			st.flag[opt] = optarg;
		} else if (opt == 'c') {
			st.config_path = optarg;
		} else if (opt == 'h') {
			run_usage(stdout);
			return 0;
		} else {
			run_usage(stderr);
			return AGENT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "csf-agent run: unexpected argument '%s'\n", argv[optind]);
		return AGENT_EXIT_USAGE;
	}
	if (!st.config_path)
		st.config_path = agent_env("config");
	st.config_explicit = st.config_path != NULL;
	if (!st.config_path)
		st.config_path = DEFAULT_CONFIG;
	rc = settings_resolve(&st);
	if (!rc)
		rc = to_options(&st, &o);
	if (rc) {
		settings_clear(&st);
		return rc;
	}
	rc = csf_agent_new(&running, &o);
	if (rc) {
		fprintf(stderr, "csf-agent run: %s\n", csf_error_last()->message);
		settings_clear(&st);
		return exit_code(rc);
	}
	csf_agent_set_reload_callback(running, on_reload, &st);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = csf_agent_run(running);
	if (rc)
		fprintf(stderr, "csf-agent run: %s\n", csf_error_last()->message);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	csf_agent_free(running);
	running = NULL;
	settings_clear(&st);
	return rc ? exit_code(rc) : 0;
}
