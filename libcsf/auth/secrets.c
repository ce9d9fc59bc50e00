/*
 * Random secrets and their formats: enrollment tokens, API keys, session
 * tokens and ids, all from OpenSSL's CSPRNG; SHA-256 digests of what we
 * store, compared in constant time.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth/auth.h"

#define SECRET_BYTES 32
#define SECRET_CHARS 43 /* 32 bytes as unpadded base64url */

#define TOKEN_PREFIX "csf1_"
#define TOKEN_PREFIX_LEN (sizeof(TOKEN_PREFIX) - 1)
#define TOKEN_LEN (TOKEN_PREFIX_LEN + 64 + 1 + SECRET_CHARS)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void csf__sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	csf__hex_encode(out, md, sizeof(md));
}

static int random_bytes(unsigned char *out, size_t n)
{
	if (RAND_bytes(out, (int)n) == 1)
		return 0;
	ERR_clear_error();
	return csf__error_set(CSF_EIO, "random: OpenSSL's random generator failed");
}

/* Unpadded base64url of `n` bytes; writes (4n + 2) / 3 characters. */
static size_t b64url_encode(char *out, const unsigned char *in, size_t n)
{
	char *p = out;
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*p++ = b64url[v >> 18];
		*p++ = b64url[(v >> 12) & 63];
		*p++ = b64url[(v >> 6) & 63];
		*p++ = b64url[v & 63];
	}
	if (n - i == 1) {
		*p++ = b64url[in[i] >> 2];
		*p++ = b64url[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		*p++ = b64url[v >> 10];
		*p++ = b64url[(v >> 4) & 63];
		*p++ = b64url[(v & 15) << 2];
	}
	return (size_t)(p - out);
}

int csf__random_b64url(char *out, size_t cap, size_t bytes)
{
	unsigned char chunk[48]; /* a multiple of 3: chunks encode without padding */
	size_t need, done = 0, len = 0;
	int rc = 0;

	if (!out)
		return csf__misuse("csf__random_b64url: NULL argument");
	if (bytes > (SIZE_MAX - 4) / 4)
		return csf__error_set(CSF_ELIMIT, "random: %zu bytes", bytes);
	need = (4 * bytes + 2) / 3 + 1;
	if (cap < need)
		return csf__error_set(CSF_ELIMIT, "random: %zu bytes need %zu characters of room, got %zu", bytes,
				      need, cap);
	while (done < bytes && !rc) {
		size_t n = bytes - done < sizeof(chunk) ? bytes - done : sizeof(chunk);

		rc = random_bytes(chunk, n);
		if (!rc)
			len += b64url_encode(out + len, chunk, n);
		done += n;
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	out[rc ? 0 : len] = '\0';
	return rc;
}

int csf__random_id(char out[33])
{
	unsigned char b[16];
	int rc;

	if (!out)
		return csf__misuse("csf__random_id: NULL argument");
	rc = random_bytes(b, sizeof(b));
	if (rc) {
		out[0] = '\0';
		return rc;
	}
	csf__hex_encode(out, b, sizeof(b));
	return 0;
}

/* 64 hex digits (either case) at `s`, copied in lower case to `out`. */
static int hex64_lower(const char *s, char out[65])
{
	int i;

	for (i = 0; i < 64; i++) {
		int v = csf__hex_value(s[i]);

		if (v < 0)
			return -1;
		out[i] = "0123456789abcdef"[v];
	}
	out[64] = '\0';
	return 0;
}

/* `n` base64url characters that decode to whole bytes with no stray bits
 * (so each secret has exactly one spelling). */
static int is_b64url(const char *s, size_t n)
{
	size_t i;
	const char *last;

	for (i = 0; i < n; i++)
		if (!strchr(b64url, s[i]) || s[i] == '\0')
			return 0;
	if (n % 4 == 1)
		return 0;
	if (n % 4 == 0)
		return 1;
	last = strchr(b64url, s[n - 1]);
	/* 2 characters carry 1 byte (4 stray bits), 3 carry 2 (2 stray bits) */
	return ((last - b64url) & (n % 4 == 2 ? 15 : 3)) == 0;
}

int csf__token_new(char out[CSF__TOKEN_MAX], const char *ca_sha256, char secret_sha256[65])
{
	char ca[65], *secret;
	int rc;

	if (!out || !ca_sha256 || !secret_sha256)
		return csf__misuse("csf__token_new: NULL argument");
	out[0] = secret_sha256[0] = '\0';
	if (strlen(ca_sha256) != 64 || hex64_lower(ca_sha256, ca) != 0)
		return csf__error_set(CSF_EINVALID, "token: the CA hash must be 64 hex digits");
	memcpy(out, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	memcpy(out + TOKEN_PREFIX_LEN, ca, 64);
	out[TOKEN_PREFIX_LEN + 64] = '_';
	secret = out + TOKEN_PREFIX_LEN + 65;
	rc = csf__random_b64url(secret, CSF__TOKEN_MAX - (TOKEN_PREFIX_LEN + 65), SECRET_BYTES);
	if (rc) {
		OPENSSL_cleanse(out, CSF__TOKEN_MAX);
		out[0] = '\0';
		return rc;
	}
	csf__sha256_hex(secret, SECRET_CHARS, secret_sha256);
	return 0;
}

int csf__token_parse(const char *token, char ca_sha256[65], char secret_sha256[65])
{
	char ca[65];
	size_t len;
	const char *secret;

	if (!token || !ca_sha256 || !secret_sha256)
		return csf__misuse("csf__token_parse: NULL argument");
	ca_sha256[0] = secret_sha256[0] = '\0';
	len = strnlen(token, CSF__TOKEN_MAX);
	if (len == 0)
		return csf__error_set(CSF_EPARSE, "token: empty");
	if (len >= CSF__TOKEN_MAX)
		return csf__error_set(CSF_EPARSE, "token: too long (more than %d characters)", CSF__TOKEN_MAX - 1);
	if (len < TOKEN_PREFIX_LEN || memcmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
		return csf__error_set(CSF_EPARSE, "token: not an enrollment token (they start with %s)",
				      TOKEN_PREFIX);
	if (len != TOKEN_LEN)
		return csf__error_set(CSF_EPARSE, "token: %zu characters long, an enrollment token has %zu", len,
				      (size_t)TOKEN_LEN);
	if (hex64_lower(token + TOKEN_PREFIX_LEN, ca) != 0)
		return csf__error_set(CSF_EPARSE, "token: the CA hash is not 64 hex digits");
	if (token[TOKEN_PREFIX_LEN + 64] != '_')
		return csf__error_set(CSF_EPARSE, "token: no '_' after the CA hash");
	secret = token + TOKEN_PREFIX_LEN + 65;
	if (!is_b64url(secret, SECRET_CHARS))
		return csf__error_set(CSF_EPARSE, "token: the secret is not %d base64url characters",
				      SECRET_CHARS);
	memcpy(ca_sha256, ca, sizeof(ca));
	csf__sha256_hex(secret, SECRET_CHARS, secret_sha256);
	return 0;
}

/* PREFIX + a fresh secret; the stored hash is of the whole text, so the
 * server hashes a presented bearer token as it is. */
static int prefixed_secret(char out[CSF__KEY_MAX], char sha256[65], const char *prefix)
{
	size_t plen = strlen(prefix);
	int rc;

	if (!out || !sha256)
		return csf__misuse("auth: NULL argument");
	sha256[0] = '\0';
	memcpy(out, prefix, plen);
	rc = csf__random_b64url(out + plen, CSF__KEY_MAX - plen, SECRET_BYTES);
	if (rc) {
		out[0] = '\0';
		return rc;
	}
	csf__sha256_hex(out, plen + SECRET_CHARS, sha256);
	return 0;
}

int csf__api_key_new(char out[CSF__KEY_MAX], char key_sha256[65])
{
	return prefixed_secret(out, key_sha256, "csfk_");
}

int csf__session_token_new(char out[CSF__KEY_MAX], char token_sha256[65])
{
	return prefixed_secret(out, token_sha256, "csfs_");
}

int csf__digest_equal(const char *a, const char *b)
{
	size_t n;

	if (!a || !b)
		return 0;
	n = strlen(a);
	/* the length of a digest is no secret */
	if (n == 0 || n != strlen(b))
		return 0;
	return CRYPTO_memcmp(a, b, n) == 0;
}
