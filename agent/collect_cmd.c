/* csf-agent collect: one snapshot, or N at an interval, as a table or JSON. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"

static void collect_usage(FILE *out)
{
	fprintf(out,
		"usage: csf-agent collect [--json] [--interval SECONDS [--count N]]\n"
		"                         [--no-processes] [--top N]\n"
		"                         [--proc-path DIR] [--sys-path DIR] [--rootfs-path DIR]\n"
		"\n"
		"Print a snapshot of this host. Without --interval the snapshot's rates\n"
		"are averages since boot; with it, each snapshot covers the interval\n"
		"before it (the first is taken after one interval).\n"
		"\n"
		"  --json             one JSON object per snapshot, one per line\n"
		"  --interval S       seconds between snapshots (0.1 to 86400)\n"
		"  --count N          stop after N snapshots (default: run until killed)\n"
		"  --no-processes     skip the per-process part\n"
		"  --top N            processes in each top list (default 5, at most 100)\n"
		"  --proc-path DIR    procfs mount (default /proc), e.g. a host's /proc in a container\n"
		"  --sys-path DIR     sysfs mount (default /sys)\n"
		"  --rootfs-path DIR  the host's root (default /): os-release and mountpoints\n");
}

static int fail(const char *what)
{
	const csf_error *e = csf_error_last();

	fprintf(stderr, "csf-agent collect: %s: %s\n", what, e->message[0] ? e->message : csf_strerror(e->code));
	return AGENT_EXIT_FAILURE;
}

static int emit(csf_collector *c, int json)
{
	csf_snapshot *snap = NULL;
	char *text = NULL;
	int rc;

	rc = csf_snapshot_new(&snap);
	if (!rc)
		rc = csf_collector_collect(c, snap);
	if (rc) {
		csf_snapshot_free(snap);
		return fail("collect");
	}
	if (json) {
		rc = csf_snapshot_to_json(&text, NULL, snap);
		if (rc) {
			csf_snapshot_free(snap);
			return fail("encode");
		}
		printf("%s\n", text);
		csf_free(text);
	} else {
		agent_print_snapshot(stdout, snap);
	}
	csf_snapshot_free(snap);
	return fflush(stdout) == 0 ? 0 : AGENT_EXIT_FAILURE;
}

static void sleep_until(struct timespec *next, double interval)
{
	next->tv_sec += (time_t)interval;
	next->tv_nsec += (long)((interval - floor(interval)) * 1e9);
	if (next->tv_nsec >= 1000000000L) {
		next->tv_sec++;
		next->tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR)
		;
}

int agent_collect_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "no-processes", no_argument, NULL, 'P' },
		{ "top", required_argument, NULL, 't' },
		{ "proc-path", required_argument, NULL, 'p' },
		{ "sys-path", required_argument, NULL, 's' },
		{ "rootfs-path", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	csf_system_options opts;
	csf_collector *c = NULL;
	double interval = 0;
	long count = -1;
	int json = 0, opt, rc = 0;
	char *end;

	csf_system_options_init(&opts, CSF_SYSTEM_OPTIONS_VERSION);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = 1; break;
		case 'P': opts.processes = 0; break;
		case 'p': opts.proc_path = optarg; break;
		case 's': opts.sys_path = optarg; break;
		case 'r': opts.rootfs_path = optarg; break;
		case 'i':
			errno = 0;
			interval = strtod(optarg, &end);
			if (errno || *end || !(interval >= 0.1 && interval <= 86400)) {
				fprintf(stderr, "csf-agent collect: --interval must be 0.1 to 86400 seconds, not '%s'\n", optarg);
				return AGENT_EXIT_USAGE;
			}
			break;
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno || *end || count < 1) {
				fprintf(stderr, "csf-agent collect: --count must be a positive integer, not '%s'\n", optarg);
				return AGENT_EXIT_USAGE;
			}
			break;
		case 't': {
			long top;

			errno = 0;
			top = strtol(optarg, &end, 10);
			if (errno || *end || top < 0 || top > 100) {
				fprintf(stderr, "csf-agent collect: --top must be 0 to 100, not '%s'\n", optarg);
				return AGENT_EXIT_USAGE;
			}
			opts.top_processes = (unsigned int)top;
			break;
		}
		case 'h':
			collect_usage(stdout);
			return 0;
		default:
			collect_usage(stderr);
			return AGENT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "csf-agent collect: unexpected argument '%s'\n", argv[optind]);
		return AGENT_EXIT_USAGE;
	}
	if (count > 0 && interval == 0) {
		fprintf(stderr, "csf-agent collect: --count needs --interval\n");
		return AGENT_EXIT_USAGE;
	}

	if (csf_collector_new(&c, csf_collector_system(), &opts) != 0)
		return fail("system collector");
	if (interval == 0) {
		rc = emit(c, json);
	} else {
		struct timespec next;
		csf_snapshot *baseline = NULL;

		/* The baseline only primes the collector's counters. */
		if (csf_snapshot_new(&baseline) != 0 || csf_collector_collect(c, baseline) != 0) {
			csf_snapshot_free(baseline);
			csf_collector_free(c);
			return fail("collect");
		}
		csf_snapshot_free(baseline);
		clock_gettime(CLOCK_MONOTONIC, &next);
		for (long i = 0; rc == 0 && (count < 0 || i < count); i++) {
			sleep_until(&next, interval);
			rc = emit(c, json);
			if (!json && rc == 0 && (count < 0 || i + 1 < count))
				printf("\n");
		}
	}
	csf_collector_free(c);
	return rc;
}
