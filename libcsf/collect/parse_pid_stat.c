/* /proc/PID/stat (proc(5)): "pid (comm) state ppid ... utime stime ... rss ...".
 * comm may hold spaces and parentheses, so it ends at the last ')'. */
#include "collect/procfs.h"
#include "collect/scan.h"

int csf__parse_pid_stat(csf__pid_stat *ps, const char *buf, size_t len)
{
	csf__scan s = csf__scan_make(buf, len);
	const char *open, *close = NULL, *p;
	int64_t pid, skip, threads, rss;
	size_t n;
	int field;

	if (csf__scan_i64(&s, &pid) || pid <= 0 || pid > INT32_MAX)
		goto bad;
	csf__scan_blanks(&s);
	if (s.p >= s.end || *s.p != '(')
		goto bad;
	open = s.p + 1;
	for (p = open; p < s.end; p++)
		if (*p == ')')
			close = p;
	if (!close)
		goto bad;
	n = (size_t)(close - open);
	if (n >= sizeof(ps->comm))
		n = sizeof(ps->comm) - 1;
	memcpy(ps->comm, open, n);
	ps->comm[n] = '\0';
	s.p = close + 1;
	csf__scan_blanks(&s);
	if (s.p >= s.end || *s.p == '\n')
		goto bad;
	ps->state = *s.p++;
	ps->pid = (int32_t)pid;
	/* fields 4..24; the ones we keep are 14 utime, 15 stime, 20 num_threads,
	 * 22 starttime, 24 rss (pages) */
	for (field = 4; field <= 24; field++) {
		switch (field) {
		case 14:
			if (csf__scan_u64(&s, &ps->utime))
				goto bad;
			break;
		case 15:
			if (csf__scan_u64(&s, &ps->stime))
				goto bad;
			break;
		case 20:
			if (csf__scan_i64(&s, &threads) || threads < 0 || threads > UINT32_MAX)
				goto bad;
			ps->num_threads = (uint32_t)threads;
			break;
		case 22:
			if (csf__scan_u64(&s, &ps->starttime))
				goto bad;
			break;
		case 24:
			if (csf__scan_i64(&s, &rss))
				goto bad;
			ps->rss_pages = rss > 0 ? (uint64_t)rss : 0;
			break;
		default:
			if (csf__scan_i64(&s, &skip))
				goto bad;
		}
	}
	return 0;
bad:
	return csf__error_set(CSF_EPARSE, "proc pid stat: malformed");
}
