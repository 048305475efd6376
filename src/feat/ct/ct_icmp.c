/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICMP and ICMPv6 echo (workers): a request opens a pseudo-connection keyed
 * by the identifier, a reply from the other side makes it REPLIED. A reply
 * nobody asked for, or a request from the replying side, is invalid. Other
 * informational types are not tracked; errors are handled by ct.c as
 * RELATED to the connection of the packet they quote.
 */
#include "ct_private.h"

enum { EV_REQUEST, EV_REPLY };

uint8_t
ct_icmp_event(const struct xv_ct_pkt *pkt)
{
	uint8_t req = pkt->ipv6 ? 128 : 8, rep = pkt->ipv6 ? 129 : 0;

	if (pkt->icmp_type == req)
		return EV_REQUEST;
	if (pkt->icmp_type == rep)
		return EV_REPLY;
	return CT_EV_UNTRACKED;
}

uint16_t
ct_icmp_open(uint8_t ev)
{
	return ev == EV_REQUEST ? PST(XV_CT_UNREPLIED, 0) : XV_CT_STATE_NONE;
}

uint16_t
ct_icmp_next(uint16_t pst, unsigned int dir, uint8_t ev)
{
	if (PST_ST(pst) != XV_CT_UNREPLIED && PST_ST(pst) != XV_CT_REPLIED)
		return CT_NEXT_INVALID;
	if (ev == EV_REQUEST && dir == XV_CT_DIR_ORIG)
		return pst;
	if (ev == EV_REPLY && dir == XV_CT_DIR_REPLY)
		return PST(XV_CT_REPLIED, 0);
	return CT_NEXT_INVALID;
}
