/* gRPC details shared by client and server: timeouts, status messages,
 * status codes (PROTOCOL-HTTP2.md and http-grpc-status-mapping.md). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "net/internal.h"

const char *csf_net_status_name(int status)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
		"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
		"UNAUTHENTICATED",
	};

	return status >= 0 && status < (int)CSF__ARRAY_SIZE(names) ? names[status] : "UNKNOWN";
}

int64_t csf__grpc_timeout_ms(const char *v, size_t len)
{
	uint64_t n = 0;
	size_t i;

	/* TimeoutValue: 1 to 8 digits; TimeoutUnit: H M S m u n */
	if (len < 2 || len > 9)
		return -1;
	for (i = 0; i + 1 < len; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	switch (v[len - 1]) {
	case 'H': return (int64_t)(n * 3600000);
	case 'M': return (int64_t)(n * 60000);
	case 'S': return (int64_t)(n * 1000);
	case 'm': return (int64_t)n;
	case 'u': return (int64_t)((n + 999) / 1000);
	case 'n': return (int64_t)((n + 999999) / 1000000);
	}
	return -1;
}

void csf__grpc_timeout_format(char out[16], uint64_t ms)
{
	if (ms <= 99999999)
		snprintf(out, 16, "%llum", (unsigned long long)ms);
	else if (ms / 1000 <= 99999999)
		snprintf(out, 16, "%lluS", (unsigned long long)(ms / 1000));
	else
		snprintf(out, 16, "%lluH", (unsigned long long)(ms / 3600000 > 99999999 ? 99999999 : ms / 3600000));
}

/* grpc-message is percent-encoded: bytes outside 0x20..0x7E and '%'. */
int csf__grpc_message_encode(csf__buf *out, const char *msg)
{
	const unsigned char *p;
	int rc = 0;

	for (p = (const unsigned char *)msg; *p && !rc; p++) {
		if (*p >= 0x20 && *p <= 0x7e && *p != '%')
			rc = csf__buf_putc(out, (char)*p);
		else
			rc = csf__buf_printf(out, "%%%02X", *p);
	}
	if (!rc && !out->ptr)
		rc = csf__buf_put(out, "", 0);
	return rc;
}


int csf__grpc_message_decode(char *out, size_t cap, const char *in, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 1 < cap; i++) {
		int hi, lo;

		if (in[i] == '%' && i + 2 < len && (hi = csf__hex_value(in[i + 1])) >= 0 && (lo = csf__hex_value(in[i + 2])) >= 0) {
			char c = (char)(hi << 4 | lo);

			out[o++] = c ? c : '?';
			i += 2;
		} else {
			out[o++] = in[i] ? in[i] : '?';
		}
	}
	out[o] = '\0';
	return 0;
}

int csf__grpc_status_of_rst(uint32_t code)
{
	switch (code) {
	case NGHTTP2_NO_ERROR:
	case NGHTTP2_PROTOCOL_ERROR:
	case NGHTTP2_INTERNAL_ERROR:
	case NGHTTP2_FLOW_CONTROL_ERROR:
	case NGHTTP2_SETTINGS_TIMEOUT:
	case NGHTTP2_FRAME_SIZE_ERROR:
	case NGHTTP2_COMPRESSION_ERROR:
	case NGHTTP2_CONNECT_ERROR:
		return CSF_NET_INTERNAL;
	case NGHTTP2_REFUSED_STREAM:
		return CSF_NET_UNAVAILABLE;
	case NGHTTP2_CANCEL:
		return CSF_NET_CANCELLED;
	case NGHTTP2_ENHANCE_YOUR_CALM:
		return CSF_NET_RESOURCE_EXHAUSTED;
	case NGHTTP2_INADEQUATE_SECURITY:
		return CSF_NET_PERMISSION_DENIED;
	}
	return CSF_NET_UNKNOWN;
}

int csf__grpc_status_of_http(int http_status)
{
	switch (http_status) {
	case 400: return CSF_NET_INTERNAL;
	case 401: return CSF_NET_UNAUTHENTICATED;
	case 403: return CSF_NET_PERMISSION_DENIED;
	case 404: return CSF_NET_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504: return CSF_NET_UNAVAILABLE;
	}
	return CSF_NET_UNKNOWN;
}
