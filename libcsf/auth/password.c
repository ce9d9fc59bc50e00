/* Password hashing: argon2id through libargon2, in its PHC string format. */
#include <stdio.h>
#include <string.h>

#include <argon2.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "auth/auth.h"

/* OWASP's minimum for argon2id (RFC 9106's t=3, m=64 MiB is too slow for
 * tests and small servers). */
#define T_COST 2
#define M_COST_KIB 19456
#define PARALLELISM 1
#define SALT_LEN 16
#define HASH_LEN 32

/* A stored hash asking for more than this is refused rather than run: a
 * bad row must not make a login allocate gigabytes. */
#define MAX_M_COST_KIB (1024u * 1024u)
#define MAX_T_COST 16u
#define MAX_PARALLELISM 16u
/* libargon2 accepts tags down to 4 bytes; a shorter tag than 16 bytes is
 * a damaged (or weakened) row, not a password that does not match. */
#define MIN_TAG_B64 22

static int argon2_fail(int err, const char *what)
{
	return csf__error_set(err == ARGON2_MEMORY_ALLOCATION_ERROR ? CSF_ENOMEM : CSF_ERROR,
			      "password: %s: %s", what, argon2_error_message(err));
}

int csf__password_hash(const char *password, char *out, size_t cap)
{
	unsigned char salt[SALT_LEN];
	size_t need;
	int err;

	if (!password || !out)
		return csf__misuse("csf__password_hash: NULL argument");
	need = argon2_encodedlen(T_COST, M_COST_KIB, PARALLELISM, SALT_LEN, HASH_LEN, Argon2_id);
	if (cap < need)
		return csf__error_set(CSF_ELIMIT, "password: the encoded hash needs %zu bytes, got %zu", need, cap);
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		ERR_clear_error();
		return csf__error_set(CSF_EIO, "password: OpenSSL's random generator failed");
	}
	err = argon2id_hash_encoded(T_COST, M_COST_KIB, PARALLELISM, password, strlen(password), salt,
				    sizeof(salt), HASH_LEN, out, cap);
	if (err != ARGON2_OK) {
		out[0] = '\0';
		return argon2_fail(err, "hashing failed");
	}
	return 0;
}

int csf__password_verify(const char *encoded, const char *password)
{
	unsigned int v, m, t, p;
	const char *tag;
	int err;

	if (!encoded || !password)
		return csf__misuse("csf__password_verify: NULL argument");
	if (sscanf(encoded, "$argon2id$v=%u$m=%u,t=%u,p=%u$", &v, &m, &t, &p) != 4)
		return csf__error_set(CSF_EPARSE, "password: the stored hash is not an argon2id hash");
	if (m > MAX_M_COST_KIB || t > MAX_T_COST || p > MAX_PARALLELISM)
		return csf__error_set(CSF_EPARSE, "password: the stored hash asks for m=%u, t=%u, p=%u "
				      "(at most %u, %u, %u)", m, t, p, MAX_M_COST_KIB, MAX_T_COST, MAX_PARALLELISM);
	tag = strrchr(encoded, '$');
	if (strlen(tag + 1) < MIN_TAG_B64)
		return csf__error_set(CSF_EPARSE, "password: the stored hash is truncated");
	/* the same work whether or not the password matches; the comparison
	 * inside is constant-time */
	err = argon2id_verify(encoded, password, strlen(password));
	switch (err) {
	case ARGON2_OK:
		return 0;
	case ARGON2_VERIFY_MISMATCH:
		return csf__error_set(CSF_EAUTH, "password: does not match");
	case ARGON2_MEMORY_ALLOCATION_ERROR:
		return argon2_fail(err, "verification failed");
	default:
		return csf__error_set(CSF_EPARSE, "password: the stored hash is malformed: %s",
				      argon2_error_message(err));
	}
}
