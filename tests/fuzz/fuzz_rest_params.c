/* libFuzzer target for what REST clients put in URLs (libcsf/server/params.c):
 * times, steps and list cursors. A cursor that decodes must encode back to
 * the same text (in lower case). */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "server/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[1300], name[256], id[64], again[1300];
	int64_t v;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	csf__parse_time_ms(text, &v);
	if (csf__parse_step_ms(text, &v) == 0 && v <= 0)
		__builtin_trap();
	if (csf__cursor_decode(text, name, sizeof(name), id, sizeof(id)) == 0 &&
	    (csf__cursor_encode(again, sizeof(again), name, id) != 0 || strcasecmp(again, text) != 0))
		__builtin_trap();
	csf_error_clear();
	return 0;
}
