/* Reading /proc and /sys files. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "collect/procfile.h"

char *csf__path_concat(const char *root, const char *rel)
{
	size_t rn = strlen(root), ln = strlen(rel);
	char *p;

	while (rn > 1 && root[rn - 1] == '/')
		rn--;
	if (rn == 1 && root[0] == '/')
		rn = 0;
	while (*rel == '/')
		rel++, ln--;
	p = csf__malloc(rn + ln + 2);
	if (!p)
		return NULL;
	memcpy(p, root, rn);
	p[rn] = '/';
	memcpy(p + rn + 1, rel, ln + 1);
	return p;
}

int csf__procfile_open(csf__procfile *f, const char *root, const char *rel)
{
	f->path = csf__path_concat(root, rel);
	if (!f->path)
		return CSF_ENOMEM;
	f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		int e = errno;

		return csf__error_set_errno(e == ENOENT ? CSF_ENOTFOUND : CSF_EIO, e,
					    "cannot open %s", f->path);
	}
	return 0;
}

int csf__procfile_read(csf__procfile *f, csf__buf *buf)
{
	csf__buf_clear(buf);
	for (;;) {
		ssize_t n;
		int rc;

		if (buf->cap - buf->len < 1024 || !buf->ptr) {
			rc = csf__buf_reserve(buf, buf->cap ? buf->cap : 4096);
			if (rc)
				return rc == CSF_ELIMIT
					? csf__error_set(CSF_ELIMIT, "%s: larger than %zu bytes", f->path, buf->max)
					: rc;
		}
		n = pread(f->fd, buf->ptr + buf->len, buf->cap - buf->len - 1, (off_t)buf->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return csf__error_set_errno(CSF_EIO, errno, "cannot read %s", f->path);
		}
		if (n == 0)
			break;
		buf->len += (size_t)n;
	}
	buf->ptr[buf->len] = '\0';
	return 0;
}

int csf__procfile_read_small(csf__procfile *f, char *buf, size_t cap, size_t *len)
{
	ssize_t n;

	do
		n = pread(f->fd, buf, cap - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return csf__error_set_errno(CSF_EIO, errno, "cannot read %s", f->path);
	buf[n] = '\0';
	*len = (size_t)n;
	return 0;
}

void csf__procfile_close(csf__procfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	csf__free(f->path);
	f->path = NULL;
}

int csf__file_read(const char *root, const char *rel, csf__buf *buf)
{
	csf__procfile f = CSF__PROCFILE_INIT;
	int rc = csf__procfile_open(&f, root, rel);

	if (!rc)
		rc = csf__procfile_read(&f, buf);
	csf__procfile_close(&f);
	return rc;
}
