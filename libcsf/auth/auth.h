/*
 * Identity and secrets: the server's internal CA (agent client certificates,
 * the agent listener's server certificate), CSRs, enrollment tokens, API
 * keys, session tokens and passwords. Pure functions over OpenSSL and
 * libargon2; storage is the server's business.
 *
 * Secrets at rest are hashes: tokens and keys as hex SHA-256 (they are long
 * random strings, so a fast hash is right), passwords as argon2id. Nothing
 * here logs a secret.
 */
#ifndef CSF_AUTH_AUTH_H
#define CSF_AUTH_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/internal.h"

/* ------------------------------------------------------------ internal CA */

typedef struct csf__ca {
	EVP_PKEY *key;
	X509 *cert;
	char sha256[65]; /* hex SHA-256 of the CA certificate's DER: what agents pin */
} csf__ca;

/*
 * Load DIR/ca.pem and DIR/ca.key, or create them (EC P-256, self-signed,
 * 10 years, CN "csf internal CA <random>") when neither exists; the key file
 * is written 0600 and the directory is created 0700 if missing. One file
 * without the other is an error (CSF_EINVALID) rather than a silent new CA.
 * Missing parent directories are created 0700 too; an existing directory
 * keeps its mode. Files are written to a temporary name (O_EXCL), synced
 * and renamed, under a lock (DIR/.ca.lock) so that processes starting at
 * once on one directory get one CA. A loaded CA must be a CA certificate
 * with its own key; a key file open to group or others is logged (warn).
 * Errors: CSF_EIO, CSF_EINVALID, CSF_EPARSE (a file that is not PEM, or an
 * encrypted key), CSF_ENOMEM.
 */
int csf__ca_load_or_create(csf__ca *ca, const char *dir);
void csf__ca_free(csf__ca *ca);

/* The CA certificate as DER (csf__free it) and as PEM (csf__free it). */
int csf__ca_cert_der(const csf__ca *ca, uint8_t **out, size_t *len);
int csf__ca_cert_pem(const csf__ca *ca, char **out);

/*
 * A server certificate for the agent listener, signed by the CA: a fresh
 * EC P-256 key, the given names as subjectAltNames (each parsed as an IP
 * address when it is one, else a DNS name), serverAuth, valid `days`.
 * `*cert_pem` holds the certificate followed by the CA certificate (the
 * chain to present); `*key_pem` the key. Both csf__free'd by the caller.
 * The CN is names[0] (when it fits in 64 bytes). A certificate never
 * outlives the CA: its notAfter is capped at the CA's.
 * Errors: CSF_EINVALID (no names, a name that is neither, days not in
 * 1..36500, the CA has expired), CSF_ENOMEM, CSF_EIO.
 */
int csf__ca_issue_server_cert(const csf__ca *ca, const char *const *names, size_t n, int days,
			      char **cert_pem, char **key_pem);

/*
 * Sign an agent's CSR (PKCS#10 DER). The CSR's signature must verify (proof
 * that the agent holds the key); of the CSR only the public key is used:
 * the subject is CN=`agent_id`, O=`org_id`, the extensions are ours
 * (clientAuth, not a CA). Serial: 128 random bits. Validity from one minute
 * ago (clock skew) for `lifetime_s` seconds.
 * Out: the certificate's DER (csf__free), its serial as hex (as the net
 * layer reports it: csf_net_peer.cert_serial) and its notAfter (Unix s),
 * capped at the CA's notAfter.
 * Errors: CSF_EPARSE (not a CSR, more than 16 KiB, or its signature does
 * not verify, or a key type we do not sign: EC P-256/P-384 on named curves
 * and RSA 2048 to 8192 bits are accepted), CSF_EINVALID (agent_id or org_id empty or over
 * 64 bytes, lifetime_s not positive, the CA has expired), CSF_ENOMEM,
 * CSF_EIO.
 */
int csf__ca_sign_csr(const csf__ca *ca, const uint8_t *csr_der, size_t csr_len, const char *agent_id,
		     const char *org_id, int64_t lifetime_s, uint8_t **cert_der, size_t *cert_len,
		     char serial_hex[65], int64_t *not_after);

/* Agent side: a fresh EC P-256 key and a CSR for it (subject CN=`cn`).
 * `*key_pem` and `*csr_der` are csf__free'd by the caller. */
int csf__csr_create(const char *cn, char **key_pem, uint8_t **csr_der, size_t *csr_len);

/* DER certificate(s) to PEM text, appended to `out`. Errors: CSF_EPARSE
 * (no certificate, or bytes that are not one; `out` is left as it was),
 * CSF_ELIMIT (out->max), CSF_ENOMEM. */
int csf__der_to_pem(csf__buf *out, const uint8_t *der, size_t len);

/* ---------------------------------------------------------------- secrets */

/* Hex SHA-256 of bytes. */
void csf__sha256_hex(const void *data, size_t len, char out[65]);

/* `bytes` random bytes (OpenSSL's CSPRNG) as unpadded base64url into `out`
 * (cap >= 4 * bytes / 3 + 2). Errors: CSF_EIO (RNG), CSF_ELIMIT (cap). */
int csf__random_b64url(char *out, size_t cap, size_t bytes);

/* A random id for rows and agents: 16 random bytes as 32 hex digits. */
int csf__random_id(char out[33]);

/*
 * Enrollment tokens: "csf1_" + the CA's SHA-256 (64 hex) + "_" + a secret
 * (32 random bytes, base64url). The server stores SHA-256(secret) only.
 */
#define CSF__TOKEN_MAX 160
/* Errors: CSF_EINVALID (ca_sha256 is not 64 hex digits), CSF_EIO (RNG). */
int csf__token_new(char out[CSF__TOKEN_MAX], const char *ca_sha256, char secret_sha256[65]);
/* Split a token: the pinned CA hash (in lower case) and SHA-256 of its
 * secret (of its base64url text, as csf__token_new hashes it).
 * CSF_EPARSE when it is not one of ours (the message says what is wrong,
 * without echoing the secret). */
int csf__token_parse(const char *token, char ca_sha256[65], char secret_sha256[65]);

/* API keys ("csfk_" + 32 random bytes base64url) and session tokens
 * ("csfs_" + ...): the text to hand out, and the hash to store: SHA-256
 * of the whole text, prefix included, so a presented bearer token is
 * hashed as it comes. */
#define CSF__KEY_MAX 80
int csf__api_key_new(char out[CSF__KEY_MAX], char key_sha256[65]);
int csf__session_token_new(char out[CSF__KEY_MAX], char token_sha256[65]);

/* ------------------------------------------------------------- passwords */

/* argon2id (RFC 9106's second recommended option: t=3, m=64 MiB, p=4 is
 * too slow for tests; we use t=2, m=19 MiB, p=1, OWASP's minimum) encoded
 * string into `out` (cap >= 128; the string is 97 characters and a NUL),
 * with a fresh 16-byte salt and a 32-byte tag.
 * Errors: CSF_ELIMIT (cap), CSF_EIO (RNG), CSF_ENOMEM. */
int csf__password_hash(const char *password, char *out, size_t cap);
/* 0 when the password matches, CSF_EAUTH when not, CSF_EPARSE when the
 * encoded hash is malformed or asks for more than m=1 GiB, t=16, p=16.
 * Takes the same time either way. */
int csf__password_verify(const char *encoded, const char *password);

/* Constant-time comparison of two equal-length hex digests: 1 when equal,
 * 0 when not (or of different lengths, or empty). Byte for byte: our
 * digests are lower case. */
int csf__digest_equal(const char *a, const char *b);

#endif
