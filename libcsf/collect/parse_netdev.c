/* /proc/net/dev: two header lines, then "iface: 8 rx counters 8 tx counters". */
#include "collect/procfs.h"
#include "collect/scan.h"

#define NETDEV_MAX 65536

int csf__parse_netdev(csf__netdev *nd, const char *buf, size_t len)
{
	csf__scan s = csf__scan_make(buf, len);
	int line = 0;

	nd->n = 0;
	for (; !csf__scan_eof(&s); csf__scan_next_line(&s)) {
		uint64_t v[16];
		const char *name, *colon;
		size_t n, i;
		csf__netdev_entry *e;

		if (++line <= 2) {
			if (!CSF__SCAN_LIT(&s, line == 1 ? "Inter-|" : " face |"))
				return csf__error_set(CSF_EPARSE, "proc net/dev: line %d: unexpected header", line);
			continue;
		}
		csf__scan_blanks(&s);
		if (csf__scan_at_eol(&s))
			continue;
		name = s.p;
		colon = memchr(s.p, ':', csf__scan_line_len(&s));
		if (!colon || colon == name)
			goto bad;
		n = (size_t)(colon - name);
		if (n >= sizeof(nd->v->name))
			return csf__error_set(CSF_EPARSE, "proc net/dev: line %d: interface name too long", line);
		for (i = 0; i < n; i++)
			if ((unsigned char)name[i] <= ' ' || name[i] == '/')
				goto bad; /* the kernel allows neither in a name (dev_valid_name) */
		s.p = colon + 1;
		for (i = 0; i < 16; i++)
			if (csf__scan_u64(&s, &v[i]))
				goto bad;
		if (nd->n >= NETDEV_MAX)
			return csf__error_set(CSF_ELIMIT, "proc net/dev: more than %d interfaces", NETDEV_MAX);
		if (CSF__ARRAY_RESERVE(nd->v, nd->cap, nd->n + 1))
			return CSF_ENOMEM;
		e = &nd->v[nd->n++];
		memcpy(e->name, name, n);
		e->name[n] = '\0';
		e->rx_bytes = v[0];
		e->rx_packets = v[1];
		e->rx_errs = v[2];
		e->rx_drop = v[3];
		e->tx_bytes = v[8];
		e->tx_packets = v[9];
		e->tx_errs = v[10];
		e->tx_drop = v[11];
	}
	if (line < 2)
		return csf__error_set(CSF_EPARSE, "proc net/dev: truncated header");
	return 0;
bad:
	return csf__error_set(CSF_EPARSE, "proc net/dev: line %d: malformed", line);
}

void csf__netdev_free(csf__netdev *nd)
{
	csf__free(nd->v);
	nd->v = NULL;
	nd->n = nd->cap = 0;
}
