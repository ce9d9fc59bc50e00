/* libFuzzer target for the Host header (and X-Forwarded-Proto) that
 * /agent/install.sh writes into a shell script (libcsf/server/
 * agent_files.c). Input: HOST, optionally "\n" PROTO. Whatever is accepted
 * must come out as URLs that pass the same check as --public-url: nothing a
 * shell would read as more than one plain word. */
#include <stdint.h>
#include <string.h>

#include "server/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[600], http_url[CSF__AGENT_URL_MAX], agent_url[CSF__AGENT_URL_MAX];
	char *proto;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	proto = strchr(text, '\n');
	if (proto)
		*proto++ = '\0';
	if (csf__agent_files_urls(text, proto, size & 1, 1, 65535, http_url, agent_url) == 0 &&
	    (!csf__agent_files_url_ok(http_url) || !csf__agent_files_url_ok(agent_url) ||
	     strchr(http_url, '\'') || strchr(agent_url, '\'')))
		__builtin_trap();
	csf__agent_files_url_ok(text);
	csf_error_clear();
	return 0;
}
