/*
 * Parsers for the /proc and /sys files the system collector reads. They are
 * sans-I/O: bytes in, structs out. Each returns 0 or a csf_error_code with a
 * message that names the file and line; malformed or truncated input gives
 * CSF_EPARSE, never a crash. Output structs that hold arrays keep their
 * capacity between calls, so parsing the same file again does not allocate.
 */
#ifndef CSF_COLLECT_PROCFS_H
#define CSF_COLLECT_PROCFS_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* /proc/stat */
typedef struct csf__cpu_ticks {
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
} csf__cpu_ticks;

typedef struct csf__cpu_line {
	uint32_t id;
	csf__cpu_ticks t;
} csf__cpu_line;

typedef struct csf__proc_stat {
	csf__cpu_ticks total;
	csf__cpu_line *cpus;
	size_t ncpus, cap;
	uint64_t ctxt;
	uint64_t btime;
	uint32_t procs_running;
	uint32_t procs_blocked;
} csf__proc_stat;

int csf__parse_proc_stat(csf__proc_stat *st, const char *buf, size_t len);
void csf__proc_stat_free(csf__proc_stat *st);

/* /proc/meminfo, in bytes */
typedef struct csf__meminfo {
	uint64_t total, free, available, buffers, cached, sreclaimable;
	uint64_t swap_total, swap_free;
	int has_available; /* MemAvailable exists since Linux 3.14 */
} csf__meminfo;

int csf__parse_meminfo(csf__meminfo *m, const char *buf, size_t len);

/* /proc/net/dev */
typedef struct csf__netdev_entry {
	char name[32];
	uint64_t rx_bytes, rx_packets, rx_errs, rx_drop;
	uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
} csf__netdev_entry;

typedef struct csf__netdev {
	csf__netdev_entry *v;
	size_t n, cap;
} csf__netdev;

int csf__parse_netdev(csf__netdev *nd, const char *buf, size_t len);
void csf__netdev_free(csf__netdev *nd);

/* /proc/diskstats (14, 18 or 20 fields depending on the kernel) */
typedef struct csf__diskstat {
	uint32_t major, minor;
	char name[64];
	uint64_t reads, sectors_read, writes, sectors_written, io_ms;
} csf__diskstat;

typedef struct csf__diskstats {
	csf__diskstat *v;
	size_t n, cap;
} csf__diskstats;

int csf__parse_diskstats(csf__diskstats *ds, const char *buf, size_t len);
void csf__diskstats_free(csf__diskstats *ds);

/* /proc/self/mountinfo. Strings are unescaped (\040 -> space) and stored
 * NUL-terminated in `strings`; entries hold offsets into it. */
typedef struct csf__mount {
	uint32_t major, minor;
	size_t root, mountpoint, fstype, source;
} csf__mount;

typedef struct csf__mountinfo {
	csf__mount *v;
	size_t n, cap;
	csf__buf strings;
} csf__mountinfo;

int csf__parse_mountinfo(csf__mountinfo *mi, const char *buf, size_t len);
void csf__mountinfo_free(csf__mountinfo *mi);
#define CSF__MOUNT_STR(mi, off) ((mi)->strings.ptr + (off))

/* /proc/filesystems: the types not marked nodev, as "\0ext4\0xfs\0" in `out`. */
int csf__parse_filesystems(csf__buf *out, const char *buf, size_t len);
int csf__filesystems_has(const csf__buf *types, const char *fstype);

/* /proc/loadavg and /proc/uptime */
int csf__parse_loadavg(double load[3], const char *buf, size_t len);
int csf__parse_uptime(double *uptime, const char *buf, size_t len);

/* /proc/PID/stat */
typedef struct csf__pid_stat {
	int32_t pid;
	char comm[64];
	char state;
	uint64_t utime, stime; /* clock ticks */
	uint64_t starttime;    /* clock ticks after boot */
	uint32_t num_threads;
	uint64_t rss_pages;
} csf__pid_stat;

int csf__parse_pid_stat(csf__pid_stat *ps, const char *buf, size_t len);

/* /etc/os-release */
typedef struct csf__os_release {
	char id[64];
	char name[128];
	char version_id[64];
	char pretty_name[256];
} csf__os_release;

int csf__parse_os_release(csf__os_release *os, const char *buf, size_t len);

/* /proc/cpuinfo: the model and, as a fallback for sysfs topology, the
 * physical core count (sum of "cpu cores" per "physical id"; 0 if absent). */
typedef struct csf__cpuinfo {
	char model[128];
	uint32_t physical_cores;
} csf__cpuinfo;

int csf__parse_cpuinfo(csf__cpuinfo *ci, const char *buf, size_t len);

#endif
