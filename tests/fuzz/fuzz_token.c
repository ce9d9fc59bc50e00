/*
 * libFuzzer target for enrollment tokens (csf__token_parse): the input is
 * the text a user pastes. A token we accept must be exactly one of ours
 * (its parts come back as we would have made them); anything else must be
 * CSF_EPARSE with empty outputs and a message that does not echo the
 * secret part.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

#define SECRET_AT 70 /* "csf1_" + 64 hex + "_" */
#define ECHO_RUN 20  /* longer than any run of base64url characters in our messages */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void check_accepted(const char *tok, const char *ca_h, const char *sh)
{
	char want[65];
	size_t i;

	if (strlen(tok) != SECRET_AT + 43 || strncmp(tok, "csf1_", 5) != 0 || tok[69] != '_')
		__builtin_trap();
	for (i = 0; i < 64; i++) {
		char c = tok[5 + i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c + 32);
		if (ca_h[i] != c || !strchr("0123456789abcdef", c))
			__builtin_trap();
	}
	if (ca_h[64] != '\0')
		__builtin_trap();
	for (i = SECRET_AT; tok[i]; i++)
		if (!is_b64url(tok[i]))
			__builtin_trap();
	csf__sha256_hex(tok + SECRET_AT, 43, want);
	if (strcmp(want, sh) != 0)
		__builtin_trap();
}

/* The message must not hold the secret: checked where the text from the
 * secret's place on is a long run of base64url characters. */
static void check_no_echo(const char *tok)
{
	const char *msg = csf_error_last()->message;
	char run[ECHO_RUN + 1];
	size_t len = strlen(tok), i;

	if (len < SECRET_AT + ECHO_RUN)
		return;
	for (i = 0; i < ECHO_RUN; i++)
		if (!is_b64url(tok[SECRET_AT + i]))
			return;
	memcpy(run, tok + SECRET_AT, ECHO_RUN);
	run[ECHO_RUN] = '\0';
	if (strstr(msg, run))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok = malloc(size + 1), ca_h[65], sh[65];
	int rc;

	if (!tok)
		abort();
	memcpy(tok, data, size);
	tok[size] = '\0';
	rc = csf__token_parse(tok, ca_h, sh);
	if (rc == 0) {
		check_accepted(tok, ca_h, sh);
	} else {
		if (rc != CSF_EPARSE || ca_h[0] || sh[0])
			__builtin_trap();
		check_no_echo(tok);
	}
	free(tok);
	csf_error_clear();
	return 0;
}
