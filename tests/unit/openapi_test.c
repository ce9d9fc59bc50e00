/*
 * docs/api/openapi.yaml against the routes a real csf_server registers on its
 * HTTP listener: every route is documented and every documented path and
 * method is served. The WebSocket feed counts as GET on its path.
 *
 *     openapi_test [PATH/TO/openapi.yaml]   (default: CSF_OPENAPI_YAML)
 */
#define _XOPEN_SOURCE 700
#include <ctype.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/internal.h"
#include "server/internal.h"

#define MAX_ROUTES 256

typedef struct route {
	char method[16];
	char path[256];
} route;

typedef struct route_set {
	route r[MAX_ROUTES];
	size_t n;
} route_set;

static const char *yaml_path = CSF_OPENAPI_YAML;
static route_set served, documented;

/* Remember METHOD PATH; -1 when it does not fit. */
static int add(route_set *set, const char *method, const char *path, size_t path_len)
{
	route *r;
	size_t i;

	if (set->n == MAX_ROUTES || path_len >= sizeof(r->path)) {
		fprintf(stderr, "openapi_test: too many routes, or %.*s is too long\n", (int)path_len, path);
		return -1;
	}
	r = &set->r[set->n++];
	for (i = 0; method[i] && i + 1 < sizeof(r->method); i++)
		r->method[i] = (char)toupper((unsigned char)method[i]);
	r->method[i] = '\0';
	memcpy(r->path, path, path_len);
	r->path[path_len] = '\0';
	return 0;
}

/* Whether the first `n` routes of `set` hold `want`. */
static int contains(const route_set *set, size_t n, const route *want)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(set->r[i].method, want->method) && !strcmp(set->r[i].path, want->path))
			return 1;
	return 0;
}

static int is_http_method(const char *key, size_t len)
{
	static const char *const methods[] = { "get", "put", "post", "delete", "options", "head", "patch", "trace" };
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i]) == len && !strncmp(methods[i], key, len))
			return 1;
	return 0;
}

/* The `paths:` section, line by line: a path key at two spaces of indent,
 * its operations at four (other keys there, such as `parameters`, are not).
 * 0, or -1 when the file cannot be read. */
static int read_yaml(const char *file, route_set *out)
{
	FILE *f = fopen(file, "r");
	char *line = NULL, path[256];
	size_t cap = 0, path_len = 0;
	int in_paths = 0, rc = 0;

	if (!f) {
		fprintf(stderr, "openapi_test: cannot open %s\n", file);
		return -1;
	}
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		size_t indent = strspn(line, " ");
		const char *key = line + indent, *colon;

		line[strcspn(line, "\r\n")] = '\0';
		if (!*key || *key == '#')
			continue;
		if (indent == 0) {
			in_paths = !strcmp(line, "paths:");
			continue;
		}
		colon = strchr(key, ':');
		if (!in_paths || !colon)
			continue;
		if (indent == 2 && *key == '/') {
			path_len = (size_t)snprintf(path, sizeof(path), "%.*s", (int)(colon - key), key);
		} else if (indent == 4 && path_len && is_http_method(key, (size_t)(colon - key))) {
			char method[16];

			snprintf(method, sizeof(method), "%.*s", (int)(colon - key), key);
			rc = add(out, method, path, path_len);
		}
	}
	free(line);
	fclose(f);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The routes of a real server (which is freed at once, its data directory
 * too), then the document's. */
static int group_setup(void **state)
{
	char tmpdir[] = "/tmp/csf-openapi-XXXXXX";
	csf_server_options o;
	csf_server *s = NULL;
	size_t i;
	int rc;

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	csf_server_options_init(&o, CSF_SERVER_OPTIONS_VERSION);
	o.data_dir = tmpdir;
	o.http_listen = "127.0.0.1:0";
	o.agent_listen = "127.0.0.1:0";
	o.admin_password = "not used by this test";
	rc = csf_server_new(&s, &o);
	if (rc)
		fprintf(stderr, "openapi_test: csf_server_new: %s\n", csf_error_last()->message);
	for (i = 0; !rc && i < csf__net_server_route_count(s->http); i++) {
		const char *method, *pattern;

		rc = csf__net_server_route(s->http, i, &method, &pattern);
		if (!rc)
			rc = add(&served, method, pattern, strlen(pattern));
	}
	for (i = 0; !rc && i < s->http->ws_n; i++)
		rc = add(&served, "GET", s->http->ws[i].http_path, strlen(s->http->ws[i].http_path));
	csf_server_free(s);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc ? -1 : read_yaml(yaml_path, &documented);
}

/* What `from` has and `to` lacks, printed; how many. */
static size_t missing(const route_set *from, const route_set *to, const char *what)
{
	size_t i, n = 0;

	for (i = 0; i < from->n; i++) {
		if (contains(to, to->n, &from->r[i]))
			continue;
		printf("%s: %s %s\n", what, from->r[i].method, from->r[i].path);
		n++;
	}
	return n;
}

static void test_server_has_routes(void **state)
{
	(void)state;
	assert_true(served.n > 0);
	assert_true(documented.n > 0);
}

static void test_every_route_is_documented(void **state)
{
	(void)state;
	assert_int_equal(missing(&served, &documented, "served but not in docs/api/openapi.yaml"), 0);
}

static void test_every_documented_route_is_served(void **state)
{
	(void)state;
	assert_int_equal(missing(&documented, &served, "in docs/api/openapi.yaml but not served"), 0);
}

static void test_no_route_documented_twice(void **state)
{
	size_t i, twice = 0;

	(void)state;
	for (i = 1; i < documented.n; i++) {
		if (contains(&documented, i, &documented.r[i])) {
			printf("documented twice: %s %s\n", documented.r[i].method, documented.r[i].path);
			twice++;
		}
	}
	assert_int_equal(twice, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_has_routes),
		cmocka_unit_test(test_every_route_is_documented),
		cmocka_unit_test(test_every_documented_route_is_served),
		cmocka_unit_test(test_no_route_documented_twice),
	};

	if (argc > 1)
		yaml_path = argv[1];
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
