/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * UDP and every protocol without a state machine of its own (workers): any
 * packet opens a pseudo-connection, UNREPLIED until the other side sends,
 * REPLIED after. Nothing is invalid once the connection exists.
 */
#include "ct_private.h"

static uint8_t
dgram_event(const struct xv_ct_pkt *pkt)
{
	return CT_DGRAM_EV;
}

static uint16_t
dgram_open(uint8_t ev)
{
	return PST(XV_CT_UNREPLIED, 0);
}

static uint16_t
dgram_next(uint16_t pst, unsigned int dir, uint8_t ev)
{
	return ct_dgram_next(pst, dir);
}

const struct ct_proto xv_ct_proto_udp = {
	.event = dgram_event,
	.open = dgram_open,
	.next = dgram_next,
	.tmo_class = CT_TMO_UDP,
};
