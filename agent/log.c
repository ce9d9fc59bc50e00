/* csf-agent's logs: one line per record on stderr (the journal under
 * systemd, which adds the time), as text or JSON lines. The library never logs
 * secrets; neither does the daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static int log_json;

static void log_line(csf_log_level level, const char *module, const char *message, void *payload)
{
	(void)payload;
	csf_log_write_line(stderr, log_json, "csf-agent", level, module, message);
}

int agent_log_setup(const char *format, const char *level_name)
{
	csf_log_level level = CSF_LOG_INFO;

	if (format && strcmp(format, "json") != 0 && strcmp(format, "text") != 0) {
		fprintf(stderr, "csf-agent: log_format must be text or json, not '%s'\n", format);
		return AGENT_EXIT_USAGE;
	}
	if (level_name) {
		for (level = CSF_LOG_ERROR; level <= CSF_LOG_DEBUG; level++)
			if (strcmp(csf_log_level_name(level), level_name) == 0)
				break;
		if (level > CSF_LOG_DEBUG) {
			fprintf(stderr, "csf-agent: log_level must be debug, info, warn or error, not '%s'\n", level_name);
			return AGENT_EXIT_USAGE;
		}
	}
	log_json = format && strcmp(format, "json") == 0;
	csf_log_set_callback(level, log_line, NULL);
	return 0;
}

const char *agent_env(const char *name)
{
	char env[64] = "CSF_";
	size_t k = 4;
	const char *v;

	for (; *name && k + 1 < sizeof(env); name++)
		env[k++] = *name == '-' ? '_' : (char)(*name >= 'a' && *name <= 'z' ? *name - 32 : *name);
	env[k] = '\0';
	v = getenv(env);
	return v && *v ? v : NULL;
}
