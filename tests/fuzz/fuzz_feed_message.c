/* libFuzzer target for what a browser sends on the live feed (csf__feed_parse
 * and csf__feed_topic in libcsf/server/feed.c). */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "server/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[CSF__ID_LEN];
	csf__feed_msg m;
	size_t i;
	json_t *t;

	switch (csf__feed_parse(data, size, &m)) {
	case CSF__FEED_AUTH:
		if (!m.token)
			__builtin_trap();
		break;
	case CSF__FEED_SUBSCRIBE:
	case CSF__FEED_UNSUBSCRIBE:
		json_array_foreach(m.topics, i, t) {
			if (json_is_string(t) && csf__feed_topic(json_string_value(t), id) == CSF__TOPIC_AGENT_METRICS &&
			    (!id[0] || strlen(id) >= CSF__ID_LEN))
				__builtin_trap();
		}
		break;
	default:
		break;
	}
	csf__feed_msg_free(&m);
	return 0;
}
