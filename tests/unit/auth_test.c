/*
 * libcsf/auth: the internal CA (files, server certificates, CSR signing,
 * checked with OpenSSL's own verifier and a real mutual-TLS handshake over
 * the net API), tokens and keys, argon2id passwords, and a walk over every
 * allocation failure.
 */
#include <dirent.h>
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

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <csf/csf.h>

#include "auth/auth.h"
#include "failalloc.h"

/* One CA for the tests that only use it. */
static csf__ca ca;
static char ca_dir[64];

/* ---------------------------------------------------------------- helpers */

/* rm -r of a test directory (files and directories only). */
static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		char path[512];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(path);
		else
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void make_tmpdir(char out[64])
{
	snprintf(out, 64, "/tmp/csf-auth-XXXXXX");
	assert_non_null(mkdtemp(out));
}

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static X509 *der_cert(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	assert_non_null(x);
	assert_ptr_equal(p, der + len);
	return x;
}

static X509 *pem_cert(BIO *bio)
{
	return PEM_read_bio_X509(bio, NULL, NULL, NULL);
}

static void cert_sha256(X509 *x, char hex[65])
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	csf__sha256_hex(der, (size_t)n, hex);
	OPENSSL_free(der);
}

static int64_t asn1_unix(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return (int64_t)timegm(&tm);
}

static void name_field(X509 *x, int nid, char *out, size_t cap)
{
	out[0] = '\0';
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, out, (int)cap);
}

/* X509_verify_cert of `leaf` against the test CA, for `purpose`, with an
 * optional host or IP check. Returns the verify result code. */
static int verify(X509 *leaf, int purpose, const char *host, const char *ip)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	int ok, err;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, ca.cert), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	param = X509_STORE_CTX_get0_param(ctx);
	if (host)
		assert_int_equal(X509_VERIFY_PARAM_set1_host(param, host, 0), 1);
	if (ip)
		assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(param, ip), 1);
	ok = X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok == 1 ? X509_V_OK : (err == X509_V_OK ? -1 : err);
}

/* A CSR made by OpenSSL directly, for key types csf__csr_create never
 * makes. `md` NULL for Ed25519. DER in malloc'd memory. */
static void openssl_csr(EVP_PKEY *key, const EVP_MD *md, uint8_t **der, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	unsigned char *p;
	int n;

	assert_non_null(req);
	assert_int_equal(X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req), NID_commonName, MBSTRING_UTF8,
						    (const unsigned char *)"someone", -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, key, md) > 0);
	n = i2d_X509_REQ(req, NULL);
	assert_true(n > 0);
	*der = malloc((size_t)n);
	assert_non_null(*der);
	p = *der;
	assert_int_equal(i2d_X509_REQ(req, &p), n);
	*len = (size_t)n;
	X509_REQ_free(req);
}

/* P-256 with its parameters spelled out instead of named. */
static EVP_PKEY *ec_explicit_p256(void)
{
	char group[] = "P-256", encoding[] = "explicit";
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, encoding, 0),
		OSSL_PARAM_END,
	};
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_params(ctx, params), 1);
	assert_int_equal(EVP_PKEY_generate(ctx, &key), 1);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static int sign(const uint8_t *csr, size_t len, uint8_t **der, size_t *der_len, char serial[65], int64_t *na)
{
	return csf__ca_sign_csr(&ca, csr, len, "agent-0123", "org-7", 3600, der, der_len, serial, na);
}

static int setup(void **state)
{
	(void)state;
	make_tmpdir(ca_dir);
	return csf__ca_load_or_create(&ca, ca_dir);
}

static int teardown(void **state)
{
	(void)state;
	csf__ca_free(&ca);
	rm_tree(ca_dir);
	return 0;
}

/* --------------------------------------------------------------------- CA */

static void test_ca_create_and_load(void **state)
{
	char tmp[64], dir[128], pem_path[160], key_path[160], tmp_path[160], hex[65], cn[128];
	struct stat st;
	csf__ca a, b;
	FILE *f;
	X509 *x;
	uint8_t *der;
	size_t der_len;
	char *pem;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	make_tmpdir(tmp);
	snprintf(dir, sizeof(dir), "%s/data/ca", tmp); /* two levels that do not exist yet */
	assert_int_equal(csf__ca_load_or_create(&a, dir), 0);
	path_in(pem_path, sizeof(pem_path), dir, "ca.pem");
	path_in(key_path, sizeof(key_path), dir, "ca.key");
	assert_int_equal(stat(pem_path, &st), 0);
	assert_int_equal(stat(key_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	path_in(tmp_path, sizeof(tmp_path), tmp, "data");
	assert_int_equal(stat(tmp_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	path_in(tmp_path, sizeof(tmp_path), dir, ".ca.key.tmp");
	assert_int_not_equal(stat(tmp_path, &st), 0);

	/* sha256 is of the DER of what ca.pem holds */
	f = fopen(pem_path, "r");
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	cert_sha256(x, hex);
	assert_string_equal(hex, a.sha256);
	assert_int_equal(strlen(a.sha256), 64);
	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
	assert_true(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	name_field(x, NID_commonName, cn, sizeof(cn));
	assert_int_equal(strncmp(cn, "csf internal CA ", 16), 0);
	assert_true(strlen(cn) > 16);
	assert_true(llabs(asn1_unix(X509_get0_notAfter(x)) - (now + 3650LL * 86400)) < 60);
	assert_true(EVP_PKEY_is_a(a.key, "EC"));
	X509_free(x);

	assert_int_equal(csf__ca_cert_der(&a, &der, &der_len), 0);
	csf__sha256_hex(der, der_len, hex);
	assert_string_equal(hex, a.sha256);
	csf__free(der);
	assert_int_equal(csf__ca_cert_pem(&a, &pem), 0);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----\n"));
	csf__free(pem);

	/* loaded again: the same CA */
	assert_int_equal(csf__ca_load_or_create(&b, dir), 0);
	assert_string_equal(a.sha256, b.sha256);
	assert_int_equal(EVP_PKEY_eq(a.key, b.key), 1);
	csf__ca_free(&a);
	csf__ca_free(&b);
	csf__ca_free(&b); /* twice is harmless */
	rm_tree(tmp);
}

static void test_ca_one_file_missing(void **state)
{
	static const char *const names[] = { "ca.key", "ca.pem" };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		char tmp[64], path[160], other[160];
		csf__ca a;
		struct stat st;

		make_tmpdir(tmp);
		assert_int_equal(csf__ca_load_or_create(&a, tmp), 0);
		csf__ca_free(&a);
		path_in(path, sizeof(path), tmp, names[i]);
		path_in(other, sizeof(other), tmp, names[1 - i]);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(csf__ca_load_or_create(&a, tmp), CSF_EINVALID);
		assert_int_equal(csf_error_last()->code, CSF_EINVALID);
		assert_non_null(strstr(csf_error_last()->message, names[i]));
		assert_null(a.cert);
		assert_null(a.key);
		/* no new CA appeared beside the file that is left */
		assert_int_not_equal(stat(path, &st), 0);
		assert_int_equal(stat(other, &st), 0);
		rm_tree(tmp);
	}
}

/* Servers starting at once on one empty data directory: one CA. */
static void test_ca_created_once(void **state)
{
	enum { N = 6 };
	char tmp[64], dir[128], hex[N][65];
	int fds[N][2], i;
	pid_t pids[N];

	(void)state;
	make_tmpdir(tmp);
	snprintf(dir, sizeof(dir), "%s/data", tmp);
	for (i = 0; i < N; i++) {
		assert_int_equal(pipe(fds[i]), 0);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			csf__ca a;
			int rc = csf__ca_load_or_create(&a, dir);

			if (rc == 0 && write(fds[i][1], a.sha256, 64) != 64)
				rc = 1;
			_exit(rc == 0 ? 0 : 1);
		}
		close(fds[i][1]);
	}
	for (i = 0; i < N; i++) {
		int status;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_int_equal(read(fds[i][0], hex[i], 64), 64);
		hex[i][64] = '\0';
		close(fds[i][0]);
		assert_string_equal(hex[i], hex[0]);
	}
	rm_tree(tmp);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_ca_corrupt_files(void **state)
{
	char tmp[64], other[64], path[160], key2[160];
	csf__ca a;
	char *pem;

	(void)state;
	make_tmpdir(tmp);
	assert_int_equal(csf__ca_load_or_create(&a, tmp), 0);
	csf__ca_free(&a);

	/* ca.pem that is not PEM */
	path_in(path, sizeof(path), tmp, "ca.pem");
	write_text(path, "this is not a certificate\n");
	assert_int_equal(csf__ca_load_or_create(&a, tmp), CSF_EPARSE);
	assert_non_null(strstr(csf_error_last()->message, "ca.pem"));
	assert_non_null(strstr(csf_error_last()->message, "PEM certificate"));

	/* a truncated certificate */
	assert_int_equal(csf__ca_cert_pem(&ca, &pem), 0);
	pem[strlen(pem) / 2] = '\0';
	write_text(path, pem);
	csf__free(pem);
	assert_int_equal(csf__ca_load_or_create(&a, tmp), CSF_EPARSE);

	/* another CA's certificate: not the key's */
	assert_int_equal(csf__ca_cert_pem(&ca, &pem), 0);
	write_text(path, pem);
	csf__free(pem);
	assert_int_equal(csf__ca_load_or_create(&a, tmp), CSF_EINVALID);
	assert_non_null(strstr(csf_error_last()->message, "not the key of"));

	/* a key file that is not a key */
	make_tmpdir(other);
	assert_int_equal(csf__ca_load_or_create(&a, other), 0);
	csf__ca_free(&a);
	path_in(key2, sizeof(key2), other, "ca.key");
	write_text(key2, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
	assert_int_equal(csf__ca_load_or_create(&a, other), CSF_EPARSE);
	assert_non_null(strstr(csf_error_last()->message, "ca.key"));
	assert_int_equal(ERR_peek_error(), 0); /* nothing left on OpenSSL's error queue */
	rm_tree(tmp);
	rm_tree(other);
}

/* ------------------------------------------------------------ server cert */

static void test_server_cert(void **state)
{
	static const char *const names[] = { "localhost", "127.0.0.1", "::1", "csf.example.org" };
	char *chain = NULL, *key_pem = NULL, hex[65];
	BIO *bio;
	X509 *leaf, *second;
	EVP_PKEY *key;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	assert_int_equal(csf__ca_issue_server_cert(&ca, names, 4, 30, &chain, &key_pem), 0);
	bio = BIO_new_mem_buf(chain, -1);
	leaf = pem_cert(bio);
	second = pem_cert(bio);
	assert_non_null(leaf);
	assert_non_null(second);
	assert_null(pem_cert(bio)); /* the chain is cert + CA, nothing more */
	ERR_clear_error();
	BIO_free(bio);
	cert_sha256(second, hex);
	assert_string_equal(hex, ca.sha256);

	assert_int_equal(verify(leaf, X509_PURPOSE_SSL_SERVER, "localhost", NULL), X509_V_OK);
	assert_int_equal(verify(leaf, X509_PURPOSE_SSL_SERVER, "csf.example.org", NULL), X509_V_OK);
	assert_int_equal(verify(leaf, X509_PURPOSE_SSL_SERVER, NULL, "127.0.0.1"), X509_V_OK);
	assert_int_equal(verify(leaf, X509_PURPOSE_SSL_SERVER, NULL, "::1"), X509_V_OK);
	assert_int_equal(verify(leaf, X509_PURPOSE_SSL_SERVER, "example.com", NULL), X509_V_ERR_HOSTNAME_MISMATCH);
	assert_int_equal(verify(leaf, X509_PURPOSE_SSL_SERVER, NULL, "10.0.0.1"), X509_V_ERR_IP_ADDRESS_MISMATCH);
	assert_true(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE);
	assert_true(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER);
	assert_false(X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT);
	assert_int_equal(X509_check_ca(leaf), 0);
	assert_true(llabs(asn1_unix(X509_get0_notAfter(leaf)) - (now + 30 * 86400)) < 60);

	bio = BIO_new_mem_buf(key_pem, -1);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(key);
	assert_int_equal(X509_check_private_key(leaf, key), 1);
	EVP_PKEY_free(key);
	X509_free(leaf);
	X509_free(second);
	csf__free(chain);
	csf__free(key_pem);

	/* names that are neither an address nor a DNS name, no names, bad days */
	{
		static const char *const bad[] = { "localhost", "evil,IP:1.2.3.4" };

		assert_int_equal(csf__ca_issue_server_cert(&ca, bad, 2, 30, &chain, &key_pem), CSF_EINVALID);
		assert_null(chain);
		assert_null(key_pem);
		assert_int_equal(csf__ca_issue_server_cert(&ca, names, 0, 30, &chain, &key_pem), CSF_EINVALID);
		assert_int_equal(csf__ca_issue_server_cert(&ca, names, 1, 0, &chain, &key_pem), CSF_EINVALID);
	}
}

/* ------------------------------------------------------------ CSR signing */

static void test_sign_csr(void **state)
{
	char *key_pem, serial[65], serial2[65], text[256];
	uint8_t *csr, *der, *der2;
	size_t csr_len, der_len, der2_len;
	int64_t not_after, na2, now = (int64_t)time(NULL);
	X509 *x;
	BIGNUM *bn;
	char *bnhex;
	BIO *bio;
	EVP_PKEY *key;
	BASIC_CONSTRAINTS *bc;

	(void)state;
	assert_int_equal(csf__csr_create("evil", &key_pem, &csr, &csr_len), 0);
	assert_int_equal(sign(csr, csr_len, &der, &der_len, serial, &not_after), 0);
	x = der_cert(der, der_len);

	/* the identity asked for is ignored */
	name_field(x, NID_commonName, text, sizeof(text));
	assert_string_equal(text, "agent-0123");
	name_field(x, NID_organizationName, text, sizeof(text));
	assert_string_equal(text, "org-7");
	X509_NAME_oneline(X509_get_subject_name(x), text, sizeof(text));
	assert_null(strstr(text, "evil"));
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca.cert)), 0);

	/* a client certificate, not a CA */
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_false(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_int_equal(X509_check_ca(x), 0);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);

	/* validity: from a minute ago for the lifetime */
	assert_int_equal(asn1_unix(X509_get0_notAfter(x)), not_after);
	assert_true(not_after >= now + 3600 && not_after <= now + 3605);
	assert_true(llabs(asn1_unix(X509_get0_notBefore(x)) - (now - 60)) <= 5);

	/* the serial as conn.c reports it */
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	bnhex = BN_bn2hex(bn);
	assert_string_equal(serial, bnhex);
	assert_true(BN_num_bits(bn) <= 128 && BN_num_bits(bn) > 64);
	assert_false(BN_is_negative(bn));
	OPENSSL_free(bnhex);
	BN_free(bn);

	/* it verifies, and holds the agent's key */
	assert_int_equal(verify(x, X509_PURPOSE_SSL_CLIENT, NULL, NULL), X509_V_OK);
	bio = BIO_new_mem_buf(key_pem, -1);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(key);
	assert_int_equal(X509_check_private_key(x, key), 1);
	EVP_PKEY_free(key);
	X509_free(x);

	/* the same CSR again: a new serial */
	assert_int_equal(sign(csr, csr_len, &der2, &der2_len, serial2, &na2), 0);
	assert_string_not_equal(serial, serial2);
	csf__free(der2);

	/* a lifetime past the CA's end is cut at the CA's end */
	assert_int_equal(csf__ca_sign_csr(&ca, csr, csr_len, "a", "o", 20LL * 365 * 86400, &der2, &der2_len,
					  serial2, &na2),
			 0);
	assert_int_equal(na2, asn1_unix(X509_get0_notAfter(ca.cert)));
	csf__free(der2);

	/* misuse: names that do not fit, a lifetime that is not one */
	assert_int_equal(csf__ca_sign_csr(&ca, csr, csr_len, "", "o", 60, &der2, &der2_len, serial2, &na2),
			 CSF_EINVALID);
	assert_int_equal(csf__ca_sign_csr(&ca, csr, csr_len,
					  "0123456789012345678901234567890123456789012345678901234567890123456789",
					  "o", 60, &der2, &der2_len, serial2, &na2),
			 CSF_EINVALID);
	assert_int_equal(csf__ca_sign_csr(&ca, csr, csr_len, "a", "o", 0, &der2, &der2_len, serial2, &na2),
			 CSF_EINVALID);
	assert_null(der2);

	csf__free(der);
	csf__free(csr);
	csf__free(key_pem);
}

static void expect_refused(const uint8_t *csr, size_t len, const char *why)
{
	uint8_t *der = (uint8_t *)1;
	size_t der_len;
	char serial[65] = "x";
	int64_t na = 1;

	assert_int_equal(sign(csr, len, &der, &der_len, serial, &na), CSF_EPARSE);
	assert_int_equal(csf_error_last()->code, CSF_EPARSE);
	if (why && !strstr(csf_error_last()->message, why))
		fail_msg("message \"%s\" does not say \"%s\"", csf_error_last()->message, why);
	assert_null(der);
	assert_string_equal(serial, "");
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_sign_csr_refused(void **state)
{
	static const uint8_t garbage[] = "\x30\x82\x01\x00 not a certificate request at all";
	char *key_pem;
	uint8_t *csr, *copy, *rsa_csr, *der;
	size_t csr_len, rsa_len, der_len;
	char serial[65];
	int64_t na;
	EVP_PKEY *key;

	(void)state;
	assert_int_equal(csf__csr_create("agent", &key_pem, &csr, &csr_len), 0);
	copy = malloc(csr_len + 1);
	assert_non_null(copy);

	/* a flipped byte in the signature (the last field) */
	memcpy(copy, csr, csr_len);
	copy[csr_len - 1] ^= 0x01;
	expect_refused(copy, csr_len, "signature");
	/* and in the public key: the signature no longer matches */
	memcpy(copy, csr, csr_len);
	copy[csr_len / 2] ^= 0x40;
	expect_refused(copy, csr_len, NULL);
	/* truncated, trailing bytes, empty, garbage */
	expect_refused(csr, csr_len - 1, NULL);
	memcpy(copy, csr, csr_len);
	copy[csr_len] = 0;
	expect_refused(copy, csr_len + 1, NULL);
	expect_refused(csr, 0, NULL);
	expect_refused(garbage, sizeof(garbage) - 1, "PKCS#10");
	free(copy);

	/* weak and unexpected keys */
	key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(key);
	openssl_csr(key, EVP_sha256(), &rsa_csr, &rsa_len);
	expect_refused(rsa_csr, rsa_len, "1024");
	free(rsa_csr);
	EVP_PKEY_free(key);

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	assert_non_null(key);
	openssl_csr(key, EVP_sha256(), &rsa_csr, &rsa_len);
	expect_refused(rsa_csr, rsa_len, "curve");
	free(rsa_csr);
	EVP_PKEY_free(key);

	key = ec_explicit_p256();
	openssl_csr(key, EVP_sha256(), &rsa_csr, &rsa_len);
	expect_refused(rsa_csr, rsa_len, "named curve");
	free(rsa_csr);
	EVP_PKEY_free(key);

	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(key);
	openssl_csr(key, NULL, &rsa_csr, &rsa_len);
	expect_refused(rsa_csr, rsa_len, "key type");
	free(rsa_csr);
	EVP_PKEY_free(key);

	/* accepted: RSA 2048, EC P-384 */
	key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(key);
	openssl_csr(key, EVP_sha256(), &rsa_csr, &rsa_len);
	assert_int_equal(sign(rsa_csr, rsa_len, &der, &der_len, serial, &na), 0);
	csf__free(der);
	free(rsa_csr);
	EVP_PKEY_free(key);

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_non_null(key);
	openssl_csr(key, EVP_sha384(), &rsa_csr, &rsa_len);
	assert_int_equal(sign(rsa_csr, rsa_len, &der, &der_len, serial, &na), 0);
	csf__free(der);
	free(rsa_csr);
	EVP_PKEY_free(key);

	csf__free(csr);
	csf__free(key_pem);
}

static void test_der_to_pem(void **state)
{
	csf__buf out = CSF__BUF_INIT(1 << 20);
	uint8_t *der, *two;
	size_t len;
	BIO *bio;
	X509 *a, *b;
	char hex[65];

	(void)state;
	assert_int_equal(csf__ca_cert_der(&ca, &der, &len), 0);
	two = malloc(2 * len);
	assert_non_null(two);
	memcpy(two, der, len);
	memcpy(two + len, der, len);
	assert_int_equal(csf__buf_puts(&out, "# chain\n"), 0);
	assert_int_equal(csf__der_to_pem(&out, two, 2 * len), 0);
	assert_int_equal(strncmp(out.ptr, "# chain\n-----BEGIN CERTIFICATE-----\n", 36), 0);
	bio = BIO_new_mem_buf(out.ptr, (int)out.len);
	a = pem_cert(bio);
	b = pem_cert(bio);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(pem_cert(bio));
	ERR_clear_error();
	BIO_free(bio);
	cert_sha256(a, hex);
	assert_string_equal(hex, ca.sha256);
	cert_sha256(b, hex);
	assert_string_equal(hex, ca.sha256);
	X509_free(a);
	X509_free(b);
	/* lines of 64 characters, as PEM readers expect */
	assert_non_null(strchr(out.ptr + 36, '\n'));
	assert_int_equal(strchr(out.ptr + 36, '\n') - (out.ptr + 36), 64);

	/* a bad second certificate leaves the buffer as it was */
	csf__buf_clear(&out);
	assert_int_equal(csf__buf_puts(&out, "keep"), 0);
	two[len + 10] ^= 0xff;
	assert_int_equal(csf__der_to_pem(&out, two, 2 * len), CSF_EPARSE);
	assert_string_equal(out.ptr, "keep");
	assert_int_equal(out.len, 4);
	assert_int_equal(csf__der_to_pem(&out, two, 0), CSF_EPARSE);
	assert_int_equal(csf__der_to_pem(&out, (const uint8_t *)"\x30\x03\x02\x01\x01", 5), CSF_EPARSE);
	assert_string_equal(out.ptr, "keep");

	/* a bounded buffer stops it */
	{
		csf__buf small = CSF__BUF_INIT(100);

		assert_int_equal(csf__der_to_pem(&small, der, len), CSF_ELIMIT);
		csf__buf_free(&small);
	}
	assert_int_equal(ERR_peek_error(), 0);
	free(two);
	csf__free(der);
	csf__buf_free(&out);
}

/* ------------------------------------------------------ mutual TLS, for real */

typedef struct who {
	csf_net_loop *loop;
	int started;
	char cn[128];
	char serial[80];
	int status;
	char message[256];
} who;

static int who_start(csf_net_call *call, void *payload)
{
	who *w = payload;
	const csf_net_peer *peer = csf_net_call_peer(call);

	w->started = 1;
	snprintf(w->cn, sizeof(w->cn), "%s", peer->cert_subject_cn ? peer->cert_subject_cn : "(none)");
	snprintf(w->serial, sizeof(w->serial), "%s", peer->cert_serial ? peer->cert_serial : "(none)");
	return CSF_NET_OK;
}

static int who_message(csf_net_call *call, const unsigned char *data, size_t len, void *payload)
{
	(void)data;
	(void)len;
	(void)payload;
	(void)call;
	return 0;
}

static void who_half_close(csf_net_call *call, void *payload)
{
	(void)payload;
	csf_net_call_finish(call, CSF_NET_OK, NULL);
}

static void who_end(csf_net_call *call, int status, const char *message, void *payload)
{
	(void)call;
	(void)status;
	(void)message;
	(void)payload;
}

static void client_end(csf_net_call *call, int status, const char *message, void *payload)
{
	who *w = payload;

	(void)call;
	w->status = status;
	snprintf(w->message, sizeof(w->message), "%s", message ? message : "");
	csf_net_loop_stop(w->loop);
}

/* One call from a client with `cert_pem`/`key_pem`, pinning our CA, to a
 * server with the issued certificate; what the server saw goes to `w`. */
static void mtls_call(who *w, const char *cert_pem, const char *key_pem, const char *server_name)
{
	static const char *const names[] = { "localhost", "127.0.0.1" };
	static const csf_net_call_handlers server_h = { who_start, who_message, who_half_close, NULL, who_end };
	static const csf_net_call_handlers client_h = { NULL, NULL, NULL, NULL, client_end };
	csf_net_server_options so;
	csf_net_tls_options stls, ctls;
	csf_net_channel_options co;
	csf_net_server *server;
	csf_net_channel *channel;
	csf_net_call *call;
	char *chain, *server_key, *ca_pem, url[64];

	memset(w, 0, sizeof(*w));
	w->status = -1;
	assert_int_equal(csf__ca_issue_server_cert(&ca, names, 2, 1, &chain, &server_key), 0);
	assert_int_equal(csf__ca_cert_pem(&ca, &ca_pem), 0);
	assert_int_equal(csf_net_loop_new(&w->loop), 0);

	csf_net_server_options_init(&so, CSF_NET_SERVER_OPTIONS_VERSION);
	csf_net_tls_options_init(&stls, CSF_NET_TLS_OPTIONS_VERSION);
	stls.cert_pem = chain;
	stls.key_pem = server_key;
	stls.ca_pem = ca_pem;
	assert_int_equal(csf_net_server_new(&server, w->loop, &so), 0);
	assert_int_equal(csf_net_server_add_method(server, "/csf.test.Auth/Who", CSF_NET_METHOD_CLIENT_CERT, &server_h,
						   w),
			 0);
	if (csf_net_server_listen(server, "127.0.0.1:0", &stls) != 0)
		fail_msg("listen: %s", csf_error_last()->message);

	csf_net_tls_options_init(&ctls, CSF_NET_TLS_OPTIONS_VERSION);
	ctls.ca_pin_sha256 = ca.sha256;
	ctls.cert_pem = cert_pem;
	ctls.key_pem = key_pem;
	ctls.server_name = server_name;
	csf_net_channel_options_init(&co, CSF_NET_CHANNEL_OPTIONS_VERSION);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", csf_net_server_port(server, 0));
	co.url = url;
	co.tls = &ctls;
	co.transport = CSF_NET_CHANNEL_GRPC;
	assert_int_equal(csf_net_channel_new(&channel, w->loop, &co), 0);
	assert_int_equal(csf_net_channel_call(&call, channel, "/csf.test.Auth/Who", 10000, &client_h, w), 0);
	if (call) {
		assert_int_equal(csf_net_call_send(call, "hi", 2), 0);
		assert_int_equal(csf_net_call_close_send(call), 0);
	}
	if (w->status < 0)
		csf_net_loop_run(w->loop);
	csf_net_channel_free(channel);
	csf_net_server_free(server);
	csf_net_loop_free(w->loop);
	csf__free(chain);
	csf__free(server_key);
	csf__free(ca_pem);
}

static void test_mtls_handshake(void **state)
{
	static const char *const server_names[] = { NULL, "localhost" }; /* IP SAN, then DNS SAN */
	csf__buf cert_pem = CSF__BUF_INIT(1 << 16);
	char *key_pem, serial[65], other_dir[64];
	uint8_t *csr, *der;
	size_t csr_len, der_len, i;
	int64_t na;
	csf__ca other;
	who w;

	(void)state;
	assert_int_equal(csf__csr_create("evil", &key_pem, &csr, &csr_len), 0);
	assert_int_equal(sign(csr, csr_len, &der, &der_len, serial, &na), 0);
	assert_int_equal(csf__der_to_pem(&cert_pem, der, der_len), 0);
	csf__free(der);
	for (i = 0; i < 2; i++) {
		mtls_call(&w, cert_pem.ptr, key_pem, server_names[i]);
		if (w.status != CSF_NET_OK)
			fail_msg("call ended %s: %s", csf_net_status_name(w.status), w.message);
		assert_true(w.started);
		assert_string_equal(w.cn, "agent-0123");
		assert_string_equal(w.serial, serial);
	}

	/* a certificate from another CA: the method refuses the call */
	make_tmpdir(other_dir);
	assert_int_equal(csf__ca_load_or_create(&other, other_dir), 0);
	assert_int_equal(csf__ca_sign_csr(&other, csr, csr_len, "agent-0123", "org-7", 3600, &der, &der_len, serial,
					  &na),
			 0);
	csf__buf_clear(&cert_pem);
	assert_int_equal(csf__der_to_pem(&cert_pem, der, der_len), 0);
	csf__free(der);
	mtls_call(&w, cert_pem.ptr, key_pem, NULL);
	assert_int_equal(w.status, CSF_NET_UNAUTHENTICATED);
	assert_false(w.started);
	csf__ca_free(&other);
	rm_tree(other_dir);

	csf__buf_free(&cert_pem);
	csf__free(csr);
	csf__free(key_pem);
}

/* ---------------------------------------------------------------- secrets */

static int is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]) || !s[i])
			return 0;
	return s[n] == '\0';
}

static void test_token_round_trip(void **state)
{
	char tok[CSF__TOKEN_MAX], tok2[CSF__TOKEN_MAX], h[65], h2[65], ca_h[65], sh[65], upper[65];
	size_t i;

	(void)state;
	assert_int_equal(csf__token_new(tok, ca.sha256, h), 0);
	assert_int_equal(strncmp(tok, "csf1_", 5), 0);
	assert_int_equal(strlen(tok), 5 + 64 + 1 + 43);
	assert_int_equal(strncmp(tok + 5, ca.sha256, 64), 0);
	assert_int_equal(tok[69], '_');
	assert_true(is_hex(h, 64));
	/* the stored hash is SHA-256 of the secret's text */
	csf__sha256_hex(tok + 70, 43, sh);
	assert_string_equal(h, sh);

	assert_int_equal(csf__token_parse(tok, ca_h, sh), 0);
	assert_string_equal(ca_h, ca.sha256);
	assert_string_equal(sh, h);
	assert_true(csf__digest_equal(sh, h));

	assert_int_equal(csf__token_new(tok2, ca.sha256, h2), 0);
	assert_string_not_equal(tok, tok2);
	assert_string_not_equal(h, h2);

	/* the CA hash in either case; it comes out in lower case */
	for (i = 0; i < 65; i++)
		upper[i] = (char)(ca.sha256[i] >= 'a' && ca.sha256[i] <= 'f' ? ca.sha256[i] - 32 : ca.sha256[i]);
	assert_int_equal(csf__token_new(tok2, upper, h2), 0);
	assert_int_equal(strncmp(tok2 + 5, ca.sha256, 64), 0);
	memcpy(tok2, tok, sizeof(tok));
	memcpy(tok2 + 5, upper, 64);
	assert_int_equal(csf__token_parse(tok2, ca_h, sh), 0);
	assert_string_equal(ca_h, ca.sha256);
	assert_string_equal(sh, h);

	assert_int_equal(csf__token_new(tok2, "abc", h2), CSF_EINVALID);
	assert_int_equal(csf__token_new(tok2, "g000000000000000000000000000000000000000000000000000000000000000", h2),
			 CSF_EINVALID);
}

static void expect_bad_token(const char *token, const char *secret, const char *why)
{
	char ca_h[65] = "x", sh[65] = "x";
	const char *msg;

	assert_int_equal(csf__token_parse(token, ca_h, sh), CSF_EPARSE);
	msg = csf_error_last()->message;
	assert_int_equal(csf_error_last()->code, CSF_EPARSE);
	if (!strstr(msg, why))
		fail_msg("message \"%s\" does not say \"%s\"", msg, why);
	if (secret && strlen(secret) >= 8) {
		char head[9];

		memcpy(head, secret, 8);
		head[8] = '\0';
		if (strstr(msg, head))
			fail_msg("message \"%s\" echoes the secret", msg);
	}
	assert_string_equal(ca_h, "");
	assert_string_equal(sh, "");
}

static void test_token_malformed(void **state)
{
	char tok[CSF__TOKEN_MAX], h[65], bad[CSF__TOKEN_MAX + 8], *huge;
	const char *secret;

	(void)state;
	assert_int_equal(csf__token_new(tok, ca.sha256, h), 0);
	secret = tok + 70;

	expect_bad_token("", NULL, "empty");
	memcpy(bad, tok, sizeof(tok));
	bad[3] = '2';
	expect_bad_token(bad, secret, "csf1_");
	expect_bad_token("csfk_0123456789abcdef", NULL, "csf1_");
	expect_bad_token("csf1", NULL, "csf1_");

	/* a character short, a character long */
	memcpy(bad, tok, sizeof(tok));
	bad[strlen(tok) - 1] = '\0';
	expect_bad_token(bad, secret, "characters long");
	memcpy(bad, tok, sizeof(tok));
	strcat(bad, "A");
	expect_bad_token(bad, secret, "characters long");
	/* the secret moved: a CA hash one digit short, the rest shifted */
	snprintf(bad, sizeof(bad), "csf1_%.63s_%sA", ca.sha256, secret);
	expect_bad_token(bad, secret, "CA hash");

	/* bad hex */
	memcpy(bad, tok, sizeof(tok));
	bad[5 + 10] = 'g';
	expect_bad_token(bad, secret, "CA hash");
	/* no separator */
	memcpy(bad, tok, sizeof(tok));
	bad[69] = '-';
	expect_bad_token(bad, secret, "'_'");
	/* bad base64url: standard base64's characters, padding, a stray bit */
	memcpy(bad, tok, sizeof(tok));
	bad[75] = '+';
	expect_bad_token(bad, secret, "base64url");
	memcpy(bad, tok, sizeof(tok));
	bad[80] = '/';
	expect_bad_token(bad, secret, "base64url");
	memcpy(bad, tok, sizeof(tok));
	bad[112] = '=';
	expect_bad_token(bad, secret, "base64url");
	memcpy(bad, tok, sizeof(tok));
	bad[112] = 'B'; /* 000001: a bit past the 32 bytes */
	expect_bad_token(bad, secret, "base64url");
	memcpy(bad, tok, sizeof(tok));
	bad[90] = ' ';
	expect_bad_token(bad, secret, "base64url");

	/* huge */
	huge = malloc(1 << 20);
	assert_non_null(huge);
	memset(huge, 'A', (1 << 20) - 1);
	memcpy(huge, tok, strlen(tok));
	huge[(1 << 20) - 1] = '\0';
	expect_bad_token(huge, huge + 70, "too long");
	free(huge);
}

static void test_keys_and_ids(void **state)
{
	char k1[CSF__KEY_MAX], k2[CSF__KEY_MAX], s1[CSF__KEY_MAX], h1[65], h2[65], hs[65], h[65];
	char id1[33], id2[33], b64[64];
	size_t i;

	(void)state;
	assert_int_equal(csf__api_key_new(k1, h1), 0);
	assert_int_equal(csf__api_key_new(k2, h2), 0);
	assert_int_equal(csf__session_token_new(s1, hs), 0);
	assert_int_equal(strncmp(k1, "csfk_", 5), 0);
	assert_int_equal(strncmp(s1, "csfs_", 5), 0);
	assert_int_equal(strlen(k1), 48);
	assert_int_equal(strlen(s1), 48);
	assert_string_not_equal(k1, k2);
	assert_string_not_equal(h1, h2);
	assert_string_not_equal(h1, hs);
	csf__sha256_hex(k1, strlen(k1), h);
	assert_string_equal(h, h1);
	csf__sha256_hex(s1, strlen(s1), h);
	assert_string_equal(h, hs);
	for (i = 5; i < 48; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", k1[i]));

	assert_int_equal(csf__random_id(id1), 0);
	assert_int_equal(csf__random_id(id2), 0);
	assert_true(is_hex(id1, 32));
	assert_true(is_hex(id2, 32));
	assert_string_not_equal(id1, id2);

	/* known answer; sizes of the base64url form */
	csf__sha256_hex("abc", 3, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(csf__random_b64url(b64, sizeof(b64), 0), 0);
	assert_string_equal(b64, "");
	for (i = 1; i <= 45; i++) {
		assert_int_equal(csf__random_b64url(b64, sizeof(b64), i), 0);
		assert_int_equal(strlen(b64), (4 * i + 2) / 3);
	}
	assert_int_equal(csf__random_b64url(b64, 44, 32), 0);
	assert_int_equal(csf__random_b64url(b64, 43, 32), CSF_ELIMIT);

	assert_true(csf__digest_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	assert_false(csf__digest_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ae"));
	assert_false(csf__digest_equal(h, "ba7816bf"));
	assert_false(csf__digest_equal("", ""));
	assert_false(csf__digest_equal(h, NULL));
}

/* -------------------------------------------------------------- passwords */

static void test_passwords(void **state)
{
	char a[128], b[128], bad[160];

	(void)state;
	assert_int_equal(csf__password_hash("correct horse battery staple", a, sizeof(a)), 0);
	assert_int_equal(strncmp(a, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
	assert_int_equal(csf__password_verify(a, "correct horse battery staple"), 0);
	assert_int_equal(csf__password_verify(a, "correct horse battery stapler"), CSF_EAUTH);
	assert_int_equal(csf_error_last()->code, CSF_EAUTH);
	assert_null(strstr(csf_error_last()->message, "horse"));
	assert_int_equal(csf__password_verify(a, ""), CSF_EAUTH);

	/* a fresh salt each time */
	assert_int_equal(csf__password_hash("correct horse battery staple", b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(csf__password_verify(b, "correct horse battery staple"), 0);

	/* the empty password is a password */
	assert_int_equal(csf__password_hash("", b, sizeof(b)), 0);
	assert_int_equal(csf__password_verify(b, ""), 0);
	assert_int_equal(csf__password_verify(b, "x"), CSF_EAUTH);

	/* malformed */
	assert_int_equal(csf__password_verify("", "x"), CSF_EPARSE);
	assert_int_equal(csf__password_verify("plaintext", "plaintext"), CSF_EPARSE);
	assert_int_equal(csf__password_verify("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "x"), CSF_EPARSE);
	snprintf(bad, sizeof(bad), "%.*s", (int)strlen(a) - 22, a); /* 21 characters: under 16 bytes */
	assert_int_equal(csf__password_verify(bad, "correct horse battery staple"), CSF_EPARSE);
	assert_non_null(strstr(csf_error_last()->message, "truncated"));
	snprintf(bad, sizeof(bad), "%s!", a);
	assert_int_equal(csf__password_verify(bad, "correct horse battery staple"), CSF_EPARSE);
	assert_int_equal(csf__password_verify("$argon2id$v=19$m=19456,t=2,p=1$!!!!$!!!!", "x"), CSF_EPARSE);
	/* parameters no hash of ours has: refused, not run */
	assert_int_equal(csf__password_verify("$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo",
					      "x"),
			 CSF_EPARSE);
	assert_non_null(strstr(csf_error_last()->message, "m=4194304"));

	assert_int_equal(csf__password_hash("x", b, 40), CSF_ELIMIT);
}

/* ------------------------------------------------ allocation-failure walk */

static int walk_once(const uint8_t *csr, size_t csr_len)
{
	static const char *const names[] = { "localhost" };
	char tok[CSF__TOKEN_MAX], h1[65], ca_h[65], h2[65], serial[65];
	char *chain = NULL, *server_key = NULL, *ca_pem = NULL, *agent_key = NULL;
	uint8_t *der = NULL, *csr2 = NULL;
	size_t len, csr2_len;
	csf__buf pem = CSF__BUF_INIT(1 << 20);
	int64_t na;
	int rc;

	rc = csf__token_new(tok, ca.sha256, h1);
	if (!rc)
		rc = csf__token_parse(tok, ca_h, h2);
	if (!rc)
		rc = csf__ca_sign_csr(&ca, csr, csr_len, "agent", "org", 3600, &der, &len, serial, &na);
	if (!rc)
		rc = csf__der_to_pem(&pem, der, len);
	if (!rc)
		rc = csf__der_to_pem(&pem, der, len);
	if (!rc)
		rc = csf__ca_cert_pem(&ca, &ca_pem);
	if (!rc)
		rc = csf__ca_issue_server_cert(&ca, names, 1, 1, &chain, &server_key);
	if (!rc)
		rc = csf__csr_create("agent", &agent_key, &csr2, &csr2_len);
	csf__free(der);
	csf__free(ca_pem);
	csf__free(chain);
	csf__free(server_key);
	csf__free(agent_key);
	csf__free(csr2);
	csf__buf_free(&pem);
	return rc;
}

static void test_every_allocation_failure_is_clean(void **state)
{
	char *key_pem;
	uint8_t *csr;
	size_t csr_len;
	long k;

	(void)state;
	assert_int_equal(csf__csr_create("agent", &key_pem, &csr, &csr_len), 0);
	assert_int_equal(csf_allocator_set(&failalloc), 0);
	for (k = 0; k < 1000; k++) {
		int rc;

		fa_arm(k);
		csf_error_clear();
		rc = walk_once(csr, csr_len);
		if (fa.live != 0)
			fail_msg("allocation %ld failing leaked %ld allocations", k, fa.live);
		if (!fa.failed) {
			assert_int_equal(rc, 0);
			break;
		}
		if (rc != CSF_ENOMEM)
			fail_msg("allocation %ld failing returned %d (%s), not CSF_ENOMEM", k, rc,
				 csf_error_last()->message);
		assert_int_equal(csf_error_last()->code, CSF_ENOMEM);
	}
	assert_int_equal(csf_allocator_set(NULL), 0);
	printf("checked %ld allocation failure points\n", k);
	assert_true(k >= 8);
	assert_int_equal(ERR_peek_error(), 0);
	csf__free(csr);
	csf__free(key_pem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_create_and_load),
		cmocka_unit_test(test_ca_created_once),
		cmocka_unit_test(test_ca_one_file_missing),
		cmocka_unit_test(test_ca_corrupt_files),
		cmocka_unit_test(test_server_cert),
		cmocka_unit_test(test_sign_csr),
		cmocka_unit_test(test_sign_csr_refused),
		cmocka_unit_test(test_der_to_pem),
		cmocka_unit_test(test_mtls_handshake),
		cmocka_unit_test(test_token_round_trip),
		cmocka_unit_test(test_token_malformed),
		cmocka_unit_test(test_keys_and_ids),
		cmocka_unit_test(test_passwords),
		cmocka_unit_test(test_every_allocation_failure_is_clean),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
