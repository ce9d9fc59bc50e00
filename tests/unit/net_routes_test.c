/*
 * REST routes and text-mode WebSocket routes of a csf_net_server, driven over
 * loopback by a plain blocking client on another thread while the loop runs
 * on this one.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/http1.h"
#include "net/internal.h"
#include "loopback.h"

static csf_net_loop *loop;
static csf_net_server *srv;
static int port;

static void get_thing(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	char body[256], q[64];
	const char *hdr[] = { "Content-Type", "application/json", NULL };

	(void)payload;
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"q\":\"%s\"}", csf__http_param(p, "id"),
		 csf__http_request_query(req, "q", q, sizeof(q)) ? q : "");
	csf__http_respond(x, 200, hdr, body, strlen(body));
}

static void post_thing(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	char body[64];

	(void)p;
	(void)payload;
	snprintf(body, sizeof(body), "got %zu bytes", req->body_len);
	csf__http_respond(x, 201, NULL, body, strlen(body));
}

static void get_static(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	(void)req;
	(void)payload;
	csf__http_respond(x, 200, NULL, csf__http_param(p, "path"), strlen(csf__http_param(p, "path")));
}

static void no_answer(csf__http_exchange *x, const csf__http_request *req, const csf__http_params *p, void *payload)
{
	(void)x;
	(void)req;
	(void)p;
	(void)payload;
}

static int feed_start(csf_net_call *call, void *payload)
{
	const char *origin = csf_net_call_metadata(call, "origin");
	char msg[128];

	(void)payload;
	if (!origin || strcmp(origin, "http://good.example") != 0)
		return CSF_NET_PERMISSION_DENIED;
	snprintf(msg, sizeof(msg), "{\"type\":\"hello\",\"transport\":%d}", csf_net_call_peer(call)->transport);
	csf_net_call_send(call, msg, strlen(msg));
	return CSF_NET_OK;
}

static int feed_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	char msg[256];

	(void)payload;
	snprintf(msg, sizeof(msg), "{\"echo\":\"%.*s\"}", (int)len, (const char *)data);
	csf_net_call_send(call, msg, strlen(msg));
	return 0;
}

static void feed_end(csf_net_call *call, int status, const char *message, void *payload)
{
	(void)call;
	(void)status;
	(void)message;
	(void)payload;
}

/* ---------------------------------------------------------------- client */

/* Send `req`, read until `want` responses (counted by status lines) or EOF. */
static char *exchange(const char *req, int want)
{
	static char buf[65536];
	size_t n = 0;
	int fd = loopback_dial(port), seen = 0;

	if (fd < 0 || write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return NULL;
	while (n < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		char *p;

		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		for (seen = 0, p = buf; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
			seen++;
		if (want && seen >= want && strstr(buf, "\r\n\r\n")) {
			/* the last response's body is short: give it a moment */
			usleep(20000);
			r = recv(fd, buf + n, sizeof(buf) - 1 - n, MSG_DONTWAIT);
			if (r > 0)
				n += (size_t)r;
			break;
		}
	}
	buf[n] = '\0';
	close(fd);
	return buf;
}

struct results {
	char single[1024], params[1024], post[1024], pipelined[2048], missing[1024], not_allowed[1024];
	char tail[1024], unanswered[1024], traversal[1024];
	/* static files */
	char index[2048], root[2048], asset[2048], head[2048], revalidated[1024], spa[2048], dotfile[1024];
	char missing_file[1024], symlink_file[1024], post_file[1024], api_miss[1024];
	/* precompressed variants */
	char gz[1024], br[1024], br_refused[1024], identity[1024], gz_head[1024], gz_revalidated[1024];
	char kit_asset[1024], stale[1024];
	char ws_hello[256], ws_echo[256];
	int ws_first_opcode;
	char ws_refused[1024];
};

static struct results res;

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "(none)");
}

static int read_frame(int fd, char *out, size_t cap, int *opcode)
{
	unsigned char h[2];
	size_t len;

	if (read(fd, h, 2) != 2)
		return -1;
	*opcode = h[0] & 0x0f;
	len = h[1] & 0x7f;
	if (len >= 126 || len >= cap)
		return -1;
	if (len && read(fd, out, len) != (ssize_t)len)
		return -1;
	out[len] = '\0';
	return 0;
}

static void ws_client(void)
{
	const char *up = "GET /feed HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
			 "Sec-WebSocket-Protocol: csf.feed.v1\r\nOrigin: http://good.example\r\n\r\n";
	unsigned char frame[16] = { 0x81, 0x82, 1, 2, 3, 4 };
	char buf[2048];
	size_t n = 0;
	int fd = loopback_dial(port), op = 0;

	if (fd < 0 || write(fd, up, strlen(up)) < 0)
		return;
	/* read the 101 head */
	while (n < sizeof(buf) - 1 && !strstr(buf, "\r\n\r\n")) {
		if (read(fd, buf + n, 1) != 1)
			break;
		buf[++n] = '\0';
	}
	if (read_frame(fd, res.ws_hello, sizeof(res.ws_hello), &op) == 0)
		res.ws_first_opcode = op;
	frame[6] = 'h' ^ 1;
	frame[7] = 'i' ^ 2;
	if (write(fd, frame, 8) == 8)
		read_frame(fd, res.ws_echo, sizeof(res.ws_echo), &op);
	close(fd);
}

static char www[64];

static void put_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", www, rel);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void make_www(void)
{
	char path[256];

	strcpy(www, "/tmp/csf-www-XXXXXX");
	assert_non_null(mkdtemp(www));
	snprintf(path, sizeof(path), "%s/assets", www);
	mkdir(path, 0755);
	put_file("/index.html", "<!doctype html><title>csf</title>");
	put_file("/assets/app.js", "console.log(42);");
	/* stand-ins for the compressed bytes: the server sends them as they are */
	put_file("/assets/app.js.gz", "GZIP-BYTES");
	put_file("/assets/app.js.br", "BROTLI-BYTES!");
	snprintf(path, sizeof(path), "%s/_app", www);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/_app/immutable", www);
	mkdir(path, 0755);
	put_file("/_app/immutable/bundle.abc.js", "start();");
	/* a sibling older than its file: the file was replaced, the .gz was not */
	put_file("/assets/old.js", "fresh();");
	put_file("/assets/old.js.gz", "STALE-GZIP");
	snprintf(path, sizeof(path), "%s/assets/old.js.gz", www);
	assert_int_equal(utimensat(AT_FDCWD, path, (const struct timespec[2]){ { 1000, 0 }, { 1000, 0 } }, 0), 0);
	put_file("/.secret", "do not serve");
	snprintf(path, sizeof(path), "%s/link.txt", www);
	assert_int_equal(symlink("/etc/hostname", path), 0);
}

static void remove_www(void)
{
	static const char *const rel[] = { "/index.html", "/assets/app.js", "/assets/app.js.gz", "/assets/app.js.br",
					   "/assets/old.js", "/assets/old.js.gz", "/.secret", "/link.txt", "/assets", "/_app/immutable/bundle.abc.js",
					   "/_app/immutable", "/_app", "" };
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", www, rel[i]);
		remove(path);
	}
}

#define GET(path, extra) "GET " path " HTTP/1.1\r\nHost: x\r\n" extra "\r\n"

static void encoding_client(void)
{
	char req[512], etag[80] = "";
	const char *e;

	copy(res.gz, sizeof(res.gz), exchange(GET("/assets/app.js", "Accept-Encoding: gzip, deflate\r\n"), 1));
	copy(res.br, sizeof(res.br), exchange(GET("/assets/app.js", "Accept-Encoding: gzip, deflate, br\r\n"), 1));
	copy(res.br_refused, sizeof(res.br_refused),
	     exchange(GET("/assets/app.js", "Accept-Encoding: br;q=0, *;q=0.5\r\n"), 1));
	copy(res.identity, sizeof(res.identity), exchange(GET("/assets/app.js", "Accept-Encoding: identity\r\n"), 1));
	copy(res.gz_head, sizeof(res.gz_head),
	     exchange("HEAD /assets/app.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", 1));
	e = strstr(res.gz, "ETag: ");
	if (e)
		sscanf(e + 6, "%79[^\r]", etag);
	snprintf(req, sizeof(req), "GET /assets/app.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nIf-None-Match: %s\r\n\r\n",
		 etag);
	copy(res.gz_revalidated, sizeof(res.gz_revalidated), exchange(req, 1));
	copy(res.kit_asset, sizeof(res.kit_asset), exchange(GET("/_app/immutable/bundle.abc.js", ""), 1));
	copy(res.stale, sizeof(res.stale), exchange(GET("/assets/old.js", "Accept-Encoding: gzip\r\n"), 1));
}

static void static_client(void)
{
	char req[512], etag[64] = "";
	const char *e;

	copy(res.index, sizeof(res.index), exchange(GET("/index.html", ""), 1));
	copy(res.root, sizeof(res.root), exchange(GET("/", ""), 1));
	copy(res.asset, sizeof(res.asset), exchange(GET("/assets/app.js", ""), 1));
	copy(res.head, sizeof(res.head), exchange("HEAD /assets/app.js HTTP/1.1\r\nHost: x\r\n\r\n", 1));
	e = strstr(res.asset, "ETag: ");
	if (e)
		sscanf(e + 6, "%63[^\r]", etag);
	snprintf(req, sizeof(req), "GET /assets/app.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n", etag);
	copy(res.revalidated, sizeof(res.revalidated), exchange(req, 1));
	copy(res.spa, sizeof(res.spa), exchange(GET("/agents/42/logs", ""), 1));
	copy(res.dotfile, sizeof(res.dotfile), exchange(GET("/.secret", ""), 1));
	copy(res.missing_file, sizeof(res.missing_file), exchange(GET("/missing.css", ""), 1));
	copy(res.symlink_file, sizeof(res.symlink_file), exchange(GET("/link.txt", ""), 1));
	copy(res.post_file, sizeof(res.post_file),
	     exchange("POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 1));
	copy(res.api_miss, sizeof(res.api_miss), exchange(GET("/api/v1/unknown", ""), 1));
	encoding_client();
}

static void *client(void *arg)
{
	(void)arg;
	copy(res.single, sizeof(res.single), exchange("GET /api/v1/things/a%20b?q=x%3Dy HTTP/1.1\r\nHost: x\r\n\r\n", 1));
	copy(res.post, sizeof(res.post),
	     exchange("POST /api/v1/things HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 1));
	copy(res.pipelined, sizeof(res.pipelined),
	     exchange("GET /api/v1/things/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/things/2 HTTP/1.1\r\nHost: x\r\n"
		      "Connection: close\r\n\r\n", 2));
	copy(res.missing, sizeof(res.missing), exchange("GET /api/nope HTTP/1.1\r\nHost: x\r\n\r\n", 1));
	copy(res.not_allowed, sizeof(res.not_allowed), exchange("DELETE /api/v1/things HTTP/1.1\r\nHost: x\r\n\r\n", 1));
	copy(res.tail, sizeof(res.tail), exchange("GET /static/app/main.js HTTP/1.1\r\nHost: x\r\n\r\n", 1));
	copy(res.unanswered, sizeof(res.unanswered), exchange("GET /silent HTTP/1.1\r\nHost: x\r\n\r\n", 1));
	copy(res.traversal, sizeof(res.traversal), exchange("GET /static/../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 1));
	static_client();
	ws_client();
	copy(res.ws_refused, sizeof(res.ws_refused),
	     exchange("GET /feed HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		      "Sec-WebSocket-Protocol: csf.feed.v1\r\nOrigin: http://evil.example\r\n\r\n", 1));
	csf_net_loop_stop_async(loop);
	return NULL;
}

static int setup(void **state)
{
	static const csf_net_call_handlers feed = { feed_start, feed_message, NULL, NULL, feed_end };
	csf_net_server_options o = CSF_NET_SERVER_OPTIONS_INIT;
	pthread_t t;

	(void)state;
	o.allow_insecure = 1;
	assert_int_equal(csf_net_loop_new(&loop), 0);
	assert_int_equal(csf_net_server_new(&srv, loop, &o), 0);
	assert_int_equal(csf__net_server_add_route(srv, "GET", "/api/v1/things/{id}", get_thing, NULL), 0);
	assert_int_equal(csf__net_server_add_route(srv, "POST", "/api/v1/things", post_thing, NULL), 0);
	assert_int_equal(csf__net_server_add_route(srv, "GET", "/static/{path*}", get_static, NULL), 0);
	assert_int_equal(csf__net_server_add_route(srv, "GET", "/silent", no_answer, NULL), 0);
	assert_int_equal(csf_net_server_add_method(srv, "/csf.internal/Feed", CSF__METHOD_WEBSOCKET_ONLY, &feed, NULL), 0);
	assert_int_equal(csf__net_server_add_websocket_text(srv, "/feed", "csf.feed.v1", "/csf.internal/Feed"), 0);
	make_www();
	assert_int_equal(csf__net_server_set_static(srv, www, 1), 0);
	assert_int_equal(csf_net_server_listen(srv, "127.0.0.1:0", NULL), 0);
	port = csf_net_server_port(srv, 0);
	assert_int_equal(pthread_create(&t, NULL, client, NULL), 0);
	assert_int_equal(csf_net_loop_run(loop), 0);
	pthread_join(t, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_www();
	csf_net_server_free(srv);
	csf_net_loop_free(loop);
	return 0;
}

static void test_route_params_and_query(void **state)
{
	(void)state;
	assert_non_null(strstr(res.single, "HTTP/1.1 200"));
	assert_non_null(strstr(res.single, "{\"id\":\"a b\",\"q\":\"x=y\"}"));
}

static void test_post_body(void **state)
{
	(void)state;
	assert_non_null(strstr(res.post, "HTTP/1.1 201"));
	assert_non_null(strstr(res.post, "got 5 bytes"));
}

static void test_pipelined_requests_answered_in_order(void **state)
{
	char *first, *second;

	(void)state;
	first = strstr(res.pipelined, "{\"id\":\"1\"");
	second = strstr(res.pipelined, "{\"id\":\"2\"");
	assert_non_null(first);
	assert_non_null(second);
	assert_true(first < second);
}

static void test_unknown_path_is_404_json(void **state)
{
	(void)state;
	assert_non_null(strstr(res.missing, "HTTP/1.1 404"));
	assert_non_null(strstr(res.missing, "\"code\":\"not_found\""));
	assert_non_null(strstr(res.missing, "Content-Type: application/json"));
}

static void test_wrong_method_is_405_with_allow(void **state)
{
	(void)state;
	assert_non_null(strstr(res.not_allowed, "HTTP/1.1 405"));
	assert_non_null(strstr(res.not_allowed, "Allow: POST"));
}

static void test_tail_parameter(void **state)
{
	(void)state;
	assert_non_null(strstr(res.tail, "HTTP/1.1 200"));
	assert_non_null(strstr(res.tail, "app/main.js"));
}

static void test_handler_without_answer_is_500(void **state)
{
	(void)state;
	assert_non_null(strstr(res.unanswered, "HTTP/1.1 500"));
}

static void test_path_traversal_refused(void **state)
{
	(void)state;
	assert_non_null(strstr(res.traversal, "HTTP/1.1 400"));
}

static void test_text_websocket_with_origin_in_metadata(void **state)
{
	(void)state;
	assert_int_equal(res.ws_first_opcode, 1); /* text */
	assert_string_equal(res.ws_hello, "{\"type\":\"hello\",\"transport\":2}");
	assert_string_equal(res.ws_echo, "{\"echo\":\"hi\"}");
}

static void test_refused_origin_closes(void **state)
{
	(void)state;
	/* on_start refused: the 101 went out, then a close with 4007 */
	assert_non_null(strstr(res.ws_refused, "HTTP/1.1 101"));
	assert_non_null(memchr(res.ws_refused, 0x88, sizeof(res.ws_refused)));
}

static void test_feed_is_not_a_grpc_method(void **state)
{
	(void)state;
	assert_non_null(csf__server_find_method(srv, "/csf.internal/Feed", 18));
	assert_true(csf__server_find_method(srv, "/csf.internal/Feed", 18)->flags & CSF__METHOD_WEBSOCKET_ONLY);
	assert_int_equal(csf__net_server_route_count(srv), 4);
}

static void test_static_files(void **state)
{
	(void)state;
	assert_non_null(strstr(res.index, "HTTP/1.1 200"));
	assert_non_null(strstr(res.index, "Content-Type: text/html; charset=utf-8"));
	assert_non_null(strstr(res.index, "Content-Security-Policy: default-src 'self'"));
	assert_non_null(strstr(res.index, "Cache-Control: no-cache"));
	assert_non_null(strstr(res.index, "<!doctype html><title>csf</title>"));
	assert_non_null(strstr(res.root, "HTTP/1.1 200"));
	assert_non_null(strstr(res.root, "<title>csf</title>"));
	assert_non_null(strstr(res.asset, "Content-Type: text/javascript"));
	assert_non_null(strstr(res.asset, "Cache-Control: public, max-age=31536000, immutable"));
	assert_non_null(strstr(res.asset, "X-Content-Type-Options: nosniff"));
	assert_non_null(strstr(res.asset, "console.log(42);"));
	assert_null(strstr(res.asset, "Content-Security-Policy"));
	/* HEAD: the length of the body it does not send */
	assert_non_null(strstr(res.head, "HTTP/1.1 200"));
	assert_non_null(strstr(res.head, "Content-Length: 16\r\n"));
	assert_null(strstr(res.head, "console.log"));
	assert_non_null(strstr(res.revalidated, "HTTP/1.1 304"));
	assert_null(strstr(res.revalidated, "console.log"));
}

static void test_static_spa_fallback_and_refusals(void **state)
{
	(void)state;
	/* a client-side route of the single-page app */
	assert_non_null(strstr(res.spa, "HTTP/1.1 200"));
	assert_non_null(strstr(res.spa, "<title>csf</title>"));
	/* dotfiles, missing files, symlinks, other methods and /api/ are not served */
	assert_non_null(strstr(res.dotfile, "HTTP/1.1 404"));
	assert_null(strstr(res.dotfile, "do not serve"));
	assert_non_null(strstr(res.missing_file, "HTTP/1.1 404"));
	assert_non_null(strstr(res.symlink_file, "HTTP/1.1 404"));
	assert_non_null(strstr(res.post_file, "HTTP/1.1 404"));
	assert_non_null(strstr(res.api_miss, "HTTP/1.1 404"));
	assert_non_null(strstr(res.api_miss, "\"code\":\"not_found\""));
}

static void test_static_precompressed_variants(void **state)
{
	(void)state;
	/* gzip taken: the .gz sibling, marked, and a validator of its own */
	assert_non_null(strstr(res.gz, "HTTP/1.1 200"));
	assert_non_null(strstr(res.gz, "Content-Encoding: gzip\r\n"));
	assert_non_null(strstr(res.gz, "Content-Type: text/javascript"));
	assert_non_null(strstr(res.gz, "Vary: Accept-Encoding\r\n"));
	assert_non_null(strstr(res.gz, "-gzip\"\r\n"));
	assert_non_null(strstr(res.gz, "\r\n\r\nGZIP-BYTES"));
	/* brotli preferred when both are allowed; refused with q=0, "*" gives gzip */
	assert_non_null(strstr(res.br, "Content-Encoding: br\r\n"));
	assert_non_null(strstr(res.br, "\r\n\r\nBROTLI-BYTES!"));
	assert_non_null(strstr(res.br_refused, "Content-Encoding: gzip\r\n"));
	/* identity only, or no header at all (test_static_files): the file itself, still Vary */
	assert_null(strstr(res.identity, "Content-Encoding"));
	assert_non_null(strstr(res.identity, "Vary: Accept-Encoding\r\n"));
	assert_non_null(strstr(res.identity, "console.log(42);"));
	assert_null(strstr(res.asset, "Content-Encoding"));
	/* HEAD: the compressed length; If-None-Match with the gzip validator: 304 */
	assert_non_null(strstr(res.gz_head, "Content-Length: 10\r\n"));
	assert_non_null(strstr(res.gz_head, "Content-Encoding: gzip\r\n"));
	assert_non_null(strstr(res.gz_revalidated, "HTTP/1.1 304"));
	assert_null(strstr(res.gz_revalidated, "GZIP-BYTES"));
	/* a stale sibling is never sent */
	assert_null(strstr(res.stale, "Content-Encoding"));
	assert_non_null(strstr(res.stale, "fresh();"));
	/* SvelteKit's hashed output is immutable too */
	assert_non_null(strstr(res.kit_asset, "Cache-Control: public, max-age=31536000, immutable"));
	assert_non_null(strstr(res.kit_asset, "start();"));
}

static void test_accept_encoding_parsing(void **state)
{
	(void)state;
	assert_false(csf__http_accepts_encoding(NULL, "gzip"));
	assert_false(csf__http_accepts_encoding("", "gzip"));
	assert_true(csf__http_accepts_encoding("gzip", "gzip"));
	assert_true(csf__http_accepts_encoding("GZip", "gzip"));
	assert_true(csf__http_accepts_encoding(" deflate , gzip ;q=0.8", "gzip"));
	assert_false(csf__http_accepts_encoding("gzipx, xgzip", "gzip"));
	assert_false(csf__http_accepts_encoding("gzip;q=0", "gzip"));
	assert_false(csf__http_accepts_encoding("gzip; q=0.000", "gzip"));
	assert_true(csf__http_accepts_encoding("gzip;q=0.001", "gzip"));
	assert_true(csf__http_accepts_encoding("*", "br"));
	assert_false(csf__http_accepts_encoding("*;q=0", "br"));
	/* a named coding overrides "*" either way */
	assert_false(csf__http_accepts_encoding("*, br;q=0", "br"));
	assert_true(csf__http_accepts_encoding("*;q=0, br", "br"));
	assert_false(csf__http_accepts_encoding("identity", "br"));
	assert_false(csf__http_accepts_encoding(",,;,", "br"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_params_and_query),
		cmocka_unit_test(test_post_body),
		cmocka_unit_test(test_pipelined_requests_answered_in_order),
		cmocka_unit_test(test_unknown_path_is_404_json),
		cmocka_unit_test(test_wrong_method_is_405_with_allow),
		cmocka_unit_test(test_tail_parameter),
		cmocka_unit_test(test_handler_without_answer_is_500),
		cmocka_unit_test(test_path_traversal_refused),
		cmocka_unit_test(test_text_websocket_with_origin_in_metadata),
		cmocka_unit_test(test_refused_origin_closes),
		cmocka_unit_test(test_feed_is_not_a_grpc_method),
		cmocka_unit_test(test_static_files),
		cmocka_unit_test(test_static_spa_fallback_and_refusals),
		cmocka_unit_test(test_static_precompressed_variants),
		cmocka_unit_test(test_accept_encoding_parsing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
