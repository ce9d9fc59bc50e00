/* Files written so that no reader ever sees them half-written: what the CA
 * and the agent's state directory both need. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

int csf__path_join(char out[CSF__PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, CSF__PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= CSF__PATH_MAX)
		return csf__error_set(CSF_EINVALID, "path too long: %s/%s", dir, name);
	return 0;
}

int csf__file_exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return csf__error_set_errno(CSF_EIO, errno, "cannot stat %s", path);
}

int csf__dir_make(const char *dir)
{
	char path[CSF__PATH_MAX];
	size_t len = strlen(dir), i;
	struct stat st;

	if (len >= sizeof(path))
		return csf__error_set(CSF_EINVALID, "path too long: %s", dir);
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (stat(path, &st) != 0 && mkdir(path, 0700) != 0 && errno != EEXIST)
			return csf__error_set_errno(CSF_EIO, errno, "cannot create %s", path);
		path[i] = dir[i];
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return csf__error_set(CSF_EIO, "%s is not a directory", dir);
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_replace(const char *dir, const char *name, const char *data, size_t len, unsigned int mode, int sync)
{
	char path[CSF__PATH_MAX], tmp[CSF__PATH_MAX], tmpname[80];
	int fd, rc;

	snprintf(tmpname, sizeof(tmpname), ".%s.tmp", name);
	rc = csf__path_join(path, dir, name);
	if (!rc)
		rc = csf__path_join(tmp, dir, tmpname);
	if (rc)
		return rc;
	if (unlink(tmp) != 0 && errno != ENOENT) /* left by a crash */
		return csf__error_set_errno(CSF_EIO, errno, "cannot remove %s", tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return csf__error_set_errno(CSF_EIO, errno, "cannot create %s", tmp);
	if (write_all(fd, data, len) != 0 || (sync && fsync(fd) != 0)) {
		rc = csf__error_set_errno(CSF_EIO, errno, "cannot write %s", tmp);
		close(fd);
		unlink(tmp);
		return rc;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		rc = csf__error_set_errno(CSF_EIO, errno, "cannot write %s", path);
		unlink(tmp);
		return rc;
	}
	return 0;
}

int csf__file_write_atomic(const char *dir, const char *name, const char *data, size_t len, unsigned int mode)
{
	return write_replace(dir, name, data, len, mode, 1);
}

int csf__file_replace(const char *dir, const char *name, const char *data, size_t len, unsigned int mode)
{
	return write_replace(dir, name, data, len, mode, 0);
}

int csf__dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) != 0)
		rc = csf__error_set_errno(CSF_EIO, errno, "cannot sync %s", dir);
	if (fd >= 0)
		close(fd);
	return rc;
}
