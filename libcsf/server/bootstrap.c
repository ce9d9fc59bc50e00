/* What a server needs before it listens: its CA and the agent listener's
 * certificate, and, on an empty database, organization "default" and user
 * "admin" (DESIGN.md section 3). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "server/internal.h"

#define SERVER_CERT_DAYS 397

static int write_secret_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	size_t n = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return csf__error_set_errno(CSF_EIO, errno, "cannot create %s", path);
	if (write(fd, text, n) != (ssize_t)n || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		int e = errno;

		close(fd);
		return csf__error_set_errno(CSF_EIO, e, "cannot write %s", path);
	}
	close(fd);
	return 0;
}

/* Organization "default" and user "admin" on the first start. */
static int first_start(csf_server *s, const char *given_password)
{
	static const char *const q_orgs = "SELECT count(*) FROM organizations";
	static const char *const q_org = "INSERT INTO organizations (id, name, created_at) VALUES ($1, 'default', $2)";
	static const char *const q_user =
		"INSERT INTO users (id, organization_id, username, password_hash, role, disabled, created_at, updated_at) "
		"VALUES ($1, $2, 'admin', $3, 'admin', 0, $4, $4)";
	char org_id[CSF__ID_LEN], user_id[CSF__ID_LEN], password[64], hash[256];
	const char *pw = given_password;
	int64_t now = csf__now_ms();
	csf__stmt *st;
	int rc;

	rc = csf__db_begin(s->db);
	if (!rc)
		rc = csf__db_stmt(s->db, &st, q_orgs);
	if (!rc && (rc = csf__db_step(st)) == 1 && csf__db_col_i64(st, 0) > 0) {
		csf__db_rollback(s->db);
		return 0; /* not the first start */
	}
	if (rc < 0)
		goto fail;
	if (!pw) {
		rc = csf__random_b64url(password, sizeof(password), 15);
		if (rc)
			goto fail;
		pw = password;
	}
	rc = csf__random_id(org_id);
	if (!rc)
		rc = csf__random_id(user_id);
	if (!rc)
		rc = csf__password_hash(pw, hash, sizeof(hash));
	if (!rc && !(rc = csf__db_stmt(s->db, &st, q_org))) {
		csf__db_bind_text(st, 1, org_id);
		csf__db_bind_i64(st, 2, now);
		rc = csf__db_run(st);
	}
	if (!rc && !(rc = csf__db_stmt(s->db, &st, q_user))) {
		csf__db_bind_text(st, 1, user_id);
		csf__db_bind_text(st, 2, org_id);
		csf__db_bind_text(st, 3, hash);
		csf__db_bind_i64(st, 4, now);
		rc = csf__db_run(st);
	}
	if (!rc)
		rc = csf__server_audit(s->db, org_id, "csf-server", "bootstrap", "organization default", NULL);
	/* the password file goes first: a commit without it would lock the
	 * operator out */
	if (!rc && !given_password)
		rc = write_secret_file(s->data_dir, "initial-admin-password", pw);
	if (!rc)
		rc = csf__db_commit(s->db);
	if (rc)
		goto fail;
	memcpy(s->default_org, org_id, sizeof(org_id));
	csf__log(CSF_LOG_INFO, "server", "first start: organization 'default' and user 'admin' created%s",
		 given_password ? " (password from CSF_ADMIN_PASSWORD)"
				: "; the password is in initial-admin-password in the data directory");
	return 0;
fail:
	csf__db_abort(s->db);
	return rc;
}

/* This host's name, for the default certificate names. */
static void host_name(char *out, size_t cap)
{
	if (gethostname(out, cap) != 0 || !out[0])
		snprintf(out, cap, "localhost");
	out[cap - 1] = '\0';
}

int csf__server_bootstrap(csf_server *s)
{
	char host[256];
	const char *defaults[4];
	const char *const *names = (const char *const *)s->agent_names;
	size_t n = s->agent_names_count;
	int rc;

	rc = csf__ca_load_or_create(&s->ca, s->data_dir);
	if (!rc)
		rc = csf__ca_cert_pem(&s->ca, &s->ca_pem);
	if (rc)
		return rc;
	if (!n) {
		host_name(host, sizeof(host));
		defaults[0] = host;
		defaults[1] = "localhost";
		defaults[2] = "127.0.0.1";
		defaults[3] = "::1";
		names = defaults;
		n = strcmp(host, "localhost") == 0 ? 3 : 4;
		if (n == 3)
			names = defaults + 1;
	}
	/* a fresh key at every start: the only key on disk is the CA's */
	rc = csf__ca_issue_server_cert(&s->ca, names, n, SERVER_CERT_DAYS, &s->server_cert_pem, &s->server_key_pem);
	if (!rc)
		rc = first_start(s, s->o.admin_password);
	if (!rc && !s->default_org[0])
		rc = csf__server_org_id(s->db, "default", s->default_org);
	return rc == CSF_ENOTFOUND ? 0 : rc; /* an operator may have renamed "default" */
}
