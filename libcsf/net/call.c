/* Calls: the transport-neutral part of a gRPC stream or WebSocket session. */
#include <string.h>

#include "net/internal.h"

int csf__call_init(csf_net_call *call, const csf__call_ops *ops, const char *method,
		   const csf_net_call_handlers *h, void *payload, size_t max_message)
{
	call->ops = ops;
	call->h = h;
	call->payload = payload;
	call->max_message = max_message;
	if (!call->metadata.max) /* a server collected the request's metadata already */
		call->metadata = (csf__buf)CSF__BUF_INIT(1u << 20);
	call->method = csf__strdup(method);
	return call->method ? 0 : CSF_ENOMEM;
}

int csf__call_add_metadata(csf_net_call *call, const char *name, size_t nlen, const char *value,
			   size_t vlen, size_t max_bytes)
{
	int rc;

	if (call->metadata.len + nlen + vlen + 2 > max_bytes)
		return csf__error_set(CSF_ELIMIT, "net: metadata larger than %zu bytes", max_bytes);
	rc = csf__buf_put(&call->metadata, name, nlen);
	if (!rc)
		rc = csf__buf_put(&call->metadata, "", 1);
	if (!rc)
		rc = csf__buf_put(&call->metadata, value, vlen);
	if (!rc)
		rc = csf__buf_put(&call->metadata, "", 1);
	return rc;
}

int csf__call_start(csf_net_call *call)
{
	int rc = 0;

	if (call->ended || call->started)
		return 0;
	call->started = 1;
	if (call->h->on_start)
		rc = call->h->on_start(call, call->payload);
	return rc;
}

int csf__call_deliver(csf_net_call *call, const uint8_t *data, size_t len)
{
	if (call->ended || call->finishing || !call->h->on_message)
		return 0;
	return call->h->on_message(call, data, len, call->payload);
}

void csf__call_half_closed(csf_net_call *call)
{
	if (!call->ended && !call->finishing && call->h->on_half_close)
		call->h->on_half_close(call, call->payload);
}

void csf__call_writable(csf_net_call *call)
{
	if (call->ended || !call->want_writable)
		return;
	call->want_writable = 0;
	if (call->h->on_writable)
		call->h->on_writable(call, call->payload);
}

void csf__call_end(csf_net_call *call, int status, const char *message)
{
	if (call->ended)
		return;
	call->ended = 1;
	if (call->h->on_end)
		call->h->on_end(call, status, message ? message : "", call->payload);
}

void csf__call_cleanup(csf_net_call *call)
{
	csf__free(call->method);
	csf__buf_free(&call->metadata);
}

int csf_net_call_send(csf_net_call *call, const void *data, size_t len)
{
	if (!call || (!data && len))
		return csf__misuse("csf_net_call_send: call is NULL");
	if (call->ended || call->send_closed || call->finishing)
		return csf__error_set(CSF_EINVALID, "net: the call's sending side is closed");
	if (len > call->max_message)
		return csf__error_set(CSF_ELIMIT, "net: message of %zu bytes is over the %zu-byte limit", len,
				      call->max_message);
	return call->ops->send(call, data, len);
}

int csf_net_call_close_send(csf_net_call *call)
{
	if (!call)
		return csf__misuse("csf_net_call_close_send: call is NULL");
	if (call->ended || call->send_closed)
		return 0;
	call->send_closed = 1;
	return call->ops->close_send ? call->ops->close_send(call)
				     : csf__error_set(CSF_EINVALID, "net: only a client half-closes");
}

int csf_net_call_finish(csf_net_call *call, int status, const char *message)
{
	if (!call)
		return csf__misuse("csf_net_call_finish: call is NULL");
	if (status < 0 || status > CSF_NET_UNAUTHENTICATED)
		return csf__misuse("csf_net_call_finish: status %d is not a gRPC status", status);
	if (call->ended || call->finishing)
		return 0;
	if (!call->ops->finish)
		return csf__error_set(CSF_EINVALID, "net: only a server finishes a call");
	call->finishing = 1;
	return call->ops->finish(call, status, message);
}

void csf_net_call_cancel(csf_net_call *call)
{
	if (!call || call->ended)
		return;
	call->finishing = 1;
	call->ops->cancel(call);
}

void csf_net_call_pause(csf_net_call *call, int paused)
{
	if (!call || call->ended || call->paused == (paused != 0))
		return;
	call->paused = paused != 0;
	call->ops->pause(call, call->paused);
}

const csf_net_peer *csf_net_call_peer(const csf_net_call *call)
{
	return call ? &call->peer : NULL;
}

const char *csf_net_call_method(const csf_net_call *call)
{
	return call ? call->method : NULL;
}

const char *csf_net_call_metadata(const csf_net_call *call, const char *key)
{
	const char *p, *end;

	if (!call || !key || !call->metadata.ptr)
		return NULL;
	p = call->metadata.ptr;
	end = p + call->metadata.len;
	while (p < end) {
		const char *value = p + strlen(p) + 1;

		if (strcasecmp(p, key) == 0)
			return value;
		p = value + strlen(value) + 1;
	}
	return NULL;
}

size_t csf_net_call_queued(const csf_net_call *call)
{
	return call && !call->ended ? call->ops->queued(call) : 0;
}

void csf_net_call_set_user_data(csf_net_call *call, void *data)
{
	if (call)
		call->user_data = data;
}

void *csf_net_call_user_data(const csf_net_call *call)
{
	return call ? call->user_data : NULL;
}
