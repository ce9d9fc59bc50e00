/*
 * libFuzzer target for CSR signing (csf__ca_sign_csr): the input is the
 * PKCS#10 DER an agent would send, signed by a test CA made once in a
 * temporary directory. A CSR we sign must give a certificate for the
 * agent id we chose, verifiable with the CA, whose serial is the one we
 * reported; anything else must be CSF_EPARSE, with OpenSSL's error queue
 * left empty.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "auth/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static csf__ca ca;
static char dir[64];

static void remove_ca(void)
{
	char path[128];

	csf__ca_free(&ca);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.ca.lock", dir);
	unlink(path);
	rmdir(dir);
}

static void make_ca(void)
{
	snprintf(dir, sizeof(dir), "/tmp/csf-fuzz-csr-XXXXXX");
	if (!mkdtemp(dir) || csf__ca_load_or_create(&ca, dir) != 0) {
		fprintf(stderr, "fuzz_csr: no test CA: %s\n", csf_error_last()->message);
		abort();
	}
	atexit(remove_ca);
}

static void check_cert(const uint8_t *der, size_t len, const char *serial)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	char cn[64] = "";
	BIGNUM *bn;
	char *hex;

	if (!x || p != der + len)
		__builtin_trap();
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	if (strcmp(cn, "agent-fuzz") != 0 || X509_verify(x, ca.key) != 1 || X509_check_ca(x) != 0)
		__builtin_trap();
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = bn ? BN_bn2hex(bn) : NULL;
	if (!hex || strcmp(hex, serial) != 0)
		__builtin_trap();
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *der = NULL;
	size_t len = 0;
	char serial[65];
	int64_t not_after;
	int rc;

	if (!ca.cert)
		make_ca();
	rc = csf__ca_sign_csr(&ca, data, size, "agent-fuzz", "org-fuzz", 3600, &der, &len, serial, &not_after);
	if (rc == 0)
		check_cert(der, len, serial);
	else if (rc != CSF_EPARSE || der || serial[0])
		__builtin_trap();
	if (ERR_peek_error() != 0)
		__builtin_trap();
	csf__free(der);
	csf_error_clear();
	return 0;
}
