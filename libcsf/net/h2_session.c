/* nghttp2 sessions: pumping bytes between a session and its connection with
 * the output bounded (allocation: h2_mem.c). */
#include <string.h>

#include "net/h2.h"

int csf__h2_session_new(csf__h2 *h, nghttp2_session_callbacks *cb, int server)
{
	nghttp2_option *opt;
	int rc;

	if (nghttp2_option_new(&opt) != 0)
		return csf__error_set(CSF_ENOMEM, "h2: out of memory");
	/* windows open only when the application has taken the data */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* no dynamic table for what we send: a few bytes more per header
	 * block, 4 KiB less per idle connection */
	nghttp2_option_set_max_deflate_dynamic_table_size(opt, 0);
	rc = server ? nghttp2_session_server_new3(&h->session, cb, h, opt, &csf__h2_mem)
		    : nghttp2_session_client_new3(&h->session, cb, h, opt, &csf__h2_mem);
	nghttp2_option_del(opt);
	return rc == 0 ? 0 : csf__error_set(CSF_ENOMEM, "h2: cannot create a session: %s", nghttp2_strerror(rc));
}

int csf__h2_feed(csf__h2 *h, const uint8_t *data, size_t len)
{
	ssize_t n;

	h->in_recv = 1;
	n = nghttp2_session_mem_recv(h->session, data, len);
	h->in_recv = 0;
	if (n < 0)
		return csf__error_set(CSF_EPARSE, "h2: %s", nghttp2_strerror((int)n));
	return 0;
}

int csf__h2_flush(csf__h2 *h)
{
	csf__conn *c = h->conn;

	if (h->dying || c->dead)
		return 0;
	if (h->in_recv || h->in_send) {
		h->again = 1; /* the outer pump runs again when it returns */
		return 0;
	}
	do {
		h->again = 0;
		while (csf__conn_output_len(c) < c->max_output) {
			const uint8_t *data;
			ssize_t n;

			h->in_send = 1;
			n = nghttp2_session_mem_send(h->session, &data);
			h->in_send = 0;
			if (n < 0) {
				csf__conn_close(c, nghttp2_strerror((int)n));
				return CSF_EIO;
			}
			if (n == 0 || h->dying || c->dead)
				break;
			if (csf__conn_write(c, data, (size_t)n) != 0) {
				csf__conn_close(c, "out of memory");
				return CSF_ENOMEM;
			}
		}
		if (h->after_flush && !h->dying && !c->dead)
			h->after_flush(h);
	} while (h->again && !h->dying && !c->dead);
	if (!h->dying && !c->dead && !nghttp2_session_want_read(h->session) &&
	    !nghttp2_session_want_write(h->session))
		csf__conn_close_after_flush(c);
	return 0;
}

void csf__h2_ping(csf__h2 *h)
{
	if (h->dying)
		return;
	nghttp2_submit_ping(h->session, NGHTTP2_FLAG_NONE, NULL);
	csf__h2_flush(h);
}
