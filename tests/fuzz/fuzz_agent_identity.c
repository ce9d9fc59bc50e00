/* libFuzzer target for the agent's identity.conf (csf__identity_parse): what
 * parses is a whole identity with bounded, terminated strings. */
#include <stdint.h>
#include <string.h>

#include "agent/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	csf__identity id;

	if (csf__identity_parse(&id, (const char *)data, size, "fuzz") == 0) {
		if (!id.agent_id[0] || strlen(id.ca_sha256) != 64 || !id.server_url[0] ||
		    strnlen(id.name, sizeof(id.name)) == sizeof(id.name) ||
		    strnlen(id.org_id, sizeof(id.org_id)) == sizeof(id.org_id))
			__builtin_trap();
	}
	csf_error_clear();
	return 0;
}
