/*
 * csf-server: the reference server daemon (DESIGN.md section 3).
 *
 *   csf-server [serve] [options]     serve (the default)
 *   csf-server migrate [options]     bring the database schema up to date
 *   csf-server token create [--org ORG] [--ttl 30m] [--uses N] [--description TEXT] [options]
 *   csf-server apikey create --name NAME --role admin|operator|viewer [--org ORG] [options]
 *   csf-server version | help
 *
 * Every option reads, in order of precedence, from its flag, from the
 * environment (CSF_<OPTION>, e.g. CSF_DATA_DIR) and from --config FILE.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csf/csf.h>

#define EXIT_USAGE 2

/* The server's options, by name: "data-dir" is --data-dir, CSF_DATA_DIR and
 * data_dir (or data-dir) in a config file. */
typedef struct option_def {
	const char *name;
	const char *help;
	int is_bool;
} option_def;

static const option_def server_options[] = {
	{ "data-dir", "directory of the database, the internal CA and keys [./csf-data]", 0 },
	{ "db", "sqlite:PATH or postgresql://... [sqlite:DATA_DIR/csf.db]", 0 },
	{ "http-listen", "REST API, live feed and dashboard [127.0.0.1:8080]", 0 },
	{ "agent-listen", "gRPC and WebSocket for agents, TLS 1.3 [0.0.0.0:7443]", 0 },
	{ "insecure-dev", "agents in cleartext without client certificates: local tests only", 1 },
	{ "agent-names", "names in the agent listener's certificate, comma-separated", 0 },
	{ "heartbeat-interval", "seconds between agent heartbeats [10]", 0 },
	{ "collect-interval", "seconds between agent snapshots [10]", 0 },
	{ "cert-lifetime", "agent certificate lifetime, e.g. 24h [24h]", 0 },
	{ "retention-raw", "keep raw metrics, e.g. 7d [7d]", 0 },
	{ "retention-1m", "keep 1-minute rollups [90d]", 0 },
	{ "retention-1h", "keep 1-hour rollups [730d]", 0 },
	{ "web-root", "the dashboard's built files [" CSF_DEFAULT_WEB_ROOT " if installed]", 0 },
	{ "allowed-origins", "other origins allowed to open the live feed, comma-separated", 0 },
	{ "agent-files-dir", "csf-agent-OS-ARCH binaries served at /agent/ [BINDIR/../share/csf/agent]", 0 },
	{ "public-url", "this server's HTTP URL as hosts see it, for /agent/install.sh [from the request]", 0 },
	{ "agent-public-url", "the agent listener's URL as hosts see it [https://HOST:AGENT-PORT]", 0 },
	{ "rest-workers", "threads (each with a database connection) answering REST requests [4]", 0 },
	{ "log-format", "text or json [text]", 0 },
	{ "log-level", "error, warn, info, debug [info]", 0 },
};

#define N_OPTIONS (sizeof(server_options) / sizeof(server_options[0]))

typedef struct settings {
	const char *value[N_OPTIONS];
	char *owned[N_OPTIONS]; /* copies of config-file values */
	const char *config_path;
} settings;

static int option_index(const char *name)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++) {
		const char *a = server_options[i].name, *b = name;

		while (*a && (*a == *b || (*a == '-' && *b == '_'))) /* data-dir == data_dir */
			a++, b++;
		if (!*a && !*b)
			return (int)i;
	}
	return -1;
}

static int on_config(const char *key, const char *value, int line, void *payload)
{
	settings *st = payload;
	int i = option_index(key);

	if (i < 0) {
		fprintf(stderr, "csf-server: %s:%d: unknown setting '%s'\n", st->config_path, line, key);
		return EXIT_USAGE;
	}
	if (!st->value[i]) { /* flags and the environment win */
		free(st->owned[i]);
		st->owned[i] = strdup(value);
		st->value[i] = st->owned[i];
	}
	return 0;
}

/* Environment: CSF_DATA_DIR for data-dir. */
static void read_env(settings *st)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++) {
		char env[64] = "CSF_";
		size_t k = 4;
		const char *n;

		for (n = server_options[i].name; *n && k + 1 < sizeof(env); n++)
			env[k++] = *n == '-' ? '_' : (char)(*n >= 'a' && *n <= 'z' ? *n - 32 : *n);
		env[k] = '\0';
		if (!st->value[i] && getenv(env) && *getenv(env))
			st->value[i] = getenv(env);
	}
}

/* "30m", "24h", "7d", "90s" or plain seconds; 0 and sets *ok = 0 when bad. */
static uint32_t duration_s(const char *v, int *ok)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v)
		return *ok = 0, 0;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': n *= 60; break;
	case 'h': n *= 3600; break;
	case 'd': n *= 86400; break;
	default: return *ok = 0, 0;
	}
	if ((*end && end[1]) || n == 0 || n > UINT32_MAX)
		return *ok = 0, 0;
	return (uint32_t)n;
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: csf-server [serve] [options]\n"
		"       csf-server migrate [options]\n"
		"       csf-server token create [--org ORG] [--ttl 30m] [--uses N] [--description TEXT] [options]\n"
		"       csf-server apikey create --name NAME --role admin|operator|viewer [--org ORG] [options]\n"
		"       csf-server version\n\n"
		"options (also CSF_<OPTION> in the environment, or in --config FILE):\n"
		"  --config FILE              settings as `key = value` lines\n");
	for (i = 0; i < N_OPTIONS; i++)
		fprintf(out, "  --%-24s %s\n", server_options[i].name, server_options[i].help);
}

typedef struct command_args {
	const char *org, *ttl, *uses, *description, *name, *role;
} command_args;

/* Flags of the server and of the subcommand; returns 0 or an exit code. */
static int parse_flags(int argc, char **argv, settings *st, command_args *ca)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char *eq = NULL;
		char flag[64];
		int k;

		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "csf-server: unexpected argument '%s'\n", a);
			return EXIT_USAGE;
		}
		a += 2;
		if ((eq = strchr(a, '=')) != NULL) {
			snprintf(flag, sizeof(flag), "%.*s", (int)(eq - a), a);
			a = flag;
			v = eq + 1;
		}
		k = option_index(a);
		if (k >= 0 && server_options[k].is_bool) {
			st->value[k] = eq ? v : "true";
			continue;
		}
		if (!v) {
			fprintf(stderr, "csf-server: --%s needs a value\n", a);
			return EXIT_USAGE;
		}
		if (!eq)
			i++;
		if (k >= 0)
			st->value[k] = v;
		else if (strcmp(a, "config") == 0)
			st->config_path = v;
		else if (ca && strcmp(a, "org") == 0)
			ca->org = v;
		else if (ca && strcmp(a, "ttl") == 0)
			ca->ttl = v;
		else if (ca && strcmp(a, "uses") == 0)
			ca->uses = v;
		else if (ca && strcmp(a, "description") == 0)
			ca->description = v;
		else if (ca && strcmp(a, "name") == 0)
			ca->name = v;
		else if (ca && strcmp(a, "role") == 0)
			ca->role = v;
		else {
			fprintf(stderr, "csf-server: unknown option --%s (see csf-server help)\n", a);
			return EXIT_USAGE;
		}
	}
	return 0;
}

static const char *opt(const settings *st, const char *name)
{
	return st->value[option_index(name)];
}

static int truthy(const char *v)
{
	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "on") == 0);
}

/* The agent files next to this program once installed: PREFIX/bin/csf-server
 * serves PREFIX/share/csf/agent (and build/bin/ serves build/share/...). */
static const char *default_agent_files_dir(void)
{
	static char dir[4096];
	char *slash;
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);

	if (n <= 0 || (size_t)n >= sizeof(dir) - 1)
		return NULL;
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (!slash || (size_t)(slash - dir) + sizeof("/../share/csf/agent") > sizeof(dir))
		return NULL;
	strcpy(slash, "/../share/csf/agent");
	return dir;
}

/* Build the library's options from the settings; 0 or an exit code. */
static int to_options(const settings *st, csf_server_options *o, const char ***names, size_t *n_names)
{
	static const struct {
		const char *name;
		size_t off;
		int days;
	} durations[] = {
		{ "heartbeat-interval", offsetof(csf_server_options, heartbeat_interval_s), 0 },
		{ "collect-interval", offsetof(csf_server_options, collect_interval_s), 0 },
		{ "cert-lifetime", offsetof(csf_server_options, cert_lifetime_s), 0 },
		{ "retention-raw", offsetof(csf_server_options, retention_raw_days), 1 },
		{ "retention-1m", offsetof(csf_server_options, retention_1m_days), 1 },
		{ "retention-1h", offsetof(csf_server_options, retention_1h_days), 1 },
	};
	size_t i;

	csf_server_options_init(o, CSF_SERVER_OPTIONS_VERSION);
	o->data_dir = opt(st, "data-dir");
	o->db_url = opt(st, "db");
	o->http_listen = opt(st, "http-listen");
	o->agent_listen = opt(st, "agent-listen");
	o->insecure_dev = truthy(opt(st, "insecure-dev"));
	o->web_root = opt(st, "web-root");
	/* the dashboard installed with csf-server (CSF_BUILD_WEB) */
	if (!o->web_root && access(CSF_DEFAULT_WEB_ROOT "/index.html", R_OK) == 0)
		o->web_root = CSF_DEFAULT_WEB_ROOT;
	o->allowed_origins = opt(st, "allowed-origins");
	o->agent_files_dir = opt(st, "agent-files-dir") ? opt(st, "agent-files-dir") : default_agent_files_dir();
	o->public_url = opt(st, "public-url");
	o->agent_public_url = opt(st, "agent-public-url");
	o->admin_password = getenv("CSF_ADMIN_PASSWORD");
	if (opt(st, "rest-workers")) {
		char *end;
		long n = strtol(opt(st, "rest-workers"), &end, 10);

		if (*end || n < 1 || n > 64) {
			fprintf(stderr, "csf-server: --rest-workers: '%s' is not a number from 1 to 64\n",
				opt(st, "rest-workers"));
			return EXIT_USAGE;
		}
		o->rest_workers = (uint32_t)n;
	}
	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		const char *v = opt(st, durations[i].name);
		int ok = 1;
		uint32_t s;

		if (!v)
			continue;
		s = duration_s(v, &ok);
		if (!ok || (durations[i].days && s < 86400)) {
			fprintf(stderr, "csf-server: --%s: '%s' is not a duration like 30s, 10m, 24h, 7d%s\n",
				durations[i].name, v, durations[i].days ? " (at least 1d)" : "");
			return EXIT_USAGE;
		}
		*(uint32_t *)((char *)o + durations[i].off) = durations[i].days ? s / 86400 : s;
	}
	*names = NULL;
	*n_names = 0;
	if (opt(st, "agent-names")) {
		char *list = strdup(opt(st, "agent-names")), *save = NULL, *tok;

		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			*names = realloc(*names, (*n_names + 1) * sizeof(**names));
			(*names)[(*n_names)++] = tok; /* list stays allocated for the process's life */
		}
		o->agent_names = *names;
		o->agent_names_count = *n_names;
	}
	return 0;
}

static csf_server *running;

static void on_signal(int sig)
{
	(void)sig;
	csf_server_stop(running);
}

/* Logs: one line per record on stderr, as text or JSON lines. */
static int log_json;

static void log_line(csf_log_level level, const char *module, const char *message, void *payload)
{
	(void)payload;
	csf_log_write_line(stderr, log_json, "csf-server", level, module, message);
}

static int setup_logging(const settings *st)
{
	const char *fmt = opt(st, "log-format"), *lvl = opt(st, "log-level");
	csf_log_level level = CSF_LOG_INFO;

	if (fmt && strcmp(fmt, "json") != 0 && strcmp(fmt, "text") != 0) {
		fprintf(stderr, "csf-server: --log-format must be text or json\n");
		return EXIT_USAGE;
	}
	log_json = fmt && strcmp(fmt, "json") == 0;
	if (lvl) {
		for (level = CSF_LOG_ERROR; level <= CSF_LOG_TRACE; level++)
			if (strcmp(csf_log_level_name(level), lvl) == 0)
				break;
		if (level > CSF_LOG_TRACE) {
			fprintf(stderr, "csf-server: --log-level must be error, warn, info, debug or trace\n");
			return EXIT_USAGE;
		}
	}
	csf_log_set_callback(level, log_line, NULL);
	return 0;
}

static int fail(const char *what)
{
	fprintf(stderr, "csf-server: %s: %s\n", what, csf_error_last()->message);
	return 1;
}

static int cmd_serve(const csf_server_options *o)
{
	int rc;

	if (csf_server_new(&running, o) != 0)
		return fail("cannot start");
	fprintf(stderr, "csf-server: serving: http on port %d, agents on port %d, CA sha256 %s\n",
		csf_server_http_port(running), csf_server_agent_port(running), csf_server_ca_sha256(running));
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	rc = csf_server_run(running);
	csf_server_free(running);
	running = NULL;
	return rc ? fail("stopped") : 0;
}

static int cmd_migrate(const csf_server_options *o)
{
	char url[4096];
	csf_store *s = NULL;
	int from = 0, to = 0;

	if (o->db_url)
		snprintf(url, sizeof(url), "%s", o->db_url);
	else
		snprintf(url, sizeof(url), "sqlite:%s/csf.db", o->data_dir ? o->data_dir : "./csf-data");
	if (csf_store_open(&s, url) != 0 || csf_store_migrate(s, &from, &to) != 0) {
		csf_store_close(s);
		return fail("migrate");
	}
	csf_store_close(s);
	printf("schema version %d -> %d\n", from, to);
	return 0;
}

int main(int argc, char **argv)
{
	settings st;
	command_args ca = { 0 };
	csf_server_options o;
	const char **names = NULL;
	size_t n_names = 0, i;
	const char *cmd = "serve";
	int first = 1, rc;

	memset(&st, 0, sizeof(st));
	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		first = 2;
		if ((strcmp(cmd, "token") == 0 || strcmp(cmd, "apikey") == 0)) {
			if (argc < 3 || strcmp(argv[2], "create") != 0) {
				fprintf(stderr, "csf-server: say '%s create'\n", cmd);
				return EXIT_USAGE;
			}
			first = 3;
		}
	}
	if (strcmp(cmd, "version") == 0) {
		printf("csf-server %s (libcsf %s)\n", CSF_VERSION, csf_version(NULL));
		return 0;
	}
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "serve") && strcmp(cmd, "migrate") && strcmp(cmd, "token") && strcmp(cmd, "apikey")) {
		fprintf(stderr, "csf-server: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	rc = parse_flags(argc - first, argv + first, &st,
			 strcmp(cmd, "token") == 0 || strcmp(cmd, "apikey") == 0 ? &ca : NULL);
	if (rc)
		return rc;
	read_env(&st);
	if (!st.config_path)
		st.config_path = getenv("CSF_CONFIG");
	if (st.config_path && (rc = csf_config_parse_file(st.config_path, on_config, &st)) != 0)
		return rc == EXIT_USAGE ? rc : fail("config");
	rc = setup_logging(&st);
	if (!rc)
		rc = to_options(&st, &o, &names, &n_names);
	if (rc)
		return rc;
	if (strcmp(cmd, "serve") == 0) {
		rc = cmd_serve(&o);
	} else if (strcmp(cmd, "migrate") == 0) {
		rc = cmd_migrate(&o);
	} else if (strcmp(cmd, "token") == 0) {
		int ok = 1;
		uint32_t ttl = ca.ttl ? duration_s(ca.ttl, &ok) : 0;
		long uses = ca.uses ? strtol(ca.uses, NULL, 10) : 1;
		char *token = NULL;

		if (!ok || uses < 1 || uses > 1000000) {
			fprintf(stderr, "csf-server: --ttl must be a duration (30m) and --uses a positive number\n");
			return EXIT_USAGE;
		}
		if (csf_server_token_create(&token, &o, ca.org, ttl, (uint32_t)uses, ca.description) != 0)
			return fail("token create");
		printf("enrollment token (organization %s, %u use%s, valid %s):\n%s\n", ca.org ? ca.org : "default",
		       (unsigned)uses, uses == 1 ? "" : "s", ca.ttl ? ca.ttl : "30m", token);
		csf_free(token);
	} else {
		char *key = NULL;

		if (!ca.name || !ca.role) {
			fprintf(stderr, "csf-server: apikey create needs --name and --role\n");
			return EXIT_USAGE;
		}
		if (csf_server_apikey_create(&key, &o, ca.org, ca.name, ca.role) != 0)
			return fail("apikey create");
		printf("API key %s (role %s):\n%s\n", ca.name, ca.role, key);
		csf_free(key);
	}
	for (i = 0; i < N_OPTIONS; i++)
		free(st.owned[i]);
	free(names);
	return rc;
}
