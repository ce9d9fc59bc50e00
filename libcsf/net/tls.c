/* TLS 1.3 contexts (OpenSSL 3): server and client, certificates from files
 * or memory, client certificates requested and checked per call, CA pinning
 * by SHA-256 on the client. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/internal.h"

int csf_net_tls_options_init(csf_net_tls_options *opts, unsigned int version)
{
	if (!opts || version != CSF_NET_TLS_OPTIONS_VERSION)
		return csf__misuse("csf_net_tls_options_init: unknown version %u", version);
	*opts = (csf_net_tls_options)CSF_NET_TLS_OPTIONS_INIT;
	return 0;
}

/* The last OpenSSL error as text, for messages. */
static const char *ssl_reason(void)
{
	static _Thread_local char buf[256];
	unsigned long e = ERR_get_error();

	if (!e)
		return "unknown OpenSSL error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

static int tls_fail(const char *what, const char *where)
{
	return csf__error_set(CSF_EIO, "tls: %s%s%s: %s", what, where ? " " : "", where ? where : "",
			      ssl_reason());
}

static BIO *pem_bio(const char *pem)
{
	return BIO_new_mem_buf(pem, -1);
}

static int load_cert_chain(SSL_CTX *ctx, const char *file, const char *pem)
{
	BIO *bio;
	X509 *cert;
	int rc = 0;

	if (!pem) {
		if (SSL_CTX_use_certificate_chain_file(ctx, file) != 1)
			return tls_fail("cannot load certificate", file);
		return 0;
	}
	bio = pem_bio(pem);
	if (!bio)
		return tls_fail("out of memory", NULL);
	cert = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
	if (!cert || SSL_CTX_use_certificate(ctx, cert) != 1) {
		rc = tls_fail("cannot load certificate", "(PEM)");
		goto out;
	}
	SSL_CTX_clear_chain_certs(ctx);
	for (;;) {
		X509 *extra = PEM_read_bio_X509(bio, NULL, NULL, NULL);

		if (!extra)
			break;
		if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
			X509_free(extra);
			rc = tls_fail("cannot add chain certificate", "(PEM)");
			goto out;
		}
	}
	ERR_clear_error(); /* the end of the PEM data */
out:
	X509_free(cert);
	BIO_free(bio);
	return rc;
}

static int load_key(SSL_CTX *ctx, const char *file, const char *pem)
{
	BIO *bio;
	EVP_PKEY *key;
	int ok;

	if (!pem) {
		if (SSL_CTX_use_PrivateKey_file(ctx, file, SSL_FILETYPE_PEM) != 1)
			return tls_fail("cannot load private key", file);
	} else {
		bio = pem_bio(pem);
		if (!bio)
			return tls_fail("out of memory", NULL);
		key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1;
		EVP_PKEY_free(key);
		BIO_free(bio);
		if (!ok)
			return tls_fail("cannot load private key", "(PEM)");
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_fail("private key does not match the certificate", NULL);
	return 0;
}

static int load_cas(SSL_CTX *ctx, const char *file, const char *pem)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	BIO *bio;
	int n = 0;

	if (!pem) {
		if (SSL_CTX_load_verify_locations(ctx, file, NULL) != 1)
			return tls_fail("cannot load CA certificates", file);
		return 0;
	}
	bio = pem_bio(pem);
	if (!bio)
		return tls_fail("out of memory", NULL);
	for (;;) {
		X509 *ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);

		if (!ca)
			break;
		X509_STORE_add_cert(store, ca);
		X509_free(ca);
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	return n ? 0 : csf__error_set(CSF_EIO, "tls: no CA certificate in the PEM data");
}

static SSL_CTX *ctx_new(const SSL_METHOD *method)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	/* grpcio and browsers close without close_notify: not an error here */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
	/* give back the 16+ KiB record buffers while a connection is idle */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

/* ALPN: h2 if the client offers it, else http/1.1; no ALPN is fine too. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x02h2\x08http/1.1";
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* Accept any client certificate in the handshake: whether it verified is
 * read after it (SSL_get_verify_result) and enforced per call, so that a
 * client learns why it was refused (UNAUTHENTICATED and a message) instead
 * of seeing a failed handshake. */
static int accept_any(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

int csf__tls_server_ctx_new(SSL_CTX **out, const csf_net_tls_options *o)
{
	SSL_CTX *ctx;
	int rc;

	*out = NULL;
	if (!o || o->version != CSF_NET_TLS_OPTIONS_VERSION)
		return csf__misuse("tls: options missing or of an unknown version");
	if ((!o->cert_file && !o->cert_pem) || (!o->key_file && !o->key_pem))
		return csf__error_set(CSF_EINVALID, "tls: a server needs a certificate and a key");
	ctx = ctx_new(TLS_server_method());
	if (!ctx)
		return tls_fail("cannot create a context", NULL);
	/* No session tickets and no session cache: agents hold one long
	 * connection, and after a server restart (when they all reconnect at
	 * once) tickets from the old process would not resume anyway; each
	 * ticket costs every connection memory and the server CPU. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	rc = load_cert_chain(ctx, o->cert_file, o->cert_pem);
	if (!rc)
		rc = load_key(ctx, o->key_file, o->key_pem);
	if (!rc && (o->ca_file || o->ca_pem)) {
		rc = load_cas(ctx, o->ca_file, o->ca_pem);
		if (!rc)
			SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, accept_any);
	}
	if (rc) {
		SSL_CTX_free(ctx);
		return rc;
	}
	SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"csf", 3);
	*out = ctx;
	return 0;
}

/* Hex SHA-256 of a certificate's DER. */
int csf__tls_cert_sha256(X509 *cert, char hex[65])
{
	unsigned char md[32];
	unsigned int len = 0;

	if (X509_digest(cert, EVP_sha256(), md, &len) != 1 || len != 32)
		return csf__error_set(CSF_EIO, "tls: cannot hash a certificate");
	csf__hex_encode(hex, md, sizeof(md));
	return 0;
}

/* Verify the server's chain with the pinned CA as the only trust anchor. */
static int verify_pinned(X509_STORE_CTX *xctx, void *arg)
{
	const char *pin = arg;
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(xctx);
	STACK_OF(X509) *anchors = NULL;
	X509 *found = NULL;
	int i, ok;

	for (i = 0; chain && i < sk_X509_num(chain) && !found; i++) {
		char hex[65];
		X509 *c = sk_X509_value(chain, i);

		if (csf__tls_cert_sha256(c, hex) == 0 && strcasecmp(hex, pin) == 0)
			found = c;
	}
	if (!found) {
		X509_STORE_CTX_set_error(xctx, X509_V_ERR_CERT_UNTRUSTED);
		return 0;
	}
	anchors = sk_X509_new_null();
	if (!anchors || !sk_X509_push(anchors, found)) {
		sk_X509_free(anchors);
		X509_STORE_CTX_set_error(xctx, X509_V_ERR_OUT_OF_MEM);
		return 0;
	}
	X509_STORE_CTX_set0_trusted_stack(xctx, anchors);
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(xctx), X509_V_FLAG_PARTIAL_CHAIN);
	ok = X509_verify_cert(xctx);
	sk_X509_free(anchors);
	return ok == 1;
}

int csf__tls_client_ctx_new(SSL_CTX **out, const csf_net_tls_options *o)
{
	static const csf_net_tls_options none = CSF_NET_TLS_OPTIONS_INIT;
	SSL_CTX *ctx;
	int rc = 0;

	*out = NULL;
	if (!o)
		o = &none;
	if (o->version != CSF_NET_TLS_OPTIONS_VERSION)
		return csf__misuse("tls: options of an unknown version");
	if (o->ca_pin_sha256 && strlen(o->ca_pin_sha256) != 64)
		return csf__error_set(CSF_EINVALID, "tls: ca_pin_sha256 must be 64 hex digits");
	ctx = ctx_new(TLS_client_method());
	if (!ctx)
		return tls_fail("cannot create a context", NULL);
	if ((o->cert_file || o->cert_pem) && (o->key_file || o->key_pem)) {
		rc = load_cert_chain(ctx, o->cert_file, o->cert_pem);
		if (!rc)
			rc = load_key(ctx, o->key_file, o->key_pem);
	}
	if (!rc) {
		if (o->ca_pin_sha256)
			SSL_CTX_set_cert_verify_callback(ctx, verify_pinned, (void *)o->ca_pin_sha256);
		else if (o->ca_file || o->ca_pem)
			rc = load_cas(ctx, o->ca_file, o->ca_pem);
		else if (SSL_CTX_set_default_verify_paths(ctx) != 1)
			rc = tls_fail("cannot load the system's CA certificates", NULL);
	}
	if (rc) {
		SSL_CTX_free(ctx);
		return rc;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	*out = ctx;
	return 0;
}

int csf__tls_client_ssl_new(SSL **out, SSL_CTX *ctx, const char *server_name, const unsigned char *alpn,
			    unsigned int alpn_len)
{
	SSL *ssl = SSL_new(ctx);
	X509_VERIFY_PARAM *param;
	ASN1_OCTET_STRING *ip;

	*out = NULL;
	if (!ssl)
		return tls_fail("cannot create a connection", NULL);
	param = SSL_get0_param(ssl);
	ip = a2i_IPADDRESS(server_name);
	if (ip) {
		/* an address is checked against the certificate's IP SANs; no SNI */
		ASN1_OCTET_STRING_free(ip);
		if (X509_VERIFY_PARAM_set1_ip_asc(param, server_name) != 1)
			goto fail;
	} else {
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set_tlsext_host_name(ssl, server_name) != 1 || SSL_set1_host(ssl, server_name) != 1)
			goto fail;
	}
	if (alpn && SSL_set_alpn_protos(ssl, alpn, alpn_len) != 0)
		goto fail;
	*out = ssl;
	return 0;
fail:
	SSL_free(ssl);
	return tls_fail("cannot set up the connection for", server_name);
}

const char *csf__tls_verify_error(SSL *ssl)
{
	long r = SSL_get_verify_result(ssl);

	return r == X509_V_OK ? NULL : X509_verify_cert_error_string(r);
}

const char *csf__tls_last_error(void)
{
	return ssl_reason();
}
