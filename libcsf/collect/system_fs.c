/* Mounted filesystems: which to report (from mountinfo, re-read only when
 * the kernel flags a mount change) and their sizes (statvfs each time). */
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "collect/system.h"

/* Filesystems the kernel marks nodev that still hold local data. */
static const char *const nodev_allowed[] = { "zfs" };

static int is_real_fs(const csf__system *sys, const char *fstype)
{
	size_t i;

	for (i = 0; i < CSF__ARRAY_SIZE(nodev_allowed); i++)
		if (strcmp(fstype, nodev_allowed[i]) == 0)
			return 1;
	return csf__filesystems_has(&sys->fstypes, fstype);
}

/* Should mount a replace mount b of the same device? Prefer a mount of the
 * filesystem's root over a bind mount of a subdirectory, then the shorter
 * mountpoint. */
static int better_mount(const csf__mountinfo *mi, const csf__mount *a, const csf__mount *b)
{
	int a_root = strcmp(CSF__MOUNT_STR(mi, a->root), "/") == 0;
	int b_root = strcmp(CSF__MOUNT_STR(mi, b->root), "/") == 0;

	if (a_root != b_root)
		return a_root;
	return strlen(CSF__MOUNT_STR(mi, a->mountpoint)) < strlen(CSF__MOUNT_STR(mi, b->mountpoint));
}

static int select_mounts(csf__system *sys)
{
	csf__mountinfo *mi = &sys->mounts;
	size_t i, j;

	sys->fs_sel_n = 0;
	if (CSF__ARRAY_RESERVE(sys->fs_sel, sys->fs_sel_cap, mi->n))
		return CSF_ENOMEM;
	for (i = 0; i < mi->n; i++) {
		const csf__mount *m = &mi->v[i];

		if (!is_real_fs(sys, CSF__MOUNT_STR(mi, m->fstype)))
			continue;
		for (j = 0; j < sys->fs_sel_n; j++) {
			const csf__mount *s = &mi->v[sys->fs_sel[j]];

			if (s->major == m->major && s->minor == m->minor)
				break;
		}
		if (j == sys->fs_sel_n)
			sys->fs_sel[sys->fs_sel_n++] = i;
		else if (better_mount(mi, m, &mi->v[sys->fs_sel[j]]))
			sys->fs_sel[j] = i;
	}
	return 0;
}

static int refresh_mounts(csf__system *sys)
{
	struct pollfd pfd = { sys->f_mountinfo.fd, POLLPRI, 0 };
	int rc;

	/* mountinfo polls POLLPRI|POLLERR after a mount change (proc(5)); the
	 * poll itself re-arms it. A regular file never does, so a recorded
	 * tree is read once. */
	if (poll(&pfd, 1, 0) < 0 || (pfd.revents & (POLLPRI | POLLERR)) || !sys->mounts_valid) {
		sys->mounts_valid = 0;
		rc = csf__file_read(sys->proc_path, "filesystems", &sys->rd);
		if (!rc)
			rc = csf__parse_filesystems(&sys->fstypes, sys->rd.ptr, sys->rd.len);
		if (!rc)
			rc = csf__procfile_read(&sys->f_mountinfo, &sys->rd);
		if (!rc)
			rc = csf__parse_mountinfo(&sys->mounts, sys->rd.ptr, sys->rd.len);
		if (!rc)
			rc = select_mounts(sys);
		if (rc)
			return rc;
		sys->mounts_valid = 1;
	}
	return 0;
}

int csf__system_filesystems(csf__system *sys, csf__arena *arena, csf_system *out)
{
	const csf__mountinfo *mi = &sys->mounts;
	int rooted = strcmp(sys->rootfs_path, "/") != 0;
	csf_filesystem *fss;
	size_t i, n = 0;
	int rc = refresh_mounts(sys);

	if (rc)
		return rc;
	fss = csf__arena_alloc_items(arena, sys->fs_sel_n, sizeof(*fss), &out->filesystems);
	if (!fss)
		return CSF_ENOMEM;
	for (i = 0; i < sys->fs_sel_n; i++) {
		const csf__mount *m = &mi->v[sys->fs_sel[i]];
		const char *mp = CSF__MOUNT_STR(mi, m->mountpoint);
		char path[PATH_MAX];
		struct statvfs st;
		csf_filesystem *f = &fss[n];
		uint64_t frsize;

		if (rooted) {
			if ((size_t)snprintf(path, sizeof(path), "%s%s", sys->rootfs_path, mp) >= sizeof(path))
				continue;
		}
		if (statvfs(rooted ? path : mp, &st) != 0 || st.f_blocks == 0)
			continue; /* gone since mountinfo was read, or not a sized filesystem */
		frsize = st.f_frsize ? st.f_frsize : st.f_bsize;
		f->device = csf__arena_strdup(arena, CSF__MOUNT_STR(mi, m->source));
		f->mountpoint = csf__arena_strdup(arena, mp);
		f->fstype = csf__arena_strdup(arena, CSF__MOUNT_STR(mi, m->fstype));
		if (!f->device || !f->mountpoint || !f->fstype)
			return CSF_ENOMEM;
		f->total_bytes = (uint64_t)st.f_blocks * frsize;
		f->used_bytes = (uint64_t)(st.f_blocks - st.f_bfree) * frsize;
		f->available_bytes = (uint64_t)st.f_bavail * frsize;
		f->used_percent = f->used_bytes + f->available_bytes
			? 100.0 * (double)f->used_bytes / (double)(f->used_bytes + f->available_bytes) : 0.0;
		f->inodes_total = st.f_files;
		f->inodes_free = st.f_ffree;
		f->inodes_used = st.f_files >= st.f_ffree ? st.f_files - st.f_ffree : 0;
		out->filesystems_total_bytes += f->total_bytes;
		out->filesystems_used_bytes += f->used_bytes;
		n++;
	}
	out->filesystems_count = n;
	return 0;
}

void csf__system_filesystems_free(csf__system *sys)
{
	csf__mountinfo_free(&sys->mounts);
	csf__buf_free(&sys->fstypes);
	csf__free(sys->fs_sel);
	sys->fs_sel = NULL;
	sys->fs_sel_n = sys->fs_sel_cap = 0;
}
