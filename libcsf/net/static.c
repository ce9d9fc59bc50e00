/*
 * Static files for the HTTP side of csf_net_server (the dashboard's built
 * files): GET and HEAD of what no REST route claims. Paths with a segment
 * starting with '.' (so no "..", no dotfiles) are refused; a directory
 * means its index.html. A single-page app's client-side routes (paths
 * outside /api/ whose last segment has no '.') fall back to /index.html.
 * Answers carry an ETag (304 on If-None-Match), a content type by
 * extension, nosniff, and for HTML a strict Content-Security-Policy. A
 * precompressed sibling (FILE.br, FILE.gz, written by the dashboard's
 * build) is sent instead of FILE when Accept-Encoding allows it and it is
 * not older than FILE, with Content-Encoding and Vary: Accept-Encoding.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/internal.h"
#include "net/http1.h"

#define STATIC_MAX_BYTES (64u << 20)

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".map", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".jpg", "image/jpeg" },
	{ ".ico", "image/x-icon" },
	{ ".webp", "image/webp" },
	{ ".woff2", "font/woff2" },
	{ ".woff", "font/woff" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".wasm", "application/wasm" },
};

/* The dashboard talks only to its own origin (REST and the live feed). */
#define HTML_CSP                                                                                  \
	"default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "                 \
	"style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

int csf__net_server_set_static(csf_net_server *s, const char *root, int spa)
{
	char *copy = NULL;
	size_t n;

	if (!s)
		return csf__misuse("csf__net_server_set_static: server is NULL");
	if (root) {
		n = strlen(root);
		while (n > 1 && root[n - 1] == '/')
			n--;
		copy = csf__strndup(root, n);
		if (!copy)
			return CSF_ENOMEM;
	}
	csf__free(s->static_root);
	s->static_root = copy;
	s->static_spa = spa;
	return 0;
}

static const char *type_of(const char *path)
{
	size_t n = strlen(path), i;

	for (i = 0; i < CSF__ARRAY_SIZE(types); i++) {
		size_t e = strlen(types[i].ext);

		if (n >= e && strcasecmp(path + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

/* Every segment is a plain name: no "", ".", ".." or dotfile. */
static int path_ok(const char *path)
{
	const char *p;

	if (*path != '/' || strstr(path, "//"))
		return 0;
	for (p = path; *p; p++)
		if (p[0] == '/' && p[1] == '.')
			return 0;
	return 1;
}

static int spa_route(const char *path)
{
	const char *last = strrchr(path, '/');

	return strncmp(path, "/api/", 5) != 0 && strcmp(path, "/api") != 0 && !strchr(last, '.');
}

/* Open root + rel (a directory: its index.html); fd >= 0 or -1. */
static int open_file(const char *root, const char *rel, struct stat *st, char *used, size_t cap)
{
	int fd, n;

	n = snprintf(used, cap, "%s%s", root, rel);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	fd = open(used, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 && fstat(fd, st) == 0 && S_ISDIR(st->st_mode)) {
		close(fd);
		n = snprintf(used, cap, "%s%s%sindex.html", root, rel, rel[strlen(rel) - 1] == '/' ? "" : "/");
		if (n < 0 || (size_t)n >= cap)
			return -1;
		fd = open(used, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && fstat(fd, st) != 0) {
			close(fd);
			return -1;
		}
	}
	if (fd >= 0 && !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether a is older than b: a sibling older than its FILE is stale (FILE
 * was replaced without rebuilding it) and must not be sent for it. */
static int older(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec < b->st_mtim.tv_sec ||
	       (a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec < b->st_mtim.tv_nsec);
}

/*
 * Swap *fd for FILE.br or FILE.gz when the client takes that coding and the
 * sibling is a regular file no older than FILE; the coding's name, or NULL
 * (identity). Brotli first: it is the smaller of the two.
 */
static const char *pick_encoding(const csf__http_request *req, const char *file, int *fd, struct stat *st)
{
	static const struct {
		const char *coding, *suffix;
	} variants[] = { { "br", ".br" }, { "gzip", ".gz" } };
	const char *ae = csf__http_request_header(req, "accept-encoding");
	char path[4096 + 4];
	size_t i;

	for (i = 0; ae && i < CSF__ARRAY_SIZE(variants); i++) {
		struct stat vst;
		int vfd;

		if (!csf__http_accepts_encoding(ae, variants[i].coding))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s%s", file, variants[i].suffix) >= sizeof(path))
			return NULL;
		vfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (vfd < 0)
			continue;
		if (fstat(vfd, &vst) == 0 && S_ISREG(vst.st_mode) && !older(&vst, st)) {
			close(*fd);
			*fd = vfd;
			*st = vst;
			return variants[i].coding;
		}
		close(vfd);
	}
	return NULL;
}

static int read_all(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int answer(csf__http_exchange *x, const csf__http_request *req, int fd, const struct stat *st,
		  const char *file, const char *coding)
{
	const char *inm = csf__http_request_header(req, "if-none-match");
	int html = strcmp(type_of(file), types[0].type) == 0;
	int head = strcmp(req->method, "HEAD") == 0;
	/* hashed build output never changes under its name (SvelteKit: /_app/immutable/) */
	int immutable = strncmp(req->path, "/assets/", 8) == 0 || strncmp(req->path, "/_app/immutable/", 16) == 0;
	char etag[72], length[32];
	const char *h[24];
	size_t k = 0, n = (size_t)st->st_size;
	char *body = NULL;
	int rc;

	/* each coding is its own representation, with its own validator */
	snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "%s%s\"", (uint64_t)st->st_size,
		 (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec, coding ? "-" : "",
		 coding ? coding : "");
	h[k++] = "ETag", h[k++] = etag;
	h[k++] = "Vary", h[k++] = "Accept-Encoding";
	h[k++] = "Cache-Control", h[k++] = immutable ? "public, max-age=31536000, immutable" : "no-cache";
	h[k++] = "X-Content-Type-Options", h[k++] = "nosniff";
	if (inm && strstr(inm, etag)) {
		h[k] = NULL;
		return csf__http_respond(x, 304, h, NULL, 0);
	}
	h[k++] = "Content-Type", h[k++] = type_of(file);
	if (coding)
		h[k++] = "Content-Encoding", h[k++] = coding;
	if (html) {
		h[k++] = "Content-Security-Policy", h[k++] = HTML_CSP;
		h[k++] = "Referrer-Policy", h[k++] = "no-referrer";
		h[k++] = "X-Frame-Options", h[k++] = "DENY";
	}
	if (head) {
		snprintf(length, sizeof(length), "%zu", n);
		h[k++] = "Content-Length", h[k++] = length;
		h[k] = NULL;
		return csf__http_respond(x, 200, h, NULL, 0);
	}
	h[k] = NULL;
	if (st->st_size > (off_t)STATIC_MAX_BYTES)
		return csf__http_respond_error(x, 500, "internal", "the file is too large to serve");
	body = csf__malloc(n ? n : 1);
	if (!body)
		return csf__http_respond_error(x, 503, "unavailable", "out of memory");
	if (read_all(fd, body, n) != 0)
		rc = csf__http_respond_error(x, 500, "internal", "the file could not be read");
	else
		rc = csf__http_respond(x, 200, h, body, n);
	csf__free(body);
	return rc;
}

int csf__static_serve(const csf_net_server *s, csf__http_exchange *x, const csf__http_request *req)
{
	char file[4096];
	struct stat st;
	const char *coding;
	int fd = -1;

	if (!s->static_root || (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0))
		return 0;
	if (path_ok(req->path))
		fd = open_file(s->static_root, req->path, &st, file, sizeof(file));
	if (fd < 0 && s->static_spa && path_ok(req->path) && spa_route(req->path))
		fd = open_file(s->static_root, "/index.html", &st, file, sizeof(file));
	if (fd < 0)
		return 0;
	coding = pick_encoding(req, file, &fd, &st);
	answer(x, req, fd, &st, file, coding);
	close(fd);
	return 1;
}
