/* libFuzzer target for configuration files (csf_config_parse). */
#include <stdint.h>
#include <string.h>

#include <csf/core.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(const char *key, const char *value, int line, void *payload)
{
	(void)payload;
	if (!key[0] || line < 1 || strlen(value) > 4096)
		__builtin_trap();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	csf_config_parse((const char *)data, size, "fuzz", check, NULL);
	csf_error_clear();
	return 0;
}
