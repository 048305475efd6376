/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP state machine (workers). A connection follows the handshake
 * (SYN_SENT -> SYN_RECV -> ESTABLISHED), closes with FINs (FIN_WAIT once one
 * side sent FIN, TIME_WAIT once both did) or a RST (CLOSED). Sequence
 * numbers are not tracked. A SYN on a TIME_WAIT or CLOSED connection starts
 * a new one over it (port reuse), with the SYN's sender as originator.
 */
#include "ct_private.h"

/* Events: the packet's SYN, ACK, FIN, RST bits (PSH, URG, ECE, CWR do not
 * matter). */
enum { EV_SYN, EV_SYNACK, EV_ACK, EV_FIN, EV_RST, EV_MAX };

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* Indexed by FIN | SYN << 1 | RST << 2 | ACK << 3. Anything else than SYN,
 * SYN+ACK, ACK, FIN+ACK, RST, RST+ACK is impossible: no flags at all, FIN
 * without ACK, SYN with FIN or RST, RST with FIN. */
static const uint8_t tcp_events[16] = {
	[0x2] = EV_SYN,
	[0x4] = EV_RST,
	[0x8] = EV_ACK,
	[0x9] = EV_FIN,
	[0xa] = EV_SYNACK,
	[0xc] = EV_RST,
	[0x0] = CT_EV_BAD, [0x1] = CT_EV_BAD, [0x3] = CT_EV_BAD,
	[0x5] = CT_EV_BAD, [0x6] = CT_EV_BAD, [0x7] = CT_EV_BAD,
	[0xb] = CT_EV_BAD, [0xd] = CT_EV_BAD, [0xe] = CT_EV_BAD,
	[0xf] = CT_EV_BAD,
};

uint8_t
ct_tcp_event(const struct xv_ct_pkt *pkt)
{
	uint8_t f = pkt->tcp_flags;

	return tcp_events[(f & (TCP_FIN | TCP_SYN | TCP_RST)) |
			  (f & TCP_ACK) >> 1];
}

uint16_t
ct_tcp_open(uint8_t ev)
{
	return ev == EV_SYN ? PST(XV_CT_TCP_SYN_SENT, 0) : XV_CT_STATE_NONE;
}

/* Table entries other than states. */
#define IV 0xff /* invalid */
#define RO 0xfe /* reopen */
#define FN 0xfd /* FIN: note the side; FIN_WAIT, or TIME_WAIT with both */
#define SS XV_CT_TCP_SYN_SENT
#define SR XV_CT_TCP_SYN_RECV
#define ES XV_CT_TCP_ESTABLISHED
#define FW XV_CT_TCP_FIN_WAIT
#define TW XV_CT_TCP_TIME_WAIT
#define CL XV_CT_TCP_CLOSED

/* [dir][event][state - SYN_SENT]: the next state. */
static const uint8_t tcp_table[2][EV_MAX][6] = {
	[XV_CT_DIR_ORIG] = {
		/*              SS  SR  ES  FW  TW  CL */
		[EV_SYN]    = { SS, SR, IV, IV, RO, RO },
		[EV_SYNACK] = { IV, IV, IV, IV, IV, IV },
		[EV_ACK]    = { IV, ES, ES, FW, TW, CL },
		[EV_FIN]    = { IV, FN, FN, FN, TW, CL },
		[EV_RST]    = { CL, CL, CL, CL, CL, CL },
	},
	[XV_CT_DIR_REPLY] = {
		/*              SS  SR  ES  FW  TW  CL */
		[EV_SYN]    = { IV, IV, IV, IV, RO, RO },
		[EV_SYNACK] = { SR, SR, ES, IV, IV, IV },
		[EV_ACK]    = { IV, SR, ES, FW, TW, CL },
		[EV_FIN]    = { IV, FN, FN, FN, TW, CL },
		[EV_RST]    = { CL, CL, CL, CL, CL, CL },
	},
};

uint16_t
ct_tcp_next(uint16_t pst, unsigned int dir, uint8_t ev)
{
	unsigned int st = PST_ST(pst), fins = PST_FLAGS(pst);
	uint8_t to;

	if (st < SS || st > CL || ev >= EV_MAX)
		return CT_NEXT_INVALID;
	to = tcp_table[dir][ev][st - SS];
	switch (to) {
	case IV:
		return CT_NEXT_INVALID;
	case RO:
		return CT_NEXT_REOPEN;
	case FN:
		fins |= 1u << dir;
		return PST(fins == 3 ? TW : FW, fins);
	default:
		return PST(to, fins);
	}
}
