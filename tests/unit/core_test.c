/* core: errors, logging, the allocator, buffers, arenas and the JSON writer. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/internal.h"

static void test_version(void **state)
{
	int num = 0;

	(void)state;
	assert_string_equal(csf_version(&num), CSF_VERSION);
	assert_int_equal(num, CSF_VERSION_NUM);
	assert_true(CSF_VERSION_CHECK(0, 1, 0));
	assert_false(CSF_VERSION_CHECK(99, 0, 0));
}

static void test_strerror_names_every_code(void **state)
{
	int code;

	(void)state;
	for (code = CSF_OK; code >= CSF_EAUTH; code--) {
		const char *s = csf_strerror(code);

		assert_non_null(strstr(s, "CSF_"));
	}
	assert_string_equal(csf_strerror(-9999), "unknown error");
	assert_string_equal(csf_strerror(1), "unknown error");
}

static void test_error_last_and_errno(void **state)
{
	(void)state;
	csf_error_clear();
	assert_int_equal(csf_error_last()->code, CSF_OK);
	assert_string_equal(csf_error_last()->message, "");
	assert_int_equal(csf__error_set(CSF_EPARSE, "line %d", 7), CSF_EPARSE);
	assert_int_equal(csf_error_last()->code, CSF_EPARSE);
	assert_string_equal(csf_error_last()->message, "line 7");
	csf__error_set_errno(CSF_EIO, 2, "open %s", "/x");
	assert_string_equal(csf_error_last()->message, "open /x: No such file or directory");
	csf_error_clear();
	assert_int_equal(csf_error_last()->code, CSF_OK);
}

static void *other_thread(void *arg)
{
	(void)arg;
	/* A new thread starts with no error, whatever the main thread holds. */
	return (void *)(intptr_t)csf_error_last()->code;
}

static void test_error_is_thread_local(void **state)
{
	pthread_t t;
	void *ret;

	(void)state;
	csf__error_set(CSF_ENOMEM, "main");
	assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((intptr_t)ret, CSF_OK);
	assert_int_equal(csf_error_last()->code, CSF_ENOMEM);
}

struct log_capture {
	int calls;
	csf_log_level level;
	char module[32];
	char message[256];
};

static void capture(csf_log_level level, const char *module, const char *message, void *payload)
{
	struct log_capture *c = payload;

	c->calls++;
	c->level = level;
	snprintf(c->module, sizeof(c->module), "%s", module);
	snprintf(c->message, sizeof(c->message), "%s", message);
}

static void test_log_callback_and_levels(void **state)
{
	struct log_capture c = { 0 };

	(void)state;
	csf__log(CSF_LOG_ERROR, "core", "dropped: no callback");
	assert_int_equal(csf_log_set_callback(CSF_LOG_INFO, capture, &c), 0);
	csf__log(CSF_LOG_DEBUG, "core", "below the level");
	assert_int_equal(c.calls, 0);
	csf__log(CSF_LOG_WARN, "collect", "value %d", 42);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.level, CSF_LOG_WARN);
	assert_string_equal(c.module, "collect");
	assert_string_equal(c.message, "value 42");
	assert_int_equal(csf_log_set_callback((csf_log_level)9, capture, &c), CSF_EINVALID);
	assert_int_equal(csf_log_set_callback(CSF_LOG_OFF, NULL, NULL), 0);
	csf__log(CSF_LOG_ERROR, "core", "off again");
	assert_int_equal(c.calls, 1);
	assert_string_equal(csf_log_level_name(CSF_LOG_TRACE), "trace");
}

struct counting {
	int mallocs, frees;
};

static void *c_malloc(size_t n, void *p) { ((struct counting *)p)->mallocs++; return malloc(n); }
static void *c_realloc(void *ptr, size_t n, void *p) { (void)p; return realloc(ptr, n); }
static void c_free(void *ptr, void *p) { if (ptr) ((struct counting *)p)->frees++; free(ptr); }

static void test_allocator_is_pluggable(void **state)
{
	struct counting cnt = { 0, 0 };
	csf_allocator a = { c_malloc, c_realloc, c_free, &cnt };
	csf_allocator bad = { c_malloc, NULL, c_free, &cnt };
	char *s;

	(void)state;
	assert_int_equal(csf_allocator_set(&bad), CSF_EINVALID);
	assert_int_equal(csf_allocator_set(&a), 0);
	s = csf__strdup("hello");
	assert_string_equal(s, "hello");
	csf_free(s);
	assert_int_equal(cnt.mallocs, 1);
	assert_int_equal(cnt.frees, 1);
	assert_int_equal(csf_allocator_set(NULL), 0);
	s = csf__strdup("x");
	csf_free(s);
	assert_int_equal(cnt.mallocs, 1);
}

static void test_calloc_overflow(void **state)
{
	(void)state;
	assert_null(csf__calloc(SIZE_MAX / 2, 4));
	assert_int_equal(csf_error_last()->code, CSF_ENOMEM);
	assert_null(csf__reallocarray(NULL, SIZE_MAX / 8, 16));
}

static void test_buf_limit(void **state)
{
	csf__buf b = CSF__BUF_INIT(16);

	(void)state;
	assert_int_equal(csf__buf_puts(&b, "0123456789"), 0);
	assert_int_equal(csf__buf_printf(&b, "%d", 12345), 0);
	assert_string_equal(b.ptr, "012345678912345");
	assert_int_equal(csf__buf_putc(&b, 'x'), CSF_ELIMIT);
	assert_string_equal(b.ptr, "012345678912345");
	csf__buf_free(&b);
}

static void test_buf_printf_grows(void **state)
{
	csf__buf b = CSF__BUF_INIT(1 << 20);
	char big[3000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(csf__buf_printf(&b, "<%s>", big), 0);
	assert_int_equal(b.len, sizeof(big) + 1);
	assert_int_equal(b.ptr[0], '<');
	assert_int_equal(b.ptr[b.len - 1], '>');
	csf__buf_free(&b);
}

static void test_arena(void **state)
{
	csf__arena a;
	char *s;
	int i;

	(void)state;
	csf__arena_init(&a, 64);
	for (i = 0; i < 100; i++) {
		long *p = csf__arena_alloc(&a, sizeof(long) * 3);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
		assert_int_equal(p[2], 0);
	}
	assert_non_null(csf__arena_alloc(&a, 1000)); /* larger than a chunk */
	s = csf__arena_strndup(&a, "abcdef", 3);
	assert_string_equal(s, "abc");
	assert_null(csf__arena_alloc(&a, SIZE_MAX - 8));
	csf__arena_free(&a);
}

static char *json_of(void (*build)(csf__json *), int *rc)
{
	csf__buf b = CSF__BUF_INIT(1 << 16);
	csf__json j;

	csf__json_init(&j, &b);
	build(&j);
	*rc = csf__json_finish(&j);
	return csf__buf_detach(&b, NULL);
}

static void build_mixed(csf__json *j)
{
	csf__json_begin_object(j);
	csf__json_key(j, "s");
	csf__json_string(j, "a\"b\\c\n\x01\xff\xc3\xa9");
	csf__json_key(j, "n");
	csf__json_begin_array(j);
	csf__json_u64(j, 18446744073709551615ULL);
	csf__json_i64(j, -5);
	csf__json_double(j, 1.5);
	csf__json_double(j, 2.0);
	csf__json_double(j, -0.0001);
	csf__json_double(j, 0.0 / 0.0);
	csf__json_real(j, 0.000123);
	csf__json_bool(j, 1);
	csf__json_null(j);
	csf__json_end_array(j);
	csf__json_key(j, "e");
	csf__json_begin_object(j);
	csf__json_end_object(j);
	csf__json_end_object(j);
}

static void build_unbalanced(csf__json *j)
{
	csf__json_begin_object(j);
	csf__json_begin_array(j);
}

static void build_deep(csf__json *j)
{
	int i;

	for (i = 0; i < 100; i++)
		csf__json_begin_array(j);
}

static void test_json_writer(void **state)
{
	int rc;
	char *s;

	(void)state;
	s = json_of(build_mixed, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(s, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\xef\xbf\xbd\xc3\xa9\","
			       "\"n\":[18446744073709551615,-5,1.5,2,0,null,0.000123,true,null],\"e\":{}}");
	csf__free(s);
	s = json_of(build_unbalanced, &rc);
	assert_int_equal(rc, CSF_EINVALID);
	csf__free(s);
	s = json_of(build_deep, &rc);
	assert_int_equal(rc, CSF_ELIMIT);
	csf__free(s);
}

struct settings {
	char keys[8][64];
	char values[8][256];
	int lines[8];
	int n;
	const char *refuse; /* a key the callback refuses */
};

static int collect(const char *key, const char *value, int line, void *payload)
{
	struct settings *st = payload;

	if (st->refuse && strcmp(key, st->refuse) == 0)
		return csf__error_set(CSF_EPARSE, "unknown key '%s' on line %d", key, line);
	if (st->n < 8) {
		snprintf(st->keys[st->n], sizeof(st->keys[0]), "%s", key);
		snprintf(st->values[st->n], sizeof(st->values[0]), "%s", value);
		st->lines[st->n++] = line;
	}
	return 0;
}

static void test_config_parse(void **state)
{
	static const char text[] =
		"# a comment\n"
		"\n"
		"data-dir = /var/lib/csf   \n"
		"  http_listen=0.0.0.0:8080 # not a comment: part of the value\n"
		"name = \"quoted \\\"value\\\" \\\\ x\"  # comment\n"
		"empty =\r\n"
		"tabs\t=\tv";
	struct settings st = { .n = 0 };

	(void)state;
	assert_int_equal(csf_config_parse(text, sizeof(text) - 1, "t.conf", collect, &st), 0);
	assert_int_equal(st.n, 5);
	assert_string_equal(st.keys[0], "data_dir");
	assert_string_equal(st.values[0], "/var/lib/csf");
	assert_int_equal(st.lines[0], 3);
	assert_string_equal(st.values[1], "0.0.0.0:8080 # not a comment: part of the value");
	assert_string_equal(st.values[2], "quoted \"value\" \\ x");
	assert_string_equal(st.keys[3], "empty");
	assert_string_equal(st.values[3], "");
	assert_string_equal(st.values[4], "v");
}

static void test_config_errors_name_the_line(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
		{ "a = 1\nB = 2", "t.conf:2: expected a key" },
		{ "a 1", "t.conf:1: expected '='" },
		{ "a = \"open", "t.conf:1: unterminated quoted value" },
		{ "a = \"x\" y", "t.conf:1: text after a quoted value" },
		{ "a = \"\\q\"", "t.conf:1: unknown escape" },
		{ "= 1", "t.conf:1: expected a key" },
	};
	struct settings st = { .n = 0, .refuse = "secret_thing" };
	size_t i;

	(void)state;
	for (i = 0; i < CSF__ARRAY_SIZE(bad); i++) {
		st.n = 0;
		assert_int_equal(csf_config_parse(bad[i].text, strlen(bad[i].text), "t.conf", collect, &st), CSF_EPARSE);
		assert_non_null(strstr(csf_error_last()->message, bad[i].want));
	}
	assert_int_equal(csf_config_parse("ok = 1\nsecret_thing = 2", 23, "t.conf", collect, &st), CSF_EPARSE);
	assert_string_equal(csf_error_last()->message, "unknown key 'secret_thing' on line 2");
	assert_int_equal(csf_config_parse_file("/nonexistent/csf.conf", collect, &st), CSF_ENOTFOUND);
	assert_non_null(strstr(csf_error_last()->message, "/nonexistent/csf.conf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_strerror_names_every_code),
		cmocka_unit_test(test_error_last_and_errno),
		cmocka_unit_test(test_error_is_thread_local),
		cmocka_unit_test(test_log_callback_and_levels),
		cmocka_unit_test(test_allocator_is_pluggable),
		cmocka_unit_test(test_calloc_overflow),
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_buf_printf_grows),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_json_writer),
		cmocka_unit_test(test_config_parse),
		cmocka_unit_test(test_config_errors_name_the_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
