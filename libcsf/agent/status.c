/*
 * DIR/status: the running daemon's state for `csf-agent status`, in the
 * core config format (`key = "value"` lines, read back with the same
 * parser). Replaced whole on every change (at most once a second for
 * counters), never synced: it only has to be whole, not durable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/internal.h"

static void put_str(csf__buf *b, const char *key, const char *v)
{
	csf__buf_printf(b, "%s = \"", key);
	for (v = v ? v : ""; *v; v++) {
		if (*v == '"' || *v == '\\')
			csf__buf_putc(b, '\\'), csf__buf_putc(b, *v);
		else if ((unsigned char)*v >= 0x20)
			csf__buf_putc(b, *v);
	}
	csf__buf_puts(b, "\"\n");
}

static void put_num(csf__buf *b, const char *key, int64_t v)
{
	csf__buf_printf(b, "%s = %" PRId64 "\n", key, v);
}

int csf__agent_status_write(const char *dir, const csf__agent_status *st)
{
	csf__buf b = CSF__BUF_INIT(1u << 16);
	int rc;

	csf__buf_puts(&b, "# csf-agent run: live state, read by `csf-agent status`\n");
	put_num(&b, "pid", (int64_t)getpid());
	put_num(&b, "updated_at_ms", csf__time_unix_ms());
	put_str(&b, "state", st->state);
	put_str(&b, "server_url", st->server_url);
	put_str(&b, "transport", st->transport);
	put_str(&b, "agent_id", st->agent_id);
	put_str(&b, "boot_id", st->boot_id);
	put_num(&b, "connected_since_ms", st->connected_since_ms);
	put_num(&b, "last_acked_seq", (int64_t)st->last_acked_seq);
	put_num(&b, "last_ack_ms", st->last_ack_ms);
	put_num(&b, "outbox_depth", (int64_t)st->outbox_depth);
	put_num(&b, "outbox_bytes", (int64_t)st->outbox_bytes);
	put_num(&b, "dropped", (int64_t)st->dropped);
	put_num(&b, "cert_expires_at", st->cert_expires_at);
	put_str(&b, "last_error", st->last_error);
	rc = b.ptr ? 0 : CSF_ENOMEM;
	if (!rc)
		rc = csf__file_replace(dir, "status", b.ptr, b.len, 0644);
	csf__buf_free(&b);
	return rc;
}

void csf__agent_write_status(csf_agent *a)
{
	static const char *const names[] = { "disconnected", "connecting", "connected" };
	csf__agent_status st;
	csf__outbox_stats ob;

	csf__outbox_stats_get(a->ob, &ob);
	memset(&st, 0, sizeof(st));
	st.state = a->stop_requested || a->fatal ? "stopped" : names[a->state];
	st.server_url = a->server_url;
	st.transport = a->state == CSF__AGENT_CONNECTED ? a->transport : "";
	st.agent_id = a->id.agent_id;
	st.boot_id = ob.boot_id;
	st.last_error = a->fatal ? a->fatal_msg : a->last_error;
	st.last_acked_seq = ob.last_acked_seq;
	st.last_ack_ms = ob.last_ack_ms;
	st.outbox_depth = ob.depth;
	st.outbox_bytes = ob.bytes;
	st.dropped = ob.dropped;
	st.cert_expires_at = a->id.cert_expires_at;
	st.connected_since_ms = a->state == CSF__AGENT_CONNECTED ? a->connected_since_ms : 0;
	if (csf__agent_status_write(a->state_dir, &st) != 0)
		csf__log(CSF_LOG_WARN, "agent", "cannot write the status file: %s", csf_error_last()->message);
	a->status_dirty = 0;
}
