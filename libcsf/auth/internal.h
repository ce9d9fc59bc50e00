/*
 * Helpers the auth sources share (ca.c and x509.c): OpenSSL errors as
 * libcsf errors, key generation and PEM, certificate names.
 */
#ifndef CSF_AUTH_INTERNAL_H
#define CSF_AUTH_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "auth/auth.h"

#define CSF__AUTH_NAME_MAX 64 /* ub_common_name, ub_organization_name */

/* The first OpenSSL error as text (thread-local); the queue is cleared.
 * `is_oom`, when not NULL, says whether OpenSSL ran out of memory. */
const char *csf__auth_ossl_reason(int *is_oom);
/* An OpenSSL call failed: set "auth: WHAT: reason" and return CSF_ENOMEM
 * when OpenSSL ran out of memory, else `code`. */
int csf__auth_ossl_fail(int code, const char *what);

/* A fresh EC P-256 key. */
int csf__auth_ec_p256(EVP_PKEY **out);
/* PKCS#8 PEM of a private key, csf__free'd by the caller. */
int csf__auth_key_to_pem(EVP_PKEY *key, char **out);
/* Append NID=value (UTF-8, 1 to 64 bytes; CSF_EINVALID otherwise) to a
 * name; `what` names the field in the message. */
int csf__auth_name_add(X509_NAME *name, int nid, const char *value, const char *what);

#endif
