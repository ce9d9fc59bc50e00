/*
 * csf-agent status: the daemon's live state from DIR/status (which the
 * daemon rewrites), and whether a daemon runs at all: it holds an flock on
 * DIR/run.lock for its whole life, so a lock we can take means none does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define EXIT_NOT_RUNNING 3 /* as LSB init scripts' status */

static const char *const fields[] = {
	"state", "server_url", "transport", "agent_id", "boot_id", "connected_since_ms", "last_acked_seq",
	"last_ack_ms", "outbox_depth", "outbox_bytes", "dropped", "cert_expires_at", "last_error",
	"updated_at_ms", "pid",
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))
/* Numbers print as JSON numbers. */
static const char *const numeric = " connected_since_ms last_acked_seq last_ack_ms outbox_depth outbox_bytes "
				   "dropped cert_expires_at updated_at_ms pid ";

typedef struct status {
	char *value[N_FIELDS];
} status;

static int on_field(const char *key, const char *value, int line, void *payload)
{
	status *s = payload;
	size_t i;

	(void)line;
	for (i = 0; i < N_FIELDS; i++) {
		if (strcmp(fields[i], key) == 0) {
			free(s->value[i]);
			s->value[i] = strdup(value);
		}
	}
	return 0; /* a newer daemon's extra fields are not an error */
}

static const char *field(const status *s, const char *name)
{
	size_t i;

	for (i = 0; i < N_FIELDS; i++)
		if (strcmp(fields[i], name) == 0)
			return s->value[i] ? s->value[i] : "";
	return "";
}

/* 1 when a daemon holds the state directory's lock, 0 when none does. */
static int daemon_running(const char *dir)
{
	char path[4200];
	int fd, held;

	snprintf(path, sizeof(path), "%s/run.lock", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

static void when(char *buf, size_t n, const char *ms)
{
	time_t t = (time_t)(strtoll(ms, NULL, 10) / 1000);
	struct tm tm;

	if (t <= 0)
		snprintf(buf, n, "never");
	else
		strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
}

static void print_json(const status *s, int running)
{
	size_t i;

	printf("{\"running\":%s", running ? "true" : "false");
	for (i = 0; i < N_FIELDS; i++) {
		char probe[64];
		const char *v = field(s, fields[i]);

		snprintf(probe, sizeof(probe), " %s ", fields[i]);
		printf(",\"%s\":", fields[i]);
		if (strstr(numeric, probe)) {
			printf("%s", *v ? v : "null");
			continue;
		}
		putchar('"');
		for (; *v; v++) {
			if (*v == '"' || *v == '\\')
				printf("\\%c", *v);
			else if ((unsigned char)*v < 0x20)
				printf("\\u%04x", *v);
			else
				putchar(*v);
		}
		putchar('"');
	}
	printf("}\n");
}

static void print_text(const status *s, int running, const char *dir)
{
	char a[64], b[64], c[64];
	char ms[32];

	snprintf(ms, sizeof(ms), "%lld", strtoll(field(s, "cert_expires_at"), NULL, 10) * 1000);
	when(a, sizeof(a), field(s, "last_ack_ms"));
	when(b, sizeof(b), ms);
	when(c, sizeof(c), field(s, "updated_at_ms"));
	if (running)
		printf("csf-agent     running (pid %s)\n", field(s, "pid"));
	else
		printf("csf-agent     not running (last state as of %s)\n", c);
	printf("state dir     %s\n", dir);
	printf("agent         %s\n", field(s, "agent_id"));
	printf("server        %s\n", field(s, "server_url"));
	printf("connection    %s%s%s\n", running ? field(s, "state") : "none",
	       running && *field(s, "transport") ? " over " : "", running ? field(s, "transport") : "");
	printf("last ack      seq %s at %s\n", field(s, "last_acked_seq"), a);
	printf("outbox        %s message(s), %s bytes, boot_id %s\n", field(s, "outbox_depth"), field(s, "outbox_bytes"),
	       field(s, "boot_id"));
	printf("dropped       %s message(s) (outbox full)\n", field(s, "dropped"));
	printf("certificate   expires %s\n", b);
	if (*field(s, "last_error"))
		printf("last error    %s\n", field(s, "last_error"));
}

int agent_status_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	char path[4200];
	status s;
	size_t i;
	int opt, json = 0, running, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: csf-agent status [--state-dir DIR] [--json]\n");
			return 0;
		default:
			fprintf(stderr, "usage: csf-agent status [--state-dir DIR] [--json]\n");
			return AGENT_EXIT_USAGE;
		}
	}
	if (!dir)
		dir = agent_env("state-dir");
	if (!dir)
		dir = CSF_AGENT_DEFAULT_STATE_DIR;
	snprintf(path, sizeof(path), "%s/identity.conf", dir);
	if (access(path, F_OK) != 0) {
		fprintf(stderr, "csf-agent status: %s holds no agent identity (run csf-agent enroll)\n", dir);
		return AGENT_EXIT_STATE_DIR;
	}
	memset(&s, 0, sizeof(s));
	running = daemon_running(dir);
	snprintf(path, sizeof(path), "%s/status", dir);
	rc = access(path, F_OK) == 0 ? csf_config_parse_file(path, on_field, &s) : 0;
	if (rc) {
		fprintf(stderr, "csf-agent status: %s\n", csf_error_last()->message);
		rc = AGENT_EXIT_FAILURE;
	} else {
		if (json)
			print_json(&s, running);
		else
			print_text(&s, running, dir);
		rc = running ? 0 : EXIT_NOT_RUNNING;
	}
	for (i = 0; i < N_FIELDS; i++)
		free(s.value[i]);
	return rc;
}
