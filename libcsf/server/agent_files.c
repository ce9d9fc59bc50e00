/*
 * What a host needs to install the agent, on the HTTP listener
 * (docs/operations.md, "Serving install.sh"):
 *   GET /agent/install.sh          agent/install.sh, compiled in, with this
 *                                  server's HTTP and agent URLs filled in;
 *   GET /agent/csf-agent-OS-ARCH   a binary from the agent files directory;
 *   GET /agent/csf-agent-OS-ARCH.sha256   its SHA-256, in sha256sum format.
 * Unauthenticated, like the binaries of any download page: they hold no
 * secret, and enrolling still takes a token.
 *
 * The URLs come from the options when set, else from the request (Host,
 * the connection's TLS or X-Forwarded-Proto) and the agent listener's port.
 * They are written into a shell script, so they are checked character by
 * character first (csf__agent_files_urls, fuzzed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "server/internal.h"

#define AGENT_FILE_MAX_BYTES (256u << 20)

/* Characters a URL may hold here: enough for hosts, IPv6 literals, ports
 * and paths, nothing a shell would read as anything but a word. */
static int url_chars_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(".-_:/[]", c)) || c == '\0')
			return 0;
	}
	return 1;
}

int csf__agent_files_url_ok(const char *url)
{
	size_t n = url ? strlen(url) : 0;

	if (n > CSF__AGENT_URL_MAX - 1 || !url_chars_ok(url, n))
		return 0;
	return (n > 8 && strncmp(url, "https://", 8) == 0) || (n > 7 && strncmp(url, "http://", 7) == 0);
}

int csf__agent_files_urls(const char *host, const char *forwarded_proto, int tls, int agent_tls, int agent_port,
			  char http_url[CSF__AGENT_URL_MAX], char agent_url[CSF__AGENT_URL_MAX])
{
	size_t n = host ? strlen(host) : 0, name_len = n;
	const char *scheme = tls || (forwarded_proto && strcasecmp(forwarded_proto, "https") == 0) ? "https" : "http";
	const char *close;

	if (!n || n > 255 || !url_chars_ok(host, n) || strchr(host, '/'))
		return CSF_EINVALID;
	/* the host name without its port: "[::1]:8080" -> "[::1]" */
	if (host[0] == '[') {
		close = strchr(host, ']');
		if (!close || (close[1] && close[1] != ':'))
			return CSF_EINVALID;
		name_len = (size_t)(close - host) + 1;
	} else if (strchr(host, ':')) {
		name_len = (size_t)(strchr(host, ':') - host);
	}
	if (!name_len || name_len == 2)
		return CSF_EINVALID;
	if (http_url)
		snprintf(http_url, CSF__AGENT_URL_MAX, "%s://%s", scheme, host);
	if (agent_url)
		snprintf(agent_url, CSF__AGENT_URL_MAX, "%s://%.*s:%d", agent_tls ? "https" : "http", (int)name_len,
			 host, agent_port);
	return 0;
}

/* The script with every @NAME@ of `names` replaced by its value. */
static int fill_script(csf__buf *out, const char *const *names, const char *const *values, size_t n)
{
	const char *p = csf__agent_install_sh, *at;
	size_t i;

	while ((at = strchr(p, '@')) != NULL) {
		for (i = 0; i < n; i++)
			if (strncmp(at, names[i], strlen(names[i])) == 0)
				break;
		if (csf__buf_put(out, p, (size_t)(at - p)) != 0)
			return CSF_ENOMEM;
		if (i < n) {
			if (csf__buf_puts(out, values[i]) != 0)
				return CSF_ENOMEM;
			p = at + strlen(names[i]);
		} else {
			if (csf__buf_putc(out, '@') != 0)
				return CSF_ENOMEM;
			p = at + 1;
		}
	}
	return csf__buf_puts(out, p);
}

static void install_sh(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *prm,
		       void *payload)
{
	static const char *const h[] = { "Content-Type", "text/x-shellscript; charset=utf-8", "Cache-Control",
					 "no-store", "X-Content-Type-Options", "nosniff", NULL };
	static const char *const names[] = { "@CSF_HTTP_URL@", "@CSF_AGENT_URL@" };
	csf_server *s = payload;
	char http_url[CSF__AGENT_URL_MAX], agent_url[CSF__AGENT_URL_MAX];
	const char *values[2] = { http_url, agent_url };
	csf__buf b = CSF__BUF_INIT(1u << 20);

	(void)prm;
	if (csf__agent_files_urls(csf__http_request_header(req, "host"),
				  csf__http_request_header(req, "x-forwarded-proto"), csf__http_exchange_tls(x),
				  !s->o.insecure_dev, csf_server_agent_port(s), http_url, agent_url) != 0) {
		csf__http_respond_error(x, 400, "invalid_argument",
					"the Host header is not a plain host name: set --public-url");
		return;
	}
	if (s->o.public_url)
		snprintf(http_url, sizeof(http_url), "%s", s->o.public_url);
	if (s->o.agent_public_url)
		snprintf(agent_url, sizeof(agent_url), "%s", s->o.agent_public_url);
	if (fill_script(&b, names, values, 2) != 0)
		csf__http_respond_error(x, 503, "unavailable", "out of memory");
	else
		csf__http_respond(x, 200, h, b.ptr, b.len);
	csf__buf_free(&b);
}

/* "csf-agent-OS-ARCH" or the same + ".sha256"; sets *sha for the latter. */
static int file_name_ok(const char *name, int *sha)
{
	size_t n = strlen(name), i, dashes = 0;

	*sha = n > 7 && strcmp(name + n - 7, ".sha256") == 0;
	if (*sha)
		n -= 7;
	if (n <= 10 || n > 64 || strncmp(name, "csf-agent-", 10) != 0)
		return 0;
	for (i = 10; i < n; i++) {
		char c = name[i];

		if (c == '-')
			dashes++;
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return dashes == 1 && name[10] != '-' && name[n - 1] != '-';
}

static int read_file(const char *path, char **out, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? CSF_ENOTFOUND : csf__error_set_errno(CSF_EIO, errno, "cannot open %s", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > AGENT_FILE_MAX_BYTES) {
		close(fd);
		return csf__error_set(CSF_EIO, "%s is not a regular file under 256 MiB", path);
	}
	buf = csf__malloc(st.st_size ? (size_t)st.st_size : 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (!buf)
		return CSF_ENOMEM;
	if (got != (size_t)st.st_size) {
		csf__free(buf);
		return csf__error_set(CSF_EIO, "%s changed or could not be read", path);
	}
	*out = buf;
	*len = got;
	return 0;
}

static void agent_file(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *prm,
		       void *payload)
{
	static const char *const bin_h[] = { "Content-Type", "application/octet-stream", "Cache-Control", "no-cache",
					     "X-Content-Type-Options", "nosniff", NULL };
	static const char *const sha_h[] = { "Content-Type", "text/plain; charset=utf-8", "Cache-Control", "no-cache",
					     "X-Content-Type-Options", "nosniff", NULL };
	csf_server *s = payload;
	const char *name = csf__http_param(prm, "file");
	char path[4096], line[128];
	char *data = NULL;
	size_t len = 0;
	int sha, rc;

	(void)req;
	if (!name || !file_name_ok(name, &sha) || !s->o.agent_files_dir) {
		csf__http_respond_error(x, 404, "not_found", "no such agent file");
		return;
	}
	snprintf(path, sizeof(path), "%s/%.*s", s->o.agent_files_dir, (int)(strlen(name) - (sha ? 7 : 0)), name);
	rc = read_file(path, &data, &len);
	if (rc == CSF_ENOTFOUND) {
		csf__http_respond_error(x, 404, "not_found", "this server has no agent for that system");
	} else if (rc) {
		csf__log(CSF_LOG_WARN, "server", "agent files: %s", csf_error_last()->message);
		csf__http_respond_error(x, 500, "internal", "the agent file could not be read");
	} else if (sha) {
		char hex[65];

		csf__sha256_hex(data, len, hex);
		snprintf(line, sizeof(line), "%s  %.*s\n", hex, (int)(strlen(name) - 7), name);
		csf__http_respond(x, 200, sha_h, line, strlen(line));
	} else {
		csf__http_respond(x, 200, bin_h, data, len);
	}
	csf__free(data);
}

int csf__agent_files_routes(csf_server *s)
{
	int rc = csf__net_server_add_route(s->http, "GET", "/agent/install.sh", install_sh, s);

	if (!rc)
		rc = csf__net_server_add_route(s->http, "GET", "/agent/{file}", agent_file, s);
	return rc;
}
