/*
 * store: the SQL interface (db.h), migrations, partitions and the public
 * csf_store, on SQLite (a file in a temp dir) or, with
 * CSF_TEST_DB=postgresql, on the cluster of the tests/pg fixture
 * (CSF_TEST_PG_DIR holds its url; CSF_TEST_PG_SCRIPT restarts it). Every
 * test gets an empty database: a new SQLite file, or on PostgreSQL a new
 * public schema in a database of its own (csf_unit_store).
 */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <csf/csf.h>

#include "store/db.h"
#include "csf_check.h"
#include "failalloc.h"

#define DAY_MS INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)

static int pg;                  /* this run is on PostgreSQL */
static char pg_admin_url[512];  /* the fixture's database csf */
static char pg_url[512];        /* csf_unit_store, this binary's own */
static char tmpdir[64];
static char url[600];           /* the current test's database */
static int sqlite_files;


static int newest(void)
{
	return csf__migrations[csf__migrations_count - 1].version;
}

static void exec_ok(csf__db *db, const char *sql)
{
	OK(csf__db_exec(db, sql));
}

/* The one integer a static query returns. */
static int64_t query_i64(csf__db *db, const char *sql)
{
	csf__stmt *st;
	int64_t v;

	OK(csf__db_stmt(db, &st, sql));
	if (csf__db_step(st) != 1)
		fail_msg("%s returned no row (%s)", sql, csf_error_last()->message);
	v = csf__db_col_i64(st, 0);
	OK(csf__db_run(st));
	return v;
}

static int64_t query_text_i64(csf__db *db, const char *sql, const char *arg)
{
	csf__stmt *st;
	int64_t v;

	OK(csf__db_stmt(db, &st, sql));
	OK(csf__db_bind_text(st, 1, arg));
	if (csf__db_step(st) != 1)
		fail_msg("%s returned no row (%s)", sql, csf_error_last()->message);
	v = csf__db_col_i64(st, 0);
	OK(csf__db_run(st));
	return v;
}

static void migrate_ok(csf__db *db)
{
	OK(csf__db_migrate(db, NULL, NULL));
}

static void insert_org(csf__db *db, const char *id, const char *name)
{
	static const char sql[] = "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)";
	csf__stmt *st;

	OK(csf__db_stmt(db, &st, sql));
	OK(csf__db_bind_text(st, 1, id));
	OK(csf__db_bind_text(st, 2, name));
	OK(csf__db_bind_i64(st, 3, 1700000000000));
	OK(csf__db_run(st));
	assert_int_equal(csf__db_changes(st), 1);
}

static int try_insert_org(csf__db *db, const char *id, const char *name)
{
	static const char sql[] = "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)";
	csf__stmt *st;
	int rc = csf__db_stmt(db, &st, sql);

	if (!rc)
		rc = csf__db_bind_text(st, 1, id);
	if (!rc)
		rc = csf__db_bind_text(st, 2, name);
	if (!rc)
		rc = csf__db_bind_i64(st, 3, 1700000000000);
	return rc ? rc : csf__db_run(st);
}

static int64_t count_orgs(csf__db *db)
{
	return query_i64(db, "SELECT count(*) FROM organizations");
}

/* ----------------------------------------------------------- fixtures */

static void read_line(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(out, (int)cap, f))
		fail_msg("cannot read %s", path);
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
}

static int group_setup(void **state)
{
	const char *kind = getenv("CSF_TEST_DB");

	(void)state;
	strcpy(tmpdir, "/tmp/csf-store-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	pg = kind && strcmp(kind, "postgresql") == 0;
	if (pg) {
		const char *dir = getenv("CSF_TEST_PG_DIR");
		char path[512];
		csf__db *db;
		char *slash;

		if (!dir)
			return -1;
		snprintf(path, sizeof(path), "%s/url", dir);
		read_line(path, pg_admin_url, sizeof(pg_admin_url));
		if (csf__db_open(&db, pg_admin_url) ||
		    csf__db_exec(db, "DROP DATABASE IF EXISTS csf_unit_store WITH (FORCE)") ||
		    csf__db_exec(db, "CREATE DATABASE csf_unit_store")) {
			fprintf(stderr, "store_test: %s\n", csf_error_last()->message);
			return -1;
		}
		csf__db_close(db);
		strcpy(pg_url, pg_admin_url);
		slash = strrchr(pg_url, '/');
		strcpy(slash + 1, "csf_unit_store");
	}
	printf("store tests on %s\n", pg ? "PostgreSQL" : "SQLite");
	return 0;
}

static int group_teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	(void)state;
	while (d && (e = readdir(d)) != NULL) {
		char path[512];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	if (pg) {
		csf__db *db;

		if (csf__db_open(&db, pg_admin_url) == 0) {
			csf__db_exec(db, "DROP DATABASE IF EXISTS csf_unit_store WITH (FORCE)");
			csf__db_close(db);
		}
	}
	return 0;
}

/* A new empty database in `url`. */
static int fresh_database(void)
{
	if (pg) {
		csf__db *db;
		int rc;

		strcpy(url, pg_url);
		rc = csf__db_open(&db, url);
		if (!rc)
			rc = csf__db_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
		if (rc)
			fprintf(stderr, "store_test: %s\n", csf_error_last()->message);
		csf__db_close(db);
		return rc;
	}
	snprintf(url, sizeof(url), "sqlite:%s/t%d.db", tmpdir, ++sqlite_files);
	return 0;
}

static int setup(void **state)
{
	csf__db *db = NULL;

	if (fresh_database() || csf__db_open(&db, url)) {
		fprintf(stderr, "store_test: %s\n", csf_error_last()->message);
		return -1;
	}
	*state = db;
	return 0;
}

static int teardown(void **state)
{
	csf__db_close(*state);
	return 0;
}

/* ------------------------------------------------------------- open */

static void test_open_close(void **state)
{
	csf__db *db = *state, *other = NULL;

	assert_int_equal(csf__db_kind_of(db), pg ? CSF__DB_POSTGRES : CSF__DB_SQLITE);
	OK(csf__db_ping(db));
	/* a second connection to the same database */
	if (pg) {
		char alt[600];

		snprintf(alt, sizeof(alt), "postgres://%s", url + strlen("postgresql://"));
		OK(csf__db_open(&other, alt));
	} else {
		OK(csf__db_open(&other, url));
	}
	OK(csf__db_ping(other));
	csf__db_close(other);
	csf__db_close(NULL);
}

static void expect_open_fails(int code, const char *bad_url, const char *want, const char *secret)
{
	csf__db *db = (csf__db *)&db;
	const char *msg;
	int rc = csf__db_open(&db, bad_url);

	msg = csf_error_last()->message;
	if (rc != code)
		fail_msg("open %s -> %d, wanted %d (%s)", bad_url ? bad_url : "NULL", rc, code, msg);
	assert_null(db);
	if (want && !strstr(msg, want))
		fail_msg("open %s: \"%s\" does not say \"%s\"", bad_url, msg, want);
	if (secret && strstr(msg, secret))
		fail_msg("open %s: \"%s\" shows the password", bad_url, msg);
}

static void test_bad_urls(void **state)
{
	char path[128], bad[600];
	csf__db *db = NULL;
	FILE *f;

	(void)state;
	expect_open_fails(CSF_EINVALID, NULL, NULL, NULL);
	expect_open_fails(CSF_EINVALID, "", "scheme", NULL);
	expect_open_fails(CSF_EINVALID, "mysql://root:hunter2@db/csf", "\"mysql\"", "hunter2");
	expect_open_fails(CSF_EINVALID, "sqlite:", "path", NULL);
	expect_open_fails(CSF_EIO, "sqlite:/nonexistent-dir/a/b.db", "/nonexistent-dir/a/b.db", NULL);
	snprintf(path, sizeof(path), "%s/not-a-database", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is a text file, long enough to fill a SQLite header......................\n"
	      "and more text so that the file is bigger than one page? no, a header is enough\n", f);
	fclose(f);
	snprintf(bad, sizeof(bad), "sqlite:%s", path);
	expect_open_fails(CSF_EIO, bad, "not a database", NULL);

	/* nothing listens on port 1 */
	expect_open_fails(CSF_EIO, "postgresql://csf:s3cr3t-pw@127.0.0.1:1/csf", "connect", "s3cr3t-pw");
	expect_open_fails(CSF_EINVALID, "postgresql://csf:s3cr3t-pw@[::1/csf", "URL", "s3cr3t-pw");
	expect_open_fails(CSF_EINVALID, "postgresql://csf:s3cr3t-pw@127.0.0.1:1/csf?nosuchoption=1",
			  NULL, "s3cr3t-pw");
	/* malformed: libpq reads a password with a raw '/' differently */
	assert_int_not_equal(csf__db_open(&db, "postgresql://csf:ab/s3cr3t-pw@127.0.0.1:1/csf"), 0);
	if (strstr(csf_error_last()->message, "s3cr3t-pw"))
		fail_msg("\"%s\" shows the password", csf_error_last()->message);
	assert_int_not_equal(csf__db_open(&db, "postgresql://csf:s3cr3t-pw@127.0.0.1:notaport/csf"), 0);
	if (strstr(csf_error_last()->message, "s3cr3t-pw"))
		fail_msg("\"%s\" shows the password", csf_error_last()->message);

	if (pg) {
		/* the fixture's server, a wrong password */
		const char *at = strchr(url + strlen("postgresql://"), '@');

		snprintf(bad, sizeof(bad), "postgresql://csf:wr0ng-pa55word%s", at);
		expect_open_fails(CSF_EIO, bad, "password authentication failed", "wr0ng-pa55word");
	}
}

/* -------------------------------------------------------- migrations */

static void test_migrate_from_empty(void **state)
{
	csf__db *db = *state;
	int version = -1, from = -1, to = -1;

	OK(csf__db_schema_version(db, &version));
	assert_int_equal(version, 0);
	OK(csf__db_migrate(db, &from, &to));
	assert_int_equal(from, 0);
	assert_int_equal(to, newest());
	OK(csf__db_schema_version(db, &version));
	assert_int_equal(version, newest());
	assert_int_equal(query_i64(db, "SELECT count(*) FROM schema_migrations"),
			 (int64_t)csf__migrations_count);
	assert_true(query_i64(db, "SELECT MIN(applied_at) FROM schema_migrations") > 1700000000000);
}

static void test_migrate_again_is_a_noop(void **state)
{
	csf__db *db = *state;
	int from = -1, to = -1;

	migrate_ok(db);
	insert_org(db, "o1", "one");
	OK(csf__db_migrate(db, &from, &to));
	assert_int_equal(from, newest());
	assert_int_equal(to, newest());
	assert_int_equal(query_i64(db, "SELECT count(*) FROM schema_migrations"),
			 (int64_t)csf__migrations_count);
	assert_int_equal(count_orgs(db), 1);
}

static void test_newer_database_refused(void **state)
{
	static const char future[] =
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'from the future', 0)";
	csf__db *db = *state;
	csf_store *s = NULL;
	csf__stmt *st;
	int version = 0, from = -1;

	migrate_ok(db);
	OK(csf__db_stmt(db, &st, future));
	OK(csf__db_bind_i64(st, 1, newest() + 1));
	OK(csf__db_run(st));
	FAILS(CSF_EUNSUPPORTED, csf__db_migrate(db, &from, NULL));
	assert_non_null(strstr(csf_error_last()->message, "newer"));
	assert_int_equal(from, -1);
	OK(csf__db_schema_version(db, &version));
	assert_int_equal(version, newest() + 1);
	/* no transaction was left open */
	OK(csf__db_begin(db));
	OK(csf__db_rollback(db));

	OK(csf_store_open(&s, url));
	FAILS(CSF_EUNSUPPORTED, csf_store_migrate(s, NULL, NULL));
	csf_store_close(s);
}

/* Servers starting together on one database take turns. */
struct migrate_thread {
	csf__db *db;
	int rc, from, to;
	char message[512];
};

static void *migrate_in_thread(void *arg)
{
	struct migrate_thread *t = arg;

	t->rc = csf__db_migrate(t->db, &t->from, &t->to);
	snprintf(t->message, sizeof(t->message), "%s", csf_error_last()->message);
	return NULL;
}

static void test_concurrent_migrations(void **state)
{
	struct migrate_thread t[4];
	pthread_t tid[4];
	int i, fresh = 0;

	memset(t, 0, sizeof(t));
	t[0].db = *state;
	for (i = 1; i < 4; i++)
		OK(csf__db_open(&t[i].db, url));
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, migrate_in_thread, &t[i]), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	for (i = 0; i < 4; i++) {
		if (t[i].rc)
			fail_msg("thread %d: %d (%s)", i, t[i].rc, t[i].message);
		assert_int_equal(t[i].to, newest());
		fresh += t[i].from == 0;
	}
	assert_int_equal(fresh, 1);
	assert_int_equal(query_i64(t[0].db, "SELECT count(*) FROM schema_migrations"),
			 (int64_t)csf__migrations_count);
	for (i = 1; i < 4; i++)
		csf__db_close(t[i].db);
}

/* ------------------------------------------------------------ tables */

/*
 * One row in every table, every column set, read back. Values are
 * "t:text", "j:json" (jsonb's canonical text, so it comes back the same),
 * "i:integer", "d:double", "n:" (NULL).
 */
typedef struct table_case {
	const char *insert_sql;
	const char *select_sql;
	const char *values[20];
} table_case;

static const table_case tables[] = {
	{ "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)",
	  "SELECT id, name, created_at FROM organizations",
	  { "t:org1", "t:Org One", "i:1700000000000" } },
	{ "INSERT INTO users (id, organization_id, username, password_hash, role, disabled, created_at,"
	  " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	  "SELECT id, organization_id, username, password_hash, role, disabled, created_at, updated_at"
	  " FROM users",
	  { "t:u1", "t:org1", "t:alice", "t:$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "t:admin",
	    "i:1", "i:1700000000001", "i:1700000000002" } },
	{ "INSERT INTO sessions (token_sha256, user_id, organization_id, created_at, expires_at,"
	  " last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)",
	  "SELECT token_sha256, user_id, organization_id, created_at, expires_at, last_seen_at"
	  " FROM sessions",
	  { "t:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "t:u1", "t:org1",
	    "i:1700000000003", "i:1700000086400", "n:" } },
	{ "INSERT INTO api_keys (id, organization_id, name, key_sha256, role, created_by, created_at,"
	  " last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	  "SELECT id, organization_id, name, key_sha256, role, created_by, created_at, last_used_at,"
	  " revoked_at FROM api_keys",
	  { "t:k1", "t:org1", "t:ci", "t:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
	    "t:operator", "t:u1", "i:1700000000004", "i:1700000000005", "n:" } },
	{ "INSERT INTO enrollment_tokens (id, organization_id, secret_sha256, description, created_by,"
	  " created_at, expires_at, uses_left, uses, revoked_at)"
	  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
	  "SELECT id, organization_id, secret_sha256, description, created_by, created_at, expires_at,"
	  " uses_left, uses, revoked_at FROM enrollment_tokens",
	  { "t:e1", "t:org1", "t:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
	    "t:rack 12", "t:u1", "i:1700000000006", "i:1700001800006", "i:3", "i:0", "n:" } },
	{ "INSERT INTO agents (id, organization_id, name, hostname, ip_address, agent_version, os_type,"
	  " os_version, architecture, status, last_heartbeat, registered_at, updated_at, tags,"
	  " capabilities, revoked_at)"
	  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
	  "SELECT id, organization_id, name, hostname, ip_address, agent_version, os_type, os_version,"
	  " architecture, status, last_heartbeat, registered_at, updated_at, tags, capabilities,"
	  " revoked_at FROM agents",
	  { "t:a1", "t:org1", "t:web-1", "t:web-1.example.net", "t:192.0.2.7", "t:0.1.0", "t:linux",
	    "t:12", "t:x86_64", "t:online", "i:1700000000010", "i:1700000000007", "i:1700000000008",
	    "j:{\"env\": \"prod\", \"rack\": \"12\"}", "j:[\"docker\", \"systemd\"]", "n:" } },
	{ "INSERT INTO agent_certificates (serial, agent_id, organization_id, sha256, issued_at,"
	  " expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	  "SELECT serial, agent_id, organization_id, sha256, issued_at, expires_at, revoked_at"
	  " FROM agent_certificates",
	  { "t:5f1c0e6b9d0a4c2e8f7a6b5c4d3e2f10", "t:a1", "t:org1",
	    "t:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", "i:1700000000009",
	    "i:1700086400009", "i:1700000000100" } },
	{ "INSERT INTO agent_streams (agent_id, boot_id, acked_seq, updated_at) VALUES ($1, $2, $3, $4)",
	  "SELECT agent_id, boot_id, acked_seq, updated_at FROM agent_streams",
	  { "t:a1", "t:b7e3c1a0-1f2e-4d5c-9b8a-7f6e5d4c3b2a", "i:9007199254740993", "i:1700000000011" } },
	{ "INSERT INTO agent_metrics (agent_id, organization_id, \"timestamp\", boot_id, seq,"
	  " cpu_usage_percent, memory_total_bytes, memory_used_bytes, disk_total_bytes, disk_used_bytes,"
	  " network_rx_bytes, network_tx_bytes, custom_metrics)"
	  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
	  "SELECT agent_id, organization_id, \"timestamp\", boot_id, seq, cpu_usage_percent,"
	  " memory_total_bytes, memory_used_bytes, disk_total_bytes, disk_used_bytes, network_rx_bytes,"
	  " network_tx_bytes, custom_metrics FROM agent_metrics",
	  { "t:a1", "t:org1", "i:1700000000012", "t:boot", "i:42", "d:12.75", "i:17179869184",
	    "i:8589934592", "i:512110190592", "i:256055095296", "i:123456789012", "i:98765432109",
	    "j:{\"queue.depth\": 3}" } },
	{ "INSERT INTO agent_metrics_1m (agent_id, organization_id, bucket, samples, cpu_avg, cpu_max,"
	  " mem_used_avg, mem_used_max, mem_total_max, disk_used_avg, disk_used_max, disk_total_max,"
	  " net_rx_max, net_tx_max) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
	  "SELECT agent_id, organization_id, bucket, samples, cpu_avg, cpu_max, mem_used_avg,"
	  " mem_used_max, mem_total_max, disk_used_avg, disk_used_max, disk_total_max, net_rx_max,"
	  " net_tx_max FROM agent_metrics_1m",
	  { "t:a1", "t:org1", "i:1699999980000", "i:4", "d:10.5", "d:33.25", "d:8589934592.5",
	    "i:8589934600", "i:17179869184", "d:1000.25", "i:2000", "i:512110190592", "i:300",
	    "i:400" } },
	{ "INSERT INTO agent_metrics_1h (agent_id, organization_id, bucket, samples, cpu_avg, cpu_max,"
	  " mem_used_avg, mem_used_max, mem_total_max, disk_used_avg, disk_used_max, disk_total_max,"
	  " net_rx_max, net_tx_max) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
	  "SELECT agent_id, organization_id, bucket, samples, cpu_avg, cpu_max, mem_used_avg,"
	  " mem_used_max, mem_total_max, disk_used_avg, disk_used_max, disk_total_max, net_rx_max,"
	  " net_tx_max FROM agent_metrics_1h",
	  { "t:a1", "t:org1", "i:1699999200000", "i:240", "d:11.5", "d:99.5", "d:8589934000.5",
	    "i:8589934700", "i:17179869184", "d:1500.5", "i:2100", "i:512110190592", "i:310",
	    "i:410" } },
	{ "INSERT INTO managed_containers (agent_id, container_id, organization_id, name, image, status,"
	  " created_at, started_at, ports, environment, labels, last_seen)"
	  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
	  "SELECT agent_id, container_id, organization_id, name, image, status, created_at, started_at,"
	  " ports, environment, labels, last_seen FROM managed_containers",
	  { "t:a1", "t:3f4e5d6c7b8a", "t:org1", "t:nginx", "t:nginx:1.25", "t:running",
	    "i:1700000000013", "i:1700000000014", "j:[{\"host\": 8080, \"container\": 80}]",
	    "j:[\"A=1\", \"B=2\"]", "j:{\"app\": \"web\"}", "i:1700000000015" } },
	{ "INSERT INTO agent_tasks (id, organization_id, agent_id, task_type, payload, status, created_by,"
	  " created_at, started_at, completed_at, result, error)"
	  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
	  "SELECT id, organization_id, agent_id, task_type, payload, status, created_by, created_at,"
	  " started_at, completed_at, result, error FROM agent_tasks",
	  { "t:t1", "t:org1", "t:a1", "t:restart", "j:{\"container\": \"nginx\"}", "t:failed", "t:u1",
	    "i:1700000000016", "i:1700000000017", "i:1700000000018", "j:{\"exit\": 1}",
	    "t:container not found" } },
	{ "INSERT INTO agent_logs (organization_id, agent_id, level, message, source, context,"
	  " \"timestamp\") VALUES ($1, $2, $3, $4, $5, $6, $7)",
	  "SELECT organization_id, agent_id, level, message, source, context, \"timestamp\""
	  " FROM agent_logs",
	  { "t:org1", "t:a1", "t:warn", "t:disk almost full ✓", "t:collector",
	    "j:{\"mount\": \"/var\"}", "i:1700000000019" } },
	{ "INSERT INTO audit_log (id, organization_id, actor, action, target, details, created_at)"
	  " VALUES ($1, $2, $3, $4, $5, $6, $7)",
	  "SELECT id, organization_id, actor, action, target, details, created_at FROM audit_log",
	  { "t:au1", "t:org1", "t:user:u1", "t:agent.revoke", "t:agent:a1", "j:{\"reason\": \"stolen\"}",
	    "i:1700000000020" } },
};

static void bind_value(csf__stmt *st, int i, const char *v)
{
	switch (v[0]) {
	case 't':
	case 'j':
		OK(csf__db_bind_text(st, i, v + 2));
		break;
	case 'i':
		OK(csf__db_bind_i64(st, i, strtoll(v + 2, NULL, 10)));
		break;
	case 'd':
		OK(csf__db_bind_double(st, i, strtod(v + 2, NULL)));
		break;
	default:
		OK(csf__db_bind_null(st, i));
	}
}

static void check_value(csf__stmt *st, int i, const char *v, const char *sql)
{
	int null = csf__db_col_null(st, i);

	if ((v[0] == 'n') != null)
		fail_msg("%s: column %d is %sNULL", sql, i, null ? "" : "not ");
	switch (v[0]) {
	case 't':
	case 'j':
		if (strcmp(csf__db_col_text(st, i), v + 2) != 0)
			fail_msg("%s: column %d is \"%s\", wanted \"%s\"", sql, i, csf__db_col_text(st, i),
				 v + 2);
		break;
	case 'i':
		if (csf__db_col_i64(st, i) != strtoll(v + 2, NULL, 10))
			fail_msg("%s: column %d is %" PRId64 ", wanted %s", sql, i, csf__db_col_i64(st, i),
				 v + 2);
		break;
	case 'd':
		if (csf__db_col_double(st, i) != strtod(v + 2, NULL))
			fail_msg("%s: column %d is %.17g, wanted %s", sql, i, csf__db_col_double(st, i),
				 v + 2);
		break;
	}
}

static void test_every_table_and_column(void **state)
{
	csf__db *db = *state;
	size_t t;

	migrate_ok(db);
	for (t = 0; t < CSF__ARRAY_SIZE(tables); t++) {
		const table_case *c = &tables[t];
		csf__stmt *st;
		int i, n;

		OK(csf__db_stmt(db, &st, c->insert_sql));
		for (n = 0; c->values[n]; n++)
			bind_value(st, n + 1, c->values[n]);
		OK(csf__db_run(st));
		assert_int_equal(csf__db_changes(st), 1);
		OK(csf__db_stmt(db, &st, c->select_sql));
		assert_int_equal(csf__db_step(st), 1);
		for (i = 0; i < n; i++)
			check_value(st, i, c->values[i], c->select_sql);
		assert_int_equal(csf__db_step(st), 0);
	}
	assert_true(query_i64(db, "SELECT id FROM agent_logs") > 0);

	/* defaults */
	exec_ok(db, "INSERT INTO agents (id, organization_id, name, registered_at, updated_at)"
		    " VALUES ('a2', 'org1', 'bare', 1, 1)");
	assert_int_equal(query_i64(db, "SELECT count(*) FROM agents WHERE id = 'a2' AND status = 'offline'"
				       " AND tags = '{}' AND capabilities = '[]'"),
			 1);
	exec_ok(db, "INSERT INTO users (id, organization_id, username, password_hash, role, created_at,"
		    " updated_at) VALUES ('u2', 'org1', 'bob', 'x', 'viewer', 1, 1)");
	assert_int_equal(query_i64(db, "SELECT disabled FROM users WHERE id = 'u2'"), 0);
	exec_ok(db, "INSERT INTO agent_tasks (id, organization_id, agent_id, task_type, created_at)"
		    " VALUES ('t2', 'org1', 'a1', 'deploy', 1)");
	assert_int_equal(query_i64(db, "SELECT count(*) FROM agent_tasks WHERE status = 'pending'"), 1);

	/* cascades: a user's sessions, an agent's certificates */
	exec_ok(db, "DELETE FROM users WHERE id = 'u1'");
	assert_int_equal(query_i64(db, "SELECT count(*) FROM sessions"), 0);
	exec_ok(db, "DELETE FROM agents WHERE id = 'a1'");
	assert_int_equal(query_i64(db, "SELECT count(*) FROM agent_certificates"), 0);

	/* the audit log is append-only */
	FAILS(CSF_EINVALID, csf__db_exec(db, "UPDATE audit_log SET actor = 'someone else'"));
	assert_non_null(strstr(csf_error_last()->message, "append-only"));
}

/* ----------------------------------------------------------- binding */

static void test_bind_every_type(void **state)
{
	static const char insert[] = "INSERT INTO t_types (k, i, d, s, b) VALUES ($1, $2, $3, $4, $5)";
	static const char select[] = "SELECT k, i, d, s, b FROM t_types ORDER BY k";
	static const char literal[] = "SELECT '$1', $1, '?1' -- $2\n";
	static const uint8_t nuls[] = { 0, 1, 0, 255, '\\', 'x', 0 };
	static const char utf8[] = "h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80";
	static const char quotes[] = "quote ' \" \\ $1 ?1 -- /* */";
	csf__db *db = *state;
	uint8_t all[256];
	csf__stmt *st;
	const uint8_t *b;
	size_t len;
	int i;

	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	exec_ok(db, pg ? "CREATE TABLE t_types (k INTEGER PRIMARY KEY, i BIGINT, d DOUBLE PRECISION,"
			 " s TEXT, b BYTEA)"
		       : "CREATE TABLE t_types (k INTEGER PRIMARY KEY, i BIGINT, d DOUBLE PRECISION,"
			 " s TEXT, b BLOB)");
	OK(csf__db_stmt(db, &st, insert));
	OK(csf__db_bind_i64(st, 1, 1));
	OK(csf__db_bind_i64(st, 2, INT64_MAX));
	OK(csf__db_bind_double(st, 3, 0.1));
	OK(csf__db_bind_text(st, 4, ""));
	OK(csf__db_bind_blob(st, 5, NULL, 0));
	OK(csf__db_run(st));
	/* the same statement again: bindings are replaced, no reset needed */
	OK(csf__db_bind_i64(st, 1, 2));
	OK(csf__db_bind_i64(st, 2, INT64_MIN));
	OK(csf__db_bind_double(st, 3, -1e300));
	OK(csf__db_bind_text(st, 4, utf8));
	OK(csf__db_bind_blob(st, 5, nuls, sizeof(nuls)));
	OK(csf__db_run(st));
	OK(csf__db_stmt(db, &st, insert)); /* cleared: what is not bound is NULL */
	OK(csf__db_bind_i64(st, 1, 3));
	OK(csf__db_bind_null(st, 2));
	OK(csf__db_bind_text(st, 4, NULL));
	OK(csf__db_run(st));
	OK(csf__db_stmt(db, &st, insert));
	OK(csf__db_bind_i64(st, 1, 4));
	OK(csf__db_bind_i64(st, 2, -1));
	OK(csf__db_bind_double(st, 3, 1.0 / 3.0));
	OK(csf__db_bind_text(st, 4, quotes));
	OK(csf__db_bind_blob(st, 5, all, sizeof(all)));
	OK(csf__db_run(st));
	OK(csf__db_stmt(db, &st, insert));
	OK(csf__db_bind_i64(st, 1, 5));
	OK(csf__db_bind_double(st, 3, INFINITY));
	OK(csf__db_run(st));

	FAILS(CSF_EINVALID, csf__db_bind_i64(st, 6, 1));
	FAILS(CSF_EINVALID, csf__db_bind_i64(st, 0, 1));
	FAILS(CSF_EINVALID, csf__db_bind_blob(st, 1, NULL, 3));

	OK(csf__db_stmt(db, &st, select));
	assert_int_equal(csf__db_step(st), 1);
	assert_int_equal(csf__db_col_i64(st, 1), INT64_MAX);
	assert_true(csf__db_col_double(st, 2) == 0.1);
	assert_false(csf__db_col_null(st, 3));
	assert_string_equal(csf__db_col_text(st, 3), "");
	assert_false(csf__db_col_null(st, 4));
	b = csf__db_col_blob(st, 4, &len);
	assert_non_null(b);
	assert_int_equal(len, 0);

	assert_int_equal(csf__db_step(st), 1);
	assert_int_equal(csf__db_col_i64(st, 1), INT64_MIN);
	assert_true(csf__db_col_double(st, 2) == -1e300);
	assert_string_equal(csf__db_col_text(st, 3), utf8);
	b = csf__db_col_blob(st, 4, &len);
	assert_int_equal(len, sizeof(nuls));
	assert_memory_equal(b, nuls, sizeof(nuls));
	b = csf__db_col_blob(st, 4, &len); /* twice: the same bytes */
	assert_int_equal(len, sizeof(nuls));
	assert_memory_equal(b, nuls, sizeof(nuls));

	assert_int_equal(csf__db_step(st), 1);
	for (i = 1; i <= 4; i++)
		assert_true(csf__db_col_null(st, i));
	assert_int_equal(csf__db_col_i64(st, 1), 0);
	assert_true(csf__db_col_double(st, 2) == 0.0);
	assert_string_equal(csf__db_col_text(st, 3), "");
	b = csf__db_col_blob(st, 4, &len);
	assert_non_null(b);
	assert_int_equal(len, 0);

	assert_int_equal(csf__db_step(st), 1);
	assert_int_equal(csf__db_col_i64(st, 1), -1);
	assert_true(csf__db_col_double(st, 2) == 1.0 / 3.0);
	assert_string_equal(csf__db_col_text(st, 3), quotes);
	b = csf__db_col_blob(st, 4, &len);
	assert_int_equal(len, sizeof(all));
	assert_memory_equal(b, all, sizeof(all));

	assert_int_equal(csf__db_step(st), 1);
	assert_true(isinf(csf__db_col_double(st, 2)) && csf__db_col_double(st, 2) > 0);
	/* columns past the end read as NULL */
	assert_true(csf__db_col_null(st, 9));
	assert_string_equal(csf__db_col_text(st, 9), "");

	assert_int_equal(csf__db_step(st), 0);
	assert_int_equal(csf__db_step(st), 0); /* done stays done */
	assert_string_equal(csf__db_col_text(st, 0), "");

	/* placeholders inside literals and comments are not parameters */
	OK(csf__db_stmt(db, &st, literal));
	OK(csf__db_bind_text(st, 1, "x"));
	assert_int_equal(csf__db_step(st), 1);
	assert_string_equal(csf__db_col_text(st, 0), "$1");
	assert_string_equal(csf__db_col_text(st, 1), "x");
	assert_string_equal(csf__db_col_text(st, 2), "?1");
	OK(csf__db_run(st));
	FAILS(CSF_EINVALID, csf__db_bind_text(st, 2, "y"));
}

/* ------------------------------------------------------------ errors */

static void test_constraint_errors(void **state)
{
	static const char add_user[] =
		"INSERT INTO users (id, organization_id, username, password_hash, role, created_at,"
		" updated_at) VALUES ($1, $2, $3, 'x', $4, 1, 1)";
	static const char add_key[] =
		"INSERT INTO api_keys (id, organization_id, name, key_sha256, role, created_at)"
		" VALUES ($1, 'org1', 'k', $2, 'viewer', 1)";
	static const char secret_hash[] = "d1f00d5ec2e7aaaaaaaabbbbbbbbccccccccddddddddeeeeeeeeffffffff0000";
	csf__db *db = *state;
	csf__stmt *st;

	migrate_ok(db);
	insert_org(db, "org1", "one");
	FAILS(CSF_EEXISTS, try_insert_org(db, "org2", "one"));
	assert_non_null(strstr(csf_error_last()->message, "organizations"));
	FAILS(CSF_EEXISTS, try_insert_org(db, "org1", "other name"));
	assert_int_equal(count_orgs(db), 1);

	OK(csf__db_stmt(db, &st, add_user));
	OK(csf__db_bind_text(st, 1, "u1"));
	OK(csf__db_bind_text(st, 2, "org1"));
	OK(csf__db_bind_text(st, 3, "alice"));
	OK(csf__db_bind_text(st, 4, "root")); /* CHECK (role IN ...) */
	FAILS(CSF_EINVALID, csf__db_run(st));
	OK(csf__db_stmt(db, &st, add_user));
	OK(csf__db_bind_text(st, 1, "u1"));
	OK(csf__db_bind_text(st, 2, "no-such-org")); /* foreign key */
	OK(csf__db_bind_text(st, 3, "alice"));
	OK(csf__db_bind_text(st, 4, "admin"));
	FAILS(CSF_EINVALID, csf__db_run(st));
	OK(csf__db_stmt(db, &st, add_user));
	OK(csf__db_bind_text(st, 1, "u1"));
	OK(csf__db_bind_text(st, 2, "org1"));
	OK(csf__db_bind_null(st, 3)); /* NOT NULL */
	OK(csf__db_bind_text(st, 4, "admin"));
	FAILS(CSF_EINVALID, csf__db_run(st));

	/* the message names the constraint, never the value */
	OK(csf__db_stmt(db, &st, add_key));
	OK(csf__db_bind_text(st, 1, "k1"));
	OK(csf__db_bind_text(st, 2, secret_hash));
	OK(csf__db_run(st));
	OK(csf__db_stmt(db, &st, add_key));
	OK(csf__db_bind_text(st, 1, "k2"));
	OK(csf__db_bind_text(st, 2, secret_hash));
	FAILS(CSF_EEXISTS, csf__db_run(st));
	assert_non_null(strstr(csf_error_last()->message, "api_keys"));
	assert_null(strstr(csf_error_last()->message, "d1f00d5e"));

	/* bad SQL */
	FAILS(CSF_EPARSE, csf__db_stmt(db, &st, "SELEKT 1"));
	assert_null(st);
	FAILS(CSF_EPARSE, csf__db_stmt(db, &st, "SELECT nope FROM no_such_table"));
	assert_non_null(strstr(csf_error_last()->message, "no_such_table"));
	FAILS(CSF_EPARSE, csf__db_stmt(db, &st, "SELECT 1; SELECT 2"));
	FAILS(CSF_EPARSE, csf__db_exec(db, "CREATE TABLE ok_one (x INTEGER); CREATE TABEL broken (x)"));
	assert_non_null(strstr(csf_error_last()->message, "TABEL"));
}

static void test_transactions(void **state)
{
	csf__db *db = *state;

	migrate_ok(db);
	/* rollback leaves nothing */
	OK(csf__db_begin(db));
	insert_org(db, "o1", "one");
	exec_ok(db, "INSERT INTO users (id, organization_id, username, password_hash, role, created_at,"
		    " updated_at) VALUES ('u1', 'o1', 'alice', 'x', 'admin', 1, 1)");
	assert_int_equal(count_orgs(db), 1); /* visible inside */
	OK(csf__db_rollback(db));
	assert_int_equal(count_orgs(db), 0);
	assert_int_equal(query_i64(db, "SELECT count(*) FROM users"), 0);

	/* misuse */
	OK(csf__db_begin(db));
	FAILS(CSF_EINVALID, csf__db_begin(db));
	OK(csf__db_rollback(db));
	FAILS(CSF_EINVALID, csf__db_commit(db));
	OK(csf__db_rollback(db)); /* none open: nothing to do */

	/* a failed statement dooms the transaction, on both backends */
	OK(csf__db_begin(db));
	insert_org(db, "o1", "one");
	FAILS(CSF_EEXISTS, try_insert_org(db, "o2", "one"));
	FAILS(CSF_ERROR, csf__db_commit(db));
	assert_non_null(strstr(csf_error_last()->message, "rolled back"));
	assert_int_equal(count_orgs(db), 0);

	/* ON CONFLICT is the portable way to tolerate a duplicate */
	OK(csf__db_begin(db));
	insert_org(db, "o1", "one");
	exec_ok(db, "INSERT INTO organizations (id, name, created_at) VALUES ('o2', 'one', 1)"
		    " ON CONFLICT DO NOTHING");
	OK(csf__db_commit(db));
	assert_int_equal(count_orgs(db), 1);

	/* csf__db_abort keeps the error a cleanup path reports */
	OK(csf__db_begin(db));
	csf__error_set(CSF_ETIMEOUT, "the original failure");
	csf__db_abort(db);
	assert_int_equal(csf_error_last()->code, CSF_ETIMEOUT);
	assert_string_equal(csf_error_last()->message, "the original failure");
	OK(csf__db_begin(db));
	OK(csf__db_commit(db));
}

/* A single-row lookup left part way through its rows must not stop the
 * connection's next write transaction once another connection has written
 * (SQLite: its read snapshot would be stale), nor hide what was written. */
static void test_half_read_statement_and_other_writers(void **state)
{
	static const char q[] = "SELECT id FROM organizations ORDER BY id";
	csf__db *db = *state, *other;
	csf__stmt *st;

	migrate_ok(db);
	insert_org(db, "o1", "one");
	insert_org(db, "o2", "two");
	OK(csf__db_stmt(db, &st, q));
	assert_int_equal(csf__db_step(st), 1); /* o2 not read */
	OK(csf__db_open(&other, url));
	insert_org(other, "o3", "three");
	csf__db_close(other);
	OK(csf__db_begin(db));
	insert_org(db, "o4", "four");
	OK(csf__db_commit(db));
	assert_int_equal(count_orgs(db), 4);
}

/* --------------------------------------------------------- the cache */

static char many_sql[200][32];

static void test_statement_cache(void **state)
{
	static const char q[] = "SELECT 1";
	static const char three[] = "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 ORDER BY 1";
	static const char count_prepared[] = "SELECT count(*) FROM pg_prepared_statements";
	char copy[] = "SELECT 1"; /* the same text at another address */
	csf__stmt *a, *b, *c, *many[200];
	csf__db *db = *state;
	int64_t prepared = 0;
	int i;

	OK(csf__db_stmt(db, &a, q));
	OK(csf__db_stmt(db, &b, q));
	assert_ptr_equal(a, b);
	OK(csf__db_stmt(db, &c, copy));
	assert_ptr_not_equal(a, c);

	/* enough statements to grow the table a few times */
	for (i = 0; i < 200; i++) {
		snprintf(many_sql[i], sizeof(many_sql[i]), "SELECT %d + 1", i);
		OK(csf__db_stmt(db, &many[i], many_sql[i]));
	}
	for (i = 0; i < 200; i++) {
		OK(csf__db_stmt(db, &a, many_sql[i]));
		assert_ptr_equal(a, many[i]);
		assert_int_equal(csf__db_step(a), 1);
		assert_int_equal(csf__db_col_i64(a, 0), i + 1);
		OK(csf__db_run(a));
	}

	/* asking again restarts a statement left in its rows */
	OK(csf__db_stmt(db, &a, three));
	assert_int_equal(csf__db_step(a), 1);
	assert_int_equal(csf__db_step(a), 1);
	assert_int_equal(csf__db_col_i64(a, 0), 2);
	OK(csf__db_stmt(db, &a, three));
	assert_int_equal(csf__db_step(a), 1);
	assert_int_equal(csf__db_col_i64(a, 0), 1);
	csf__db_reset(a);
	assert_int_equal(csf__db_step(a), 1);
	assert_int_equal(csf__db_col_i64(a, 0), 1);
	csf__db_reset(a);

	if (pg) {
		/* prepared once on the server, however often it runs */
		prepared = query_i64(db, count_prepared);
		for (i = 0; i < 10; i++)
			assert_int_equal(query_i64(db, count_prepared), prepared);
		assert_int_equal(prepared, 200 + 4);
	}
}

/* -------------------------------------------------------------- JSON */

static void test_json_columns(void **state)
{
	static const char add[] =
		"INSERT INTO agents (id, organization_id, name, registered_at, updated_at, tags, capabilities)"
		" VALUES ($1, 'o1', 'n', 1, 1, $2, $3)";
	static const char get[] = "SELECT tags, capabilities FROM agents WHERE id = $1";
	/* jsonb's own output form, so it round-trips byte for byte */
	static const char canonical[] =
		"{\"a\": 1, \"b\": [true, false, null, 2.5, \"\xc3\xa9\xe2\x9c\x93\"], \"nested\": {\"k\": \"v\"}}";
	csf__db *db = *state;
	csf__stmt *st;

	migrate_ok(db);
	OK(csf__db_stmt(db, &st, add));
	OK(csf__db_bind_text(st, 1, "a1"));
	OK(csf__db_bind_text(st, 2, canonical));
	OK(csf__db_bind_text(st, 3, "[]"));
	OK(csf__db_run(st));
	OK(csf__db_stmt(db, &st, get));
	OK(csf__db_bind_text(st, 1, "a1"));
	assert_int_equal(csf__db_step(st), 1);
	assert_string_equal(csf__db_col_text(st, 0), canonical);
	assert_string_equal(csf__db_col_text(st, 1), "[]");
	OK(csf__db_run(st));

	/* other spellings: kept as written by SQLite, normalized by JSONB */
	OK(csf__db_stmt(db, &st, add));
	OK(csf__db_bind_text(st, 1, "a2"));
	OK(csf__db_bind_text(st, 2, "{\"b\":1,\"a\":2}"));
	OK(csf__db_bind_text(st, 3, "[ \"x\" ]"));
	OK(csf__db_run(st));
	OK(csf__db_stmt(db, &st, get));
	OK(csf__db_bind_text(st, 1, "a2"));
	assert_int_equal(csf__db_step(st), 1);
	assert_string_equal(csf__db_col_text(st, 0), pg ? "{\"a\": 2, \"b\": 1}" : "{\"b\":1,\"a\":2}");
	assert_string_equal(csf__db_col_text(st, 1), pg ? "[\"x\"]" : "[ \"x\" ]");
	OK(csf__db_run(st));

	/* not JSON: refused by both */
	OK(csf__db_stmt(db, &st, add));
	OK(csf__db_bind_text(st, 1, "a3"));
	OK(csf__db_bind_text(st, 2, "{oops"));
	OK(csf__db_bind_text(st, 3, "[]"));
	FAILS(CSF_EINVALID, csf__db_run(st));
	exec_ok(db, "INSERT INTO agent_metrics (agent_id, organization_id, \"timestamp\", boot_id, seq)"
		    " VALUES ('a1', 'o1', 1, 'b', 1)");
	assert_int_equal(query_i64(db, "SELECT count(*) FROM agent_metrics WHERE custom_metrics IS NULL"), 1);
}

/* --------------------------------------------------------------- COPY */

/* Rows in COPY's text format come back as they were written: text with
 * the characters COPY escapes, a string that reads like its NULL marker,
 * an empty string, doubles at their extremes; a bad row fails the whole
 * COPY and its transaction. SQLite has no COPY. */
static void test_copy(void **state)
{
	static const char copy[] = "COPY copy_t (id, name, v, note) FROM STDIN";
	static const char *const names[] = {
		"plain", "tab\there\nnew\rline back\\slash \\. \xc3\xa9\xe2\x9c\x93", "", "\\N"
	};
	static const double values[] = { 1.5, -1e300, 5e-324, 0.1 };
	static const char first[] = "0\tplain\t1.5\t\\N\n", last_start[] = "-9223372036854775808\t\\\\N\t";
	const char *last;
	csf__db *db = *state;
	csf__buf b = CSF__BUF_INIT(1u << 16);
	csf__stmt *st;
	int64_t rows = -1;
	int i;

	exec_ok(db, "CREATE TABLE copy_t (id BIGINT PRIMARY KEY, name TEXT, v DOUBLE PRECISION, note TEXT)");
	FAILS(CSF_EINVALID, csf__db_copy_end_row(&b));
	for (i = 0; i < 4; i++) {
		OK(csf__db_copy_i64(&b, i == 3 ? INT64_MIN : i));
		OK(csf__db_copy_text(&b, names[i]));
		OK(csf__db_copy_double(&b, values[i]));
		OK(csf__db_copy_text(&b, i ? "note" : NULL));
		OK(csf__db_copy_end_row(&b));
	}
	/* the text PostgreSQL parses: the first row whole, the start of the last */
	assert_true(b.len > sizeof(first) && memcmp(b.ptr, first, sizeof(first) - 1) == 0);
	for (last = b.ptr + b.len - 1; last > b.ptr && last[-1] != '\n'; last--)
		;
	assert_memory_equal(last, last_start, sizeof(last_start) - 1);
	if (!pg) {
		OK(csf__db_begin(db));
		FAILS(CSF_EUNSUPPORTED, csf__db_copy(db, copy, b.ptr, b.len, &rows));
		OK(csf__db_rollback(db));
		csf__buf_free(&b);
		return;
	}
	FAILS(CSF_EINVALID, csf__db_copy(db, copy, b.ptr, b.len, &rows));
	OK(csf__db_begin(db));
	OK(csf__db_copy(db, copy, b.ptr, b.len, &rows));
	assert_int_equal(rows, 4);
	OK(csf__db_commit(db));
	OK(csf__db_stmt(db, &st, "SELECT id, name, v, note FROM copy_t ORDER BY id DESC"));
	for (i = 0; i < 4; i++) {
		int k = i < 3 ? 2 - i : 3; /* ids 2, 1, 0, then INT64_MIN */

		assert_int_equal(csf__db_step(st), 1);
		assert_int_equal(csf__db_col_i64(st, 0), k == 3 ? INT64_MIN : k);
		assert_string_equal(csf__db_col_text(st, 1), names[k]);
		assert_true(csf__db_col_double(st, 2) == values[k]);
		assert_int_equal(csf__db_col_null(st, 3), k == 0);
	}
	OK(csf__db_run(st));

	/* a bad value: nothing of the COPY stays, the transaction is lost */
	csf__buf_clear(&b);
	OK(csf__db_copy_i64(&b, 10));
	OK(csf__db_copy_text(&b, "ok"));
	OK(csf__db_copy_double(&b, 1));
	OK(csf__db_copy_text(&b, NULL));
	OK(csf__db_copy_end_row(&b));
	OK(csf__db_copy_text(&b, "eleven"));
	OK(csf__db_copy_text(&b, "bad"));
	OK(csf__db_copy_double(&b, 1));
	OK(csf__db_copy_text(&b, NULL));
	OK(csf__db_copy_end_row(&b));
	OK(csf__db_begin(db));
	FAILS(CSF_EINVALID, csf__db_copy(db, copy, b.ptr, b.len, &rows));
	assert_non_null(strstr(csf_error_last()->message, "COPY copy_t"));
	FAILS(CSF_ERROR, csf__db_commit(db));
	assert_int_equal(query_i64(db, "SELECT count(*) FROM copy_t"), 4);
	csf__buf_free(&b);
}

/* -------------------------------------------------------- partitions */

static const int64_t day0 = INT64_C(1709251200000); /* 2024-03-01T00:00:00Z */

static void add_sample(csf__db *db, int64_t ts)
{
	static const char sql[] =
		"INSERT INTO agent_metrics (agent_id, organization_id, \"timestamp\", boot_id, seq,"
		" cpu_usage_percent) VALUES ('a1', 'o1', $1, 'b', $2, 1.5)";
	csf__stmt *st;

	OK(csf__db_stmt(db, &st, sql));
	OK(csf__db_bind_i64(st, 1, ts));
	OK(csf__db_bind_i64(st, 2, ts / 1000));
	OK(csf__db_run(st));
}

static int64_t partition_rows(csf__db *db, const char *which)
{
	static const char sql[] =
		"SELECT count(*) FROM agent_metrics WHERE tableoid::regclass::text = $1";

	return query_text_i64(db, sql, which);
}

static int64_t partition_exists(csf__db *db, const char *name)
{
	return query_text_i64(db, "SELECT count(*) FROM pg_catalog.pg_inherits i"
				  " JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid"
				  " WHERE i.inhparent = 'agent_metrics'::regclass AND c.relname = $1",
			      name);
}

static void test_partitions(void **state)
{
	csf__db *db = *state;
	int dropped = -1;

	migrate_ok(db);
	FAILS(CSF_EINVALID, csf__db_metrics_partitions_ensure(db, -1, 1));
	FAILS(CSF_EINVALID, csf__db_metrics_partitions_ensure(db, day0, 367));
	FAILS(CSF_EINVALID, csf__db_metrics_partitions_ensure(db, day0, -1));
	OK(csf__db_metrics_partitions_ensure(db, day0 + 5 * HOUR_MS, 2));
	OK(csf__db_metrics_partitions_ensure(db, day0, 2)); /* again: nothing to do */
	if (pg) {
		assert_int_equal(partition_exists(db, "agent_metrics_p20240301"), 1);
		assert_int_equal(partition_exists(db, "agent_metrics_p20240302"), 1);
		assert_int_equal(partition_exists(db, "agent_metrics_p20240303"), 1);
		assert_int_equal(partition_exists(db, "agent_metrics_p20240304"), 0);
		assert_int_equal(query_i64(db, "SELECT count(*) FROM pg_catalog.pg_inherits"
					       " WHERE inhparent = 'agent_metrics'::regclass"),
				 4);
	}
	add_sample(db, day0 + HOUR_MS);
	add_sample(db, day0 + DAY_MS + HOUR_MS);
	add_sample(db, day0 + 2 * DAY_MS + HOUR_MS);
	add_sample(db, day0 - 10 * DAY_MS);
	add_sample(db, day0 + 10 * DAY_MS + HOUR_MS); /* no partition yet */
	if (pg) {
		assert_int_equal(partition_rows(db, "agent_metrics_p20240301"), 1);
		assert_int_equal(partition_rows(db, "agent_metrics_default"), 2);
		/* a day whose rows already sit in DEFAULT: they move over */
		OK(csf__db_metrics_partitions_ensure(db, day0 + 10 * DAY_MS, 0));
		assert_int_equal(partition_rows(db, "agent_metrics_p20240311"), 1);
		assert_int_equal(partition_rows(db, "agent_metrics_default"), 1);
	}
	assert_int_equal(query_i64(db, "SELECT count(*) FROM agent_metrics"), 5);

	if (pg) {
		/* a transaction of the caller's must not be open */
		OK(csf__db_begin(db));
		FAILS(CSF_EINVALID, csf__db_metrics_partitions_ensure(db, day0, 0));
		OK(csf__db_rollback(db));
	}

	OK(csf__db_metrics_partitions_drop_before(db, day0 + 2 * DAY_MS, &dropped));
	assert_int_equal(dropped, pg ? 2 : 0);
	assert_int_equal(query_i64(db, "SELECT count(*) FROM agent_metrics"), 2);
	assert_int_equal(query_i64(db, "SELECT MIN(\"timestamp\") FROM agent_metrics"),
			 day0 + 2 * DAY_MS + HOUR_MS);
	if (pg) {
		assert_int_equal(partition_exists(db, "agent_metrics_p20240301"), 0);
		assert_int_equal(partition_exists(db, "agent_metrics_p20240302"), 0);
		assert_int_equal(partition_exists(db, "agent_metrics_p20240303"), 1);
		assert_int_equal(partition_exists(db, "agent_metrics_default"), 1);
	}
	/* a cutoff inside a day: its older rows go, its partition stays */
	OK(csf__db_metrics_partitions_drop_before(db, day0 + 2 * DAY_MS + 2 * HOUR_MS, &dropped));
	assert_int_equal(dropped, 0);
	assert_int_equal(query_i64(db, "SELECT count(*) FROM agent_metrics"), 1);
	if (pg)
		assert_int_equal(partition_exists(db, "agent_metrics_p20240303"), 1);
	OK(csf__db_metrics_partitions_drop_before(db, day0 + 100 * DAY_MS, NULL));
	assert_int_equal(query_i64(db, "SELECT count(*) FROM agent_metrics"), 0);
	add_sample(db, day0 + 200 * DAY_MS); /* the table still takes rows */
}

/* ------------------------------------------------------ PostgreSQL only */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A statement timeout on PostgreSQL; on SQLite a writer that waited out
 * the busy timeout behind another. */
static void test_timeouts(void **state)
{
	csf__db *db = *state, *other;
	csf__stmt *st;
	int64_t t0;

	if (!pg) {
		OK(csf__db_open(&other, url));
		OK(csf__db_begin(db));
		t0 = mono_ms();
		FAILS(CSF_ETIMEOUT, csf__db_begin(other));
		assert_true(mono_ms() - t0 >= 4000); /* it waited, it did not fail at once */
		OK(csf__db_rollback(db));
		OK(csf__db_begin(other));
		OK(csf__db_commit(other));
		csf__db_close(other);
		return;
	}
	exec_ok(db, "SET statement_timeout = 100");
	OK(csf__db_stmt(db, &st, "SELECT pg_sleep(5)"));
	FAILS(CSF_ETIMEOUT, csf__db_step(st));
	assert_non_null(strstr(csf_error_last()->message, "57014"));
	exec_ok(db, "SET statement_timeout = 0");
	OK(csf__db_ping(db));
}

static int restart_server(void)
{
	char cmd[1024];
	const char *script = getenv("CSF_TEST_PG_SCRIPT"), *dir = getenv("CSF_TEST_PG_DIR");
	int status;

	if (!script || !dir)
		fail_msg("CSF_TEST_PG_SCRIPT and CSF_TEST_PG_DIR are needed to restart the server");
	snprintf(cmd, sizeof(cmd), "sh '%s' restart '%s'", script, dir);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_reconnect(void **state)
{
	static const char add[] = "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, 1)";
	csf__db *db = *state;
	csf__stmt *st, *stale;

	migrate_ok(db);
	insert_org(db, "o1", "one");
	OK(csf__db_stmt(db, &st, add)); /* prepared before the restart */
	if (pg) {
		/* a restart tells idle connections: the next work reconnects first */
		assert_int_equal(restart_server(), 0);
		OK(csf__db_ping(db));
		OK(csf__db_stmt(db, &st, add));
		OK(csf__db_bind_text(st, 1, "o9"));
		OK(csf__db_bind_text(st, 2, "nine"));
		OK(csf__db_run(st));
		exec_ok(db, "DELETE FROM organizations WHERE id = 'o9'");
		/* twice in a row: no waiting after a reconnect that worked */
		assert_int_equal(restart_server(), 0);
		OK(csf__db_ping(db));
	}
	stale = st;
	OK(csf__db_reconnect(db));
	FAILS(CSF_EINVALID, csf__db_step(stale)); /* ask csf__db_stmt again */

	/* the retried transaction */
	OK(csf__db_begin(db));
	OK(csf__db_stmt(db, &st, add));
	OK(csf__db_bind_text(st, 1, "o2"));
	OK(csf__db_bind_text(st, 2, "two"));
	OK(csf__db_run(st));
	OK(csf__db_commit(db));
	assert_int_equal(count_orgs(db), 2);

	if (pg) {
		/* broken in the middle of a transaction: nothing of it stays */
		OK(csf__db_begin(db));
		OK(csf__db_stmt(db, &st, add));
		OK(csf__db_bind_text(st, 1, "o3"));
		OK(csf__db_bind_text(st, 2, "three"));
		OK(csf__db_run(st));
		assert_int_equal(restart_server(), 0);
		FAILS(CSF_EIO, csf__db_commit(db));
		csf__db_rollback(db);
		OK(csf__db_reconnect(db));
		assert_int_equal(count_orgs(db), 2);
		OK(csf__db_begin(db));
		OK(csf__db_stmt(db, &st, add));
		OK(csf__db_bind_text(st, 1, "o3"));
		OK(csf__db_bind_text(st, 2, "three"));
		OK(csf__db_run(st));
		OK(csf__db_commit(db));
		assert_int_equal(count_orgs(db), 3);

		/* a statement finds it broken; commit says so too */
		OK(csf__db_begin(db));
		assert_int_equal(restart_server(), 0);
		OK(csf__db_stmt(db, &st, add));
		OK(csf__db_bind_text(st, 1, "o4"));
		OK(csf__db_bind_text(st, 2, "four"));
		FAILS(CSF_EIO, csf__db_run(st));
		FAILS(CSF_EIO, csf__db_commit(db));
		OK(csf__db_reconnect(db));
		assert_int_equal(count_orgs(db), 3);
	}
}

/* --------------------------------------------------------- public API */

static void test_public_api(void **state)
{
	csf_store *s = NULL;
	int version = -1, from = -1, to = -1;

	csf__db_close(*state); /* the test's connection is not needed */
	*state = NULL;
	OK(csf_store_open(&s, url));
	OK(csf_store_schema_version(s, &version));
	assert_int_equal(version, 0);
	OK(csf_store_migrate(s, &from, &to));
	assert_int_equal(from, 0);
	assert_int_equal(to, newest());
	OK(csf_store_migrate(s, &from, &to));
	assert_int_equal(from, newest());
	assert_int_equal(to, newest());
	OK(csf_store_migrate(s, NULL, NULL));
	OK(csf_store_schema_version(s, &version));
	assert_int_equal(version, newest());
	assert_non_null(csf__store_db(s));
	assert_int_equal(csf__db_kind_of(csf__store_db(s)), pg ? CSF__DB_POSTGRES : CSF__DB_SQLITE);
	csf_store_close(s);
	csf_store_close(NULL);

	s = (csf_store *)&s;
	FAILS(CSF_EINVALID, csf_store_open(&s, "redis://localhost"));
	assert_null(s);
	FAILS(CSF_EIO, csf_store_open(&s, "postgresql://csf:pw-in-url@127.0.0.1:1/csf"));
	assert_null(strstr(csf_error_last()->message, "pw-in-url"));
#ifdef NDEBUG
	/* misuse asserts in debug builds */
	FAILS(CSF_EINVALID, csf_store_open(NULL, url));
	FAILS(CSF_EINVALID, csf_store_open(&s, NULL));
	FAILS(CSF_EINVALID, csf_store_migrate(NULL, NULL, NULL));
	FAILS(CSF_EINVALID, csf_store_schema_version(NULL, &version));
#endif
}

/* ------------------------------------------------- allocation failures */

/* Open, migrate, write and read: what `csf-server migrate` and a first
 * request do. */
static int scenario(void)
{
	static const char add_user[] =
		"INSERT INTO users (id, organization_id, username, password_hash, role, created_at,"
		" updated_at) VALUES ($1, 'o1', $2, 'x', 'admin', 1, 1)";
	static const char get[] = "SELECT username, length(password_hash) FROM users WHERE id = $1";
	static const uint8_t blob[] = { 1, 0, 2 };
	csf_store *s = NULL;
	csf__stmt *st;
	csf__db *db;
	int rc, from, to, dropped;

	rc = csf_store_open(&s, url);
	if (rc)
		return rc;
	db = csf__store_db(s);
	rc = csf_store_migrate(s, &from, &to);
	if (!rc)
		rc = try_insert_org(db, "o1", "one");
	if (!rc)
		rc = csf__db_begin(db);
	if (!rc)
		rc = csf__db_stmt(db, &st, add_user);
	if (!rc)
		rc = csf__db_bind_text(st, 1, "u1");
	if (!rc)
		rc = csf__db_bind_text(st, 2, "alice");
	if (!rc)
		rc = csf__db_run(st);
	if (!rc)
		rc = csf__db_commit(db);
	else
		csf__db_abort(db);
	if (!rc)
		rc = csf__db_stmt(db, &st, get);
	if (!rc)
		rc = csf__db_bind_text(st, 1, "u1");
	if (!rc && (rc = csf__db_step(st)) == 1)
		rc = strcmp(csf__db_col_text(st, 0), "alice") == 0 ? csf__db_run(st) : CSF_ERROR;
	if (!rc)
		rc = csf__db_exec(db, pg ? "CREATE TABLE b (v BYTEA)" : "CREATE TABLE b (v BLOB)");
	if (!rc)
		rc = csf__db_stmt(db, &st, "INSERT INTO b (v) VALUES ($1)");
	if (!rc)
		rc = csf__db_bind_blob(st, 1, blob, sizeof(blob));
	if (!rc)
		rc = csf__db_run(st);
	if (!rc)
		rc = csf__db_stmt(db, &st, "SELECT v FROM b");
	if (!rc && (rc = csf__db_step(st)) == 1) {
		size_t len = 0;
		const void *p = csf__db_col_blob(st, 0, &len);

		rc = !p ? csf_error_last()->code : len == sizeof(blob) ? csf__db_run(st) : CSF_ERROR;
	}
	if (!rc)
		rc = csf__db_metrics_partitions_ensure(db, day0, 1);
	if (!rc)
		rc = csf__db_metrics_partitions_drop_before(db, day0 + DAY_MS, &dropped);
	if (!rc)
		rc = csf__db_reconnect(db);
	if (!rc)
		rc = csf__db_stmt(db, &st, get);
	csf_store_close(s);
	return rc;
}

static void test_allocation_failures(void **state)
{
	long k;

	csf__db_close(*state);
	*state = NULL;
	assert_int_equal(csf_allocator_set(&failalloc), 0);
	for (k = 0; k < 10000; k++) {
		int rc;

		fa.countdown = -1;
		if (fresh_database())
			fail_msg("cannot reset the database: %s", csf_error_last()->message);
		fa_arm(k);
		csf_error_clear();
		rc = scenario();
		fa.countdown = -1;
		if (fa.live != 0)
			fail_msg("allocation %ld failing leaked %ld allocations", k, fa.live);
		if (!fa.failed) {
			if (rc)
				fail_msg("the run without failures: %d (%s)", rc, csf_error_last()->message);
			break;
		}
		if (rc != CSF_ENOMEM)
			fail_msg("allocation %ld failing returned %d (%s), not CSF_ENOMEM", k, rc,
				 csf_error_last()->message);
	}
	assert_int_equal(csf_allocator_set(NULL), 0);
	printf("checked %ld allocation failure points\n", k);
	assert_true(k > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_urls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_again_is_a_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_database_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_migrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_table_and_column, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_every_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_constraint_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_read_statement_and_other_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statement_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_columns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allocation_failures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
