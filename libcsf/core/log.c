/* Logging through one user callback; the library itself never prints. */
#include <stdio.h>

#include "core/internal.h"

#define LOG_LINE_MAX 1024

static csf_log_level log_max = CSF_LOG_OFF;
static csf_log_cb log_cb;
static void *log_payload;

int csf_log_set_callback(csf_log_level max_level, csf_log_cb cb, void *payload)
{
	if ((int)max_level < CSF_LOG_OFF || max_level > CSF_LOG_TRACE)
		return csf__misuse("csf_log_set_callback: level %d out of range", (int)max_level);
	log_cb = cb;
	log_payload = payload;
	log_max = cb ? max_level : CSF_LOG_OFF;
	return 0;
}

const char *csf_log_level_name(csf_log_level level)
{
	switch (level) {
	case CSF_LOG_OFF: return "off";
	case CSF_LOG_ERROR: return "error";
	case CSF_LOG_WARN: return "warn";
	case CSF_LOG_INFO: return "info";
	case CSF_LOG_DEBUG: return "debug";
	case CSF_LOG_TRACE: return "trace";
	}
	return "unknown";
}

int csf__log_enabled(csf_log_level level)
{
	return level != CSF_LOG_OFF && level <= log_max;
}

void csf__log(csf_log_level level, const char *module, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	if (!csf__log_enabled(level))
		return;
	va_start(ap, fmt);
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		line[0] = '\0';
	va_end(ap);
	log_cb(level, module, line, log_payload);
}

void csf_log_write_line(FILE *out, int json, const char *program, csf_log_level level, const char *module,
			const char *message)
{
	if (!out || !module || !message)
		return;
	if (!json) {
		fprintf(out, "%s: %s: %s: %s\n", program ? program : "csf", csf_log_level_name(level), module, message);
		return;
	}
	flockfile(out);
	fprintf(out, "{\"level\":\"%s\",\"module\":\"%s\",\"message\":\"", csf_log_level_name(level), module);
	for (const char *p = message; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			putc_unlocked(*p, out);
	}
	fputs("\"}\n", out);
	funlockfile(out);
}
