/*
 * libFuzzer target for the Accept-Encoding reader (libcsf/net/accept.c),
 * which picks a static file's precompressed variant. The answer must not
 * depend on the case of the coding's name, and a value that names no
 * coding and no "*" never allows one.
 */
#include <stdint.h>
#include <string.h>

#include "net/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char value[4096], lower[4096];
	size_t i;
	int gz;

	if (size >= sizeof(value))
		return 0;
	memcpy(value, data, size);
	value[size] = '\0';
	for (i = 0; i <= size; i++)
		lower[i] = (char)(value[i] >= 'A' && value[i] <= 'Z' ? value[i] + 32 : value[i]);
	gz = csf__http_accepts_encoding(value, "gzip");
	if (gz != csf__http_accepts_encoding(value, "GZIP"))
		__builtin_trap();
	if (gz && !strchr(value, '*') && !strstr(lower, "gzip"))
		__builtin_trap();
	csf__http_accepts_encoding(value, "br");
	return 0;
}
