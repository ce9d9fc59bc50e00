/*
 * The agent's identity in its state directory: identity.conf (the core
 * config format), agent.key, agent.crt and ca.crt, every file replaced
 * atomically. A renewal stores the new key and certificate as *.next first,
 * so a crash between the two renames is finished on the next load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent/internal.h"
#include "auth/auth.h"

typedef struct loader {
	csf__identity *id;
	const char *path;
} loader;

static int copy_value(char *dst, size_t cap, const char *v, const char *path, int line, const char *key)
{
	if (strlen(v) >= cap)
		return csf__error_set(CSF_EPARSE, "%s:%d: %s is too long", path, line, key);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int on_setting(const char *key, const char *value, int line, void *payload)
{
	loader *l = payload;
	csf__identity *id = l->id;

	if (strcmp(key, "agent_id") == 0)
		return copy_value(id->agent_id, sizeof(id->agent_id), value, l->path, line, key);
	if (strcmp(key, "organization_id") == 0)
		return copy_value(id->org_id, sizeof(id->org_id), value, l->path, line, key);
	if (strcmp(key, "server_url") == 0)
		return copy_value(id->server_url, sizeof(id->server_url), value, l->path, line, key);
	if (strcmp(key, "ca_sha256") == 0)
		return copy_value(id->ca_sha256, sizeof(id->ca_sha256), value, l->path, line, key);
	if (strcmp(key, "name") == 0)
		return copy_value(id->name, sizeof(id->name), value, l->path, line, key);
	if (strcmp(key, "cert_expires_at") == 0)
		return 0; /* informational: the certificate itself is the truth */
	return csf__error_set(CSF_EPARSE, "%s:%d: unknown key '%s'", l->path, line, key);
}

static int asn1_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int cert_validity(const char *path, int64_t *not_before, int64_t *not_after)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	int rc = 0;

	if (!f)
		return csf__error_set_errno(errno == ENOENT ? CSF_ENOTFOUND : CSF_EIO, errno, "cannot open %s", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x || asn1_unix(X509_get0_notBefore(x), not_before) || asn1_unix(X509_get0_notAfter(x), not_after))
		rc = csf__error_set(CSF_EPARSE, "%s: not a PEM certificate", path);
	X509_free(x);
	ERR_clear_error();
	return rc;
}

/* DIR/FROM -> DIR/TO. */
static int rename_in(const char *dir, const char *from, const char *to)
{
	char f[CSF__PATH_MAX], t[CSF__PATH_MAX];
	int rc = csf__path_join(f, dir, from);

	if (!rc)
		rc = csf__path_join(t, dir, to);
	if (!rc && rename(f, t) != 0)
		rc = csf__error_set_errno(CSF_EIO, errno, "cannot rename %s", f);
	return rc;
}

/* Finish a renewal cut short between its renames (both *.next were whole
 * before the first rename, so rolling forward is always right). */
static int finish_renewal(const char *dir)
{
	char key_next[CSF__PATH_MAX], crt_next[CSF__PATH_MAX];
	int rc = csf__path_join(key_next, dir, "agent.key.next");

	if (!rc)
		rc = csf__path_join(crt_next, dir, "agent.crt.next");
	if (rc || csf__file_exists(crt_next) != 1)
		return rc;
	csf__log(CSF_LOG_WARN, "agent", "finishing a certificate renewal that was interrupted");
	if (csf__file_exists(key_next) == 1)
		rc = rename_in(dir, "agent.key.next", "agent.key");
	if (!rc)
		rc = rename_in(dir, "agent.crt.next", "agent.crt");
	return rc ? rc : csf__dir_sync(dir);
}

/* What every identity needs, after the settings were read. */
static int check_identity(const csf__identity *id, const char *name)
{
	size_t i;

	if (!id->agent_id[0] || !id->server_url[0] || strlen(id->ca_sha256) != 64)
		return csf__error_set(CSF_EPARSE, "%s: agent_id, server_url and ca_sha256 are required", name);
	for (i = 0; i < 64; i++)
		if (csf__hex_value(id->ca_sha256[i]) < 0)
			return csf__error_set(CSF_EPARSE, "%s: ca_sha256 is not 64 hex digits", name);
	return 0;
}

int csf__identity_parse(csf__identity *id, const char *text, size_t len, const char *name)
{
	loader l = { id, name };
	int rc;

	memset(id, 0, sizeof(*id));
	rc = csf_config_parse(text, len, name, on_setting, &l);
	return rc ? rc : check_identity(id, name);
}

int csf__identity_load(csf__identity *id, const char *dir)
{
	char path[CSF__PATH_MAX];
	loader l = { id, path };
	int rc;

	memset(id, 0, sizeof(*id));
	rc = csf__path_join(path, dir, "identity.conf");
	if (rc)
		return rc;
	rc = csf__file_exists(path);
	if (rc <= 0)
		return rc < 0 ? rc : csf__error_set(CSF_ENOTFOUND, "%s holds no agent identity (run csf-agent enroll)", dir);
	rc = finish_renewal(dir);
	if (!rc)
		rc = csf_config_parse_file(path, on_setting, &l);
	if (rc)
		return rc == CSF_ENOTFOUND ? CSF_EIO : rc;
	if ((rc = check_identity(id, path)) != 0 || (rc = csf__path_join(path, dir, "agent.crt")) != 0)
		return rc;
	rc = cert_validity(path, &id->cert_not_before, &id->cert_expires_at);
	return rc == CSF_ENOTFOUND ? csf__error_set(CSF_EPARSE, "%s is missing", path) : rc;
}

/* `key = "value"` with the escapes the config parser reads. */
static void put_setting(csf__buf *b, const char *key, const char *value)
{
	csf__buf_printf(b, "%s = \"", key);
	for (; *value; value++) {
		if (*value == '"' || *value == '\\')
			csf__buf_putc(b, '\\'), csf__buf_putc(b, *value);
		else if (*value == '\n')
			csf__buf_puts(b, "\\n");
		else if (*value == '\t')
			csf__buf_puts(b, "\\t");
		else
			csf__buf_putc(b, *value);
	}
	csf__buf_puts(b, "\"\n");
}

int csf__identity_write(const csf__identity *id, const char *dir)
{
	csf__buf b = CSF__BUF_INIT(1u << 16);
	char expires[32];
	int rc;

	snprintf(expires, sizeof(expires), "%lld", (long long)id->cert_expires_at);
	csf__buf_puts(&b, "# written by csf-agent enroll; the agent's identity\n");
	put_setting(&b, "agent_id", id->agent_id);
	put_setting(&b, "organization_id", id->org_id);
	put_setting(&b, "server_url", id->server_url);
	put_setting(&b, "ca_sha256", id->ca_sha256);
	put_setting(&b, "name", id->name);
	put_setting(&b, "cert_expires_at", expires);
	rc = b.ptr ? 0 : CSF_ENOMEM;
	if (!rc)
		rc = csf__file_write_atomic(dir, "identity.conf", b.ptr, b.len, 0600);
	if (!rc)
		rc = csf__dir_sync(dir);
	csf__buf_free(&b);
	return rc;
}

static int cert_times_from_der(const uint8_t *der, size_t len, int64_t *not_before, int64_t *not_after)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	int rc = 0;

	if (!x || asn1_unix(X509_get0_notBefore(x), not_before) || asn1_unix(X509_get0_notAfter(x), not_after))
		rc = csf__error_set(CSF_EPARSE, "the server sent a certificate that does not parse");
	X509_free(x);
	ERR_clear_error();
	return rc;
}

int csf__identity_store_cert(const char *dir, const char *key_pem, const uint8_t *cert_der, size_t cert_len,
			     const uint8_t *const *chain, const size_t *chain_len, size_t chain_n, int renewal,
			     int64_t *not_before, int64_t *expires_at)
{
	csf__buf crt = CSF__BUF_INIT(1u << 20), ca = CSF__BUF_INIT(1u << 20);
	int64_t nb = 0, na = 0;
	size_t i;
	int rc;

	rc = cert_times_from_der(cert_der, cert_len, &nb, &na);
	if (!rc)
		rc = csf__der_to_pem(&crt, cert_der, cert_len);
	for (i = 0; !rc && i < chain_n; i++)
		rc = csf__der_to_pem(&ca, chain[i], chain_len[i]);
	if (!rc && chain_n)
		rc = csf__file_write_atomic(dir, "ca.crt", ca.ptr, ca.len, 0644);
	if (!rc)
		rc = csf__file_write_atomic(dir, renewal ? "agent.key.next" : "agent.key", key_pem, strlen(key_pem), 0600);
	if (!rc)
		rc = csf__file_write_atomic(dir, renewal ? "agent.crt.next" : "agent.crt", crt.ptr, crt.len, 0644);
	if (!rc && renewal)
		rc = rename_in(dir, "agent.key.next", "agent.key");
	if (!rc && renewal)
		rc = rename_in(dir, "agent.crt.next", "agent.crt");
	if (!rc)
		rc = csf__dir_sync(dir);
	if (!rc && not_before)
		*not_before = nb;
	if (!rc && expires_at)
		*expires_at = na;
	csf__buf_free(&crt);
	csf__buf_free(&ca);
	return rc;
}
