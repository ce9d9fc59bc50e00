/* The built-in system collector: descriptor, options, state, and the order
 * in which one snapshot reads the kernel's files. */
#include <errno.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "collect/snapshot.h"
#include "collect/system.h"

#define READ_MAX (64u << 20)

int csf_system_options_init(csf_system_options *opts, unsigned int version)
{
	if (!opts || version != CSF_SYSTEM_OPTIONS_VERSION)
		return csf__misuse("csf_system_options_init: unknown version %u", version);
	*opts = (csf_system_options)CSF_SYSTEM_OPTIONS_INIT;
	return 0;
}

static void system_free(void *state, void *payload)
{
	csf__system *sys = state;
	int i;

	(void)payload;
	if (!sys)
		return;
	csf__procfile_close(&sys->f_stat);
	csf__procfile_close(&sys->f_meminfo);
	csf__procfile_close(&sys->f_netdev);
	csf__procfile_close(&sys->f_diskstats);
	csf__procfile_close(&sys->f_loadavg);
	csf__procfile_close(&sys->f_uptime);
	csf__procfile_close(&sys->f_hostname);
	csf__procfile_close(&sys->f_mountinfo);
	csf__buf_free(&sys->rd);
	for (i = 0; i < 2; i++) {
		csf__proc_stat_free(&sys->stat[i]);
		csf__netdev_free(&sys->net[i]);
		csf__diskstats_free(&sys->disk[i]);
	}
	csf__free(sys->disk_class);
	csf__system_filesystems_free(sys);
	csf__system_processes_free(sys);
	csf__free(sys->proc_path);
	csf__free(sys->sys_path);
	csf__free(sys->rootfs_path);
	csf__free(sys);
}

static int open_files(csf__system *sys)
{
	struct {
		csf__procfile *f;
		const char *rel;
	} files[] = {
		{ &sys->f_stat, "stat" },
		{ &sys->f_meminfo, "meminfo" },
		{ &sys->f_netdev, "net/dev" },
		{ &sys->f_diskstats, "diskstats" },
		{ &sys->f_hostname, "sys/kernel/hostname" },
		{ &sys->f_mountinfo, "self/mountinfo" },
		{ &sys->f_loadavg, "loadavg" },
		{ &sys->f_uptime, "uptime" },
	};
	size_t i, n = CSF__ARRAY_SIZE(files) - (sys->live ? 2 : 0);

	for (i = 0; i < n; i++) {
		int rc = csf__procfile_open(files[i].f, sys->proc_path, files[i].rel);

		if (rc)
			return rc;
	}
	return 0;
}

static int system_init(void **state, const void *options, void *payload)
{
	const csf_system_options *o = options;
	csf_system_options defaults = CSF_SYSTEM_OPTIONS_INIT;
	csf__system *sys;
	int rc;

	(void)payload;
	if (!o)
		o = &defaults;
	if (o->version != CSF_SYSTEM_OPTIONS_VERSION)
		return csf__misuse("system collector: unknown options version %u", o->version);
	if (o->top_processes > CSF__SYSTEM_TOP_MAX)
		return csf__misuse("system collector: top_processes %u is more than %d",
				   o->top_processes, CSF__SYSTEM_TOP_MAX);
	sys = csf__calloc(1, sizeof(*sys));
	if (!sys)
		return CSF_ENOMEM;
	sys->f_stat = sys->f_meminfo = sys->f_netdev = sys->f_diskstats =
		sys->f_loadavg = sys->f_uptime = sys->f_hostname = sys->f_mountinfo =
			(csf__procfile)CSF__PROCFILE_INIT;
	sys->rd = (csf__buf)CSF__BUF_INIT(READ_MAX);
	sys->fstypes = (csf__buf)CSF__BUF_INIT(1u << 20);
	sys->processes = o->processes;
	sys->top = o->top_processes;
	sys->hz = sysconf(_SC_CLK_TCK);
	sys->page_size = sysconf(_SC_PAGESIZE);
	if (sys->hz <= 0 || sys->page_size <= 0) {
		rc = csf__error_set(CSF_EUNSUPPORTED, "system collector: no clock tick or page size");
		goto fail;
	}
	sys->proc_path = csf__strdup(o->proc_path ? o->proc_path : "/proc");
	sys->sys_path = csf__strdup(o->sys_path ? o->sys_path : "/sys");
	sys->rootfs_path = csf__strdup(o->rootfs_path ? o->rootfs_path : "/");
	if (!sys->proc_path || !sys->sys_path || !sys->rootfs_path) {
		rc = CSF_ENOMEM;
		goto fail;
	}
	sys->live = strcmp(sys->proc_path, "/proc") == 0;
	rc = open_files(sys);
	if (!rc)
		rc = csf__system_host_init(sys);
	if (rc)
		goto fail;
	*state = sys;
	return 0;
fail:
	system_free(sys, NULL);
	return rc;
}

static double clock_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_parse_stat(csf__system *sys, csf__proc_stat *st)
{
	int rc = csf__procfile_read(&sys->f_stat, &sys->rd);

	return rc ? rc : csf__parse_proc_stat(st, sys->rd.ptr, sys->rd.len);
}

static int read_load_uptime(csf__system *sys, double now, double load[3], double *uptime)
{
	int rc, i;

	if (sys->live) {
		struct sysinfo si;

		if (sysinfo(&si) != 0)
			return csf__error_set_errno(CSF_EIO, errno, "sysinfo");
		for (i = 0; i < 3; i++)
			load[i] = (double)si.loads[i] / (double)(1 << SI_LOAD_SHIFT);
		*uptime = now;
		return 0;
	}
	rc = csf__procfile_read(&sys->f_loadavg, &sys->rd);

	if (!rc)
		rc = csf__parse_loadavg(load, sys->rd.ptr, sys->rd.len);
	if (!rc)
		rc = csf__procfile_read(&sys->f_uptime, &sys->rd);
	if (!rc)
		rc = csf__parse_uptime(uptime, sys->rd.ptr, sys->rd.len);
	return rc;
}

static int system_collect(void *state, csf_snapshot *snap, void *payload)
{
	csf__system *sys = state;
	csf__arena *arena = csf__snapshot_arena(snap);
	double now = clock_seconds(), load[3], uptime, interval;
	csf_system *out;
	int rc;

	(void)payload;
	if (snap->system)
		return csf__error_set(CSF_EEXISTS, "system collector: the snapshot already has a system part");
	out = csf__arena_alloc(arena, sizeof(*out));
	if (!out)
		return CSF_ENOMEM;
	out->host = csf__arena_alloc(arena, sizeof(*out->host));
	out->cpu = csf__arena_alloc(arena, sizeof(*out->cpu));
	out->memory = csf__arena_alloc(arena, sizeof(*out->memory));
	out->network = csf__arena_alloc(arena, sizeof(*out->network));
	if (!out->host || !out->cpu || !out->memory || !out->network)
		return CSF_ENOMEM;

	rc = read_parse_stat(sys, &sys->stat[sys->cur]);
	if (!rc)
		rc = read_load_uptime(sys, now, load, &uptime);
	if (rc)
		return rc;
	/* The first snapshot of an instance covers the time since boot. */
	interval = sys->have_prev ? now - sys->prev_clock : uptime;
	out->interval_seconds = interval;

	rc = csf__system_host(sys, arena, out->host, uptime, &sys->stat[sys->cur]);
	if (!rc)
		rc = csf__system_cpu(sys, arena, out->cpu, interval, load);
	if (!rc)
		rc = csf__system_memory(sys, out->memory);
	if (!rc)
		rc = csf__system_filesystems(sys, arena, out);
	if (!rc)
		rc = csf__system_disks(sys, arena, out, interval);
	if (!rc)
		rc = csf__system_network(sys, arena, out->network, interval);
	if (!rc && sys->processes) {
		out->processes = csf__arena_alloc(arena, sizeof(*out->processes));
		rc = out->processes ? csf__system_processes(sys, arena, out->processes, interval, uptime)
				    : CSF_ENOMEM;
	}
	if (rc)
		return rc;
	sys->cur ^= 1;
	sys->have_prev = 1;
	sys->prev_clock = now;
	snap->system = out;
	return 0;
}

static const csf_collector_desc system_desc = {
	CSF_COLLECTOR_DESC_VERSION, "system", 1, system_init, system_collect, system_free, NULL,
};

const csf_collector_desc *csf_collector_system(void)
{
	return &system_desc;
}
