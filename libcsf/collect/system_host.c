/* Host facts: os-release, kernel, architecture, CPU model and core counts. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "collect/system.h"

static void copy_trimmed(char *dst, size_t cap, const char *src, size_t n)
{
	while (n && isspace((unsigned char)src[n - 1]))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Physical cores as psutil counts them: distinct core_cpus_list (or, on
 * older kernels, thread_siblings_list) values over the CPUs in sysfs.
 * Returns 0 when sysfs has no topology. */
static int count_cores(csf__system *sys, const char *list_name, uint32_t *out)
{
	char *dir_path = csf__path_concat(sys->sys_path, "devices/system/cpu");
	csf__buf seen = CSF__BUF_INIT(1u << 20), one = CSF__BUF_INIT(1u << 16);
	struct dirent *de;
	DIR *d;
	uint32_t count = 0;
	int rc = 0;

	*out = 0;
	if (!dir_path)
		return CSF_ENOMEM;
	d = opendir(dir_path);
	if (!d)
		goto done;
	while ((de = readdir(d)) != NULL) {
		char rel[300];
		const char *p, *end;
		size_t n;

		if (strncmp(de->d_name, "cpu", 3) != 0 || !isdigit((unsigned char)de->d_name[3]))
			continue;
		snprintf(rel, sizeof(rel), "devices/system/cpu/%s/topology/%s", de->d_name, list_name);
		rc = csf__file_read(sys->sys_path, rel, &one);
		if (rc == CSF_ENOMEM)
			break;
		if (rc) {
			rc = 0;
			continue;
		}
		n = one.len;
		while (n && isspace((unsigned char)one.ptr[n - 1]))
			n--;
		one.ptr[n] = '\0';
		for (p = seen.ptr, end = p ? p + seen.len : NULL; p && p < end; p += strlen(p) + 1)
			if (strcmp(p, one.ptr) == 0)
				break;
		if (p && p < end)
			continue;
		rc = csf__buf_put(&seen, one.ptr, n + 1);
		if (rc)
			break;
		count++;
	}
	closedir(d);
	*out = count;
done:
	csf__buf_free(&seen);
	csf__buf_free(&one);
	csf__free(dir_path);
	return rc;
}

/* Read a file whose absence is not an error: 1 when read, 0 when missing or
 * unreadable, CSF_ENOMEM when memory ran out. */
static int read_optional(csf__system *sys, const char *root, const char *rel)
{
	int rc = csf__file_read(root, rel, &sys->rd);

	if (rc == CSF_ENOMEM)
		return rc;
	return rc == 0;
}

int csf__system_host_init(csf__system *sys)
{
	struct utsname u;
	csf__cpuinfo ci;
	int rc;

	if (uname(&u) == 0)
		copy_trimmed(sys->arch, sizeof(sys->arch), u.machine, strlen(u.machine));
	rc = read_optional(sys, sys->proc_path, "sys/kernel/osrelease");
	if (rc == 1)
		copy_trimmed(sys->kernel, sizeof(sys->kernel), sys->rd.ptr, sys->rd.len);
	if (rc >= 0)
		rc = read_optional(sys, sys->rootfs_path, "etc/os-release");
	if (rc == 0)
		rc = read_optional(sys, sys->rootfs_path, "usr/lib/os-release");
	if (rc == 1)
		csf__parse_os_release(&sys->os, sys->rd.ptr, sys->rd.len);
	if (rc >= 0)
		rc = read_optional(sys, sys->proc_path, "cpuinfo");
	if (rc == 1 && csf__parse_cpuinfo(&ci, sys->rd.ptr, sys->rd.len) == 0) {
		memcpy(sys->cpu_model, ci.model, sizeof(sys->cpu_model));
		sys->cpu_physical = ci.physical_cores;
	}
	if (rc < 0)
		return rc;
	rc = count_cores(sys, "core_cpus_list", &ci.physical_cores);
	if (!rc && ci.physical_cores == 0)
		rc = count_cores(sys, "thread_siblings_list", &ci.physical_cores);
	if (rc)
		return rc;
	if (ci.physical_cores)
		sys->cpu_physical = ci.physical_cores;
	/* Host facts are best effort: a missing os-release or cpuinfo leaves
	 * empty strings, not a failed collector. */
	csf_error_clear();
	return 0;
}

int csf__system_host(csf__system *sys, csf__arena *arena, csf_host *out, double uptime,
		     const csf__proc_stat *st)
{
	char raw[256], hostname[256];
	size_t len;
	int rc = csf__procfile_read_small(&sys->f_hostname, raw, sizeof(raw), &len);

	if (rc)
		return rc;
	copy_trimmed(hostname, sizeof(hostname), raw, len);
	out->hostname = csf__arena_strdup(arena, hostname);
	out->os_id = csf__arena_strdup(arena, sys->os.id);
	out->os_name = csf__arena_strdup(arena, sys->os.name);
	out->os_version = csf__arena_strdup(arena, sys->os.version_id);
	out->os_pretty = csf__arena_strdup(arena, sys->os.pretty_name);
	out->kernel = csf__arena_strdup(arena, sys->kernel);
	out->arch = csf__arena_strdup(arena, sys->arch);
	out->cpu_model = csf__arena_strdup(arena, sys->cpu_model);
	if (!out->hostname || !out->os_id || !out->os_name || !out->os_version ||
	    !out->os_pretty || !out->kernel || !out->arch || !out->cpu_model)
		return CSF_ENOMEM;
	out->cpu_logical = (uint32_t)st->ncpus;
	out->cpu_physical = sys->cpu_physical ? sys->cpu_physical : (uint32_t)st->ncpus;
	out->boot_time = (int64_t)st->btime;
	out->uptime_seconds = uptime;
	return 0;
}
