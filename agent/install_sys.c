/* Small system helpers of install/uninstall: paths under a root, running
 * the system's own tools (useradd, systemctl), files written atomically
 * with their owner and mode, and user lookups in a root's /etc/passwd. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csf/csf.h>

#include "install.h"

int install_path(char *out, size_t cap, const char *root, const char *path)
{
	int n = snprintf(out, cap, "%s%s", root && strcmp(root, "/") != 0 ? root : "", path);

	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "csf-agent: path too long: %s%s\n", root ? root : "", path);
		return -1;
	}
	return 0;
}

int install_run(const char *const *argv)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "csf-agent: cannot run %s: %s\n", argv[0], strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "csf-agent: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
	fprintf(stderr, "csf-agent: %s was killed by signal %d\n", argv[0], WTERMSIG(status));
	return -1;
}

int install_have(const char *prog)
{
	const char *path = getenv("PATH");
	char file[4096];

	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (n && snprintf(file, sizeof(file), "%.*s/%s", (int)n, path, prog) < (int)sizeof(file) &&
		    access(file, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

/* The numeric fields 3 (and 4, if `second`) of `name`'s line in
 * ROOT/FILE ("name:x:uid:gid:..." or "name:x:gid:members"). */
static int id_lookup(const char *root, const char *file, const char *name, unsigned long *first,
		     unsigned long *second)
{
	char path[4096], line[4096];
	size_t n = strlen(name);
	FILE *f;
	int rc = -1;

	if (install_path(path, sizeof(path), root, file) != 0 || !(f = fopen(path, "re")))
		return -1;
	while (rc != 0 && fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, name, n) != 0 || line[n] != ':' || !(p = strchr(line + n + 1, ':')))
			continue;
		*first = strtoul(p + 1, &end, 10);
		if (end == p + 1 || *end != ':')
			continue;
		if (second) {
			*second = strtoul(end + 1, &p, 10);
			if (p == end + 1 || *p != ':')
				continue;
		}
		rc = 0;
	}
	fclose(f);
	return rc;
}

int install_user_lookup(const char *root, const char *user, uid_t *uid, gid_t *gid)
{
	unsigned long u, g;

	if (id_lookup(root, "/etc/passwd", user, &u, &g) != 0)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int install_group_lookup(const char *root, const char *group, gid_t *gid)
{
	unsigned long g;

	if (id_lookup(root, "/etc/group", group, &g, NULL) != 0)
		return -1;
	*gid = (gid_t)g;
	return 0;
}

int install_write_file(const char *path, const char *text, mode_t mode, uid_t uid, gid_t gid)
{
	char tmp[4096];
	size_t len = strlen(text), off = 0;
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return fprintf(stderr, "csf-agent: path too long: %s\n", path), -1;
	/* the mode and owner are right before a byte is written: a config that
	 * names the state dir is never world-readable, not even for a moment */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return fprintf(stderr, "csf-agent: cannot write %s: %s\n", tmp, strerror(errno)), -1;
	ok = fchmod(fd, mode) == 0 && fchown(fd, uid, gid) == 0;
	while (ok && off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		ok = w > 0;
		off += ok ? (size_t)w : 0;
	}
	ok = ok && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		fprintf(stderr, "csf-agent: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int install_mkdirs(const char *path, mode_t mode, char *made, size_t cap)
{
	char dir[4096];
	size_t i, n = strlen(path);

	if (made)
		made[0] = '\0';
	if (n >= sizeof(dir) || n >= cap)
		return fprintf(stderr, "csf-agent: path too long: %s\n", path), -1;
	memcpy(dir, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, mode) == 0) {
			if (made && !made[0])
				memcpy(made, dir, i + 1);
		} else if (errno != EEXIST) {
			fprintf(stderr, "csf-agent: cannot create %s: %s\n", dir, strerror(errno));
			return -1;
		}
		dir[i] = path[i];
	}
	return 0;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (lchown(path, chown_uid, chown_gid) != 0) {
		fprintf(stderr, "csf-agent: cannot chown %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int install_chown_tree(const char *path, uid_t uid, gid_t gid)
{
	chown_uid = uid;
	chown_gid = gid;
	return nftw(path, chown_one, 16, FTW_PHYS) == 0 ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT) {
		fprintf(stderr, "csf-agent: cannot remove %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int install_remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0 && errno == ENOENT)
		return 0;
	return nftw(path, remove_one, 16, FTW_PHYS | FTW_DEPTH) == 0 ? 0 : -1;
}

int install_remove_file(const char *path)
{
	if (unlink(path) != 0 && errno != ENOENT) {
		fprintf(stderr, "csf-agent: cannot remove %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

typedef struct conf_lookup {
	const char *key;
	char *out;
	size_t cap;
	int found;
} conf_lookup;

static int conf_line(const char *key, const char *value, int line, void *payload)
{
	conf_lookup *l = payload;

	(void)line;
	if (strcmp(key, l->key) == 0 && strlen(value) < l->cap) {
		memcpy(l->out, value, strlen(value) + 1);
		l->found = 1;
	}
	return 0;
}

int install_conf_get(const char *path, const char *key, char *out, size_t cap)
{
	conf_lookup l = { key, out, cap, 0 };

	if (access(path, R_OK) != 0 || csf_config_parse_file(path, conf_line, &l) != 0)
		return -1;
	return l.found ? 0 : -1;
}
