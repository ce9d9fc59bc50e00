/*
 * Cost of one system snapshot, against I/O floors and peer libraries
 * measured in the same run (docs/performance.md, "System snapshot").
 *
 * usage: csf-snapshot-bench [-n ITERATIONS] [-b BATCHES] [-w WARMUP]
 *                           [--cold ROUNDS] [--gap MS]
 *                           [--psutil SCRIPT | --no-psutil] [--only CASE]
 *
 * Hot: each case runs WARMUP iterations, then BATCHES batches of
 * ITERATIONS / BATCHES; the batches of all cases are interleaved so that
 * drift in the machine's speed spreads over every case. A case's figure is
 * the median of its batches' means, in microseconds per snapshot.
 *
 * Cold (--cold, off by default): ROUNDS single snapshots of each case, MS
 * milliseconds apart (default 250), in an order that turns each round: what
 * an agent woken once a second pays, with caches its sleep let go cold.
 * psutil runs in its own interpreter (psutil_snapshot.py), after the others.
 *
 * --only runs one case (and psutil only if it is that case), e.g. under perf
 * or valgrind --tool=callgrind.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <csf/collect.h>

#ifdef CSF_BENCH_HAVE_STATGRAB
#include <statgrab.h>
#endif

enum { FLOOR_ISSUE, FLOOR_SAME, CSF, CSF_PROCS, PSUTIL, STATGRAB, NCASES };

#define MAX_SAMPLES 1000
#define MAX_FILES 16
#define MAX_MOUNTS 64
#define READ_BUF (1u << 20)
/* Bytes asked of one pread. Small on purpose: a sysctl file such as
 * /proc/sys/kernel/hostname allocates and zeroes the whole count in the
 * kernel on every read (1 MiB costs ~40 us there, 4 KiB ~0.4 us). */
#define READ_CHUNK 4096

typedef struct floor_io {
	int fds[MAX_FILES];
	size_t nfds;
	int mountinfo_fd; /* polled as the collector does, or -1 */
	int sysinfo;      /* call sysinfo() and read CLOCK_BOOTTIME, as the collector does on a live /proc */
	char *mounts[MAX_MOUNTS];
	size_t nmounts;
} floor_io;

typedef struct stats {
	double median, min, max; /* microseconds per snapshot */
	int done;
} stats;

typedef struct bench_case {
	const char *name;
	const char *what;
	int (*step)(void *ctx); /* one snapshot; NULL when the case is not run */
	void *ctx;
	stats hot, cold;
} bench_case;

static char readbuf[READ_BUF];
static double samples[NCASES][MAX_SAMPLES];

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void stats_of(stats *st, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	st->min = v[0];
	st->max = v[n - 1];
	st->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	st->done = 1;
}

/* Read a whole file from offset 0 as the collector does: until pread says EOF. */
static int read_whole(int fd)
{
	size_t len = 0;

	for (;;) {
		size_t want = sizeof(readbuf) - len < READ_CHUNK ? sizeof(readbuf) - len : READ_CHUNK;
		ssize_t n = pread(fd, readbuf + len, want, (off_t)len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		len += (size_t)n;
		if (len == sizeof(readbuf))
			return -1;
	}
}

static int floor_step(void *ctx)
{
	floor_io *f = ctx;
	struct statvfs st;
	size_t i;

	for (i = 0; i < f->nfds; i++)
		if (read_whole(f->fds[i]) != 0)
			return -1;
	if (f->sysinfo) {
		struct sysinfo si;
		struct timespec ts;

		if (sysinfo(&si) != 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
			return -1;
	}
	if (f->mountinfo_fd >= 0) {
		struct pollfd pfd = { f->mountinfo_fd, POLLPRI, 0 };

		if (poll(&pfd, 1, 0) < 0)
			return -1;
	}
	for (i = 0; i < f->nmounts; i++)
		if (statvfs(f->mounts[i], &st) != 0)
			return -1;
	return 0;
}

static int floor_open(floor_io *f, const char *const *paths, size_t n)
{
	size_t i;

	for (i = 0; i < n && f->nfds < MAX_FILES; i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			fprintf(stderr, "csf-snapshot-bench: cannot open %s: %s\n", paths[i], strerror(errno));
			return -1;
		}
		f->fds[f->nfds++] = fd;
	}
	return 0;
}

static void floor_close(floor_io *f)
{
	size_t i;

	for (i = 0; i < f->nfds; i++)
		close(f->fds[i]);
	if (f->mountinfo_fd >= 0)
		close(f->mountinfo_fd);
	for (i = 0; i < f->nmounts; i++)
		free(f->mounts[i]);
}

static int csf_step(void *ctx)
{
	csf_snapshot *s = NULL;
	int rc = csf_snapshot_new(&s);

	if (!rc)
		rc = csf_collector_collect(ctx, s);
	csf_snapshot_free(s);
	return rc;
}

static int new_collector(csf_collector **out, int processes)
{
	csf_system_options opts;

	csf_system_options_init(&opts, CSF_SYSTEM_OPTIONS_VERSION);
	opts.processes = processes;
	if (csf_collector_new(out, csf_collector_system(), &opts) != 0) {
		fprintf(stderr, "csf-snapshot-bench: system collector: %s\n", csf_error_last()->message);
		return -1;
	}
	return 0;
}

/* The filesystems the collector reports, for floor_same_io's statvfs calls,
 * and a line about what one snapshot holds. */
static int describe_collector(csf_collector *c, floor_io *same, char *about, size_t about_len)
{
	csf_snapshot *s = NULL;
	size_t i, off;
	int rc;

	if (csf_snapshot_new(&s) != 0 || csf_collector_collect(c, s) != 0) {
		fprintf(stderr, "csf-snapshot-bench: collect: %s\n", csf_error_last()->message);
		csf_snapshot_free(s);
		return -1;
	}
	off = (size_t)snprintf(about, about_len, "%zu cpus, %zu disks, %zu interfaces, %zu filesystems (",
			       s->system->cpu->cores_count, s->system->disks_count,
			       s->system->network->interfaces_count, s->system->filesystems_count);
	for (i = 0; i < s->system->filesystems_count && i < MAX_MOUNTS; i++) {
		const char *mp = s->system->filesystems[i]->mountpoint;

		same->mounts[same->nmounts] = strdup(mp);
		if (!same->mounts[same->nmounts])
			break;
		same->nmounts++;
		if (off < about_len)
			off += (size_t)snprintf(about + off, about_len - off, "%s%s", i ? " " : "", mp);
	}
	rc = i == s->system->filesystems_count || i == MAX_MOUNTS ? 0 : -1;
	if (off < about_len)
		snprintf(about + off, about_len - off, ")");
	csf_snapshot_free(s);
	return rc;
}

#ifdef CSF_BENCH_HAVE_STATGRAB
static int statgrab_started;

/* Each libstatgrab call returns a buffer it keeps (and frees at sg_shutdown). */
static int statgrab_step(void *ctx)
{
	size_t n;

	(void)ctx;
	return sg_get_cpu_stats(&n) && sg_get_mem_stats(&n) && sg_get_load_stats(&n) &&
	       sg_get_network_io_stats(&n) && sg_get_disk_io_stats(&n) && sg_get_fs_stats(&n)
		? 0 : -1;
}

static void statgrab_start(bench_case *c)
{
	if (sg_init(0) == SG_ERROR_NONE && (statgrab_started = 1, statgrab_step(NULL) == 0))
		c->step = statgrab_step;
	else
		fprintf(stderr, "csf-snapshot-bench: libstatgrab skipped: %s\n", sg_str_error(sg_get_error()));
}

static void statgrab_stop(void)
{
	if (statgrab_started)
		sg_shutdown();
}
#else
static void statgrab_start(bench_case *c)
{
	(void)c;
	fprintf(stderr, "csf-snapshot-bench: libstatgrab skipped: built without it (libstatgrab-dev)\n");
}

static void statgrab_stop(void)
{
}
#endif

static int step_or_fail(bench_case *c)
{
	if (c->step(c->ctx) == 0)
		return 0;
	fprintf(stderr, "csf-snapshot-bench: %s failed: %s\n", c->name, csf_error_last()->message);
	return -1;
}

static int run_hot(bench_case *cases, long iterations, int batches, long warmup)
{
	long per_batch = iterations / batches, k;
	int b, i;

	for (i = 0; i < NCASES; i++)
		for (k = 0; cases[i].step && k < warmup; k++)
			if (step_or_fail(&cases[i]))
				return -1;
	for (b = 0; b < batches; b++) {
		for (i = 0; i < NCASES; i++) {
			double t0 = now_us();

			if (!cases[i].step)
				continue;
			for (k = 0; k < per_batch; k++)
				if (step_or_fail(&cases[i]))
					return -1;
			samples[i][b] = (now_us() - t0) / (double)per_batch;
		}
	}
	for (i = 0; i < NCASES; i++)
		if (cases[i].step)
			stats_of(&cases[i].hot, samples[i], batches);
	return 0;
}

static int run_cold(bench_case *cases, int rounds, long gap_ms)
{
	struct timespec gap = { gap_ms / 1000, (gap_ms % 1000) * 1000000L };
	int r, j, i;

	for (r = 0; r < rounds; r++) {
		for (j = 0; j < NCASES; j++) {
			double t0;

			i = (j + r) % NCASES;
			if (!cases[i].step)
				continue;
			while (nanosleep(&gap, NULL) != 0 && errno == EINTR)
				;
			t0 = now_us();
			if (step_or_fail(&cases[i]))
				return -1;
			samples[i][r] = now_us() - t0;
		}
	}
	for (i = 0; i < NCASES; i++)
		if (cases[i].step)
			stats_of(&cases[i].cold, samples[i], rounds);
	return 0;
}

/* Run the psutil loop in its own interpreter; it prints "median min max"
 * for the hot loop, then for the cold rounds if asked. */
static int run_psutil(bench_case *c, const char *script, long iterations, int batches,
		      long warmup, int rounds, long gap_ms)
{
	char cmd[4096], line[256];
	stats *st[2] = { &c->hot, &c->cold };
	FILE *p;
	int ok = 1, k;

	if (access("/usr/bin/python3", X_OK) != 0 || access(script, R_OK) != 0) {
		fprintf(stderr, "csf-snapshot-bench: psutil skipped (no /usr/bin/python3 or %s)\n", script);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' %ld %d %ld %d %ld", script, iterations,
		 batches, warmup, rounds, gap_ms);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	for (k = 0; k < (rounds ? 2 : 1); k++) {
		ok = ok && fgets(line, sizeof(line), p) &&
		     sscanf(line, "%lf %lf %lf", &st[k]->median, &st[k]->min, &st[k]->max) == 3;
		st[k]->done = ok;
	}
	if (pclose(p) != 0 || !ok) {
		c->hot.done = c->cold.done = 0;
		fprintf(stderr, "csf-snapshot-bench: psutil skipped (%s failed)\n", script);
		return -1;
	}
	return 0;
}

static const char *fmt_stats(char *out, size_t len, const stats *st)
{
	if (st->done)
		snprintf(out, len, "%8.1f (%.1f .. %.1f)", st->median, st->min, st->max);
	else
		snprintf(out, len, "%8s", "n/a");
	return out;
}

static void print_ratio(const char *name, const bench_case *a, const bench_case *b, double goal)
{
	printf("  %-22s", name);
	if (a->hot.done && b->hot.done) {
		double r = a->hot.median / b->hot.median;

		printf(" %6.2f", r);
		if (goal > 0)
			printf("   goal <= %.2f: %s", goal, r <= goal ? "met" : "MISSED");
	} else {
		printf(" %6s", "n/a");
	}
	if (a->cold.done && b->cold.done)
		printf("   (cold: %.2f)", a->cold.median / b->cold.median);
	printf("\n");
}

static void print_results(const bench_case *cases, const char *about, long iterations,
			  int batches, long warmup, int rounds, long gap_ms)
{
	char hot[64], cold[64];
	int i;

	printf("System snapshot cost, microseconds per snapshot: median (min .. max).\n"
	       "hot: %ld iterations per case in %d batches after %ld warm-up, median of batch means.\n",
	       iterations, batches, warmup);
	if (rounds)
		printf("cold: %d single snapshots per case, %ld ms apart.\n", rounds, gap_ms);
	printf("The collector sees %s.\n\n", about);
	printf("  %-28s %-28s %s\n", "case", "hot", rounds ? "cold" : "");
	for (i = 0; i < NCASES; i++)
		printf("  %-28s %-28s %s\n", cases[i].name, fmt_stats(hot, sizeof(hot), &cases[i].hot),
		       rounds ? fmt_stats(cold, sizeof(cold), &cases[i].cold) : "");
	printf("\n");
	for (i = 0; i < NCASES; i++)
		printf("  %-28s %s\n", cases[i].name, cases[i].what);
	printf("\nRatios of the medians:\n");
	print_ratio("csf / floor_issue", &cases[CSF], &cases[FLOOR_ISSUE], 1.5);
	print_ratio("csf / floor_same_io", &cases[CSF], &cases[FLOOR_SAME], 0);
	print_ratio("psutil / csf", &cases[PSUTIL], &cases[CSF], 0);
	print_ratio("libstatgrab / csf", &cases[STATGRAB], &cases[CSF], 0);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: csf-snapshot-bench [-n ITERATIONS] [-b BATCHES] [-w WARMUP]\n"
		     "                          [--cold ROUNDS] [--gap MS]\n"
		     "                          [--psutil SCRIPT | --no-psutil] [--only CASE]\n");
}

int main(int argc, char **argv)
{
	static const char *const issue_files[] = {
		"/proc/stat", "/proc/meminfo", "/proc/net/dev", "/proc/diskstats",
	};
	/* The order system_collect() reads them in. */
	static const char *const same_files[] = {
		"/proc/stat", "/proc/sys/kernel/hostname",
		"/proc/meminfo", "/proc/diskstats", "/proc/net/dev",
	};
	bench_case cases[NCASES] = {
		[FLOOR_ISSUE] = { "floor_issue", "pread stat, meminfo, net/dev, diskstats; statvfs /",
				  floor_step, NULL, { 0 }, { 0 } },
		[FLOOR_SAME] = { "floor_same_io",
				 "pread the collector's 5 files, sysinfo + CLOCK_BOOTTIME, poll mountinfo, statvfs its filesystems",
				 floor_step, NULL, { 0 }, { 0 } },
		[CSF] = { "csf_snapshot", "csf_snapshot_new + csf_collector_collect + free, processes off",
			  csf_step, NULL, { 0 }, { 0 } },
		[CSF_PROCS] = { "csf_snapshot_with_processes", "the same, processes on (top 5)",
				csf_step, NULL, { 0 }, { 0 } },
		[PSUTIL] = { "psutil", "/usr/bin/python3: cpu_times(percpu), virtual_memory, "
				       "net_io_counters(pernic), disk_io_counters(perdisk), disk_usage /, getloadavg",
			     NULL, NULL, { 0 }, { 0 } },
		[STATGRAB] = { "libstatgrab", "sg_get_cpu, mem, load, network_io, disk_io, fs stats",
			       NULL, NULL, { 0 }, { 0 } },
	};
	long iterations = 20000, warmup = 1000, gap_ms = 250;
	int batches = 5, rounds = 0, i, rc = 1;
	const char *psutil_script = CSF_BENCH_PSUTIL_SCRIPT, *only = NULL;
	floor_io fl_issue = { .mountinfo_fd = -1 }, fl_same = { .mountinfo_fd = -1, .sysinfo = 1 };
	csf_collector *c_plain = NULL, *c_procs = NULL;
	char about[1024];

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--no-psutil") == 0) {
			psutil_script = NULL;
			continue;
		}
		if (i + 1 == argc) {
			usage(stderr);
			return 2;
		}
		v = argv[++i];
		if (strcmp(a, "-n") == 0)
			iterations = strtol(v, NULL, 10);
		else if (strcmp(a, "-b") == 0)
			batches = atoi(v);
		else if (strcmp(a, "-w") == 0)
			warmup = strtol(v, NULL, 10);
		else if (strcmp(a, "--cold") == 0)
			rounds = atoi(v);
		else if (strcmp(a, "--gap") == 0)
			gap_ms = strtol(v, NULL, 10);
		else if (strcmp(a, "--psutil") == 0)
			psutil_script = v;
		else if (strcmp(a, "--only") == 0)
			only = v;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (batches < 1 || batches > MAX_SAMPLES || iterations < batches || warmup < 0 ||
	    rounds < 0 || rounds > MAX_SAMPLES || gap_ms < 0) {
		usage(stderr);
		return 2;
	}

	fl_issue.mounts[0] = strdup("/");
	fl_issue.nmounts = fl_issue.mounts[0] ? 1 : 0;
	fl_same.mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (floor_open(&fl_issue, issue_files, sizeof(issue_files) / sizeof(issue_files[0])) ||
	    floor_open(&fl_same, same_files, sizeof(same_files) / sizeof(same_files[0])) ||
	    fl_same.mountinfo_fd < 0 || new_collector(&c_plain, 0) || new_collector(&c_procs, 1) ||
	    describe_collector(c_plain, &fl_same, about, sizeof(about)))
		goto done;
	cases[FLOOR_ISSUE].ctx = &fl_issue;
	cases[FLOOR_SAME].ctx = &fl_same;
	cases[CSF].ctx = c_plain;
	cases[CSF_PROCS].ctx = c_procs;
	statgrab_start(&cases[STATGRAB]);
	if (only) {
		for (i = 0; i < NCASES; i++)
			if (strcmp(only, cases[i].name) != 0)
				cases[i].step = NULL;
		if (strcmp(only, "psutil") != 0)
			psutil_script = NULL;
	}

	if (run_hot(cases, iterations, batches, warmup) || (rounds && run_cold(cases, rounds, gap_ms)))
		goto done;
	if (psutil_script)
		run_psutil(&cases[PSUTIL], psutil_script, iterations, batches, warmup, rounds, gap_ms);
	print_results(cases, about, iterations, batches, warmup, rounds, gap_ms);
	rc = 0;
done:
	statgrab_stop();
	csf_collector_free(c_plain);
	csf_collector_free(c_procs);
	floor_close(&fl_issue);
	floor_close(&fl_same);
	return rc;
}
