/*
 * libFuzzer target for the HTTP/1.1 request reader. The first input byte
 * picks the limits and the size of the pieces the rest is fed in; the rest
 * is a stream of requests. Each complete request is checked against what
 * the reader promises, routed, echoed through the response writer and, if
 * it is an upgrade, given to the WebSocket handshake. The same bytes also go
 * through the response reader.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "net/http1.h"
#include "net/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int h_any, h_one, h_tail;

static csf__router *router(void)
{
	static csf__router *r;

	if (!r && csf__router_new(&r) == 0) {
		csf__router_add(r, "GET", "/api/v1/agents/{id}/metrics", &h_one);
		csf__router_add(r, "PUT", "/api/v1/agents/{id}", &h_one);
		csf__router_add(r, "GET", "/api/v1/agents/me", &h_one);
		csf__router_add(r, "GET", "/static/{path*}", &h_tail);
		csf__router_add(r, "*", "/echo/{a}/{b}", &h_any);
		csf__router_add(r, "GET", "/", &h_one);
	}
	return r;
}

static int tchar_only(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *s))
			return 0;
	return 1;
}

static void check_request(const csf__http_request *q, int subprotocol)
{
	const char *headers[2 * CSF__HTTP_MAX_HEADERS + 1];
	csf__buf out = CSF__BUF_INIT(1 << 20);
	csf__http_params params;
	char allow[128], buf[64];
	const char *p;
	void *handler;
	size_t i;
	int rc;

	if (!q->method || !q->target || !q->path || !q->query || !q->body)
		__builtin_trap();
	if (q->body[q->body_len] != '\0' || q->headers_count > CSF__HTTP_MAX_HEADERS)
		__builtin_trap();
	if ((q->path[0] != '/' && strcmp(q->path, "*")) || q->http_minor > 1 || q->keep_alive > 1)
		__builtin_trap();
	for (p = q->path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			__builtin_trap();
	for (p = q->path; (p = strchr(p, '/')) != NULL; p++)
		if (!strcmp(p, "/.") || !strcmp(p, "/..") || !strncmp(p, "/./", 3) || !strncmp(p, "/../", 4))
			__builtin_trap();
	for (i = 0; i < q->headers_count; i++) {
		const char *v = q->headers[i].value;

		if (!tchar_only(q->headers[i].name))
			__builtin_trap();
		if (*v == ' ' || *v == '\t' || (*v && (v[strlen(v) - 1] == ' ' || v[strlen(v) - 1] == '\t')))
			__builtin_trap();
		headers[2 * i] = q->headers[i].name;
		headers[2 * i + 1] = v;
	}
	headers[2 * i] = NULL;
	(void)csf__http_request_header(q, "host");
	(void)csf__http_request_query(q, "a", buf, sizeof(buf));
	(void)csf__http_request_query(q, "", buf, 2);

	rc = csf__router_match(router(), q->method, q->path, &handler, &params, allow, sizeof(allow));
	if (rc == 0)
		csf__http_params_free(&params);
	else if (rc != CSF_ENOTFOUND && rc != CSF_EINVALID && rc != CSF_ENOMEM)
		__builtin_trap();

	/* What the reader accepts, the writer writes. Names that set the
	 * framing would be repeated: leave them out. */
	for (i = 0; headers[i]; i += 2) {
		if (!strcasecmp(headers[i], "content-length") || !strcasecmp(headers[i], "transfer-encoding")) {
			headers[i] = "X-Was-Framing";
		}
	}
	rc = csf__http1_write_response(&out, 200, headers, q->body, q->body_len, q->keep_alive);
	if (rc && rc != CSF_ENOMEM && rc != CSF_ELIMIT)
		__builtin_trap();
	if (q->upgrade) {
		csf__buf_clear(&out);
		rc = csf__ws_server_handshake(q, subprotocol ? "csf.v1" : NULL, &out);
		if (rc != 0 && rc != 400 && rc != 426 && rc != CSF_ENOMEM)
			__builtin_trap();
		if (rc == 0 && strncmp(out.ptr, "HTTP/1.1 101 ", 13))
			__builtin_trap();
	}
	csf__buf_free(&out);
}

static void responses(const uint8_t *data, size_t size, size_t step)
{
	csf__http1_response_reader r;
	size_t off = 0, used;
	int rc = 0;

	csf__http1_response_reader_init(&r, NULL);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		rc = csf__http1_response_reader_feed(&r, (const char *)data + off, n, &used);
		if (used > n || (rc == 0 && used != n))
			__builtin_trap();
		off += used;
		if (rc != 0)
			break;
	}
	if (rc == 0)
		rc = csf__http1_response_reader_eof(&r);
	if (rc == 1 && (!r.resp.body || r.resp.body[r.resp.body_len] != '\0' || r.resp.status < 100))
		__builtin_trap();
	csf__http1_response_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	csf__http1_limits small = { 1024, 4096 };
	csf__http1_reader r;
	size_t step, off = 0, requests = 0;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	/* Bit 7: all at once; otherwise pieces of 1..32 bytes. */
	step = mode & 0x80 ? size + 1 : (size_t)(mode & 0x1f) + 1;
	csf__http1_reader_init(&r, mode & 0x40 ? &small : NULL);
	while (off < size) {
		size_t n = size - off < step ? size - off : step, used = 0;
		int status = -1, rc;

		rc = csf__http1_reader_feed(&r, (const char *)data + off, n, &used, &status);
		if (used > n)
			__builtin_trap();
		off += used;
		if (rc < 0) {
			if (status != 400 && status != 413 && status != 431 && status != 500 && status != 501 &&
			    status != 505)
				__builtin_trap();
			break;
		}
		if (status != 0)
			__builtin_trap();
		if (rc == 0) {
			if (used != n)
				__builtin_trap();
			continue;
		}
		check_request(&r.req, mode & 0x20);
		csf__http1_reader_next(&r);
		if (++requests > 256)
			break;
	}
	csf__http1_reader_free(&r);
	responses(data, size, step);
	csf_error_clear();
	return 0;
}
