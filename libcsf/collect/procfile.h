/* Files of /proc and /sys kept open and re-read with pread, which is how the
 * kernel regenerates them without another open(). */
#ifndef CSF_COLLECT_PROCFILE_H
#define CSF_COLLECT_PROCFILE_H

#include "core/internal.h"

typedef struct csf__procfile {
	int fd;
	char *path; /* for error messages */
} csf__procfile;

#define CSF__PROCFILE_INIT { -1, NULL }

/* Open root/rel read-only. Errors: CSF_ENOTFOUND, CSF_EIO, CSF_ENOMEM. */
int csf__procfile_open(csf__procfile *f, const char *root, const char *rel);
/* Read the whole file from offset 0 into `buf` (replacing its content). */
int csf__procfile_read(csf__procfile *f, csf__buf *buf);
/* Read at most cap - 1 bytes from offset 0 into buf, NUL-terminated. For
 * sysctl files (/proc/sys/...), where the kernel allocates and zeroes as
 * much as the read asks for. */
int csf__procfile_read_small(csf__procfile *f, char *buf, size_t cap, size_t *len);
void csf__procfile_close(csf__procfile *f);

/* Join a root and a relative path ("/proc" + "stat"); NULL on ENOMEM. */
char *csf__path_concat(const char *root, const char *rel);

/* Read a whole small file once (open, read, close). */
int csf__file_read(const char *root, const char *rel, csf__buf *buf);

#endif
