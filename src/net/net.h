/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtual network mode (doc/network.md): networks, port security, security
 * groups and conntrack.
 *
 * Two halves:
 * - The model (net_model.c), control thread only: networks, security
 *   groups and their rules, and each port's network attributes
 *   (struct xv_port_net in port.h). Commands change the model, then call
 *   xv_net_apply().
 * - The view (net_view.c), built from the model on the control thread and
 *   published with the workers' plans (plan.c): an immutable snapshot of
 *   what the datapath (net_dp.c) needs: per port its MAC, addresses, policy
 *   profile and tx queue per worker; per network its flood lists; a MAC
 *   table; the compiled security-group classifier. Workers read it under
 *   RCU; it is freed after a grace period.
 */
#ifndef XV_NET_H
#define XV_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>
#include <rte_ether.h>

#include "xv_common.h"

struct xv_port;
struct xv_acl_set;
struct xv_ct;
struct rte_hash;
struct rte_mbuf;

/* Limits. */
#define XV_NET_MAX_NETWORKS 4095  /* zone ids 1..4095 */
#define XV_NET_MAX_SGS 4096
#define XV_NET_MAX_ADDRS 8        /* per family, per port */
#define XV_NET_PORT_SGS 8         /* groups per port */
#define XV_NET_SG_RULES 65536     /* rules per group */
#define XV_NET_CT_DEFAULT (1u << 18)

struct xv_network {
	char name[XV_NAME_MAX + 1];
	uint16_t zone;
	unsigned int n_ports;
};

/* An address a port may use: a host address or a prefix. */
struct xv_net_addr {
	uint8_t ipv6;
	uint8_t plen;
	uint8_t addr[16]; /* network byte order; IPv4 in the first 4 bytes */
};

struct xv_sg;

struct xv_sg_rule {
	uint32_t id;
	uint8_t ingress;
	uint8_t ipv6;
	uint8_t proto;       /* 0: any */
	uint8_t remote_plen;
	bool has_ports;
	uint16_t port_lo, port_hi;
	uint8_t remote[16];
	struct xv_sg *remote_group; /* NULL: 'remote' prefix */
};

struct xv_sg {
	char name[XV_NAME_MAX + 1];
	uint32_t next_id;
	unsigned int n_rules, cap;
	struct xv_sg_rule *rules;
	unsigned int n_ports;        /* ports that have it */
	unsigned int n_remote_refs;  /* rules (any group) naming it as remote */
};

/* A port's network attributes (control thread's model). */
struct xv_port_net {
	struct xv_network *network; /* NULL: not in a network */
	bool has_mac;
	bool uplink;
	bool port_security;
	struct rte_ether_addr mac;
	unsigned int n_addrs;
	struct xv_net_addr addrs[2 * XV_NET_MAX_ADDRS];
	unsigned int n_sgs;
	struct xv_sg *sgs[XV_NET_PORT_SGS];
};

/* ---- model: control thread ---- */

extern struct xv_network *xv_networks[XV_NET_MAX_NETWORKS];
extern unsigned int xv_n_networks;
extern struct xv_sg *xv_sgs[XV_NET_MAX_SGS];
extern unsigned int xv_n_sgs;

/* Conntrack capacity for the table created with the first network. */
extern uint32_t xv_net_ct_capacity;

struct xv_network *xv_network_find(const char *name);
/* 0 or -errno (EEXIST, ENOSPC, EINVAL, ENOMEM) with a message. */
int xv_network_add(const char *name, struct xv_network **netp, char *err,
		   size_t errlen);
int xv_network_del(struct xv_network *net, char *err, size_t errlen);

struct xv_sg *xv_sg_find(const char *name);
int xv_sg_add(const char *name, struct xv_sg **sgp, char *err, size_t errlen);
int xv_sg_del(struct xv_sg *sg, char *err, size_t errlen);

/*
 * Parse one rule from its JSON form (the sg.rule.add arguments: direction,
 * proto, ports, remote, remote_group, ipv6). 0 or -EINVAL/-ENOENT with a
 * message. 'id' is not set.
 */
int xv_sg_rule_parse(json_t *obj, struct xv_sg_rule *rule, char *err,
		     size_t errlen);
/* Append rules (ids assigned) / delete rules by id. All or nothing. */
int xv_sg_rules_add(struct xv_sg *sg, struct xv_sg_rule *rules, unsigned int n,
		    char *err, size_t errlen);
int xv_sg_rules_del(struct xv_sg *sg, const uint32_t *ids, unsigned int n,
		    char *err, size_t errlen);
/* Make 'rules' (ids kept) the whole rule list of 'sg', e.g. to restore a
 * saved copy. 0 or -ENOMEM (unchanged). */
int xv_sg_rules_replace(struct xv_sg *sg, const struct xv_sg_rule *rules,
			unsigned int n);
json_t *xv_sg_rule_json(const struct xv_sg_rule *rule);
/* sg.show's object; with 'with_rules' false, "rules" is their count. */
json_t *xv_sg_describe(const struct xv_sg *sg, bool with_rules);

/* Network attributes given to port.add / port.set, parsed. */
struct xv_port_net_req {
	bool set_network, set_mac, set_ip, set_uplink, set_psec, set_sg;
	struct xv_port_net net;
};

/*
 * Parse the network arguments of port.add/port.set from 'args' into
 * 'req'. 0 or -EINVAL/-ENOENT with a message. 'base' is the port's current
 * attributes (port.set) or NULL (port.add).
 */
int xv_port_net_parse(json_t *args, const struct xv_port_net *base,
		      struct xv_port_net_req *req, char *err, size_t errlen);
/* Merge 'req' into 'cur' and check the result (MAC needed for port
 * security, no relay, uplink without security...). */
int xv_port_net_merge(const struct xv_port *port, const struct xv_port_net_req *req,
		      struct xv_port_net *out, char *err, size_t errlen);
/* Give 'port' its new attributes (reference counts follow); then call
 * xv_net_apply. */
void xv_port_net_set(struct xv_port *port, const struct xv_port_net *net);
/* Forget a port being destroyed. */
void xv_port_net_clear(struct xv_port *port);
void xv_port_net_describe(const struct xv_port *port, json_t *obj);

/*
 * Recompile the security-group classifier from the model and publish it
 * with a new view (and new plans). On error (out of memory, rte_acl
 * refused) the old classifier stays in force and -errno is returned with
 * a message. '*ms' (if not NULL) gets the time from call to "in force".
 */
int xv_net_apply(char *err, size_t errlen, double *ms);

/* Create the conntrack table if it does not exist yet (first network). */
int xv_net_ct_ensure(char *err, size_t errlen);
/* The conntrack table, or NULL before the first network. */
struct xv_ct *xv_net_ct(void);
/* Control thread, every second: reclaim expired connections. */
void xv_net_tick(void);
/* Status JSON: networks, groups, rules, last build time, ct counters. */
json_t *xv_net_status(void);
void xv_net_fini(void);

/* ---- view: built by the control thread, read by workers ---- */

#define XV_NPORT_NONE 0xffff

struct xv_nport {
	struct xv_port *port;
	uint64_t uid;
	uint16_t net;         /* index into view->nets */
	uint16_t profile;     /* classifier profile (filtered ports) */
	uint8_t filtered;     /* port security: anti-spoofing + groups */
	uint8_t uplink;
	uint8_t n_v4, n_v6;
	struct rte_ether_addr mac;
	uint32_t v4[XV_NET_MAX_ADDRS];       /* network order */
	uint32_t v4_mask[XV_NET_MAX_ADDRS];  /* network order */
	uint8_t v6[XV_NET_MAX_ADDRS][16];
	uint8_t v6_plen[XV_NET_MAX_ADDRS];
	uint8_t ll6[16];      /* EUI-64 link-local address of 'mac' */
	uint16_t txq[XV_MAX_WORKERS]; /* tx queue each worker uses */
};

/* The MAC table's key: a MAC within a network (view->nets index). */
struct xv_mac_key {
	struct rte_ether_addr mac;
	uint16_t net;
};
_Static_assert(sizeof(struct xv_mac_key) == 8, "a MAC key is one 64-bit word");

struct xv_nnet {
	uint16_t zone;
	uint16_t n_all;      /* ports of the network (broadcast) */
	uint16_t n_unknown;  /* ports that may own unknown MACs */
	uint16_t *all;       /* nport indices */
	uint16_t *unknown;
};

/* Each worker's recent MAC table answers, direct-mapped by a hash of the
 * key: a burst's unicast mostly goes to one MAC (a VM's gateway) or a few
 * (an uplink's traffic to the VMs behind it), and so do the bursts after
 * it. A collision costs one table lookup, as a miss does. Part of the
 * view, so a new view starts with none: its slots hold the broadcast
 * address, which is never looked up. */
#define XV_MAC_MEMO_BITS 5
struct xv_mac_memo_slot {
	uint64_t key; /* xv_mac_memo_key() */
	uint16_t idx; /* nport index, or XV_NPORT_NONE: no port owns it */
};
struct xv_mac_memo {
	struct xv_mac_memo_slot slot[1 << XV_MAC_MEMO_BITS];
} __rte_cache_aligned;

/* A memo key: MAC and network as one integer, made in registers (building
 * a struct xv_mac_key and loading it back whole stalls on store
 * forwarding: 10 cycles a packet). */
static inline uint64_t
xv_mac_memo_key(const struct rte_ether_addr *mac, uint16_t net)
{
	uint32_t lo;
	uint16_t hi;

	memcpy(&lo, mac->addr_bytes, 4);
	memcpy(&hi, mac->addr_bytes + 4, 2);
	return (uint64_t)lo | (uint64_t)hi << 32 | (uint64_t)net << 48;
}

struct xv_net_view {
	unsigned int n_ports;
	unsigned int n_nets;
	struct xv_nport *ports;
	struct xv_nnet *nets;
	struct rte_hash *macs;          /* (mac, net) -> nport index */
	const struct xv_acl_set *acl;   /* NULL: no filtered port */
	struct xv_ct *ct;               /* never NULL: made with the first network */
	uint16_t by_slot[XV_MAX_PORTS]; /* port->slot -> nport, or NONE */
	struct xv_mac_memo *memo;       /* XV_MAX_WORKERS, written by each worker */
};

/* The published view (workers load it with acquire, once per burst). */
extern struct xv_net_view *xv_net_view;

/* plan.c, before publishing plans: build a view of the registry with the
 * classifier in force, publish it and free the old one after a grace
 * period. On error (out of memory: logged) the old view stays. */
void xv_net_refresh(void);

/* ---- datapath ---- */

struct xv_poll;
/* Worker 'w': switch 'n' packets ('bytes' in all) received on 'poll''s
 * port at TSC 'now' (the worker's loop start will do). Takes them. */
void xv_net_input(unsigned int w, struct xv_poll *poll, struct rte_mbuf **pkts,
		  uint16_t n, uint64_t bytes, uint64_t now);

#endif /* XV_NET_H */
