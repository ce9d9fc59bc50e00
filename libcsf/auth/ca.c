/*
 * The internal CA (OpenSSL 3): loaded from or created in the data
 * directory; it issues the agent listener's server certificate and signs
 * agents' CSRs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "auth/internal.h"

#define CA_DAYS 3650
#define SKEW_S 60                       /* notBefore this far back: clock skew */
#define MAX_LIFETIME_S (100LL * 365 * 86400)
#define CSR_MAX 16384                   /* an RSA 8192 CSR is ~1.5 KiB */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192               /* bigger keys only make verification slow */

/* PEM_read_* would prompt on the terminal for an encrypted key. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* ------------------------------------------------------------ certificates */

static int random_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int ok = bn != NULL;

	/* RFC 5280: positive, at most 20 octets */
	do
		ok = ok && BN_rand(bn, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1;
	while (ok && BN_is_zero(bn));
	ok = ok && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : csf__auth_ossl_fail(CSF_EIO, "cannot make a serial number");
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	ok = ext && X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? 0 : csf__auth_ossl_fail(CSF_EIO, "cannot add a certificate extension");
}

static int unix_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return csf__auth_ossl_fail(CSF_EIO, "cannot read a certificate time");
	*out = (int64_t)timegm(&tm);
	return 0;
}

/*
 * A v3 certificate for `pubkey` named `subject`, with a random serial,
 * valid from SKEW_S ago for `lifetime_s` but never past its issuer.
 * `issuer` NULL: self-signed. The caller adds extensions and signs.
 */
static int cert_new(X509 **out, EVP_PKEY *pubkey, X509_NAME *subject, const X509 *issuer,
		    int64_t lifetime_s, int64_t *not_after)
{
	int64_t now = (int64_t)time(NULL), end = now + lifetime_s, issuer_end = 0;
	X509 *x = X509_new();
	int rc;

	*out = NULL;
	if (!x)
		return csf__auth_ossl_fail(CSF_ENOMEM, "cannot make a certificate");
	if (issuer) {
		rc = unix_time(X509_get0_notAfter(issuer), &issuer_end);
		if (rc)
			goto fail;
		if (issuer_end <= now) {
			rc = csf__error_set(CSF_EINVALID, "ca: the CA certificate has expired");
			goto fail;
		}
		if (end > issuer_end)
			end = issuer_end;
	}
	rc = random_serial(x);
	if (rc)
		goto fail;
	if (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_subject_name(x, subject) != 1 ||
	    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - SKEW_S)) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)end) || X509_set_pubkey(x, pubkey) != 1) {
		rc = csf__auth_ossl_fail(CSF_EIO, "cannot fill in a certificate");
		goto fail;
	}
	if (not_after)
		*not_after = end;
	*out = x;
	return 0;
fail:
	X509_free(x);
	return rc;
}

/* Sign with the CA's key: SHA-256, except for keys that bring their own. */
static int cert_sign(X509 *x, EVP_PKEY *key)
{
	const EVP_MD *md = EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448") ? NULL : EVP_sha256();

	return X509_sign(x, key, md) > 0 ? 0 : csf__auth_ossl_fail(CSF_EIO, "cannot sign a certificate");
}

static int cert_to_der(X509 *x, uint8_t **out, size_t *len)
{
	int n = i2d_X509(x, NULL);
	unsigned char *p;

	*out = NULL;
	if (n <= 0)
		return csf__auth_ossl_fail(CSF_EIO, "cannot encode a certificate");
	*out = csf__malloc((size_t)n);
	if (!*out)
		return CSF_ENOMEM;
	p = *out;
	if (i2d_X509(x, &p) != n) {
		csf__free(*out);
		*out = NULL;
		return csf__auth_ossl_fail(CSF_EIO, "cannot encode a certificate");
	}
	*len = (size_t)n;
	return 0;
}

static int cert_to_pem(X509 *x, csf__buf *out)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int rc = cert_to_der(x, &der, &len);

	if (rc)
		return rc;
	rc = csf__der_to_pem(out, der, len);
	csf__free(der);
	return rc;
}

/* ------------------------------------------------------------- the CA files */

/* 1 when `path` exists, 0 when it does not, or an error. */
static int ca_digest(csf__ca *ca)
{
	unsigned char md[32];
	unsigned int len = 0;

	if (X509_digest(ca->cert, EVP_sha256(), md, &len) != 1 || len != sizeof(md))
		return csf__auth_ossl_fail(CSF_EIO, "cannot hash the CA certificate");
	csf__hex_encode(ca->sha256, md, sizeof(md));
	return 0;
}

/* BIO_new_file, with the reason as errno gives it. */
static int open_file(BIO **out, const char *path)
{
	int e;

	*out = BIO_new_file(path, "r");
	if (*out)
		return 0;
	e = errno;
	ERR_clear_error();
	return csf__error_set_errno(CSF_EIO, e, "ca: cannot open %s", path);
}

static int ca_load(csf__ca *ca, const char *pem_path, const char *key_path)
{
	BIO *bio;
	struct stat st;
	int rc;

	rc = open_file(&bio, pem_path);
	if (rc)
		return rc;
	ca->cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!ca->cert)
		return csf__error_set(CSF_EPARSE, "ca: %s does not hold a PEM certificate: %s", pem_path,
				      csf__auth_ossl_reason(NULL));
	rc = open_file(&bio, key_path);
	if (rc)
		return rc;
	if (stat(key_path, &st) == 0 && (st.st_mode & 077))
		csf__log(CSF_LOG_WARN, "auth", "%s is open to others than its owner (mode %03o)", key_path,
			 (unsigned int)(st.st_mode & 0777));
	ca->key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!ca->key)
		return csf__error_set(CSF_EPARSE, "ca: %s does not hold an unencrypted PEM private key: %s",
				      key_path, csf__auth_ossl_reason(NULL));
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		return csf__error_set(CSF_EINVALID, "ca: %s is not the key of %s", key_path, pem_path);
	}
	if (X509_check_ca(ca->cert) < 1)
		return csf__error_set(CSF_EINVALID, "ca: %s is not a CA certificate", pem_path);
	if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) <= 0)
		csf__log(CSF_LOG_WARN, "auth", "the CA certificate %s has expired", pem_path);
	return ca_digest(ca);
}

static int ca_create(csf__ca *ca, const char *dir)
{
	char id[33], cn[64], key_path[CSF__PATH_MAX], *key_pem = NULL;
	csf__buf pem = CSF__BUF_INIT(16384);
	X509_NAME *name = NULL;
	int rc;

	rc = csf__random_id(id);
	if (!rc)
		rc = csf__auth_ec_p256(&ca->key);
	if (rc)
		goto out;
	snprintf(cn, sizeof(cn), "csf internal CA %.16s", id);
	name = X509_NAME_new();
	if (!name) {
		rc = csf__auth_ossl_fail(CSF_ENOMEM, "cannot make a name");
		goto out;
	}
	rc = csf__auth_name_add(name, NID_commonName, cn, "CA name");
	if (!rc)
		rc = cert_new(&ca->cert, ca->key, name, NULL, (int64_t)CA_DAYS * 86400, NULL);
	if (!rc)
		rc = add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
	if (!rc)
		rc = add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (!rc)
		rc = add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash");
	if (!rc)
		rc = add_ext(ca->cert, ca->cert, NID_authority_key_identifier, "keyid:always");
	if (!rc)
		rc = cert_sign(ca->cert, ca->key);
	if (!rc)
		rc = cert_to_pem(ca->cert, &pem);
	if (!rc)
		rc = csf__auth_key_to_pem(ca->key, &key_pem);
	/* the key first: a crash between the two leaves a key alone, which
	 * the next start reports instead of making a second CA */
	if (!rc)
		rc = csf__file_write_atomic(dir, "ca.key", key_pem, strlen(key_pem), 0600);
	if (!rc) {
		rc = csf__file_write_atomic(dir, "ca.pem", pem.ptr, pem.len, 0644);
		if (rc && csf__path_join(key_path, dir, "ca.key") == 0)
			unlink(key_path);
	}
	if (!rc)
		rc = csf__dir_sync(dir);
	if (!rc)
		rc = ca_digest(ca);
out:
	if (key_pem) {
		OPENSSL_cleanse(key_pem, strlen(key_pem));
		csf__free(key_pem);
	}
	csf__buf_free(&pem);
	X509_NAME_free(name);
	return rc;
}

/* Which of the two files exist: 0 none, 1 both; one alone is an error. */
static int ca_files(const char *pem_path, const char *key_path)
{
	int have_pem = csf__file_exists(pem_path), have_key;

	if (have_pem < 0)
		return have_pem;
	have_key = csf__file_exists(key_path);
	if (have_key < 0)
		return have_key;
	if (have_pem != have_key)
		return csf__error_set(CSF_EINVALID, "ca: %s exists but %s does not; restore it, or remove both "
				      "to create a new CA (enrolled agents will then need new certificates)",
				      have_pem ? pem_path : key_path, have_pem ? key_path : pem_path);
	return have_pem;
}

/* Create the CA under an exclusive lock on DIR/.ca.lock, so that two
 * servers starting at once on one data directory end up with one CA. */
static int ca_create_locked(csf__ca *ca, const char *dir, const char *pem_path, const char *key_path)
{
	char lock_path[CSF__PATH_MAX];
	int fd, rc, have;

	rc = csf__dir_make(dir);
	if (!rc)
		rc = csf__path_join(lock_path, dir, ".ca.lock");
	if (rc)
		return rc;
	fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return csf__error_set_errno(CSF_EIO, errno, "ca: cannot open %s", lock_path);
	while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
		;
	if (rc != 0) {
		rc = csf__error_set_errno(CSF_EIO, errno, "ca: cannot lock %s", lock_path);
		close(fd);
		return rc;
	}
	have = ca_files(pem_path, key_path); /* another process may have won */
	if (have < 0)
		rc = have;
	else
		rc = have ? ca_load(ca, pem_path, key_path) : ca_create(ca, dir);
	close(fd); /* and the lock with it */
	return rc;
}

int csf__ca_load_or_create(csf__ca *ca, const char *dir)
{
	char pem_path[CSF__PATH_MAX], key_path[CSF__PATH_MAX];
	int have, rc;

	if (!ca || !dir || !*dir)
		return csf__misuse("csf__ca_load_or_create: NULL argument");
	memset(ca, 0, sizeof(*ca));
	rc = csf__path_join(pem_path, dir, "ca.pem");
	if (!rc)
		rc = csf__path_join(key_path, dir, "ca.key");
	if (rc)
		return rc;
	/* without the lock, one file alone may be a CA being written right
	 * now: only both mean done; anything else is looked at again under it */
	have = ca_files(pem_path, key_path);
	rc = have == 1 ? ca_load(ca, pem_path, key_path) : ca_create_locked(ca, dir, pem_path, key_path);
	if (rc)
		csf__ca_free(ca);
	return rc;
}

void csf__ca_free(csf__ca *ca)
{
	if (!ca)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	memset(ca, 0, sizeof(*ca));
}

int csf__ca_cert_der(const csf__ca *ca, uint8_t **out, size_t *len)
{
	if (!ca || !ca->cert || !out || !len)
		return csf__misuse("csf__ca_cert_der: NULL argument");
	return cert_to_der(ca->cert, out, len);
}

int csf__ca_cert_pem(const csf__ca *ca, char **out)
{
	csf__buf pem = CSF__BUF_INIT(16384);
	int rc;

	if (!ca || !ca->cert || !out)
		return csf__misuse("csf__ca_cert_pem: NULL argument");
	*out = NULL;
	rc = cert_to_pem(ca->cert, &pem);
	if (rc) {
		csf__buf_free(&pem);
		return rc;
	}
	*out = csf__buf_detach(&pem, NULL);
	return 0;
}

/* ----------------------------------------------------------- server certs */

static int is_dns_name(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > 253)
		return 0;
	if (s[0] == '*' && s[1] == '.')
		s += 2;
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '_'))
			return 0;
	}
	return i > 0;
}

/* subjectAltName from `names`, built field by field: a name is never
 * parsed as OpenSSL configuration text. */
static int add_san(X509 *x, const char *const *names, size_t n)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	size_t i;
	int rc = 0;

	if (!gens)
		return csf__auth_ossl_fail(CSF_ENOMEM, "cannot make subjectAltName");
	for (i = 0; i < n && !rc; i++) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(names[i]);
		ASN1_IA5STRING *dns = NULL;
		GENERAL_NAME *gen;

		ERR_clear_error();
		if (!ip && !is_dns_name(names[i])) {
			rc = csf__error_set(CSF_EINVALID, "ca: \"%.100s\" is neither an IP address nor a DNS name",
					    names[i]);
			break;
		}
		if (!ip) {
			dns = ASN1_IA5STRING_new();
			if (!dns || ASN1_STRING_set(dns, names[i], -1) != 1) {
				ASN1_IA5STRING_free(dns);
				rc = csf__auth_ossl_fail(CSF_ENOMEM, "cannot make subjectAltName");
				break;
			}
		}
		gen = GENERAL_NAME_new();
		if (!gen) {
			ASN1_OCTET_STRING_free(ip);
			ASN1_IA5STRING_free(dns);
			rc = csf__auth_ossl_fail(CSF_ENOMEM, "cannot make subjectAltName");
			break;
		}
		if (ip)
			GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
		else
			GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
		if (!sk_GENERAL_NAME_push(gens, gen)) {
			GENERAL_NAME_free(gen);
			rc = csf__auth_ossl_fail(CSF_ENOMEM, "cannot make subjectAltName");
		}
	}
	if (!rc && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
		rc = csf__auth_ossl_fail(CSF_EIO, "cannot add subjectAltName");
	GENERAL_NAMES_free(gens);
	return rc;
}

int csf__ca_issue_server_cert(const csf__ca *ca, const char *const *names, size_t n, int days,
			      char **cert_pem, char **key_pem)
{
	csf__buf chain = CSF__BUF_INIT(65536);
	EVP_PKEY *key = NULL;
	X509_NAME *subject = NULL;
	X509 *x = NULL;
	size_t i;
	int rc;

	if (!ca || !ca->cert || !ca->key || !names || !cert_pem || !key_pem)
		return csf__misuse("csf__ca_issue_server_cert: NULL argument");
	*cert_pem = *key_pem = NULL;
	if (n == 0 || days <= 0 || days > 36500)
		return csf__error_set(CSF_EINVALID, "ca: a server certificate needs at least one name and "
				      "1 to 36500 days (got %zu names, %d days)", n, days);
	for (i = 0; i < n; i++)
		if (!names[i])
			return csf__misuse("csf__ca_issue_server_cert: name %zu is NULL", i);
	rc = csf__auth_ec_p256(&key);
	if (rc)
		goto out;
	subject = X509_NAME_new();
	if (!subject) {
		rc = csf__auth_ossl_fail(CSF_ENOMEM, "cannot make a name");
		goto out;
	}
	/* the CN is for people reading the certificate; clients check the SANs */
	if (strlen(names[0]) <= CSF__AUTH_NAME_MAX)
		rc = csf__auth_name_add(subject, NID_commonName, names[0], "server name");
	if (!rc)
		rc = cert_new(&x, key, subject, ca->cert, (int64_t)days * 86400, NULL);
	if (!rc)
		rc = add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE");
	if (!rc)
		rc = add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature");
	if (!rc)
		rc = add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth");
	if (!rc)
		rc = add_ext(x, ca->cert, NID_subject_key_identifier, "hash");
	if (!rc)
		rc = add_ext(x, ca->cert, NID_authority_key_identifier, "keyid");
	if (!rc)
		rc = add_san(x, names, n);
	if (!rc)
		rc = cert_sign(x, ca->key);
	if (!rc)
		rc = cert_to_pem(x, &chain);
	if (!rc)
		rc = cert_to_pem(ca->cert, &chain);
	if (!rc)
		rc = csf__auth_key_to_pem(key, key_pem);
	if (!rc)
		*cert_pem = csf__buf_detach(&chain, NULL);
out:
	csf__buf_free(&chain);
	X509_free(x);
	X509_NAME_free(subject);
	EVP_PKEY_free(key);
	return rc;
}

/* ------------------------------------------------------------ CSR signing */

/* The key types we sign: EC P-256/P-384 and RSA 2048 to 8192 bits, with
 * a public key that passes OpenSSL's checks. */
static int check_csr_key(EVP_PKEY *pk)
{
	EVP_PKEY_CTX *ctx;
	int ok;

	if (EVP_PKEY_is_a(pk, "EC")) {
		char group[64], enc[32];
		size_t len = 0;
		int nid;

		/* explicit curve parameters, even those of P-256, would be copied
		 * into the certificate, which TLS peers refuse (RFC 5480) */
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc), &len) != 1 ||
		    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0 ||
		    EVP_PKEY_get_group_name(pk, group, sizeof(group), &len) != 1) {
			ERR_clear_error();
			return csf__error_set(CSF_EPARSE, "csr: an EC key without a named curve");
		}
		nid = OBJ_sn2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1)
			return csf__error_set(CSF_EPARSE, "csr: EC curve %s is not accepted (P-256 or P-384)", group);
	} else if (EVP_PKEY_is_a(pk, "RSA")) {
		int bits = EVP_PKEY_get_bits(pk);

		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
			return csf__error_set(CSF_EPARSE, "csr: an RSA key of %d bits is not accepted (%d to %d)", bits,
					      RSA_MIN_BITS, RSA_MAX_BITS);
	} else {
		return csf__error_set(CSF_EPARSE, "csr: key type %s is not accepted (EC P-256, P-384 or RSA)",
				      EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "unknown");
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!ctx)
		return csf__auth_ossl_fail(CSF_ENOMEM, "cannot check a public key");
	ok = EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		return csf__error_set(CSF_EPARSE, "csr: the public key is not valid");
	}
	return 0;
}

int csf__ca_sign_csr(const csf__ca *ca, const uint8_t *csr_der, size_t csr_len, const char *agent_id,
		     const char *org_id, int64_t lifetime_s, uint8_t **cert_der, size_t *cert_len,
		     char serial_hex[65], int64_t *not_after)
{
	const unsigned char *p = csr_der;
	X509_REQ *req = NULL;
	X509_NAME *subject = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int64_t end = 0;
	int rc;

	if (!ca || !ca->cert || !ca->key || (!csr_der && csr_len) || !agent_id || !org_id || !cert_der ||
	    !cert_len || !serial_hex || !not_after)
		return csf__misuse("csf__ca_sign_csr: NULL argument");
	*cert_der = NULL;
	*cert_len = 0;
	serial_hex[0] = '\0';
	*not_after = 0;
	if (lifetime_s <= 0 || lifetime_s > MAX_LIFETIME_S)
		return csf__error_set(CSF_EINVALID, "ca: certificate lifetime %lld s out of range",
				      (long long)lifetime_s);
	if (csr_len == 0 || csr_len > CSR_MAX)
		return csf__error_set(CSF_EPARSE, "csr: %zu bytes (a CSR has 1 to %d)", csr_len, CSR_MAX);
	req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	if (!req || p != csr_der + csr_len) {
		ERR_clear_error();
		rc = csf__error_set(CSF_EPARSE, "csr: not a DER PKCS#10 request");
		goto out;
	}
	pk = X509_REQ_get0_pubkey(req);
	if (!pk) {
		ERR_clear_error();
		rc = csf__error_set(CSF_EPARSE, "csr: no usable public key");
		goto out;
	}
	rc = check_csr_key(pk);
	if (rc)
		goto out;
	/* proof that the agent holds the key */
	if (X509_REQ_verify(req, pk) != 1) {
		ERR_clear_error();
		rc = csf__error_set(CSF_EPARSE, "csr: the signature does not verify");
		goto out;
	}
	subject = X509_NAME_new();
	if (!subject) {
		rc = csf__auth_ossl_fail(CSF_ENOMEM, "cannot make a name");
		goto out;
	}
	rc = csf__auth_name_add(subject, NID_organizationName, org_id, "organization id");
	if (!rc)
		rc = csf__auth_name_add(subject, NID_commonName, agent_id, "agent id");
	if (!rc)
		rc = cert_new(&x, pk, subject, ca->cert, lifetime_s, &end);
	if (!rc)
		rc = add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE");
	if (!rc)
		rc = add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature");
	if (!rc)
		rc = add_ext(x, ca->cert, NID_ext_key_usage, "clientAuth");
	if (!rc)
		rc = add_ext(x, ca->cert, NID_subject_key_identifier, "hash");
	if (!rc)
		rc = add_ext(x, ca->cert, NID_authority_key_identifier, "keyid");
	if (!rc)
		rc = cert_sign(x, ca->key);
	if (rc)
		goto out;
	/* the serial as the net layer reports it (conn.c: BN_bn2hex) */
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = bn ? BN_bn2hex(bn) : NULL;
	if (!hex || strlen(hex) > 64) {
		rc = csf__auth_ossl_fail(CSF_EIO, "cannot format the serial number");
		goto out;
	}
	rc = cert_to_der(x, &der, &der_len);
	if (rc)
		goto out;
	memcpy(serial_hex, hex, strlen(hex) + 1);
	*cert_der = der;
	*cert_len = der_len;
	*not_after = end;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	X509_NAME_free(subject);
	X509_REQ_free(req);
	return rc;
}
