/* `key = value` configuration files (csf/core.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"

#define CONFIG_MAX (1u << 20)
#define KEY_MAX 64
#define VALUE_MAX 4096

static int fail(const char *name, int line, const char *what)
{
	return csf__error_set(CSF_EPARSE, "%s:%d: %s", name, line, what);
}

/* Parse one line into key and value; 1 when it holds a setting, 0 when it is
 * blank or a comment, < 0 on error. */
static int parse_line(const char *p, const char *end, const char *name, int line, char *key, char *value)
{
	size_t k = 0, v = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#')
		return 0;
	while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')) {
		if (k + 1 >= KEY_MAX)
			return fail(name, line, "key too long");
		key[k++] = *p == '-' ? '_' : *p;
		p++;
	}
	key[k] = '\0';
	if (k == 0)
		return fail(name, line, "expected a key (lowercase letters, digits, '_' or '-')");
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p != '=')
		return fail(name, line, "expected '=' after the key");
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p == '"') {
		for (p++;; p++) {
			char c;

			if (p == end)
				return fail(name, line, "unterminated quoted value");
			c = *p;
			if (c == '"')
				break;
			if (c == '\\') {
				if (++p == end)
					return fail(name, line, "unterminated quoted value");
				switch (*p) {
				case '"': c = '"'; break;
				case '\\': c = '\\'; break;
				case 'n': c = '\n'; break;
				case 't': c = '\t'; break;
				default: return fail(name, line, "unknown escape in a quoted value");
				}
			}
			if (c == '\0')
				return fail(name, line, "NUL byte in a value");
			if (v + 1 >= VALUE_MAX)
				return fail(name, line, "value too long");
			value[v++] = c;
		}
		for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
			;
		if (p < end && *p != '#')
			return fail(name, line, "text after a quoted value");
	} else {
		const char *e = end;

		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if ((size_t)(e - p) >= VALUE_MAX)
			return fail(name, line, "value too long");
		if (memchr(p, '\0', (size_t)(e - p)))
			return fail(name, line, "NUL byte in a value");
		memcpy(value, p, (size_t)(e - p));
		v = (size_t)(e - p);
	}
	value[v] = '\0';
	return 1;
}

int csf_config_parse(const char *text, size_t len, const char *name, csf_config_cb cb, void *payload)
{
	const char *p = text, *end = text + len;
	char key[KEY_MAX];
	char *value;
	int line = 0, rc = 0;

	if (!text || !cb)
		return csf__misuse("csf_config_parse: text and cb are required");
	if (!name)
		name = "config";
	if (len > CONFIG_MAX)
		return csf__error_set(CSF_ELIMIT, "%s: larger than %u bytes", name, CONFIG_MAX);
	value = csf__malloc(VALUE_MAX);
	if (!value)
		return CSF_ENOMEM;
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;

		line++;
		rc = parse_line(p, eol, name, line, key, value);
		if (rc == 1)
			rc = cb(key, value, line, payload);
		p = nl ? nl + 1 : end;
	}
	csf__free(value);
	return rc;
}

int csf_config_parse_file(const char *path, csf_config_cb cb, void *payload)
{
	csf__buf b = CSF__BUF_INIT(CONFIG_MAX + 1);
	char chunk[4096];
	int fd, rc = 0;

	if (!path || !cb)
		return csf__misuse("csf_config_parse_file: path and cb are required");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return csf__error_set_errno(errno == ENOENT ? CSF_ENOTFOUND : CSF_EIO, errno, "cannot open %s", path);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = csf__error_set_errno(CSF_EIO, errno, "cannot read %s", path);
			break;
		}
		if (n == 0)
			break;
		rc = csf__buf_put(&b, chunk, (size_t)n);
		if (rc == CSF_ELIMIT)
			rc = csf__error_set(CSF_ELIMIT, "%s: larger than %u bytes", path, CONFIG_MAX);
		if (rc)
			break;
	}
	close(fd);
	if (!rc)
		rc = csf_config_parse(b.ptr ? b.ptr : "", b.len, path, cb, payload);
	csf__buf_free(&b);
	return rc;
}
