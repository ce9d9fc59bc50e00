/*
 * procfs: the sans-I/O /proc and /sys parsers on the recorded and
 * reconstructed samples of tests/data/proc/<sample>/, on the malformed inputs
 * of tests/data/proc-bad/<parser>/, on every prefix of every good file, and at
 * their limits. Inputs are copied into exactly-sized heap blocks with no
 * terminating NUL, so that AddressSanitizer sees any read past the end.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collect/procfs.h"

#define KB 1024ull

static const char *const good_samples[] = {
	"live-6.18", "linux-2.6.32", "linux-4.19", "linux-5.15", "linux-6.1-arm64",
};

static const char *data_dir(void)
{
	const char *d = getenv("CSF_TEST_DATA");

	assert_non_null(d);
	return d;
}

/* Load tests/data/<rel> into an exactly-sized block (not NUL-terminated). */
static char *load(const char *rel, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", data_dir(), rel);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	buf = malloc(n ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static char *load_sample(const char *sample, const char *file, size_t *len)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "proc/%s/%s", sample, file);
	return load(rel, len);
}

/* A copy of a string literal without its NUL. */
static char *dup_exact(const char *s, size_t *len)
{
	char *p;

	*len = strlen(s);
	p = malloc(*len ? *len : 1);
	assert_non_null(p);
	memcpy(p, s, *len);
	return p;
}

#define assert_near(a, b) assert_true(((a) > (b) ? (a) - (b) : (b) - (a)) < 1e-9)

static void assert_message_has(const char *what)
{
	const char *msg = csf_error_last()->message;

	if (!strstr(msg, what))
		fail_msg("error message \"%s\" does not contain \"%s\"", msg, what);
}

/* ------------------------------------------------------------ /proc/stat */

struct stat_expect {
	const char *sample;
	size_t ncpus;
	csf__cpu_ticks total;
	csf__cpu_ticks last; /* the last cpuN line */
	uint64_t ctxt, btime;
	uint32_t running, blocked;
};

static void test_proc_stat_samples(void **state)
{
	static const struct stat_expect want[] = {
		{ "live-6.18", 2, { 2994, 0, 1864, 203833, 416, 0, 53, 13 },
		  { 2036, 0, 1235, 100826, 391, 0, 35, 8 }, 348561, 1796415463, 1, 0 },
		/* 9 counters: the 9th (guest) is part of user and is dropped */
		{ "linux-2.6.32", 8, { 144708, 2188, 62284, 14428364, 12996, 14, 3916, 988 },
		  { 19177, 277, 7971, 1807091, 1649, 0, 321, 127 }, 61279013, 1393838400, 2, 1 },
		{ "linux-4.19", 4, { 1179562, 5754, 362878, 12426302, 35422, 0, 22622, 0 },
		  { 308581, 1455, 93319, 3110951, 8899, 0, 5801, 0 }, 148813077, 1589357812, 3, 0 },
		{ "linux-5.15", 4, { 2091562, 862, 536878, 35238302, 52022, 0, 39222, 4958 },
		  { 533581, 220, 138319, 8816951, 13199, 0, 10101, 1259 }, 3981227310u, 1700312400, 5, 2 },
		{ "linux-6.1-arm64", 4, { 494086, 54, 164878, 8818750, 15422, 0, 6622, 0 },
		  { 126712, 15, 42319, 2206063, 3899, 0, 1801, 0 }, 90331207, 1706812200, 1, 0 },
	};
	size_t i, c;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct stat_expect *w = &want[i];
		csf__proc_stat st = { 0 };
		size_t len;
		char *buf = load_sample(w->sample, "stat", &len);

		assert_int_equal(csf__parse_proc_stat(&st, buf, len), 0);
		assert_int_equal(st.ncpus, w->ncpus);
		for (c = 0; c < st.ncpus; c++)
			assert_int_equal(st.cpus[c].id, c);
		assert_memory_equal(&st.total, &w->total, sizeof(st.total));
		assert_memory_equal(&st.cpus[st.ncpus - 1].t, &w->last, sizeof(w->last));
		assert_int_equal(st.ctxt, w->ctxt);
		assert_int_equal(st.btime, w->btime);
		assert_int_equal(st.procs_running, w->running);
		assert_int_equal(st.procs_blocked, w->blocked);
		csf__proc_stat_free(&st);
		free(buf);
	}
}

static void test_proc_stat_old_and_sparse(void **state)
{
	/* Linux 2.4: 4 counters; CPU numbers with a gap (cpu1 offline). */
	static const char text[] =
		"cpu  30 2 20 900\n"
		"cpu0 10 1 10 450\n"
		"cpu2 20 1 10 450\n"
		"ctxt 5\nbtime 1000000000\nprocs_running 1\nprocs_blocked 0";
	csf__proc_stat st = { 0 };
	size_t len;
	char *buf = dup_exact(text, &len);

	(void)state;
	assert_int_equal(csf__parse_proc_stat(&st, buf, len), 0);
	assert_int_equal(st.ncpus, 2);
	assert_int_equal(st.cpus[1].id, 2);
	assert_int_equal(st.total.idle, 900);
	assert_int_equal(st.total.iowait, 0);
	assert_int_equal(st.total.steal, 0);
	assert_int_equal(st.procs_blocked, 0);
	csf__proc_stat_free(&st);
	free(buf);
}

/* ------------------------------------------------------------ meminfo */

struct mem_expect {
	const char *sample;
	uint64_t total, free, available, buffers, cached, sreclaimable, swap_total, swap_free; /* kB */
	int has_available;
};

static void test_meminfo_samples(void **state)
{
	static const struct mem_expect want[] = {
		{ "live-6.18", 24683664, 24245508, 24350392, 2608, 284700, 66488, 0, 0, 1 },
		{ "linux-2.6.32", 8061404, 1873228, 0, 298540, 4129056, 431284, 4194296, 4188000, 0 },
		{ "linux-4.19", 7986412, 1348820, 4876540, 287112, 3398764, 222180, 8189948, 8189948, 1 },
		{ "linux-5.15", 8155236, 412332, 5233100, 211988, 4412004, 388120, 4194300, 4061180, 1 },
		{ "linux-6.1-arm64", 3882300, 2410332, 3302100, 61220, 812004, 48120, 102396, 102396, 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct mem_expect *w = &want[i];
		csf__meminfo m;
		size_t len;
		char *buf = load_sample(w->sample, "meminfo", &len);

		memset(&m, 0xa5, sizeof(m));
		assert_int_equal(csf__parse_meminfo(&m, buf, len), 0);
		assert_int_equal(m.has_available, w->has_available);
		assert_int_equal(m.total, w->total * KB);
		assert_int_equal(m.free, w->free * KB);
		assert_int_equal(m.available, w->available * KB);
		assert_int_equal(m.buffers, w->buffers * KB);
		/* "Cached:" only, not "SwapCached:" */
		assert_int_equal(m.cached, w->cached * KB);
		assert_int_equal(m.sreclaimable, w->sreclaimable * KB);
		assert_int_equal(m.swap_total, w->swap_total * KB);
		assert_int_equal(m.swap_free, w->swap_free * KB);
		free(buf);
	}
}

/* ------------------------------------------------------------ net/dev */

static const csf__netdev_entry *netdev_find(const csf__netdev *nd, const char *name)
{
	size_t i;

	for (i = 0; i < nd->n; i++)
		if (strcmp(nd->v[i].name, name) == 0)
			return &nd->v[i];
	fail_msg("interface %s not found", name);
	return NULL;
}

static void test_netdev_samples(void **state)
{
	static const struct {
		const char *sample;
		const char *names[5];
	} lists[] = {
		{ "live-6.18", { "lo", "ifb0", "ifb1", "eth0" } },
		{ "linux-2.6.32", { "lo", "eth0", "eth1" } },
		{ "linux-4.19", { "lo", "enp0s31f6", "wlp2s0" } },
		{ "linux-5.15", { "lo", "enp1s0", "docker0", "veth1a2b3c4" } },
		{ "linux-6.1-arm64", { "lo", "eth0", "wlan0" } },
	};
	csf__netdev nd = { 0 };
	const csf__netdev_entry *e;
	size_t i, j, len;
	char *buf;

	(void)state;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		buf = load_sample(lists[i].sample, "net/dev", &len);
		assert_int_equal(csf__parse_netdev(&nd, buf, len), 0);
		for (j = 0; lists[i].names[j]; j++)
			assert_string_equal(nd.v[j].name, lists[i].names[j]);
		assert_int_equal(nd.n, j);
		free(buf);
	}

	buf = load_sample("live-6.18", "net/dev", &len);
	assert_int_equal(csf__parse_netdev(&nd, buf, len), 0);
	e = netdev_find(&nd, "eth0");
	assert_int_equal(e->rx_bytes, 49273302);
	assert_int_equal(e->rx_packets, 1198);
	assert_int_equal(e->tx_bytes, 61597);
	assert_int_equal(e->tx_packets, 660);
	free(buf);

	/* 2.6.32: "eth0:2839712254 18892344" with no blank after the colon */
	buf = load_sample("linux-2.6.32", "net/dev", &len);
	assert_int_equal(csf__parse_netdev(&nd, buf, len), 0);
	e = netdev_find(&nd, "lo");
	assert_int_equal(e->rx_bytes, 14238522);
	e = netdev_find(&nd, "eth0");
	assert_int_equal(e->rx_bytes, 2839712254u);
	assert_int_equal(e->rx_packets, 18892344);
	assert_int_equal(e->rx_errs, 0);
	assert_int_equal(e->rx_drop, 112);
	assert_int_equal(e->tx_bytes, 971203375);
	assert_int_equal(e->tx_packets, 7622198);
	assert_int_equal(e->tx_errs, 0);
	assert_int_equal(e->tx_drop, 0);
	free(buf);

	/* names longer than the %6s column, counters past 2^32 */
	buf = load_sample("linux-5.15", "net/dev", &len);
	assert_int_equal(csf__parse_netdev(&nd, buf, len), 0);
	e = netdev_find(&nd, "enp1s0");
	assert_int_equal(e->rx_bytes, 88213340912ull);
	assert_int_equal(e->rx_drop, 1021);
	assert_int_equal(e->tx_bytes, 120334882101ull);
	assert_int_equal(e->tx_packets, 61022871);
	e = netdev_find(&nd, "veth1a2b3c4");
	assert_int_equal(e->rx_bytes, 2638094);
	assert_int_equal(e->tx_bytes, 92212102);
	free(buf);
	csf__netdev_free(&nd);
}

/* ------------------------------------------------------------ diskstats */

static const csf__diskstat *disk_find(const csf__diskstats *ds, const char *name)
{
	size_t i;

	for (i = 0; i < ds->n; i++)
		if (strcmp(ds->v[i].name, name) == 0)
			return &ds->v[i];
	fail_msg("device %s not found", name);
	return NULL;
}

static void assert_disk(const csf__diskstats *ds, const char *name, uint32_t major, uint32_t minor,
			uint64_t reads, uint64_t sectors_read, uint64_t writes,
			uint64_t sectors_written, uint64_t io_ms)
{
	const csf__diskstat *d = disk_find(ds, name);

	assert_int_equal(d->major, major);
	assert_int_equal(d->minor, minor);
	assert_int_equal(d->reads, reads);
	assert_int_equal(d->sectors_read, sectors_read);
	assert_int_equal(d->writes, writes);
	assert_int_equal(d->sectors_written, sectors_written);
	assert_int_equal(d->io_ms, io_ms);
}

static void test_diskstats_samples(void **state)
{
	csf__diskstats ds = { 0 };
	size_t len;
	char *buf;

	(void)state;
	/* before 2.6.25: 11 counters for disks, 4 for partitions */
	buf = load_sample("linux-2.6.18", "diskstats", &len);
	assert_int_equal(csf__parse_diskstats(&ds, buf, len), 0);
	assert_int_equal(ds.n, 5);
	assert_disk(&ds, "sda", 8, 0, 12543, 560214, 45912, 1426824, 310233);
	assert_disk(&ds, "sda1", 8, 1, 1522, 3016, 33, 66, 0);
	assert_disk(&ds, "sda2", 8, 2, 11002, 557102, 45879, 1426758, 0);
	free(buf);

	/* 11 counters */
	buf = load_sample("linux-2.6.32", "diskstats", &len);
	assert_int_equal(csf__parse_diskstats(&ds, buf, len), 0);
	assert_int_equal(ds.n, 10);
	assert_disk(&ds, "vda", 252, 0, 91283, 4361220, 402118, 7324088, 693122);
	assert_disk(&ds, "vda1", 252, 1, 1244, 10978, 16, 36, 2310);
	assert_disk(&ds, "dm-0", 253, 0, 98821, 4216466, 908872, 7272416, 689933);
	assert_disk(&ds, "ram0", 1, 0, 0, 0, 0, 0, 0);
	free(buf);

	/* 15 counters: the discard counters must not shift the others */
	buf = load_sample("linux-4.19", "diskstats", &len);
	assert_int_equal(csf__parse_diskstats(&ds, buf, len), 0);
	assert_int_equal(ds.n, 7);
	assert_disk(&ds, "nvme0n1", 259, 0, 177013, 11048938, 312907, 16262136, 178340);
	assert_disk(&ds, "nvme0n1p3", 259, 3, 56085, 3006224, 108393, 6000000, 50040);
	free(buf);

	/* 17 counters: discards and flushes */
	buf = load_sample("linux-5.15", "diskstats", &len);
	assert_int_equal(csf__parse_diskstats(&ds, buf, len), 0);
	assert_int_equal(ds.n, 12);
	assert_disk(&ds, "sda", 8, 0, 51208, 4120688, 190233, 6120344, 201220);
	assert_disk(&ds, "sdb1", 8, 17, 8790, 1119310, 40123, 8120440, 52100);
	assert_disk(&ds, "dm-0", 253, 0, 61022, 4060101, 278251, 6119222, 201100);
	free(buf);

	buf = load_sample("linux-6.1-arm64", "diskstats", &len);
	assert_int_equal(csf__parse_diskstats(&ds, buf, len), 0);
	assert_int_equal(ds.n, 5);
	assert_disk(&ds, "mmcblk0", 179, 0, 30122, 2120334, 12033, 1022104, 120331);
	free(buf);

	buf = load_sample("live-6.18", "diskstats", &len);
	assert_int_equal(csf__parse_diskstats(&ds, buf, len), 0);
	assert_int_equal(ds.n, 10);
	assert_disk(&ds, "vda", 254, 0, 56514, 3163018, 10896, 922608, 6148);
	assert_disk(&ds, "loop7", 7, 7, 0, 0, 0, 0, 0);
	free(buf);

	/* an empty diskstats (no block devices) is valid */
	assert_int_equal(csf__parse_diskstats(&ds, "", 0), 0);
	assert_int_equal(ds.n, 0);
	csf__diskstats_free(&ds);
}

/* ------------------------------------------------------------ mountinfo */

static const csf__mount *mount_at(const csf__mountinfo *mi, const char *mountpoint, size_t nth)
{
	size_t i;

	for (i = 0; i < mi->n; i++)
		if (strcmp(CSF__MOUNT_STR(mi, mi->v[i].mountpoint), mountpoint) == 0 && nth-- == 0)
			return &mi->v[i];
	fail_msg("mountpoint \"%s\" not found", mountpoint);
	return NULL;
}

static void assert_mount(const csf__mountinfo *mi, const char *mountpoint, uint32_t major,
			 uint32_t minor, const char *root, const char *fstype, const char *source)
{
	const csf__mount *m = mount_at(mi, mountpoint, 0);

	assert_int_equal(m->major, major);
	assert_int_equal(m->minor, minor);
	assert_string_equal(CSF__MOUNT_STR(mi, m->root), root);
	assert_string_equal(CSF__MOUNT_STR(mi, m->fstype), fstype);
	assert_string_equal(CSF__MOUNT_STR(mi, m->source), source);
}

static void test_mountinfo_samples(void **state)
{
	csf__mountinfo mi = { 0 };
	size_t len;
	char *buf;

	(void)state;
	buf = load_sample("live-6.18", "self/mountinfo", &len);
	assert_int_equal(csf__parse_mountinfo(&mi, buf, len), 0);
	assert_int_equal(mi.n, 19);
	assert_mount(&mi, "/", 254, 0, "/", "ext4", "/dev/vda");
	assert_mount(&mi, "/sys/fs/cgroup/unified", 0, 38, "/", "cgroup2", "cgroup2");
	assert_mount(&mi, "/dev/shm", 0, 23, "/", "tmpfs", "tmpfs");
	/* mounted twice: both listed */
	assert_int_equal(mount_at(&mi, "/dev/pts", 1)->minor, 26);
	free(buf);

	buf = load_sample("linux-2.6.32", "self/mountinfo", &len);
	assert_int_equal(csf__parse_mountinfo(&mi, buf, len), 0);
	assert_int_equal(mi.n, 11);
	assert_mount(&mi, "/", 253, 0, "/", "ext4", "/dev/mapper/vg_db01-lv_root");
	assert_mount(&mi, "/boot", 252, 1, "/", "ext4", "/dev/vda1");
	assert_mount(&mi, "/proc/bus/usb", 0, 15, "/", "usbfs", "/proc/bus/usb");
	free(buf);

	buf = load_sample("linux-4.19", "self/mountinfo", &len);
	assert_int_equal(csf__parse_mountinfo(&mi, buf, len), 0);
	assert_int_equal(mi.n, 17);
	assert_mount(&mi, "/", 259, 2, "/", "ext4", "/dev/nvme0n1p2");
	assert_mount(&mi, "/sys/fs/cgroup/cpu,cpuacct", 0, 31, "/", "cgroup", "cgroup");
	assert_mount(&mi, "/dev", 0, 6, "/", "devtmpfs", "udev");
	free(buf);

	buf = load_sample("linux-5.15", "self/mountinfo", &len);
	assert_int_equal(csf__parse_mountinfo(&mi, buf, len), 0);
	assert_int_equal(mi.n, 25);
	assert_mount(&mi, "/", 253, 0, "/", "ext4", "/dev/mapper/ubuntu--vg-ubuntu--lv");
	/* \040 is a space, \134 a backslash */
	assert_mount(&mi, "/srv/backup disk", 8, 17, "/", "xfs", "/dev/sdb1");
	assert_mount(&mi, "/media/alice/NO NAME", 8, 33, "/", "vfat", "/dev/sdc1");
	assert_mount(&mi, "/srv/back\\slash", 8, 17, "/back\\slash", "xfs", "/dev/sdb1");
	/* bind mounts: same device, root != "/"; two optional fields */
	assert_mount(&mi, "/srv/nfs share", 8, 17, "/exports/www", "xfs", "/dev/sdb1");
	assert_mount(&mi, "/var/lib/containers-bind", 253, 0, "/var/lib/containers", "ext4",
		     "/dev/mapper/ubuntu--vg-ubuntu--lv");
	assert_mount(&mi, "/var/www", 8, 65, "/www", "ext4", "/dev/sde1");
	assert_mount(&mi, "/tank", 0, 50, "/", "zfs", "tank");
	assert_mount(&mi, "/mnt/nfs", 0, 52, "/", "nfs4", "10.0.0.5:/export/home");
	assert_mount(&mi, "/run/user/1000/gvfs", 0, 56, "/", "fuse.gvfsd-fuse", "gvfsd-fuse");
	assert_mount(&mi, "/snap/core20/2105", 7, 0, "/", "squashfs", "/dev/loop0");
	free(buf);

	buf = load_sample("linux-6.1-arm64", "self/mountinfo", &len);
	assert_int_equal(csf__parse_mountinfo(&mi, buf, len), 0);
	assert_int_equal(mi.n, 10);
	assert_mount(&mi, "/boot/firmware", 179, 1, "/", "vfat", "/dev/mmcblk0p1");
	free(buf);

	/* escapes: tab, newline, an escaped backslash before digits, and
	 * sequences that are not escapes (kept as they are) */
	buf = dup_exact("1 0 8:1 / /a\\011b\\012c\\1340\\9x\\04 rw - ext4 /dev/sda1 rw\n", &len);
	assert_int_equal(csf__parse_mountinfo(&mi, buf, len), 0);
	assert_int_equal(mi.n, 1);
	assert_string_equal(CSF__MOUNT_STR(&mi, mi.v[0].mountpoint), "/a\tb\nc\\0\\9x\\04");
	free(buf);
	csf__mountinfo_free(&mi);
}

/* ------------------------------------------------------------ filesystems */

static void test_filesystems_samples(void **state)
{
	static const char *const always_real[] = { "ext4" };
	static const char *const never_real[] = { "proc", "sysfs", "tmpfs", "devtmpfs", "devpts",
						  "cgroup", "nodev", "", "ext", "ext44", "xt4" };
	csf__buf types = CSF__BUF_INIT(1u << 20);
	size_t i, j, len;
	char *buf;

	(void)state;
	for (i = 0; i < sizeof(good_samples) / sizeof(good_samples[0]); i++) {
		buf = load_sample(good_samples[i], "filesystems", &len);
		assert_int_equal(csf__parse_filesystems(&types, buf, len), 0);
		for (j = 0; j < sizeof(always_real) / sizeof(always_real[0]); j++)
			assert_true(csf__filesystems_has(&types, always_real[j]));
		for (j = 0; j < sizeof(never_real) / sizeof(never_real[0]); j++)
			assert_false(csf__filesystems_has(&types, never_real[j]));
		free(buf);
	}

	buf = load_sample("live-6.18", "filesystems", &len);
	assert_int_equal(csf__parse_filesystems(&types, buf, len), 0);
	/* ext3 ext2 ext4 squashfs fuseblk xfs erofs btrfs */
	assert_memory_equal(types.ptr, "\0ext3\0ext2\0ext4\0squashfs\0fuseblk\0xfs\0erofs\0btrfs\0",
			    types.len);
	assert_int_equal(types.len, 49);
	free(buf);

	buf = load_sample("linux-2.6.32", "filesystems", &len);
	assert_int_equal(csf__parse_filesystems(&types, buf, len), 0);
	assert_true(csf__filesystems_has(&types, "iso9660"));
	assert_false(csf__filesystems_has(&types, "nfs4"));
	assert_false(csf__filesystems_has(&types, "usbfs"));
	free(buf);

	buf = load_sample("linux-5.15", "filesystems", &len);
	assert_int_equal(csf__parse_filesystems(&types, buf, len), 0);
	assert_true(csf__filesystems_has(&types, "squashfs"));
	assert_true(csf__filesystems_has(&types, "xfs"));
	assert_true(csf__filesystems_has(&types, "vfat"));
	assert_true(csf__filesystems_has(&types, "btrfs"));
	assert_true(csf__filesystems_has(&types, "fuseblk"));
	assert_false(csf__filesystems_has(&types, "fuse"));
	assert_false(csf__filesystems_has(&types, "zfs")); /* nodev; the collector allows it */
	assert_false(csf__filesystems_has(&types, "nfs4"));
	free(buf);

	/* proc-bad/filesystems: nothing there is invalid */
	buf = load("proc-bad/filesystems/no-final-newline", &len);
	assert_int_equal(csf__parse_filesystems(&types, buf, len), 0);
	assert_memory_equal(types.ptr, "\0ext4\0xfs\0", 10);
	assert_int_equal(types.len, 10);
	free(buf);
	buf = load("proc-bad/filesystems/only-nodev", &len);
	assert_int_equal(csf__parse_filesystems(&types, buf, len), 0);
	assert_int_equal(types.len, 1);
	assert_false(csf__filesystems_has(&types, "sysfs"));
	free(buf);
	buf = load("proc-bad/filesystems/garbage.bin", &len);
	assert_int_equal(csf__parse_filesystems(&types, buf, len), 0);
	assert_false(csf__filesystems_has(&types, "ext4"));
	free(buf);
	assert_int_equal(csf__parse_filesystems(&types, "", 0), 0);
	assert_int_equal(types.len, 1);
	csf__buf_free(&types);

	/* a lookup in a list never parsed */
	assert_false(csf__filesystems_has(&types, "ext4"));
}

/* ------------------------------------------------------------ loadavg, uptime */

static void test_loadavg_uptime_samples(void **state)
{
	static const struct {
		const char *sample;
		double load[3];
		double uptime;
	} want[] = {
		{ "live-6.18", { 0.02, 0.01, 0.00 }, 1048.50 },
		{ "linux-2.6.32", { 0.08, 0.12, 0.09 }, 181410.52 },
		{ "linux-4.19", { 1.12, 0.87, 0.66 }, 35012.77 },
		{ "linux-5.15", { 2.31, 1.97, 1.84 }, 1572011.04 },
		{ "linux-6.1-arm64", { 0.52, 0.31, 0.22 }, 86400.00 },
	};
	size_t i, len;
	double load[3], up;
	char *buf;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		buf = load_sample(want[i].sample, "loadavg", &len);
		assert_int_equal(csf__parse_loadavg(load, buf, len), 0);
		assert_near(load[0], want[i].load[0]);
		assert_near(load[1], want[i].load[1]);
		assert_near(load[2], want[i].load[2]);
		free(buf);
		buf = load_sample(want[i].sample, "uptime", &len);
		assert_int_equal(csf__parse_uptime(&up, buf, len), 0);
		assert_near(up, want[i].uptime);
		free(buf);
	}
	/* no trailing newline, no fraction */
	buf = dup_exact("12 3.5 0.25", &len);
	assert_int_equal(csf__parse_loadavg(load, buf, len), 0);
	assert_near(load[0], 12.0);
	assert_near(load[2], 0.25);
	free(buf);
	buf = dup_exact("174.7", &len);
	assert_int_equal(csf__parse_uptime(&up, buf, len), 0);
	assert_near(up, 174.7);
	free(buf);
}

/* ------------------------------------------------------------ PID/stat */

struct pid_expect {
	const char *file;
	int32_t pid;
	const char *comm;
	char state;
	uint64_t utime, stime, starttime, rss_pages;
	uint32_t threads;
};

static void test_pid_stat_samples(void **state)
{
	static const struct pid_expect want[] = {
		{ "proc/live-6.18/2/stat", 2, "kthreadd", 'S', 0, 0, 23, 0, 1 },
		{ "proc/live-6.18/14/stat", 14, "ksoftirqd/0", 'S', 2, 0, 23, 0, 1 },
		{ "proc/live-6.18/16/stat", 16, "rcu_exp_par_gp_kthread_worker/0", 'S', 0, 0, 23, 0, 1 },
		{ "proc/live-6.18/4412/stat", 4412, "bash", 'S', 1, 2, 88405, 962, 1 },
		{ "proc/linux-2.6.32/1/stat", 1, "init", 'S', 48, 531, 1, 376, 1 },
		{ "proc/linux-2.6.32/2011/stat", 2011, "mysqld", 'S', 1093442, 211877, 1712, 212331, 27 },
		{ "proc/linux-5.15/812/stat", 812, "tmux: server", 'S', 88120, 41220, 120031, 1201, 1 },
		{ "proc/linux-5.15/1207/stat", 1207, "my (weird) prog", 'R', 9801650, 1000000,
		  150000000, 512331, 9 },
	};
	size_t i, len;
	char *buf;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct pid_expect *w = &want[i];
		csf__pid_stat ps;

		buf = load(w->file, &len);
		assert_int_equal(csf__parse_pid_stat(&ps, buf, len), 0);
		assert_int_equal(ps.pid, w->pid);
		assert_string_equal(ps.comm, w->comm);
		assert_int_equal(ps.state, w->state);
		assert_int_equal(ps.utime, w->utime);
		assert_int_equal(ps.stime, w->stime);
		assert_int_equal(ps.starttime, w->starttime);
		assert_int_equal(ps.rss_pages, w->rss_pages);
		assert_int_equal(ps.num_threads, w->threads);
		free(buf);
	}
}

static void test_pid_stat_edges(void **state)
{
	char text[512], comm[100];
	csf__pid_stat ps;
	size_t len;
	char *buf;

	(void)state;
	/* a comm longer than the struct keeps its first 63 bytes */
	memset(comm, 'x', sizeof(comm) - 1);
	comm[sizeof(comm) - 1] = '\0';
	snprintf(text, sizeof(text), "7 (%s) S 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 99 0 10", comm);
	buf = dup_exact(text, &len);
	assert_int_equal(csf__parse_pid_stat(&ps, buf, len), 0);
	assert_int_equal(strlen(ps.comm), 63);
	assert_int_equal(ps.utime, 5);
	assert_int_equal(ps.rss_pages, 10);
	free(buf);

	/* ") " inside the comm: the comm ends at the last ')' */
	buf = dup_exact("9 (a) S 1 (b) R 1 9 9 0 -1 0 0 0 0 0 5 6 0 0 20 0 3 0 99 0 10\n", &len);
	assert_int_equal(csf__parse_pid_stat(&ps, buf, len), 0);
	assert_string_equal(ps.comm, "a) S 1 (b");
	assert_int_equal(ps.state, 'R');
	assert_int_equal(ps.num_threads, 3);
	free(buf);

	/* negative priority and nice (real-time and niced processes) */
	buf = dup_exact("10 (rt) S 2 0 0 0 -1 0 0 0 0 0 1 2 0 0 -100 -20 1 0 99 0 0\n", &len);
	assert_int_equal(csf__parse_pid_stat(&ps, buf, len), 0);
	assert_int_equal(ps.stime, 2);
	assert_int_equal(ps.rss_pages, 0);
	free(buf);
}

/* ------------------------------------------------------------ os-release */

struct os_expect {
	const char *file;
	const char *id, *name, *version_id, *pretty;
};

static void test_os_release_samples(void **state)
{
	static const struct os_expect want[] = {
		{ "rootfs/live-6.18/etc/os-release", "debian", "Debian GNU/Linux", "12",
		  "Debian GNU/Linux 12 (bookworm)" },
		{ "rootfs/linux-4.19/etc/os-release", "debian", "Debian GNU/Linux", "10",
		  "Debian GNU/Linux 10 (buster)" },
		{ "rootfs/linux-5.15/usr/lib/os-release", "ubuntu", "Ubuntu", "22.04",
		  "Ubuntu 22.04.3 LTS" },
		{ "rootfs/linux-6.1-arm64/etc/os-release", "debian", "Debian GNU/Linux", "12",
		  "Debian GNU/Linux 12 (bookworm)" },
		{ "os-release/alpine-3.19", "alpine", "Alpine Linux", "3.19.1", "Alpine Linux v3.19" },
		/* single quotes keep backslashes; double quotes unescape them;
		 * ID_LIKE and VARIANT_ID are not ID */
		{ "os-release/quoting", "plain", "Single \\ Quoted", "1.0", "Say \"hi\" \\ $HOME `x`" },
	};
	csf__os_release os;
	size_t i, len;
	char *buf, text[600];

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		buf = load(want[i].file, &len);
		assert_int_equal(csf__parse_os_release(&os, buf, len), 0);
		assert_string_equal(os.id, want[i].id);
		assert_string_equal(os.name, want[i].name);
		assert_string_equal(os.version_id, want[i].version_id);
		assert_string_equal(os.pretty_name, want[i].pretty);
		free(buf);
	}

	/* long values are cut to fit; unterminated quotes end at the line end */
	memset(text, 0, sizeof(text));
	memcpy(text, "PRETTY_NAME=\"", 13);
	memset(text + 13, 'p', 400);
	memcpy(text + 413, "\"\nNAME=\"open", 12);
	buf = dup_exact(text, &len);
	assert_int_equal(csf__parse_os_release(&os, buf, len), 0);
	assert_int_equal(strlen(os.pretty_name), sizeof(os.pretty_name) - 1);
	assert_string_equal(os.name, "open");
	assert_string_equal(os.id, "");
	free(buf);
}

/* ------------------------------------------------------------ cpuinfo */

static void test_cpuinfo_samples(void **state)
{
	static const struct {
		const char *file;
		const char *model;
		uint32_t physical_cores;
	} want[] = {
		{ "proc/live-6.18/cpuinfo", "Intel(R) Xeon(R) Processor", 2 },
		/* two sockets of 2 cores with 2 threads */
		{ "proc/linux-2.6.32/cpuinfo", "Intel Xeon E312xx (Sandy Bridge)", 4 },
		{ "proc/linux-4.19/cpuinfo", "Intel(R) Core(TM) i5-7200U CPU @ 2.50GHz", 2 },
		{ "proc/linux-5.15/cpuinfo", "Intel Xeon Processor (Cascadelake)", 2 },
		/* "Model" wins over "Hardware" though it comes later */
		{ "proc/linux-6.1-arm64/cpuinfo", "Raspberry Pi 4 Model B Rev 1.4", 0 },
		/* "model name" wins over "Model" */
		{ "cpuinfo/armv7-rpi3", "ARMv7 Processor rev 4 (v7l)", 0 },
		{ "cpuinfo/arm64-neoverse-n1", "", 0 },
		{ "cpuinfo/riscv64-visionfive2", "sifive,u74-mc", 0 },
		{ "cpuinfo/ppc64le-power9", "POWER9 (architected), altivec supported", 0 },
	};
	csf__cpuinfo ci;
	size_t i, len;
	char *buf;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		buf = load(want[i].file, &len);
		assert_int_equal(csf__parse_cpuinfo(&ci, buf, len), 0);
		assert_string_equal(ci.model, want[i].model);
		assert_int_equal(ci.physical_cores, want[i].physical_cores);
		free(buf);
	}

	/* a package number past the table is ignored, not written */
	buf = dup_exact("processor\t: 0\nphysical id\t: 5000\ncpu cores\t: 4\n\n"
			"processor\t: 1\nphysical id\t: 1\ncpu cores\t: 8\n", &len);
	assert_int_equal(csf__parse_cpuinfo(&ci, buf, len), 0);
	assert_int_equal(ci.physical_cores, 8);
	free(buf);
}

/* ------------------------------------------------------------ bad inputs */

typedef int (*parse_fn)(const char *buf, size_t len);

static int p_stat(const char *b, size_t n)
{
	csf__proc_stat st = { 0 };
	int rc = csf__parse_proc_stat(&st, b, n);

	csf__proc_stat_free(&st);
	return rc;
}

static int p_meminfo(const char *b, size_t n)
{
	csf__meminfo m;

	return csf__parse_meminfo(&m, b, n);
}

static int p_netdev(const char *b, size_t n)
{
	csf__netdev nd = { 0 };
	int rc = csf__parse_netdev(&nd, b, n);

	csf__netdev_free(&nd);
	return rc;
}

static int p_diskstats(const char *b, size_t n)
{
	csf__diskstats ds = { 0 };
	int rc = csf__parse_diskstats(&ds, b, n);

	csf__diskstats_free(&ds);
	return rc;
}

static int p_mountinfo(const char *b, size_t n)
{
	csf__mountinfo mi = { 0 };
	int rc = csf__parse_mountinfo(&mi, b, n);

	csf__mountinfo_free(&mi);
	return rc;
}

static int p_filesystems(const char *b, size_t n)
{
	csf__buf types = CSF__BUF_INIT(1u << 20);
	int rc = csf__parse_filesystems(&types, b, n);

	csf__buf_free(&types);
	return rc;
}

static int p_loadavg(const char *b, size_t n)
{
	double load[3];

	return csf__parse_loadavg(load, b, n);
}

static int p_uptime(const char *b, size_t n)
{
	double up;

	return csf__parse_uptime(&up, b, n);
}

static int p_pid_stat(const char *b, size_t n)
{
	csf__pid_stat ps;

	return csf__parse_pid_stat(&ps, b, n);
}

static int p_os_release(const char *b, size_t n)
{
	csf__os_release os;

	return csf__parse_os_release(&os, b, n);
}

static int p_cpuinfo(const char *b, size_t n)
{
	csf__cpuinfo ci;

	return csf__parse_cpuinfo(&ci, b, n);
}

static const struct parser {
	const char *name;  /* the fuzz target and proc-bad/ directory */
	const char *kind;  /* what error messages call the file */
	const char *file;  /* where it is in a sample tree */
	parse_fn parse;
} parsers[] = {
	{ "proc_stat", "proc stat", "stat", p_stat },
	{ "meminfo", "proc meminfo", "meminfo", p_meminfo },
	{ "netdev", "proc net/dev", "net/dev", p_netdev },
	{ "diskstats", "proc diskstats", "diskstats", p_diskstats },
	{ "mountinfo", "proc mountinfo", "self/mountinfo", p_mountinfo },
	{ "filesystems", "proc filesystems", "filesystems", p_filesystems },
	{ "loadavg", "proc loadavg", "loadavg", p_loadavg },
	{ "uptime", "proc uptime", "uptime", p_uptime },
	{ "pid_stat", "proc pid stat", NULL, p_pid_stat },
	{ "os_release", "os-release", NULL, p_os_release },
	{ "cpuinfo", "proc cpuinfo", "cpuinfo", p_cpuinfo },
};

static const struct parser *parser_named(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++)
		if (strcmp(parsers[i].name, name) == 0)
			return &parsers[i];
	fail_msg("no parser %s", name);
	return NULL;
}

static void test_bad_inputs(void **state)
{
	size_t i, total = 0;

	(void)state;
	for (i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++) {
		const struct parser *p = &parsers[i];
		char dir[4096];
		struct dirent *de;
		size_t count = 0;
		DIR *d;

		if (strcmp(p->name, "filesystems") == 0)
			continue; /* no invalid form: see test_filesystems_samples */
		snprintf(dir, sizeof(dir), "%s/proc-bad/%s", data_dir(), p->name);
		d = opendir(dir);
		if (!d)
			fail_msg("cannot open %s", dir);
		while ((de = readdir(d)) != NULL) {
			char rel[512];
			const char *msg;
			size_t len;
			char *buf;
			int rc;

			if (de->d_name[0] == '.')
				continue;
			snprintf(rel, sizeof(rel), "proc-bad/%s/%s", p->name, de->d_name);
			buf = load(rel, &len);
			csf_error_clear();
			rc = p->parse(buf, len);
			msg = csf_error_last()->message;
			if (rc != CSF_EPARSE || csf_error_last()->code != CSF_EPARSE || !strstr(msg, p->kind))
				fail_msg("%s: rc %d, message \"%s\" (want CSF_EPARSE and \"%s\")", rel, rc,
					 msg, p->kind);
			free(buf);
			count++;
		}
		closedir(d);
		if (count < 3)
			fail_msg("proc-bad/%s holds only %zu inputs", p->name, count);
		total += count;
	}
	assert_true(total >= 60);
}

/* Specific bad inputs, for the message they give. */
static void test_bad_input_messages(void **state)
{
	static const struct {
		const char *file;
		const char *message;
	} want[] = {
		{ "proc-bad/proc_stat/cut-mid-cpu-line", "proc stat: line 3: malformed" },
		{ "proc-bad/proc_stat/no-btime", "proc stat: truncated" },
		{ "proc-bad/proc_stat/no-aggregate-cpu", "proc stat: no aggregate cpu line" },
		{ "proc-bad/proc_stat/no-per-cpu", "proc stat: no per-cpu lines" },
		{ "proc-bad/meminfo/no-memtotal", "proc meminfo: truncated" },
		{ "proc-bad/meminfo/non-numeric", "proc meminfo: line 2: malformed" },
		{ "proc-bad/meminfo/overflow-kb", "proc meminfo: line 1: value too large" },
		{ "proc-bad/netdev/bad-header", "proc net/dev: line 1: unexpected header" },
		{ "proc-bad/netdev/bad-second-header", "proc net/dev: line 2: unexpected header" },
		{ "proc-bad/netdev/one-header-line", "proc net/dev: truncated header" },
		{ "proc-bad/netdev/non-numeric-counter", "proc net/dev: line 4: malformed" },
		{ "proc-bad/netdev/name-too-long", "proc net/dev: line 3: interface name too long" },
		{ "proc-bad/diskstats/12-counters", "proc diskstats: line 3: malformed" },
		{ "proc-bad/diskstats/name-too-long", "proc diskstats: line 1: device name too long" },
		{ "proc-bad/mountinfo/no-separator", "proc mountinfo: line 6: malformed" },
		{ "proc-bad/mountinfo/escaped-nul", "proc mountinfo: NUL in a path" },
		{ "proc-bad/pid_stat/no-close-paren", "proc pid stat: malformed" },
		{ "proc-bad/os_release/no-known-keys", "os-release: no ID, NAME" },
		{ "proc-bad/cpuinfo/no-colon", "proc cpuinfo: no key: value lines" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *dir = want[i].file + strlen("proc-bad/");
		char name[32];
		const struct parser *p;
		size_t len;
		char *buf = load(want[i].file, &len);

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(dir, "/"), dir);
		p = parser_named(name);
		assert_int_equal(p->parse(buf, len), CSF_EPARSE);
		if (strncmp(csf_error_last()->message, want[i].message, strlen(want[i].message)) != 0)
			fail_msg("%s: message \"%s\", want \"%s...\"", want[i].file,
				 csf_error_last()->message, want[i].message);
		free(buf);
	}
}

/* ------------------------------------------------------------ every prefix */

static void check_prefixes(const struct parser *p, const char *rel)
{
	size_t len, n;
	char *whole = load(rel, &len);

	for (n = 0; n <= len; n++) {
		char *buf = malloc(n ? n : 1);
		int rc;

		assert_non_null(buf);
		memcpy(buf, whole, n);
		rc = p->parse(buf, n);
		if (rc != 0 && rc != CSF_EPARSE)
			fail_msg("%s cut to %zu bytes: rc %d (%s)", rel, n, rc, csf_error_last()->message);
		if (rc == CSF_EPARSE && !strstr(csf_error_last()->message, p->kind))
			fail_msg("%s cut to %zu bytes: message \"%s\"", rel, n, csf_error_last()->message);
		free(buf);
	}
	assert_int_equal(p->parse(whole, len), 0);
	free(whole);
}

/* A file cut anywhere parses or fails with CSF_EPARSE: never a crash, an
 * over-read or another code. */
static void test_every_prefix(void **state)
{
	static const char *const pid_files[] = {
		"proc/live-6.18/4412/stat", "proc/linux-2.6.32/2011/stat", "proc/linux-5.15/1207/stat",
	};
	static const char *const os_files[] = {
		"rootfs/live-6.18/etc/os-release", "os-release/quoting",
	};
	static const char *const cpu_files[] = {
		"cpuinfo/armv7-rpi3", "cpuinfo/riscv64-visionfive2",
	};
	size_t i, j;
	char rel[512];

	(void)state;
	for (i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++) {
		if (!parsers[i].file)
			continue;
		for (j = 0; j < sizeof(good_samples) / sizeof(good_samples[0]); j++) {
			snprintf(rel, sizeof(rel), "proc/%s/%s", good_samples[j], parsers[i].file);
			check_prefixes(&parsers[i], rel);
		}
	}
	for (i = 0; i < sizeof(pid_files) / sizeof(pid_files[0]); i++)
		check_prefixes(parser_named("pid_stat"), pid_files[i]);
	for (i = 0; i < sizeof(os_files) / sizeof(os_files[0]); i++)
		check_prefixes(parser_named("os_release"), os_files[i]);
	for (i = 0; i < sizeof(cpu_files) / sizeof(cpu_files[0]); i++)
		check_prefixes(parser_named("cpuinfo"), cpu_files[i]);
	check_prefixes(parser_named("diskstats"), "proc/linux-2.6.18/diskstats");
}

/* ------------------------------------------------------------ limits */

/* `head`, then `count` generated lines of one kind (cpu, net, disk, mount). */
static char *repeat_lines(const char *head, const char *kind, size_t count, size_t *len)
{
	size_t cap = strlen(head) + count * 64 + 128, n;
	char *buf = malloc(cap);
	size_t i;

	assert_non_null(buf);
	n = (size_t)snprintf(buf, cap, "%s", head);
	for (i = 0; i < count; i++) {
		if (strcmp(kind, "cpu") == 0)
			n += (size_t)snprintf(buf + n, cap - n, "cpu%zu 1 2 3 4 5 6 7 8 0 0\n", i);
		else if (strcmp(kind, "net") == 0)
			n += (size_t)snprintf(buf + n, cap - n, "e%zu: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", i);
		else if (strcmp(kind, "disk") == 0)
			n += (size_t)snprintf(buf + n, cap - n, "8 %zu d%zu 1 2 3 4\n", i, i);
		else
			n += (size_t)snprintf(buf + n, cap - n, "%zu 1 0:1 / /m%zu rw - t s rw\n", i, i);
	}
	if (strcmp(kind, "cpu") == 0)
		n += (size_t)snprintf(buf + n, cap - n, "ctxt 1\nbtime 1\nprocs_running 1\nprocs_blocked 0\n");
	*len = n;
	return buf;
}

static void test_limits(void **state)
{
	csf__proc_stat st = { 0 };
	csf__netdev nd = { 0 };
	csf__diskstats ds = { 0 };
	size_t len;
	char *buf;

	(void)state;
	buf = repeat_lines("cpu  1 2 3 4 5 6 7 8 0 0\n", "cpu", 8192, &len);
	assert_int_equal(csf__parse_proc_stat(&st, buf, len), 0);
	assert_int_equal(st.ncpus, 8192);
	free(buf);
	buf = repeat_lines("cpu  1 2 3 4 5 6 7 8 0 0\n", "cpu", 8193, &len);
	assert_int_equal(csf__parse_proc_stat(&st, buf, len), CSF_ELIMIT);
	assert_message_has("proc stat");
	free(buf);
	csf__proc_stat_free(&st);

	buf = repeat_lines("Inter-|\n face |\n", "net", 65537, &len);
	assert_int_equal(csf__parse_netdev(&nd, buf, len), CSF_ELIMIT);
	assert_message_has("proc net/dev");
	free(buf);
	csf__netdev_free(&nd);

	buf = repeat_lines("", "disk", 65537, &len);
	assert_int_equal(csf__parse_diskstats(&ds, buf, len), CSF_ELIMIT);
	assert_message_has("proc diskstats");
	free(buf);
	csf__diskstats_free(&ds);

}

/* MOUNTINFO_MAX is 100000 mounts: the 100001st must be refused. */
static void test_mountinfo_count_limit(void **state)
{
	csf__mountinfo mi = { 0 };
	size_t len;
	char *buf;
	int rc;

	(void)state;
	buf = repeat_lines("", "mount", 100000, &len);
	assert_int_equal(csf__parse_mountinfo(&mi, buf, len), 0);
	assert_int_equal(mi.n, 100000);
	free(buf);
	buf = repeat_lines("", "mount", 100001, &len);
	rc = csf__parse_mountinfo(&mi, buf, len);
	free(buf);
	csf__mountinfo_free(&mi);
	assert_int_equal(rc, CSF_ELIMIT);
	assert_message_has("proc mountinfo");
}

/* The output buffers of the text-list parsers have a maximum; when it is hit
 * the error, like every other error of these parsers (procfs.h), names the
 * file. */
static void test_filesystems_limit_names_the_file(void **state)
{
	csf__buf types = CSF__BUF_INIT(16);
	size_t len;
	char *buf = load_sample("linux-5.15", "filesystems", &len);
	int rc;

	(void)state;
	rc = csf__parse_filesystems(&types, buf, len);
	free(buf);
	csf__buf_free(&types);
	assert_int_equal(rc, CSF_ELIMIT);
	assert_message_has("proc filesystems");
}

static void test_mountinfo_strings_limit_names_the_file(void **state)
{
	csf__mountinfo mi = { 0 };
	size_t len;
	char *buf = load_sample("linux-5.15", "self/mountinfo", &len);
	int rc;

	(void)state;
	mi.strings = (csf__buf)CSF__BUF_INIT(64);
	rc = csf__parse_mountinfo(&mi, buf, len);
	free(buf);
	csf__mountinfo_free(&mi);
	assert_int_equal(rc, CSF_ELIMIT);
	assert_message_has("proc mountinfo");
}

/* ------------------------------------------------------------ re-parsing */

static void assert_cpus_equal(const csf__cpu_line *a, const csf__cpu_line *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		assert_int_equal(a[i].id, b[i].id);
		assert_memory_equal(&a[i].t, &b[i].t, sizeof(a[i].t));
	}
}

static void assert_nets_equal(const csf__netdev_entry *a, const csf__netdev_entry *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		assert_string_equal(a[i].name, b[i].name);
		assert_int_equal(a[i].rx_bytes, b[i].rx_bytes);
		assert_int_equal(a[i].rx_packets, b[i].rx_packets);
		assert_int_equal(a[i].rx_errs, b[i].rx_errs);
		assert_int_equal(a[i].rx_drop, b[i].rx_drop);
		assert_int_equal(a[i].tx_bytes, b[i].tx_bytes);
		assert_int_equal(a[i].tx_packets, b[i].tx_packets);
		assert_int_equal(a[i].tx_errs, b[i].tx_errs);
		assert_int_equal(a[i].tx_drop, b[i].tx_drop);
	}
}

static void assert_disks_equal(const csf__diskstat *a, const csf__diskstat *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		assert_string_equal(a[i].name, b[i].name);
		assert_int_equal(a[i].major, b[i].major);
		assert_int_equal(a[i].minor, b[i].minor);
		assert_int_equal(a[i].reads, b[i].reads);
		assert_int_equal(a[i].sectors_read, b[i].sectors_read);
		assert_int_equal(a[i].writes, b[i].writes);
		assert_int_equal(a[i].sectors_written, b[i].sectors_written);
		assert_int_equal(a[i].io_ms, b[i].io_ms);
	}
}

static void assert_meminfo_equal(const csf__meminfo *a, const csf__meminfo *b)
{
	assert_int_equal(a->total, b->total);
	assert_int_equal(a->free, b->free);
	assert_int_equal(a->available, b->available);
	assert_int_equal(a->buffers, b->buffers);
	assert_int_equal(a->cached, b->cached);
	assert_int_equal(a->sreclaimable, b->sreclaimable);
	assert_int_equal(a->swap_total, b->swap_total);
	assert_int_equal(a->swap_free, b->swap_free);
	assert_int_equal(a->has_available, b->has_available);
}

/* Parsing again into the same struct gives the same result and keeps the
 * arrays (no new allocation once the capacity suffices), also after a
 * smaller file and after a failed parse. */
static void test_reparse_reuses_capacity(void **state)
{
	csf__proc_stat st = { 0 }, st0;
	csf__netdev nd = { 0 };
	csf__diskstats ds = { 0 };
	csf__mountinfo mi = { 0 };
	csf__cpu_line cpus0[8];
	csf__netdev_entry nets0[4];
	csf__diskstat disks0[12];
	csf__mount mounts0[25];
	char strings0[4096];
	size_t big_len, small_len, bad_len, strings_len, pass;
	const void *ptr;
	size_t cap;
	char *big, *small, *bad;

	(void)state;
	/* stat: 8 CPUs, then 2, then a failure */
	big = load_sample("linux-2.6.32", "stat", &big_len);
	small = load_sample("live-6.18", "stat", &small_len);
	bad = load("proc-bad/proc_stat/cut-mid-cpu-line", &bad_len);
	assert_int_equal(csf__parse_proc_stat(&st, big, big_len), 0);
	st0 = st;
	memcpy(cpus0, st.cpus, sizeof(cpus0));
	ptr = st.cpus;
	cap = st.cap;
	for (pass = 0; pass < 3; pass++) {
		assert_int_equal(csf__parse_proc_stat(&st, small, small_len), 0);
		assert_int_equal(st.ncpus, 2);
		assert_int_equal(csf__parse_proc_stat(&st, bad, bad_len), CSF_EPARSE);
		assert_int_equal(csf__parse_proc_stat(&st, big, big_len), 0);
		assert_ptr_equal(st.cpus, ptr);
		assert_int_equal(st.cap, cap);
		assert_int_equal(st.ncpus, st0.ncpus);
		assert_cpus_equal(st.cpus, cpus0, 8);
		assert_memory_equal(&st.total, &st0.total, sizeof(st.total));
		assert_int_equal(st.ctxt, st0.ctxt);
		assert_int_equal(st.btime, st0.btime);
	}
	csf__proc_stat_free(&st);
	free(big);
	free(small);
	free(bad);

	/* net/dev */
	big = load_sample("linux-5.15", "net/dev", &big_len);
	small = load_sample("linux-2.6.32", "net/dev", &small_len);
	assert_int_equal(csf__parse_netdev(&nd, big, big_len), 0);
	assert_int_equal(nd.n, 4);
	memcpy(nets0, nd.v, sizeof(nets0));
	ptr = nd.v;
	cap = nd.cap;
	for (pass = 0; pass < 3; pass++) {
		assert_int_equal(csf__parse_netdev(&nd, small, small_len), 0);
		assert_int_equal(nd.n, 3);
		assert_int_equal(csf__parse_netdev(&nd, big, big_len), 0);
		assert_ptr_equal(nd.v, ptr);
		assert_int_equal(nd.cap, cap);
		assert_int_equal(nd.n, 4);
		assert_nets_equal(nd.v, nets0, 4);
	}
	csf__netdev_free(&nd);
	free(big);
	free(small);

	/* diskstats */
	big = load_sample("linux-5.15", "diskstats", &big_len);
	small = load_sample("linux-2.6.18", "diskstats", &small_len);
	assert_int_equal(csf__parse_diskstats(&ds, big, big_len), 0);
	assert_int_equal(ds.n, 12);
	memcpy(disks0, ds.v, sizeof(disks0));
	ptr = ds.v;
	cap = ds.cap;
	for (pass = 0; pass < 3; pass++) {
		assert_int_equal(csf__parse_diskstats(&ds, small, small_len), 0);
		assert_int_equal(ds.n, 5);
		assert_int_equal(csf__parse_diskstats(&ds, big, big_len), 0);
		assert_ptr_equal(ds.v, ptr);
		assert_int_equal(ds.cap, cap);
		assert_int_equal(ds.n, 12);
		assert_disks_equal(ds.v, disks0, 12);
	}
	csf__diskstats_free(&ds);
	free(big);
	free(small);

	/* mountinfo: entries and the string table */
	big = load_sample("linux-5.15", "self/mountinfo", &big_len);
	small = load_sample("linux-6.1-arm64", "self/mountinfo", &small_len);
	bad = load("proc-bad/mountinfo/no-separator", &bad_len);
	assert_int_equal(csf__parse_mountinfo(&mi, big, big_len), 0);
	assert_int_equal(mi.n, 25);
	memcpy(mounts0, mi.v, sizeof(mounts0));
	strings_len = mi.strings.len;
	assert_true(strings_len <= sizeof(strings0));
	memcpy(strings0, mi.strings.ptr, strings_len);
	ptr = mi.v;
	cap = mi.cap;
	for (pass = 0; pass < 3; pass++) {
		const char *sptr;

		assert_int_equal(csf__parse_mountinfo(&mi, small, small_len), 0);
		assert_int_equal(mi.n, 10);
		assert_int_equal(csf__parse_mountinfo(&mi, bad, bad_len), CSF_EPARSE);
		sptr = mi.strings.ptr;
		assert_int_equal(csf__parse_mountinfo(&mi, big, big_len), 0);
		assert_ptr_equal(mi.v, ptr);
		assert_ptr_equal(mi.strings.ptr, sptr);
		assert_int_equal(mi.cap, cap);
		assert_int_equal(mi.n, 25);
		assert_memory_equal(mi.v, mounts0, sizeof(mounts0));
		assert_int_equal(mi.strings.len, strings_len);
		assert_memory_equal(mi.strings.ptr, strings0, strings_len);
	}
	csf__mountinfo_free(&mi);
	free(big);
	free(small);
	free(bad);
}

/* The fixed-size outputs are fully rewritten on every parse. */
static void test_reparse_fixed_structs(void **state)
{
	csf__meminfo m1, m2;
	csf__cpuinfo c1, c2;
	csf__os_release o1, o2;
	size_t l1, l2;
	char *a, *b;

	(void)state;
	a = load_sample("linux-4.19", "meminfo", &l1);
	b = load_sample("linux-2.6.32", "meminfo", &l2);
	assert_int_equal(csf__parse_meminfo(&m1, b, l2), 0);
	assert_int_equal(csf__parse_meminfo(&m1, a, l1), 0);
	assert_int_equal(csf__parse_meminfo(&m2, a, l1), 0);
	assert_meminfo_equal(&m1, &m2);
	/* and back: MemAvailable must not survive from the previous file */
	assert_int_equal(csf__parse_meminfo(&m1, b, l2), 0);
	assert_int_equal(m1.has_available, 0);
	assert_int_equal(m1.available, 0);
	free(a);
	free(b);

	a = load_sample("linux-2.6.32", "cpuinfo", &l1);
	b = load_sample("linux-6.1-arm64", "cpuinfo", &l2);
	assert_int_equal(csf__parse_cpuinfo(&c1, a, l1), 0);
	assert_int_equal(csf__parse_cpuinfo(&c1, b, l2), 0);
	assert_int_equal(csf__parse_cpuinfo(&c2, b, l2), 0);
	assert_memory_equal(&c1, &c2, sizeof(c1));
	free(a);
	free(b);

	a = load("os-release/quoting", &l1);
	b = load("rootfs/linux-4.19/etc/os-release", &l2);
	assert_int_equal(csf__parse_os_release(&o1, a, l1), 0);
	assert_int_equal(csf__parse_os_release(&o1, b, l2), 0);
	assert_int_equal(csf__parse_os_release(&o2, b, l2), 0);
	assert_memory_equal(&o1, &o2, sizeof(o1));
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_stat_samples),
		cmocka_unit_test(test_proc_stat_old_and_sparse),
		cmocka_unit_test(test_meminfo_samples),
		cmocka_unit_test(test_netdev_samples),
		cmocka_unit_test(test_diskstats_samples),
		cmocka_unit_test(test_mountinfo_samples),
		cmocka_unit_test(test_filesystems_samples),
		cmocka_unit_test(test_loadavg_uptime_samples),
		cmocka_unit_test(test_pid_stat_samples),
		cmocka_unit_test(test_pid_stat_edges),
		cmocka_unit_test(test_os_release_samples),
		cmocka_unit_test(test_cpuinfo_samples),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_bad_input_messages),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_mountinfo_count_limit),
		cmocka_unit_test(test_filesystems_limit_names_the_file),
		cmocka_unit_test(test_mountinfo_strings_limit_names_the_file),
		cmocka_unit_test(test_reparse_reuses_capacity),
		cmocka_unit_test(test_reparse_fixed_structs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
