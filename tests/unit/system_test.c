/*
 * system: the public system collector run on the recorded and reconstructed
 * trees of tests/data/{proc,sys,rootfs}/<sample>/ through proc_path, sys_path
 * and rootfs_path, checking the snapshot's struct tree against the files, on
 * trees with a malformed file, and the JSON form of a snapshot.
 *
 * Filesystem sizes come from statvfs() on the rootfs directories, that is
 * from wherever the checkout lives, so only the set of filesystems is checked.
 */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <cmocka.h>

#include "csf/csf.h"

#define KB 1024ull

static const char *data_dir(void)
{
	const char *d = getenv("CSF_TEST_DATA");

	assert_non_null(d);
	return d;
}

struct tree {
	char proc[4096], sys[4096], rootfs[4096];
	csf_system_options opts;
	csf_collector *collector;
	csf_snapshot *snap;
};

static void tree_open(struct tree *t, const char *proc_rel, const char *sample, int processes,
		      unsigned int top)
{
	snprintf(t->proc, sizeof(t->proc), "%s/%s", data_dir(), proc_rel);
	snprintf(t->sys, sizeof(t->sys), "%s/sys/%s", data_dir(), sample);
	snprintf(t->rootfs, sizeof(t->rootfs), "%s/rootfs/%s", data_dir(), sample);
	assert_int_equal(csf_system_options_init(&t->opts, CSF_SYSTEM_OPTIONS_VERSION), 0);
	t->opts.proc_path = t->proc;
	t->opts.sys_path = t->sys;
	t->opts.rootfs_path = t->rootfs;
	t->opts.processes = processes;
	t->opts.top_processes = top;
	t->collector = NULL;
	t->snap = NULL;
	if (csf_collector_new(&t->collector, csf_collector_system(), &t->opts) != 0)
		fail_msg("csf_collector_new(%s): %s", t->proc, csf_error_last()->message);
}

/* Run the collector on a good sample and return its system part. */
static const csf_system *collect(struct tree *t)
{
	int rc;

	csf_snapshot_free(t->snap);
	assert_int_equal(csf_snapshot_new(&t->snap), 0);
	rc = csf_collector_collect(t->collector, t->snap);
	if (rc != 0)
		fail_msg("collect %s: rc %d: %s", t->proc, rc, csf_error_last()->message);
	assert_non_null(t->snap->system);
	return t->snap->system;
}

static const csf_system *open_and_collect(struct tree *t, const char *sample, int processes,
					  unsigned int top)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "proc/%s", sample);
	tree_open(t, rel, sample, processes, top);
	return collect(t);
}

static void tree_close(struct tree *t)
{
	csf_snapshot_free(t->snap);
	csf_collector_free(t->collector);
	t->snap = NULL;
	t->collector = NULL;
}

static void assert_close(double got, double want)
{
	double tol = 1e-9 + (want < 0 ? -want : want) * 1e-9;

	if (got < want - tol || got > want + tol)
		fail_msg("got %.12g, want %.12g", got, want);
}

static long hz(void)
{
	return sysconf(_SC_CLK_TCK);
}

static const char *host_arch(void)
{
	static struct utsname u;

	assert_int_equal(uname(&u), 0);
	return u.machine;
}

/* ------------------------------------------------------------ helpers */

struct fs_expect {
	const char *mountpoint, *fstype, *device;
};

static void assert_filesystems(const csf_system *s, const struct fs_expect *want, size_t n)
{
	uint64_t total = 0, used = 0;
	size_t i;

	for (i = 0; i < s->filesystems_count && i < n; i++) {
		const csf_filesystem *f = s->filesystems[i];

		if (strcmp(f->mountpoint, want[i].mountpoint) != 0 || strcmp(f->fstype, want[i].fstype) != 0 ||
		    strcmp(f->device, want[i].device) != 0)
			fail_msg("filesystem %zu: %s %s %s, want %s %s %s", i, f->mountpoint, f->fstype,
				 f->device, want[i].mountpoint, want[i].fstype, want[i].device);
		assert_true(f->total_bytes > 0);
		assert_true(f->used_bytes <= f->total_bytes);
		total += f->total_bytes;
		used += f->used_bytes;
	}
	if (s->filesystems_count != n)
		fail_msg("%zu filesystems, want %zu", s->filesystems_count, n);
	assert_int_equal(s->filesystems_total_bytes, total);
	assert_int_equal(s->filesystems_used_bytes, used);
}

struct disk_expect {
	const char *name;
	uint64_t reads, sectors_read, writes, sectors_written, io_ms;
};

/* First snapshot: rates cover the time since boot (interval == uptime). */
static void assert_disks(const csf_system *s, const struct disk_expect *want, size_t n)
{
	size_t i;

	for (i = 0; i < s->disks_count && i < n; i++) {
		const csf_disk *d = s->disks[i];
		double iv = s->interval_seconds;

		if (strcmp(d->name, want[i].name) != 0)
			fail_msg("disk %zu: %s, want %s", i, d->name, want[i].name);
		assert_int_equal(d->reads, want[i].reads);
		assert_int_equal(d->writes, want[i].writes);
		assert_int_equal(d->read_bytes, want[i].sectors_read * 512);
		assert_int_equal(d->write_bytes, want[i].sectors_written * 512);
		assert_close(d->reads_per_sec, (double)want[i].reads / iv);
		assert_close(d->writes_per_sec, (double)want[i].writes / iv);
		assert_close(d->read_bytes_per_sec, (double)want[i].sectors_read * 512 / iv);
		assert_close(d->write_bytes_per_sec, (double)want[i].sectors_written * 512 / iv);
		assert_close(d->busy_percent, (double)want[i].io_ms / (iv * 10.0));
	}
	if (s->disks_count != n)
		fail_msg("%zu disks, want %zu", s->disks_count, n);
}

static void assert_interfaces(const csf_system *s, const char *const *names, size_t n)
{
	size_t i;

	assert_int_equal(s->network->interfaces_count, n);
	for (i = 0; i < n; i++)
		assert_string_equal(s->network->interfaces[i]->name, names[i]);
}

static const csf_interface *iface(const csf_system *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->network->interfaces_count; i++)
		if (strcmp(s->network->interfaces[i]->name, name) == 0)
			return s->network->interfaces[i];
	fail_msg("interface %s not found", name);
	return NULL;
}

/* What the collector must call the owner of PROC/pid: the checkout's owner. */
static void expected_user(const struct tree *t, int32_t pid, char *out, size_t cap)
{
	char path[4200];
	struct passwd *pw;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%d", t->proc, (int)pid);
	assert_int_equal(stat(path, &st), 0);
	pw = getpwuid(st.st_uid);
	if (pw)
		snprintf(out, cap, "%s", pw->pw_name);
	else
		snprintf(out, cap, "%u", (unsigned)st.st_uid);
}

struct proc_expect {
	int32_t pid;
	const char *name;
	uint64_t ticks, starttime, rss_pages;
};

/* CPU % of the first snapshot: over the process's lifetime. */
static double lifetime_cpu(const struct proc_expect *p, double uptime)
{
	double age = uptime - (double)p->starttime / (double)hz();

	return 100.0 * (double)p->ticks / (double)hz() / (age > 0 && age < uptime ? age : uptime);
}

static void assert_process(const struct tree *t, const csf_process *got, const struct proc_expect *p,
			   double uptime)
{
	char user[256];

	assert_int_equal(got->pid, p->pid);
	assert_string_equal(got->name, p->name);
	assert_int_equal(got->rss_bytes, p->rss_pages * (uint64_t)sysconf(_SC_PAGESIZE));
	assert_close(got->cpu_percent, lifetime_cpu(p, uptime));
	expected_user(t, p->pid, user, sizeof(user));
	assert_string_equal(got->user, user);
}

/* ------------------------------------------------------------ live-6.18 */

static void test_live_6_18(void **state)
{
	static const struct fs_expect fs[] = { { "/", "ext4", "/dev/vda" } };
	static const struct disk_expect disks[] = {
		{ "loop0", 162, 6300, 18, 12, 12 },
		{ "vda", 56514, 3163018, 10896, 922608, 6148 },
	};
	static const char *const ifs[] = { "lo", "ifb0", "ifb1", "eth0" };
	static const struct proc_expect bash = { 4412, "bash", 3, 88405, 962 };
	static const struct proc_expect ksoftirqd = { 14, "ksoftirqd/0", 2, 23, 0 };
	struct tree t;
	const csf_system *s;
	const csf_host *h;
	const csf_memory *m;
	const csf_cpu *c;
	const double uptime = 1048.50;
	size_t i;

	(void)state;
	s = open_and_collect(&t, "live-6.18", 1, 5);
	assert_close(s->interval_seconds, uptime);

	h = s->host;
	assert_string_equal(h->hostname, "vm");
	assert_string_equal(h->os_id, "debian");
	assert_string_equal(h->os_name, "Debian GNU/Linux");
	assert_string_equal(h->os_version, "12");
	assert_string_equal(h->os_pretty, "Debian GNU/Linux 12 (bookworm)");
	assert_string_equal(h->kernel, "6.18.44-fc-v1147");
	assert_string_equal(h->arch, host_arch()); /* uname(2): not part of the tree */
	assert_string_equal(h->cpu_model, "Intel(R) Xeon(R) Processor");
	assert_int_equal(h->cpu_logical, 2);
	assert_int_equal(h->cpu_physical, 2); /* two distinct core_cpus_list */
	assert_int_equal(h->boot_time, 1796415463);
	assert_close(h->uptime_seconds, uptime);

	/* CPU: the first snapshot covers the ticks since boot */
	c = s->cpu;
	assert_int_equal(c->cores_count, 2);
	assert_int_equal(c->cores[0]->id, 0);
	assert_int_equal(c->cores[1]->id, 1);
	{
		const double total = 2994 + 1864 + 203833 + 416 + 53 + 13;

		assert_close(c->total.usage, 100.0 * (total - 203833 - 416) / total);
		assert_close(c->total.user, 100.0 * 2994 / total);
		assert_close(c->total.system, 100.0 * 1864 / total);
		assert_close(c->total.idle, 100.0 * 203833 / total);
		assert_close(c->total.iowait, 100.0 * 416 / total);
		assert_close(c->total.softirq, 100.0 * 53 / total);
		assert_close(c->total.steal, 100.0 * 13 / total);
	}
	{
		const double total = 2036 + 1235 + 100826 + 391 + 35 + 8;

		assert_close(c->cores[1]->usage.idle, 100.0 * 100826 / total);
	}
	assert_close(c->load1, 0.02);
	assert_close(c->load5, 0.01);
	assert_close(c->load15, 0.00);
	assert_int_equal(c->context_switches, 348561);
	assert_close(c->context_switches_per_sec, 348561 / uptime);
	assert_int_equal(c->procs_running, 1);
	assert_int_equal(c->procs_blocked, 0);

	m = s->memory;
	assert_int_equal(m->total, 24683664 * KB);
	assert_int_equal(m->available, 24350392 * KB);
	assert_int_equal(m->used, (24683664 - 24350392) * KB);
	assert_int_equal(m->free, 24245508 * KB);
	assert_int_equal(m->buffers, 2608 * KB);
	assert_int_equal(m->cached, (284700 + 66488) * KB);
	assert_close(m->used_percent, 100.0 * (24683664 - 24350392) / 24683664);
	assert_int_equal(m->swap_total, 0);
	assert_int_equal(m->swap_used, 0);

	/* only the ext4 root: the rest is proc, sysfs, tmpfs, devpts, cgroup */
	assert_filesystems(s, fs, 1);
	/* loop1-7 and zram0 never did I/O */
	assert_disks(s, disks, 2);

	assert_interfaces(s, ifs, 4);
	assert_int_equal(iface(s, "lo")->rx.bytes, 3193);
	assert_int_equal(s->network->rx_total.bytes, 49273302);
	assert_int_equal(s->network->rx_total.packets, 1198);
	assert_int_equal(s->network->tx_total.bytes, 61597);
	assert_int_equal(s->network->tx_total.packets, 660);
	assert_close(s->network->rx_total.bytes_per_sec, 49273302 / uptime);

	assert_non_null(s->processes);
	assert_int_equal(s->processes->count, 4);
	assert_int_equal(s->processes->threads, 4);
	assert_int_equal(s->processes->top_cpu_count, 4);
	assert_int_equal(s->processes->top_memory_count, 4);
	assert_process(&t, s->processes->top_cpu[0], &bash, uptime);
	assert_process(&t, s->processes->top_cpu[1], &ksoftirqd, uptime);
	assert_process(&t, s->processes->top_memory[0], &bash, uptime);
	/* the rest have no CPU time and no memory: any order */
	for (i = 2; i < 4; i++) {
		int32_t pid = s->processes->top_cpu[i]->pid;

		assert_true(pid == 2 || pid == 16);
		assert_close(s->processes->top_cpu[i]->cpu_percent, 0.0);
	}
	for (i = 1; i < 4; i++)
		assert_int_equal(s->processes->top_memory[i]->rss_bytes, 0);
	tree_close(&t);
}

/* ------------------------------------------------------------ linux-2.6.32 */

static void test_linux_2_6_32(void **state)
{
	static const struct fs_expect fs[] = {
		{ "/", "ext4", "/dev/mapper/vg_db01-lv_root" },
		{ "/boot", "ext4", "/dev/vda1" },
		{ "/home", "ext4", "/dev/mapper/vg_db01-lv_home" },
	};
	static const struct disk_expect disks[] = {
		{ "vda", 91283, 4361220, 402118, 7324088, 693122 },
		{ "dm-0", 98821, 4216466, 908872, 7272416, 689933 },
		{ "dm-1", 1422, 11376, 786, 6288, 1411 },
		{ "dm-2", 3321, 121584, 1218, 45360, 9922 },
	};
	static const char *const ifs[] = { "lo", "eth0", "eth1" };
	static const struct proc_expect mysqld = { 2011, "mysqld", 1093442 + 211877, 1712, 212331 };
	static const struct proc_expect rsyslogd = { 1544, "rsyslogd", 1201 + 2877, 1422, 1210 };
	static const struct proc_expect init = { 1, "init", 48 + 531, 1, 376 };
	const uint64_t available = 1873228 + 298540 + 4129056 + 431284; /* kB */
	const double uptime = 181410.52;
	struct tree t;
	const csf_system *s;
	const csf_memory *m;

	(void)state;
	s = open_and_collect(&t, "linux-2.6.32", 1, 5);
	assert_close(s->interval_seconds, uptime);
	assert_string_equal(s->host->hostname, "db01.example.com");
	assert_string_equal(s->host->kernel, "2.6.32-431.el6.x86_64");
	/* RHEL 6 has no os-release */
	assert_string_equal(s->host->os_id, "");
	assert_string_equal(s->host->os_name, "");
	assert_string_equal(s->host->os_version, "");
	assert_string_equal(s->host->os_pretty, "");
	assert_string_equal(s->host->cpu_model, "Intel Xeon E312xx (Sandy Bridge)");
	assert_int_equal(s->host->cpu_logical, 8);
	/* no sysfs topology: 2 packages x "cpu cores: 2" from cpuinfo */
	assert_int_equal(s->host->cpu_physical, 4);
	assert_int_equal(s->host->boot_time, 1393838400);
	assert_int_equal(s->cpu->cores_count, 8);
	assert_int_equal(s->cpu->cores[7]->id, 7);
	{
		/* 9 counters: steal is the 8th; guest (9th) is inside user */
		const double total = 144708 + 2188 + 62284 + 14428364 + 12996 + 14 + 3916 + 988;

		assert_close(s->cpu->total.steal, 100.0 * 988 / total);
		assert_close(s->cpu->total.user, 100.0 * 144708 / total);
	}
	assert_int_equal(s->cpu->procs_blocked, 1);

	/* no MemAvailable: free + buffers + page cache + reclaimable slab */
	m = s->memory;
	assert_int_equal(m->total, 8061404 * KB);
	assert_int_equal(m->available, available * KB);
	assert_int_equal(m->used, (8061404 - available) * KB);
	assert_int_equal(m->cached, (4129056 + 431284) * KB);
	assert_int_equal(m->swap_total, 4194296 * KB);
	assert_int_equal(m->swap_free, 4188000 * KB);
	assert_int_equal(m->swap_used, (4194296 - 4188000) * KB);

	assert_filesystems(s, fs, 3);
	/* vda1/vda2 are partitions; ram, loop and sr0 did no I/O */
	assert_disks(s, disks, 4);

	assert_interfaces(s, ifs, 3);
	assert_int_equal(s->network->rx_total.bytes, 2839712254u);
	assert_int_equal(s->network->rx_total.packets, 18892344);
	assert_int_equal(s->network->rx_total.drops, 112);
	assert_int_equal(s->network->tx_total.bytes, 971203375);
	assert_int_equal(iface(s, "eth1")->tx.bytes, 0);

	assert_int_equal(s->processes->count, 3);
	assert_int_equal(s->processes->threads, 1 + 4 + 27);
	assert_int_equal(s->processes->top_cpu_count, 3);
	assert_process(&t, s->processes->top_cpu[0], &mysqld, uptime);
	assert_process(&t, s->processes->top_cpu[1], &rsyslogd, uptime);
	assert_process(&t, s->processes->top_cpu[2], &init, uptime);
	assert_int_equal(s->processes->top_memory_count, 3);
	assert_int_equal(s->processes->top_memory[0]->pid, 2011);
	assert_int_equal(s->processes->top_memory[1]->pid, 1544);
	assert_int_equal(s->processes->top_memory[2]->pid, 1);
	tree_close(&t);
}

/* ------------------------------------------------------------ linux-4.19 */

static void test_linux_4_19(void **state)
{
	static const struct fs_expect fs[] = {
		{ "/", "ext4", "/dev/nvme0n1p2" },
		{ "/boot/efi", "vfat", "/dev/nvme0n1p1" },
		{ "/home", "ext4", "/dev/nvme0n1p3" },
	};
	static const struct disk_expect disks[] = {
		{ "nvme0n1", 177013, 11048938, 312907, 16262136, 178340 },
		{ "sda", 1203, 88414, 12, 24, 1876 },
	};
	static const char *const ifs[] = { "lo", "enp0s31f6", "wlp2s0" };
	struct tree t;
	const csf_system *s;

	(void)state;
	s = open_and_collect(&t, "linux-4.19", 1, 5);
	assert_close(s->interval_seconds, 35012.77);
	assert_string_equal(s->host->hostname, "kestrel");
	assert_string_equal(s->host->os_id, "debian");
	assert_string_equal(s->host->os_pretty, "Debian GNU/Linux 10 (buster)");
	assert_string_equal(s->host->kernel, "4.19.0-27-amd64");
	assert_string_equal(s->host->cpu_model, "Intel(R) Core(TM) i5-7200U CPU @ 2.50GHz");
	assert_int_equal(s->host->cpu_logical, 4);
	/* thread_siblings_list "0,2" and "1,3" (no core_cpus_list before 5.3) */
	assert_int_equal(s->host->cpu_physical, 2);

	assert_int_equal(s->memory->total, 7986412 * KB);
	assert_int_equal(s->memory->available, 4876540 * KB);
	assert_int_equal(s->memory->used, (7986412 - 4876540) * KB);
	assert_int_equal(s->memory->swap_used, 0);

	assert_filesystems(s, fs, 3);
	assert_disks(s, disks, 2);
	assert_interfaces(s, ifs, 3);
	assert_int_equal(s->network->rx_total.bytes, 3891022731u);
	assert_int_equal(s->network->tx_total.bytes, 288120334);
	assert_int_equal(s->network->rx_total.drops, 41);

	/* no PID directories */
	assert_non_null(s->processes);
	assert_int_equal(s->processes->count, 0);
	assert_int_equal(s->processes->threads, 0);
	assert_int_equal(s->processes->top_cpu_count, 0);
	assert_int_equal(s->processes->top_memory_count, 0);
	tree_close(&t);
}

/* ------------------------------------------------------------ linux-5.15 */

static void test_linux_5_15(void **state)
{
	static const struct fs_expect fs[] = {
		{ "/", "ext4", "/dev/mapper/ubuntu--vg-ubuntu--lv" }, /* not the bind mount */
		{ "/snap/core20/2105", "squashfs", "/dev/loop0" },
		{ "/snap/lxd/27037", "squashfs", "/dev/loop1" },
		{ "/boot", "ext4", "/dev/sda2" },
		{ "/boot/efi", "vfat", "/dev/sda1" },
		{ "/srv/backup disk", "xfs", "/dev/sdb1" }, /* two binds of sdb1 left out */
		{ "/tank", "zfs", "tank" },                /* nodev, but holds data */
		{ "/media/alice/NO NAME", "vfat", "/dev/sdc1" },
		{ "/data", "ext4", "/dev/sde1" },           /* the root mount beats the earlier bind */
	};
	static const struct disk_expect disks[] = {
		{ "loop0", 1211, 8326, 0, 0, 1044 },
		{ "sda", 51208, 4120688, 190233, 6120344, 201220 },
		{ "sdb", 8812, 1120334, 40123, 8120440, 52122 },
		{ "sdc", 202, 18234, 0, 0, 280 },
		{ "dm-0", 61022, 4060101, 278251, 6119222, 201100 },
	};
	static const char *const ifs[] = { "lo", "enp1s0", "docker0", "veth1a2b3c4" };
	static const struct proc_expect weird = { 1207, "my (weird) prog", 9801650 + 1000000,
						  150000000, 512331 };
	static const struct proc_expect tmux = { 812, "tmux: server", 88120 + 41220, 120031, 1201 };
	static const struct proc_expect systemd = { 1, "systemd", 41230 + 22871, 5, 3120 };
	const double uptime = 1572011.04;
	struct tree t;
	const csf_system *s;

	(void)state;
	s = open_and_collect(&t, "linux-5.15", 1, 2);
	assert_close(s->interval_seconds, uptime);
	assert_string_equal(s->host->hostname, "web-01");
	/* only usr/lib/os-release exists */
	assert_string_equal(s->host->os_id, "ubuntu");
	assert_string_equal(s->host->os_name, "Ubuntu");
	assert_string_equal(s->host->os_version, "22.04");
	assert_string_equal(s->host->os_pretty, "Ubuntu 22.04.3 LTS");
	assert_string_equal(s->host->kernel, "5.15.0-91-generic");
	assert_string_equal(s->host->cpu_model, "Intel Xeon Processor (Cascadelake)");
	assert_int_equal(s->host->cpu_logical, 4);
	assert_int_equal(s->host->cpu_physical, 2);
	assert_int_equal(s->host->boot_time, 1700312400);
	assert_int_equal(s->cpu->context_switches, 3981227310u);
	assert_int_equal(s->cpu->procs_running, 5);
	assert_int_equal(s->cpu->procs_blocked, 2);

	assert_int_equal(s->memory->available, 5233100 * KB);
	assert_int_equal(s->memory->used, (8155236 - 5233100) * KB);
	assert_int_equal(s->memory->swap_used, (4194300 - 4061180) * KB);

	assert_filesystems(s, fs, sizeof(fs) / sizeof(fs[0]));
	assert_disks(s, disks, sizeof(disks) / sizeof(disks[0]));

	assert_interfaces(s, ifs, 4);
	assert_int_equal(s->network->rx_total.bytes, 88213340912ull + 2201334 + 2638094);
	assert_int_equal(s->network->tx_total.bytes, 120334882101ull + 92210331 + 92212102);
	assert_int_equal(s->network->rx_total.packets, 71203312 + 31202 + 31202);
	assert_int_equal(s->network->rx_total.drops, 1021);
	assert_close(s->network->tx_total.bytes_per_sec,
		     (120334882101.0 + 92210331 + 92212102) / uptime);

	/* 4242/ has no stat (exited): not counted; lists cut to top_processes */
	assert_int_equal(s->processes->count, 4);
	assert_int_equal(s->processes->threads, 1 + 1 + 1 + 9);
	assert_int_equal(s->processes->top_cpu_count, 2);
	assert_process(&t, s->processes->top_cpu[0], &weird, uptime);
	assert_process(&t, s->processes->top_cpu[1], &tmux, uptime);
	assert_int_equal(s->processes->top_memory_count, 2);
	assert_process(&t, s->processes->top_memory[0], &weird, uptime);
	assert_process(&t, s->processes->top_memory[1], &systemd, uptime);
	tree_close(&t);
}

/* ------------------------------------------------------------ linux-6.1-arm64 */

static void test_linux_6_1_arm64(void **state)
{
	static const struct fs_expect fs[] = {
		{ "/", "ext4", "/dev/mmcblk0p2" },
		{ "/boot/firmware", "vfat", "/dev/mmcblk0p1" },
	};
	static const struct disk_expect disks[] = {
		{ "mmcblk0", 30122, 2120334, 12033, 1022104, 120331 },
	};
	static const char *const ifs[] = { "lo", "eth0", "wlan0" };
	struct tree t;
	const csf_system *s;

	(void)state;
	s = open_and_collect(&t, "linux-6.1-arm64", 0, 5);
	assert_close(s->interval_seconds, 86400.0);
	assert_string_equal(s->host->hostname, "raspberrypi");
	assert_string_equal(s->host->kernel, "6.1.0-rpi7-rpi-v8");
	assert_string_equal(s->host->os_pretty, "Debian GNU/Linux 12 (bookworm)");
	assert_string_equal(s->host->cpu_model, "Raspberry Pi 4 Model B Rev 1.4");
	assert_int_equal(s->host->cpu_logical, 4);
	assert_int_equal(s->host->cpu_physical, 4);
	assert_int_equal(s->memory->available, 3302100 * KB);
	assert_filesystems(s, fs, 2);
	assert_disks(s, disks, 1);
	assert_interfaces(s, ifs, 3);
	assert_int_equal(s->network->rx_total.bytes, 731203344);
	assert_int_equal(s->network->tx_total.bytes, 40221033);
	/* process collection off */
	assert_null(s->processes);
	tree_close(&t);
}

/* ------------------------------------------------------------ two snapshots */

/* A recorded tree does not change: the second snapshot of an instance has
 * the same counters, zero rates, and a short interval of its own. */
static void test_second_snapshot(void **state)
{
	struct tree t;
	const csf_system *s;
	csf_snapshot *again = NULL;
	size_t i;

	(void)state;
	open_and_collect(&t, "linux-5.15", 1, 5);
	/* the same snapshot cannot take a second system part */
	assert_int_equal(csf_collector_collect(t.collector, t.snap), CSF_EEXISTS);
	s = collect(&t);
	assert_true(s->interval_seconds > 0 && s->interval_seconds < 60);
	assert_close(s->host->uptime_seconds, 1572011.04);
	assert_close(s->cpu->total.usage, 0.0);
	assert_close(s->cpu->total.idle, 100.0);
	assert_int_equal(s->cpu->context_switches, 3981227310u);
	assert_close(s->cpu->context_switches_per_sec, 0.0);
	assert_int_equal(s->filesystems_count, 9);
	assert_int_equal(s->disks_count, 5);
	for (i = 0; i < s->disks_count; i++) {
		assert_close(s->disks[i]->reads_per_sec, 0.0);
		assert_close(s->disks[i]->write_bytes_per_sec, 0.0);
		assert_close(s->disks[i]->busy_percent, 0.0);
	}
	assert_int_equal(s->disks[1]->reads, 51208);
	assert_int_equal(s->network->rx_total.bytes, 88213340912ull + 2201334 + 2638094);
	assert_close(s->network->rx_total.bytes_per_sec, 0.0);
	assert_int_equal(s->processes->count, 4);
	for (i = 0; i < s->processes->top_cpu_count; i++)
		assert_close(s->processes->top_cpu[i]->cpu_percent, 0.0);
	assert_int_equal(s->processes->top_memory[0]->pid, 1207);

	/* and a third, into a fresh snapshot */
	assert_int_equal(csf_snapshot_new(&again), 0);
	assert_int_equal(csf_collector_collect(t.collector, again), 0);
	assert_int_equal(again->system->filesystems_count, 9);
	assert_string_equal(again->system->filesystems[5]->mountpoint, "/srv/backup disk");
	csf_snapshot_free(again);
	tree_close(&t);
}

/* ------------------------------------------------------------ bad trees */

static void test_bad_trees(void **state)
{
	static const struct {
		const char *tree;
		const char *message;
	} bad[] = {
		{ "proc-bad/tree-bad-stat", "proc stat" },
		{ "proc-bad/tree-bad-meminfo", "proc meminfo" },
		{ "proc-bad/tree-bad-diskstats", "proc diskstats" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tree t;
		char *json = NULL;
		int rc;

		tree_open(&t, bad[i].tree, "linux-4.19", 0, 5);
		assert_int_equal(csf_snapshot_new(&t.snap), 0);
		csf_error_clear();
		rc = csf_collector_collect(t.collector, t.snap);
		if (rc != CSF_EPARSE || !strstr(csf_error_last()->message, bad[i].message))
			fail_msg("%s: rc %d, message \"%s\"", bad[i].tree, rc, csf_error_last()->message);
		assert_null(t.snap->system);
		/* the snapshot is still usable */
		assert_int_equal(csf_snapshot_to_json(&json, NULL, t.snap), 0);
		assert_null(strstr(json, "\"host\""));
		csf_free(json);
		/* and so is the instance: it fails the same way again */
		assert_int_equal(csf_collector_collect(t.collector, t.snap), CSF_EPARSE);
		assert_null(t.snap->system);
		tree_close(&t);
	}
}

static void test_missing_tree(void **state)
{
	char proc[4096];
	csf_system_options opts;
	csf_collector *c = NULL;

	(void)state;
	snprintf(proc, sizeof(proc), "%s/proc/no-such-sample", data_dir());
	csf_system_options_init(&opts, CSF_SYSTEM_OPTIONS_VERSION);
	opts.proc_path = proc;
	assert_int_equal(csf_collector_new(&c, csf_collector_system(), &opts), CSF_ENOTFOUND);
	assert_null(c);
	assert_non_null(strstr(csf_error_last()->message, "no-such-sample/stat"));
}

/* ------------------------------------------------------------ JSON */

static void assert_json_has(const char *json, const char *what)
{
	if (!strstr(json, what))
		fail_msg("JSON lacks %s: %s", what, json);
}

static void test_json(void **state)
{
	static const char *const keys[] = {
		"{\"schema\":1,\"timestamp_ms\":", "\"interval_seconds\":", "\"host\":{",
		"\"hostname\":\"web-01\"", "\"os_id\":\"ubuntu\"", "\"os_name\":\"Ubuntu\"",
		"\"os_version\":\"22.04\"", "\"os_pretty\":\"Ubuntu 22.04.3 LTS\"",
		"\"kernel\":\"5.15.0-91-generic\"", "\"arch\":\"",
		"\"cpu_model\":\"Intel Xeon Processor (Cascadelake)\"", "\"cpu_logical\":4",
		"\"cpu_physical\":2", "\"boot_time\":1700312400", "\"uptime_seconds\":",
		"\"cpu\":{\"usage_percent\":", "\"load1\":2.31", "\"context_switches\":3981227310",
		"\"procs_running\":5", "\"cores\":[{\"id\":0,", "{\"id\":3,",
		"\"memory\":{\"total\":8350961664,", "\"available\":5358694400",
		"\"filesystems\":[{\"device\":\"/dev/mapper/ubuntu--vg-ubuntu--lv\",\"mountpoint\":\"/\","
		"\"fstype\":\"ext4\",\"total_bytes\":",
		"\"mountpoint\":\"/srv/backup disk\"", "\"mountpoint\":\"/media/alice/NO NAME\"",
		"\"filesystems_total_bytes\":", "\"filesystems_used_bytes\":",
		"\"disks\":[{\"name\":\"loop0\",\"reads\":1211,", "{\"name\":\"sda\",\"reads\":51208,",
		"\"busy_percent\":", "\"network\":{\"rx_total\":{\"bytes\":88218180340,",
		"\"tx_total\":{\"bytes\":120519304534,", "\"interfaces\":[{\"name\":\"lo\",\"rx\":{",
		"\"processes\":{\"count\":4,\"threads\":12,\"top_cpu\":[{\"pid\":1207,"
		"\"name\":\"my (weird) prog\",", "\"top_memory\":[", "\"metrics\":{}}",
	};
	struct tree t;
	char *json = NULL;
	size_t len = 0, i;

	(void)state;
	open_and_collect(&t, "linux-5.15", 1, 5);
	assert_int_equal(csf_snapshot_to_json(&json, &len, t.snap), 0);
	assert_int_equal(strlen(json), len);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_json_has(json, keys[i]);
	assert_null(strchr(json, '\n'));
	csf_free(json);
	tree_close(&t);

	/* no os-release: empty strings, not null; processes off: null */
	open_and_collect(&t, "linux-2.6.32", 0, 5);
	assert_int_equal(csf_snapshot_to_json(&json, &len, t.snap), 0);
	assert_json_has(json, "\"os_id\":\"\",\"os_name\":\"\",\"os_version\":\"\",\"os_pretty\":\"\"");
	assert_json_has(json, "\"processes\":null");
	assert_json_has(json, "\"mountpoint\":\"/home\"");
	csf_free(json);
	tree_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_6_18),
		cmocka_unit_test(test_linux_2_6_32),
		cmocka_unit_test(test_linux_4_19),
		cmocka_unit_test(test_linux_5_15),
		cmocka_unit_test(test_linux_6_1_arm64),
		cmocka_unit_test(test_second_snapshot),
		cmocka_unit_test(test_bad_trees),
		cmocka_unit_test(test_missing_tree),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
