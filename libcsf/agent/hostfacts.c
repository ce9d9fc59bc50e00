/* HostFacts: what enrollment and every Hello tell the server about the host. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "agent/internal.h"

#define MAX_ADDRESSES 32

const char *const csf__agent_capabilities[] = { "metrics" };
const size_t csf__agent_capabilities_n = CSF__ARRAY_SIZE(csf__agent_capabilities);

static int interesting(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);

		return (a >> 24) != 127 && (a >> 16) != 0xa9fe; /* loopback, 169.254/16 */
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return !IN6_IS_ADDR_LOOPBACK(a) && !IN6_IS_ADDR_LINKLOCAL(a);
	}
	return 0;
}

static int add_addresses(Csf__V1__HostFacts *m, csf__arena *arena)
{
	struct ifaddrs *all, *i;
	char buf[INET6_ADDRSTRLEN];

	if (getifaddrs(&all) != 0)
		return 0; /* facts without addresses are still facts */
	m->ip_addresses = csf__arena_alloc(arena, MAX_ADDRESSES * sizeof(char *));
	for (i = all; m->ip_addresses && i && m->n_ip_addresses < MAX_ADDRESSES; i = i->ifa_next) {
		const void *src;

		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || !interesting(i->ifa_addr))
			continue;
		src = i->ifa_addr->sa_family == AF_INET ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
							: (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		if (!inet_ntop(i->ifa_addr->sa_family, src, buf, sizeof(buf)))
			continue;
		m->ip_addresses[m->n_ip_addresses] = csf__arena_strdup(arena, buf);
		if (!m->ip_addresses[m->n_ip_addresses])
			break;
		m->n_ip_addresses++;
	}
	freeifaddrs(all);
	return m->ip_addresses ? 0 : CSF_ENOMEM;
}

static int add_machine_id(Csf__V1__HostFacts *m, csf__arena *arena)
{
	char line[128] = "";
	FILE *f = fopen("/etc/machine-id", "r");

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	m->machine_id = csf__pb_arena_strdup_utf8(arena, line);
	return m->machine_id ? 0 : CSF_ENOMEM;
}

int csf__agent_host_facts(Csf__V1__HostFacts **out, csf__arena *arena, const csf_snapshot *snap)
{
	int rc = csf__pb_host_facts_from_snapshot(out, arena, snap);

	if (!rc)
		rc = add_addresses(*out, arena);
	if (!rc)
		rc = add_machine_id(*out, arena);
	return rc;
}
