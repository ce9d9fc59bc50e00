/*
 * The system collector's state, shared by its section builders
 * (system_*.c). Counters of the previous snapshot are kept in the `prev`
 * slot of each double buffer so that rates need no allocation.
 */
#ifndef CSF_COLLECT_SYSTEM_H
#define CSF_COLLECT_SYSTEM_H

#include <dirent.h>

#include "csf/collect.h"
#include "collect/procfile.h"
#include "collect/procfs.h"

#define CSF__SYSTEM_TOP_MAX 100

typedef struct csf__disk_class {
	uint32_t major, minor;
	int whole; /* a whole disk (listed in /sys/block), not a partition */
} csf__disk_class;

typedef struct csf__proc_sample {
	int32_t pid;
	uint64_t starttime;
	uint64_t ticks;
} csf__proc_sample;

typedef struct csf__proc_top {
	int32_t pid;
	char comm[64];
	double cpu_percent;
	uint64_t rss_bytes;
} csf__proc_top;

typedef struct csf__uid_name {
	uint32_t uid;
	char name[64];
} csf__uid_name;

typedef struct csf__system {
	char *proc_path, *sys_path, *rootfs_path;
	int processes;
	unsigned int top;
	/* proc_path is this kernel's /proc: load and uptime come from
	 * sysinfo() and CLOCK_BOOTTIME, the sources of /proc/loadavg and
	 * /proc/uptime, at a fraction of the cost of reading the files. */
	int live;
	long hz, page_size;

	csf__procfile f_stat, f_meminfo, f_netdev, f_diskstats, f_loadavg,
		f_uptime, f_hostname, f_mountinfo;
	csf__buf rd;

	/* host facts that do not change while the system runs */
	char kernel[128];
	char arch[64];
	csf__os_release os;
	char cpu_model[128];
	uint32_t cpu_physical;

	/* the previous snapshot */
	int have_prev;
	double prev_clock;  /* CLOCK_BOOTTIME seconds */
	csf__proc_stat stat[2];
	csf__netdev net[2];
	csf__diskstats disk[2];
	int cur; /* index of the slot being filled */

	csf__disk_class *disk_class;
	size_t disk_class_n, disk_class_cap;

	/* mounts: re-read only when the kernel flags a change */
	csf__mountinfo mounts;
	csf__buf fstypes;
	size_t *fs_sel;
	size_t fs_sel_n, fs_sel_cap;
	int mounts_valid;

	/* processes */
	DIR *proc_dir;
	csf__proc_sample *samples[2];
	size_t samples_n[2], samples_cap[2];
	csf__proc_top *top_cpu, *top_mem;
	csf__uid_name *uids;
	size_t uids_n, uids_cap;
} csf__system;

/* Section builders: fill their part of `out`, allocating in `arena`. */
int csf__system_host(csf__system *sys, csf__arena *arena, csf_host *out, double uptime,
		     const csf__proc_stat *st);
int csf__system_host_init(csf__system *sys);
int csf__system_cpu(csf__system *sys, csf__arena *arena, csf_cpu *out, double interval,
		    const double load[3]);
int csf__system_memory(csf__system *sys, csf_memory *out);
int csf__system_filesystems(csf__system *sys, csf__arena *arena, csf_system *out);
int csf__system_disks(csf__system *sys, csf__arena *arena, csf_system *out, double interval);
int csf__system_network(csf__system *sys, csf__arena *arena, csf_network *out, double interval);
int csf__system_processes(csf__system *sys, csf__arena *arena, csf_processes *out,
			  double interval, double uptime);
void csf__system_processes_free(csf__system *sys);
void csf__system_filesystems_free(csf__system *sys);

/* A counter's increase, treating a smaller value as a reset to zero. */
static inline uint64_t csf__delta(uint64_t cur, uint64_t prev)
{
	return cur >= prev ? cur - prev : cur;
}

static inline double csf__rate(uint64_t cur, uint64_t prev, double interval)
{
	return interval > 0 ? (double)csf__delta(cur, prev) / interval : 0.0;
}

#endif
