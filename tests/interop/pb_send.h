/* Send one protobuf message on a call (the interop test programs). */
#ifndef CSF_TESTS_PB_SEND_H
#define CSF_TESTS_PB_SEND_H

#include <csf/csf.h>

#include "proto/envelope.h"

static int send_msg(csf_net_call *call, const ProtobufCMessage *m)
{
	uint8_t *buf;
	size_t len;
	int rc = csf__pb_pack(&buf, &len, m);

	if (!rc) {
		rc = csf_net_call_send(call, buf, len);
		csf__free(buf);
	}
	return rc;
}

#endif
