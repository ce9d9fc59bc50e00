/* The thread-local last error and the names of error codes. */
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

#define ERROR_MESSAGE_MAX 512

static _Thread_local struct {
	csf_error pub;
	char message[ERROR_MESSAGE_MAX];
} last_error = { { CSF_OK, "" }, "" };

const char *csf_strerror(int code)
{
	switch (code) {
	case CSF_OK: return "CSF_OK: success";
	case CSF_ERROR: return "CSF_ERROR: failure";
	case CSF_EINVALID: return "CSF_EINVALID: invalid argument or state";
	case CSF_ENOMEM: return "CSF_ENOMEM: out of memory";
	case CSF_EIO: return "CSF_EIO: input/output error";
	case CSF_EPARSE: return "CSF_EPARSE: malformed input";
	case CSF_ENOTFOUND: return "CSF_ENOTFOUND: not found";
	case CSF_EEXISTS: return "CSF_EEXISTS: already exists";
	case CSF_EUNSUPPORTED: return "CSF_EUNSUPPORTED: not supported";
	case CSF_ELIMIT: return "CSF_ELIMIT: limit exceeded";
	case CSF_EUSER: return "CSF_EUSER: stopped by a callback";
	case CSF_ETIMEOUT: return "CSF_ETIMEOUT: timed out";
	case CSF_EAUTH: return "CSF_EAUTH: authentication failed";
	}
	return "unknown error";
}

const csf_error *csf_error_last(void)
{
	last_error.pub.message = last_error.message;
	return &last_error.pub;
}

void csf_error_clear(void)
{
	last_error.pub.code = CSF_OK;
	last_error.message[0] = '\0';
}

static int error_vset(int code, int errnum, const char *fmt, va_list ap) CSF__PRINTF(3, 0);
static int error_vset(int code, int errnum, const char *fmt, va_list ap)
{
	int n = vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);

	if (n < 0)
		last_error.message[0] = '\0';
	else if (errnum && (size_t)n < sizeof(last_error.message)) {
		char *end = last_error.message + n;
		size_t room = sizeof(last_error.message) - (size_t)n;
		char sys[128];

		if (strerror_r(errnum, sys, sizeof(sys)) != 0)
			snprintf(sys, sizeof(sys), "errno %d", errnum);
		snprintf(end, room, ": %s", sys);
	}
	last_error.pub.code = code;
	return code;
}

int csf__error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(code, 0, fmt, ap);
	va_end(ap);
	return code;
}

int csf__error_set_errno(int code, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(code, errnum, fmt, ap);
	va_end(ap);
	return code;
}
