/* Processes: count, threads, and the top N by CPU and by resident memory.
 * CPU % of a process covers the interval, or its lifetime when it started
 * within the interval (or when there is no previous snapshot). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pwd.h>

#include "collect/system.h"

#define PROCS_MAX (4u << 20)
#define UID_CACHE_MAX 256

static int parse_pid(const char *name, int32_t *pid)
{
	long v = 0;

	if (!*name)
		return -1;
	for (; *name; name++) {
		if (*name < '0' || *name > '9' || v > INT32_MAX / 10)
			return -1;
		v = v * 10 + (*name - '0');
	}
	*pid = (int32_t)v;
	return v > 0 ? 0 : -1;
}

static const csf__proc_sample *find_sample(const csf__proc_sample *v, size_t n, int32_t pid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].pid == pid)
			return &v[mid];
		if (v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_sample(const void *a, const void *b)
{
	const csf__proc_sample *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Insert into a list kept sorted by `key` descending, at most `cap` long. */
static void top_insert(csf__proc_top *list, size_t *n, size_t cap, const csf__proc_top *e,
		       int by_cpu)
{
	size_t i = *n;

#define KEY(t) (by_cpu ? (t)->cpu_percent : (double)(t)->rss_bytes)
	if (cap == 0 || (i == cap && KEY(&list[cap - 1]) >= KEY(e)))
		return;
	if (i == cap)
		i--;
	else
		(*n)++;
	while (i > 0 && KEY(&list[i - 1]) < KEY(e)) {
		list[i] = list[i - 1];
		i--;
	}
	list[i] = *e;
#undef KEY
}

static const char *user_name(csf__system *sys, csf__arena *arena, int dirfd, int32_t pid)
{
	char rel[16], num[16], pwbuf[4096];
	struct passwd pw, *res = NULL;
	struct stat st;
	size_t i;

	snprintf(rel, sizeof(rel), "%d", (int)pid);
	if (fstatat(dirfd, rel, &st, 0) != 0)
		return csf__arena_strdup(arena, "");
	for (i = 0; i < sys->uids_n; i++)
		if (sys->uids[i].uid == st.st_uid)
			return csf__arena_strdup(arena, sys->uids[i].name);
	snprintf(num, sizeof(num), "%u", (unsigned)st.st_uid);
	if (getpwuid_r(st.st_uid, &pw, pwbuf, sizeof(pwbuf), &res) != 0 || !res)
		res = NULL;
	if (sys->uids_n < UID_CACHE_MAX && CSF__ARRAY_RESERVE(sys->uids, sys->uids_cap, sys->uids_n + 1))
		return NULL;
	if (sys->uids_n < sys->uids_cap) {
		csf__uid_name *u = &sys->uids[sys->uids_n++];

		u->uid = st.st_uid;
		snprintf(u->name, sizeof(u->name), "%s", res ? res->pw_name : num);
	}
	return csf__arena_strdup(arena, res ? res->pw_name : num);
}

static int publish(csf__system *sys, csf__arena *arena, int dirfd, const csf__proc_top *list,
		   size_t n, csf_process ***out, size_t *out_n)
{
	csf_process *v = csf__arena_alloc_items(arena, n, sizeof(*v), out);
	size_t i;

	if (!v)
		return CSF_ENOMEM;
	for (i = 0; i < n; i++) {
		v[i].pid = list[i].pid;
		v[i].name = csf__arena_strdup(arena, list[i].comm);
		v[i].user = user_name(sys, arena, dirfd, list[i].pid);
		if (!v[i].name || !v[i].user)
			return CSF_ENOMEM;
		v[i].cpu_percent = list[i].cpu_percent;
		v[i].rss_bytes = list[i].rss_bytes;
	}
	*out_n = n;
	return 0;
}

static int add_sample(csf__system *sys, int slot, const csf__proc_sample *s)
{
	if (sys->samples_n[slot] >= PROCS_MAX)
		return csf__error_set(CSF_ELIMIT, "system collector: more than %u processes", PROCS_MAX);
	if (CSF__ARRAY_RESERVE(sys->samples[slot], sys->samples_cap[slot], sys->samples_n[slot] + 1))
		return CSF_ENOMEM;
	sys->samples[slot][sys->samples_n[slot]++] = *s;
	return 0;
}

static int open_state(csf__system *sys)
{
	if (!sys->top_cpu && sys->top) {
		sys->top_cpu = csf__calloc(sys->top, sizeof(*sys->top_cpu));
		sys->top_mem = csf__calloc(sys->top, sizeof(*sys->top_mem));
		if (!sys->top_cpu || !sys->top_mem)
			return CSF_ENOMEM;
	}
	if (!sys->proc_dir) {
		sys->proc_dir = opendir(sys->proc_path);
		if (!sys->proc_dir)
			return csf__error_set_errno(CSF_EIO, errno, "cannot open %s", sys->proc_path);
	} else {
		rewinddir(sys->proc_dir);
	}
	return 0;
}

int csf__system_processes(csf__system *sys, csf__arena *arena, csf_processes *out,
			  double interval, double uptime)
{
	const int slot = sys->cur;
	const csf__proc_sample *prev = sys->samples[!slot];
	const size_t prev_n = sys->have_prev ? sys->samples_n[!slot] : 0;
	size_t ncpu = 0, nmem = 0;
	int32_t last_pid = 0;
	int sorted = 1, dfd, rc;
	struct dirent *de;

	rc = open_state(sys);
	if (rc)
		return rc;
	dfd = dirfd(sys->proc_dir);
	sys->samples_n[slot] = 0;
	while ((de = readdir(sys->proc_dir)) != NULL) {
		char rel[32], buf[2048];
		csf__pid_stat ps;
		csf__proc_sample s;
		const csf__proc_sample *p;
		csf__proc_top t;
		double elapsed, age;
		uint64_t delta;
		ssize_t len;
		int32_t pid;
		int fd;

		if (parse_pid(de->d_name, &pid))
			continue;
		snprintf(rel, sizeof(rel), "%d/stat", (int)pid);
		fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* exited since readdir */
		len = read(fd, buf, sizeof(buf));
		close(fd);
		if (len <= 0 || csf__parse_pid_stat(&ps, buf, (size_t)len) != 0) {
			csf_error_clear();
			continue;
		}
		out->count++;
		out->threads += ps.num_threads;
		s = (csf__proc_sample){ pid, ps.starttime, ps.utime + ps.stime };
		rc = add_sample(sys, slot, &s);
		if (rc)
			return rc;
		if (pid < last_pid)
			sorted = 0;
		last_pid = pid;

		p = find_sample(prev, prev_n, pid);
		age = uptime - (double)ps.starttime / (double)sys->hz;
		if (p && p->starttime == ps.starttime) {
			delta = csf__delta(s.ticks, p->ticks);
			elapsed = interval;
		} else {
			delta = s.ticks;
			elapsed = age > 0 && age < interval ? age : interval;
		}
		t.pid = pid;
		memcpy(t.comm, ps.comm, sizeof(t.comm));
		t.cpu_percent = elapsed > 0 ? 100.0 * (double)delta / (double)sys->hz / elapsed : 0.0;
		t.rss_bytes = ps.rss_pages * (uint64_t)sys->page_size;
		top_insert(sys->top_cpu, &ncpu, sys->top, &t, 1);
		top_insert(sys->top_mem, &nmem, sys->top, &t, 0);
	}
	if (!sorted)
		qsort(sys->samples[slot], sys->samples_n[slot], sizeof(csf__proc_sample), cmp_sample);
	rc = publish(sys, arena, dfd, sys->top_cpu, ncpu, &out->top_cpu, &out->top_cpu_count);
	if (!rc)
		rc = publish(sys, arena, dfd, sys->top_mem, nmem, &out->top_memory, &out->top_memory_count);
	return rc;
}

void csf__system_processes_free(csf__system *sys)
{
	int i;

	if (sys->proc_dir)
		closedir(sys->proc_dir);
	sys->proc_dir = NULL;
	for (i = 0; i < 2; i++) {
		csf__free(sys->samples[i]);
		sys->samples[i] = NULL;
		sys->samples_n[i] = sys->samples_cap[i] = 0;
	}
	csf__free(sys->top_cpu);
	csf__free(sys->top_mem);
	csf__free(sys->uids);
	sys->top_cpu = sys->top_mem = NULL;
	sys->uids = NULL;
	sys->uids_n = sys->uids_cap = 0;
}
