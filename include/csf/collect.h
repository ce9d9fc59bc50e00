/*
 * csf/collect.h - collectors and the snapshots they fill.
 *
 * A collector is a descriptor (name, version, init, collect, free). The
 * library ships the `system` collector (Linux /proc and /sys); programs
 * register their own the same way. A collector instance keeps state between
 * calls, so rates (CPU %, bytes/s) cover the span since its previous
 * snapshot; an instance's first snapshot covers the span since boot.
 *
 * Snapshots are plain struct trees owned by the caller and freed with
 * csf_snapshot_free(). Every section and array element is reached through a
 * pointer so that structs can grow at their end in later versions without
 * breaking programs built against older headers.
 *
 * Threading: a collector instance and a snapshot are used by one thread at a
 * time. The registry functions are thread-safe.
 */
#ifndef CSF_COLLECT_H
#define CSF_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Facts about the host. Strings are never NULL ("" when unknown). */
typedef struct csf_host {
	const char *hostname;
	const char *os_id;      /* os-release ID, e.g. "debian" */
	const char *os_name;    /* os-release NAME */
	const char *os_version; /* os-release VERSION_ID */
	const char *os_pretty;  /* os-release PRETTY_NAME */
	const char *kernel;     /* kernel release, e.g. "6.1.0-18-amd64" */
	const char *arch;       /* uname(2) machine, e.g. "x86_64" (the running kernel's, whatever proc_path says) */
	const char *cpu_model;
	uint32_t cpu_logical;   /* online logical CPUs */
	uint32_t cpu_physical;  /* physical cores */
	int64_t boot_time;      /* Unix seconds */
	double uptime_seconds;
} csf_host;

/* Shares of CPU time in percent over the snapshot's interval. */
typedef struct csf_cpu_usage {
	double usage;  /* 100 - idle - iowait */
	double user;   /* includes guest time, as the kernel counts it */
	double nice;
	double system;
	double iowait;
	double irq;
	double softirq;
	double steal;
	double idle;
} csf_cpu_usage;

typedef struct csf_cpu_core {
	uint32_t id; /* the kernel's CPU number */
	csf_cpu_usage usage;
} csf_cpu_core;

typedef struct csf_cpu {
	csf_cpu_usage total;
	csf_cpu_core **cores;
	size_t cores_count;
	double load1, load5, load15;
	uint64_t context_switches;       /* since boot */
	double context_switches_per_sec;
	uint32_t procs_running;
	uint32_t procs_blocked;
} csf_cpu;

/* Bytes. used = total - available (as free(1) in procps-ng 4 counts it);
 * cached includes reclaimable slab. */
typedef struct csf_memory {
	uint64_t total;
	uint64_t used;
	uint64_t available;
	uint64_t free;
	uint64_t buffers;
	uint64_t cached;
	uint64_t swap_total;
	uint64_t swap_used;
	uint64_t swap_free;
	double used_percent;
} csf_memory;

/* A mounted filesystem backed by a device (pseudo filesystems, network
 * filesystems and further mounts of an already listed device are left out). */
typedef struct csf_filesystem {
	const char *device;
	const char *mountpoint;
	const char *fstype;
	uint64_t total_bytes;
	uint64_t used_bytes;
	uint64_t available_bytes; /* to unprivileged users */
	double used_percent;      /* used / (used + available), as df counts it */
	uint64_t inodes_total;
	uint64_t inodes_used;
	uint64_t inodes_free;
} csf_filesystem;

/* A whole block device (partitions and never-used devices are left out). */
typedef struct csf_disk {
	const char *name;
	uint64_t reads;       /* completed, since boot */
	uint64_t writes;
	uint64_t read_bytes;
	uint64_t write_bytes;
	double reads_per_sec;
	double writes_per_sec;
	double read_bytes_per_sec;
	double write_bytes_per_sec;
	double busy_percent; /* share of the interval with I/O in flight */
} csf_disk;

/* One direction of an interface. Counters are since the interface appeared. */
typedef struct csf_net_counters {
	uint64_t bytes;
	uint64_t packets;
	uint64_t errors;
	uint64_t drops;
	double bytes_per_sec;
	double packets_per_sec;
} csf_net_counters;

typedef struct csf_interface {
	const char *name;
	csf_net_counters rx;
	csf_net_counters tx;
} csf_interface;

typedef struct csf_network {
	csf_interface **interfaces;
	size_t interfaces_count;
	csf_net_counters rx_total; /* every interface but loopback */
	csf_net_counters tx_total;
} csf_network;

typedef struct csf_process {
	int32_t pid;
	const char *name;  /* the kernel's comm (15 bytes for user processes; kernel threads may have more) */
	const char *user;  /* user name, or the numeric uid when it has none */
	double cpu_percent;/* of one core, so a busy multi-threaded process can pass 100 */
	uint64_t rss_bytes;
} csf_process;

typedef struct csf_processes {
	uint32_t count;   /* processes (not threads) */
	uint32_t threads;
	csf_process **top_cpu;
	size_t top_cpu_count;
	csf_process **top_memory;
	size_t top_memory_count;
} csf_processes;

/* The system collector's part of a snapshot. */
typedef struct csf_system {
	double interval_seconds; /* the span rates cover; since boot for the first */
	csf_host *host;
	csf_cpu *cpu;
	csf_memory *memory;
	csf_filesystem **filesystems;
	size_t filesystems_count;
	uint64_t filesystems_total_bytes; /* sums over `filesystems` */
	uint64_t filesystems_used_bytes;
	csf_disk **disks;
	size_t disks_count;
	csf_network *network;
	csf_processes *processes; /* NULL when process collection is off */
} csf_system;

/* A named value added by a user collector. */
typedef struct csf_metric {
	const char *name;
	double value;
} csf_metric;

typedef struct csf_snapshot {
	int64_t timestamp_ms; /* Unix milliseconds when the snapshot was created */
	csf_system *system;   /* NULL unless the system collector ran */
	csf_metric **metrics;
	size_t metrics_count;
} csf_snapshot;

/* Create an empty snapshot stamped with the current time. Errors: CSF_ENOMEM. */
CSF_API int csf_snapshot_new(csf_snapshot **out);

/* Free a snapshot and everything it holds. NULL-safe. */
CSF_API void csf_snapshot_free(csf_snapshot *snap);

/*
 * Add a metric. `name` must match [A-Za-z_][A-Za-z0-9_.:]* and be at most
 * 128 bytes; it is copied. A name already present is replaced.
 * Errors: CSF_EINVALID (bad name, non-finite value), CSF_ENOMEM.
 */
CSF_API int csf_snapshot_add_metric(csf_snapshot *snap, const char *name, double value);

/*
 * Encode a snapshot as one line of JSON (the format in docs/collect-json.md).
 * `*out` receives a NUL-terminated string the caller frees with csf_free();
 * `out_len` (may be NULL) its length. Errors: CSF_EINVALID, CSF_ENOMEM.
 */
CSF_API int csf_snapshot_to_json(char **out, size_t *out_len, const csf_snapshot *snap);

/*
 * A collector descriptor. The library copies nothing from it: it must stay
 * valid while it is registered and while instances made from it live.
 */
#define CSF_COLLECTOR_DESC_VERSION 1

typedef struct csf_collector_desc {
	unsigned int version;          /* CSF_COLLECTOR_DESC_VERSION */
	const char *name;              /* [a-z0-9_]+, at most 32 bytes */
	unsigned int collector_version;/* the collector's own version */
	/* Make the instance state from `options` (the collector's own options
	 * struct, or NULL for its defaults). Return 0 or a csf_error_code. */
	int (*init)(void **state, const void *options, void *payload);
	/* Add this collector's data to `snap`. Return 0 or a csf_error_code;
	 * any other non-zero value is passed back unchanged. */
	int (*collect)(void *state, csf_snapshot *snap, void *payload);
	/* Free the state. May be NULL when init keeps none. */
	void (*free)(void *state, void *payload);
	void *payload;
} csf_collector_desc;

/* A collector instance. */
typedef struct csf_collector csf_collector;

/*
 * Make an instance of `desc`. Errors: CSF_EINVALID (bad descriptor),
 * CSF_ENOMEM, and whatever the descriptor's init returns.
 */
CSF_API int csf_collector_new(csf_collector **out, const csf_collector_desc *desc,
			      const void *options);

/* Run the collector once into `snap`. Errors: those of the descriptor. */
CSF_API int csf_collector_collect(csf_collector *collector, csf_snapshot *snap);

/* The descriptor an instance was made from (borrowed). */
CSF_API const csf_collector_desc *csf_collector_desc_of(const csf_collector *collector);

/* Free an instance. NULL-safe. */
CSF_API void csf_collector_free(csf_collector *collector);

/*
 * The registry maps names to descriptors so that configuration can name
 * collectors. Nothing is registered until a program registers it (a program
 * that never names a collector does not link it). Up to 64 entries.
 * Errors: CSF_EINVALID, CSF_EEXISTS (name taken), CSF_ELIMIT (full).
 */
CSF_API int csf_collector_register(const csf_collector_desc *desc);

/* Remove a registered name. Errors: CSF_ENOTFOUND. */
CSF_API int csf_collector_unregister(const char *name);

/* Find a registered descriptor. Errors: CSF_ENOTFOUND, CSF_EINVALID. */
CSF_API int csf_collector_lookup(const csf_collector_desc **out, const char *name);

/*
 * The built-in system collector: Linux /proc and /sys. Its options are a
 * csf_system_options (NULL for defaults). On other systems its init returns
 * CSF_EUNSUPPORTED.
 */
CSF_API const csf_collector_desc *csf_collector_system(void);

#define CSF_SYSTEM_OPTIONS_VERSION 1

typedef struct csf_system_options {
	unsigned int version;       /* CSF_SYSTEM_OPTIONS_VERSION */
	const char *proc_path;      /* default "/proc" */
	const char *sys_path;       /* default "/sys" */
	const char *rootfs_path;    /* default "/": os-release and mountpoints live under it */
	int processes;              /* collect processes (default 1) */
	unsigned int top_processes; /* entries in each top list (default 5, at most 100) */
} csf_system_options;

#define CSF_SYSTEM_OPTIONS_INIT { CSF_SYSTEM_OPTIONS_VERSION, NULL, NULL, NULL, 1, 5 }

/* Fill `opts` with defaults for `version`. Errors: CSF_EINVALID (unknown version). */
CSF_API int csf_system_options_init(csf_system_options *opts, unsigned int version);

#ifdef __cplusplus
}
#endif

#endif
