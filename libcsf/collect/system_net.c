/* Network interfaces from /proc/net/dev, with rates and totals. */
#include <string.h>

#include "collect/system.h"

static const csf__netdev_entry *prev_entry(const csf__netdev *prev, size_t hint, const char *name)
{
	size_t i;

	if (hint < prev->n && strcmp(prev->v[hint].name, name) == 0)
		return &prev->v[hint];
	for (i = 0; i < prev->n; i++)
		if (strcmp(prev->v[i].name, name) == 0)
			return &prev->v[i];
	return NULL;
}

static void fill(csf_net_counters *c, uint64_t bytes, uint64_t packets, uint64_t errs,
		 uint64_t drops, uint64_t pbytes, uint64_t ppackets, double interval)
{
	c->bytes = bytes;
	c->packets = packets;
	c->errors = errs;
	c->drops = drops;
	c->bytes_per_sec = csf__rate(bytes, pbytes, interval);
	c->packets_per_sec = csf__rate(packets, ppackets, interval);
}

static void add(csf_net_counters *t, const csf_net_counters *c)
{
	t->bytes += c->bytes;
	t->packets += c->packets;
	t->errors += c->errors;
	t->drops += c->drops;
	t->bytes_per_sec += c->bytes_per_sec;
	t->packets_per_sec += c->packets_per_sec;
}

int csf__system_network(csf__system *sys, csf__arena *arena, csf_network *out, double interval)
{
	csf__netdev *cur = &sys->net[sys->cur], *prev = &sys->net[!sys->cur];
	static const csf__netdev_entry none;
	csf_interface *ifs;
	size_t i;
	int rc = csf__procfile_read(&sys->f_netdev, &sys->rd);

	if (!rc)
		rc = csf__parse_netdev(cur, sys->rd.ptr, sys->rd.len);
	if (rc)
		return rc;
	ifs = csf__arena_alloc_items(arena, cur->n, sizeof(*ifs), &out->interfaces);
	if (!ifs)
		return CSF_ENOMEM;
	for (i = 0; i < cur->n; i++) {
		const csf__netdev_entry *e = &cur->v[i], *p = prev_entry(prev, i, e->name);

		if (!p)
			p = &none;
		ifs[i].name = csf__arena_strdup(arena, e->name);
		if (!ifs[i].name)
			return CSF_ENOMEM;
		fill(&ifs[i].rx, e->rx_bytes, e->rx_packets, e->rx_errs, e->rx_drop,
		     p->rx_bytes, p->rx_packets, interval);
		fill(&ifs[i].tx, e->tx_bytes, e->tx_packets, e->tx_errs, e->tx_drop,
		     p->tx_bytes, p->tx_packets, interval);
		if (strcmp(e->name, "lo") != 0) {
			add(&out->rx_total, &ifs[i].rx);
			add(&out->tx_total, &ifs[i].tx);
		}
	}
	out->interfaces_count = cur->n;
	return 0;
}
