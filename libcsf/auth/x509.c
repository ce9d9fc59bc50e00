/*
 * Keys, names, CSRs and PEM text over OpenSSL 3: what the CA and the agent
 * both need. The agent's side of enrollment (its key and CSR) is here, so
 * that it links nothing of the CA.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "auth/internal.h"

#define PEM_LINE 48 /* DER bytes per 64-character base64 line */

const char *csf__auth_ossl_reason(int *is_oom)
{
	static _Thread_local char buf[256];
	unsigned long e = ERR_peek_error();

	if (is_oom)
		*is_oom = e && ERR_GET_REASON(e) == ERR_GET_REASON(ERR_R_MALLOC_FAILURE);
	if (!e) {
		snprintf(buf, sizeof(buf), "unknown OpenSSL error");
	} else {
		ERR_error_string_n(e, buf, sizeof(buf));
	}
	ERR_clear_error();
	return buf;
}

int csf__auth_ossl_fail(int code, const char *what)
{
	int oom;
	const char *reason = csf__auth_ossl_reason(&oom);

	return csf__error_set(oom ? CSF_ENOMEM : code, "auth: %s: %s", what, reason);
}

int csf__auth_key_to_pem(EVP_PKEY *key, char **out)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data;
	long len;
	int rc = 0;

	*out = NULL;
	if (!bio || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		rc = csf__auth_ossl_fail(CSF_EIO, "cannot encode a private key");
		goto out;
	}
	*out = csf__malloc((size_t)len + 1);
	if (!*out) {
		rc = CSF_ENOMEM;
		goto out;
	}
	memcpy(*out, data, (size_t)len);
	(*out)[len] = '\0';
out:
	BIO_free(bio); /* a secmem BIO clears its buffer */
	return rc;
}

int csf__auth_ec_p256(EVP_PKEY **out)
{
	*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return *out ? 0 : csf__auth_ossl_fail(CSF_EIO, "cannot generate an EC P-256 key");
}

int csf__auth_name_add(X509_NAME *name, int nid, const char *value, const char *what)
{
	size_t len = strlen(value);

	if (len == 0 || len > CSF__AUTH_NAME_MAX)
		return csf__error_set(CSF_EINVALID, "auth: the %s must be 1 to %d bytes", what, CSF__AUTH_NAME_MAX);
	if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)value, (int)len, -1, 0) != 1)
		return csf__auth_ossl_fail(CSF_EINVALID, what);
	return 0;
}

int csf__der_to_pem(csf__buf *out, const uint8_t *der, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
	static const char end[] = "-----END CERTIFICATE-----\n";
	size_t start, pos = 0, i;
	int rc = 0;

	if (!out || (!der && len))
		return csf__misuse("csf__der_to_pem: NULL argument");
	if (len == 0)
		return csf__error_set(CSF_EPARSE, "pem: no certificate");
	if (len > LONG_MAX)
		return csf__error_set(CSF_ELIMIT, "pem: %zu bytes of DER", len);
	start = out->len;
	while (pos < len && !rc) {
		const unsigned char *p = der + pos;
		X509 *x = d2i_X509(NULL, &p, (long)(len - pos));
		size_t n = (size_t)(p - (der + pos));

		if (!x) {
			ERR_clear_error();
			rc = csf__error_set(CSF_EPARSE, "pem: not a DER certificate at byte %zu", pos);
			break;
		}
		X509_free(x);
		rc = csf__buf_puts(out, begin);
		for (i = 0; i < n && !rc; i += PEM_LINE) {
			size_t k = n - i < PEM_LINE ? n - i : PEM_LINE;

			rc = csf__buf_reserve(out, 4 * PEM_LINE / 3 + 1);
			if (!rc) {
				out->len += (size_t)EVP_EncodeBlock((unsigned char *)out->ptr + out->len, der + pos + i,
								    (int)k);
				rc = csf__buf_putc(out, '\n');
			}
		}
		if (!rc)
			rc = csf__buf_puts(out, end);
		pos += n;
	}
	if (rc && out->ptr) {
		out->len = start;
		out->ptr[start] = '\0';
	}
	return rc;
}

int csf__csr_create(const char *cn, char **key_pem, uint8_t **csr_der, size_t *csr_len)
{
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	X509_NAME *name;
	unsigned char *p;
	int n, rc;

	if (!cn || !key_pem || !csr_der || !csr_len)
		return csf__misuse("csf__csr_create: NULL argument");
	*key_pem = NULL;
	*csr_der = NULL;
	*csr_len = 0;
	rc = csf__auth_ec_p256(&key);
	if (rc)
		return rc;
	req = X509_REQ_new();
	if (!req) {
		rc = csf__auth_ossl_fail(CSF_ENOMEM, "cannot make a CSR");
		goto out;
	}
	name = X509_REQ_get_subject_name(req);
	if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 || !name) {
		rc = csf__auth_ossl_fail(CSF_EIO, "cannot make a CSR");
		goto out;
	}
	rc = csf__auth_name_add(name, NID_commonName, cn, "CSR name");
	if (rc)
		goto out;
	if (X509_REQ_set_pubkey(req, key) != 1 || X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (n = i2d_X509_REQ(req, NULL)) <= 0) {
		rc = csf__auth_ossl_fail(CSF_EIO, "cannot sign a CSR");
		goto out;
	}
	*csr_der = csf__malloc((size_t)n);
	if (!*csr_der) {
		rc = CSF_ENOMEM;
		goto out;
	}
	p = *csr_der;
	if (i2d_X509_REQ(req, &p) != n) {
		rc = csf__auth_ossl_fail(CSF_EIO, "cannot encode a CSR");
		goto out;
	}
	*csr_len = (size_t)n;
	rc = csf__auth_key_to_pem(key, key_pem);
out:
	if (rc) {
		csf__free(*csr_der);
		*csr_der = NULL;
		*csr_len = 0;
	}
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return rc;
}
