/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtual network model: networks, security groups, their rules and
 * ports' network attributes. Control thread only. Nothing here touches the
 * datapath; xv_net_apply (net_view.c) compiles the model and publishes it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "net.h"
#include "port.h"

struct xv_network *xv_networks[XV_NET_MAX_NETWORKS];
unsigned int xv_n_networks;
struct xv_sg *xv_sgs[XV_NET_MAX_SGS];
unsigned int xv_n_sgs;

static int
name_check(const char *what, const char *name, char *err, size_t errlen)
{
	if (xv_port_name_check(name, err, errlen) != 0) {
		/* Same rules as port names; say what it is about. */
		snprintf(err, errlen,
			 "%s name '%s' must be 1-%d letters, digits, '_', '-' or '.'",
			 what, name, XV_NAME_MAX);
		return -EINVAL;
	}
	return 0;
}

struct xv_network *
xv_network_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < xv_n_networks; i++)
		if (strcmp(xv_networks[i]->name, name) == 0)
			return xv_networks[i];
	return NULL;
}

int
xv_network_add(const char *name, struct xv_network **netp, char *err,
	       size_t errlen)
{
	struct xv_network *net;
	uint16_t zone;
	unsigned int i;

	if (name_check("network", name, err, errlen) != 0)
		return -EINVAL;
	if (xv_network_find(name) != NULL) {
		snprintf(err, errlen, "network '%s' already exists", name);
		return -EEXIST;
	}
	if (xv_n_networks == XV_NET_MAX_NETWORKS) {
		snprintf(err, errlen, "too many networks (the limit is %d)",
			 XV_NET_MAX_NETWORKS);
		return -ENOSPC;
	}
	/* The lowest free zone: zones are not reused while in use, so a
	 * removed network's connections (flushed) never meet a new one's. */
	for (zone = 1;; zone++) {
		for (i = 0; i < xv_n_networks; i++)
			if (xv_networks[i]->zone == zone)
				break;
		if (i == xv_n_networks)
			break;
	}
	net = calloc(1, sizeof(*net));
	if (net == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(net->name, sizeof(net->name), "%s", name);
	net->zone = zone;
	xv_networks[xv_n_networks++] = net;
	*netp = net;
	return 0;
}

int
xv_network_del(struct xv_network *net, char *err, size_t errlen)
{
	unsigned int i;

	if (net->n_ports != 0) {
		snprintf(err, errlen, "network '%s' still has %u port(s)",
			 net->name, net->n_ports);
		return -EBUSY;
	}
	for (i = 0; i < xv_n_networks; i++) {
		if (xv_networks[i] == net) {
			memmove(&xv_networks[i], &xv_networks[i + 1],
				(xv_n_networks - i - 1) * sizeof(xv_networks[0]));
			xv_n_networks--;
			break;
		}
	}
	free(net);
	return 0;
}

struct xv_sg *
xv_sg_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < xv_n_sgs; i++)
		if (strcmp(xv_sgs[i]->name, name) == 0)
			return xv_sgs[i];
	return NULL;
}

int
xv_sg_add(const char *name, struct xv_sg **sgp, char *err, size_t errlen)
{
	struct xv_sg_rule dflt[2] = {
		{ .ingress = 0, .ipv6 = 0, .port_hi = UINT16_MAX },
		{ .ingress = 0, .ipv6 = 1, .port_hi = UINT16_MAX },
	};
	struct xv_sg *sg;
	int ret;

	if (name_check("security group", name, err, errlen) != 0)
		return -EINVAL;
	if (xv_sg_find(name) != NULL) {
		snprintf(err, errlen, "security group '%s' already exists", name);
		return -EEXIST;
	}
	if (xv_n_sgs == XV_NET_MAX_SGS) {
		snprintf(err, errlen, "too many security groups (the limit is %d)",
			 XV_NET_MAX_SGS);
		return -ENOSPC;
	}
	sg = calloc(1, sizeof(*sg));
	if (sg == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(sg->name, sizeof(sg->name), "%s", name);
	sg->next_id = 1;
	/* Neutron's default: a new group allows all egress, both families. */
	ret = xv_sg_rules_add(sg, dflt, 2, err, errlen);
	if (ret < 0) {
		free(sg);
		return ret;
	}
	xv_sgs[xv_n_sgs++] = sg;
	*sgp = sg;
	return 0;
}

int
xv_sg_del(struct xv_sg *sg, char *err, size_t errlen)
{
	unsigned int i, j, self = 0;

	if (sg->n_ports != 0) {
		snprintf(err, errlen, "security group '%s' is used by %u port(s)",
			 sg->name, sg->n_ports);
		return -EBUSY;
	}
	for (j = 0; j < sg->n_rules; j++)
		if (sg->rules[j].remote_group == sg)
			self++;
	if (sg->n_remote_refs > self) {
		snprintf(err, errlen,
			 "security group '%s' is the remote group of %u rule(s) of other groups",
			 sg->name, sg->n_remote_refs - self);
		return -EBUSY;
	}
	for (j = 0; j < sg->n_rules; j++)
		if (sg->rules[j].remote_group != NULL)
			sg->rules[j].remote_group->n_remote_refs--;
	for (i = 0; i < xv_n_sgs; i++) {
		if (xv_sgs[i] == sg) {
			memmove(&xv_sgs[i], &xv_sgs[i + 1],
				(xv_n_sgs - i - 1) * sizeof(xv_sgs[0]));
			xv_n_sgs--;
			break;
		}
	}
	free(sg->rules);
	free(sg);
	return 0;
}

/* "198.18.0.0/15", "2001:db8::/32", "198.18.0.1" (host). 'ipv6' -1: any
 * family, else the one required. */
static int
prefix_parse(const char *s, int ipv6, struct xv_net_addr *a, bool host_default)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	long plen;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, a->addr) == 1)
		a->ipv6 = 0;
	else if (inet_pton(AF_INET6, buf, a->addr) == 1)
		a->ipv6 = 1;
	else
		return -EINVAL;
	if (ipv6 >= 0 && a->ipv6 != ipv6)
		return -EAFNOSUPPORT;
	if (slash == NULL) {
		a->plen = host_default ? (a->ipv6 ? 128 : 32) : 0;
		return 0;
	}
	errno = 0;
	plen = strtol(slash, &end, 10);
	if (errno != 0 || *slash == '\0' || *end != '\0' || plen < 0 ||
	    plen > (a->ipv6 ? 128 : 32))
		return -EINVAL;
	a->plen = plen;
	return 0;
}

static const struct {
	const char *name;
	uint8_t num;
} protos[] = {
	{ "any", 0 },
	{ "tcp", XV_ACL_PROTO_TCP },
	{ "udp", XV_ACL_PROTO_UDP },
	{ "icmp", XV_ACL_PROTO_ICMP },
	{ "icmpv6", XV_ACL_PROTO_ICMPV6 },
	{ "sctp", XV_ACL_PROTO_SCTP },
};

static const char *
proto_name(uint8_t num, char *buf, size_t len)
{
	unsigned int i;

	for (i = 0; i < XV_ARRAY_SIZE(protos); i++)
		if (protos[i].num == num)
			return protos[i].name;
	snprintf(buf, len, "%u", num);
	return buf;
}

/* Protocols whose rules may name a port range. */
static bool
proto_has_ports(uint8_t p)
{
	return p == XV_ACL_PROTO_TCP || p == XV_ACL_PROTO_UDP ||
	       p == XV_ACL_PROTO_SCTP || p == XV_ACL_PROTO_DCCP ||
	       p == XV_ACL_PROTO_UDPLITE || p == XV_ACL_PROTO_ICMP ||
	       p == XV_ACL_PROTO_ICMPV6;
}

static int
range_parse(const char *s, long max, uint16_t *lo, uint16_t *hi)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (errno != 0 || end == s || a < 0 || a > max)
		return -EINVAL;
	b = a;
	if (*end == '-') {
		const char *s2 = end + 1;

		b = strtol(s2, &end, 10);
		if (errno != 0 || end == s2 || b < a || b > max)
			return -EINVAL;
	}
	if (*end != '\0')
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

static const char *
jstr(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int
xv_sg_rule_parse(json_t *obj, struct xv_sg_rule *rule, char *err, size_t errlen)
{
	static const char *const keys[] = { "sg", "direction", "proto", "ports",
					    "remote", "remote_group", "ipv6" };
	const char *dir, *proto, *ports, *remote, *rgroup, *key;
	json_t *v, *ipv6 = json_object_get(obj, "ipv6");
	unsigned int i;

	memset(rule, 0, sizeof(*rule));
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "a rule must be an object");
		return -EINVAL;
	}
	json_object_foreach(obj, key, v) {
		for (i = 0; i < XV_ARRAY_SIZE(keys); i++)
			if (strcmp(key, keys[i]) == 0)
				break;
		if (i == XV_ARRAY_SIZE(keys) || (i == 6 ? !json_is_boolean(v) :
						  !json_is_string(v))) {
			snprintf(err, errlen,
				 i == XV_ARRAY_SIZE(keys) ? "unknown rule field '%s'" :
							  "rule field '%s' has the wrong type",
				 key);
			return -EINVAL;
		}
	}
	dir = jstr(obj, "direction");
	if (dir == NULL || (strcmp(dir, "ingress") != 0 && strcmp(dir, "egress") != 0)) {
		snprintf(err, errlen, "direction must be 'ingress' or 'egress'");
		return -EINVAL;
	}
	rule->ingress = strcmp(dir, "ingress") == 0;
	rule->ipv6 = ipv6 != NULL && json_is_true(ipv6);

	proto = jstr(obj, "proto");
	if (proto != NULL) {
		for (i = 0; i < XV_ARRAY_SIZE(protos); i++)
			if (strcmp(proto, protos[i].name) == 0)
				break;
		if (i < XV_ARRAY_SIZE(protos)) {
			rule->proto = protos[i].num;
		} else {
			uint16_t lo, hi;

			if (range_parse(proto, 255, &lo, &hi) != 0 || lo != hi) {
				snprintf(err, errlen,
					 "proto '%s' is not any, tcp, udp, icmp, icmpv6, sctp or a number 0-255",
					 proto);
				return -EINVAL;
			}
			rule->proto = lo;
		}
	}
	if (rule->proto == XV_ACL_PROTO_ICMPV6 && !rule->ipv6 && ipv6 == NULL)
		rule->ipv6 = 1; /* icmpv6 says the family */
	if ((rule->proto == XV_ACL_PROTO_ICMPV6 && !rule->ipv6) ||
	    (rule->proto == XV_ACL_PROTO_ICMP && rule->ipv6)) {
		snprintf(err, errlen, "%s is for %s rules",
			 rule->proto == XV_ACL_PROTO_ICMP ? "icmp" : "icmpv6",
			 rule->proto == XV_ACL_PROTO_ICMP ? "IPv4" : "IPv6");
		return -EINVAL;
	}

	rule->port_lo = 0;
	rule->port_hi = UINT16_MAX;
	ports = jstr(obj, "ports");
	if (ports != NULL) {
		bool icmp = rule->proto == XV_ACL_PROTO_ICMP ||
			    rule->proto == XV_ACL_PROTO_ICMPV6;
		uint16_t lo, hi;

		if (!proto_has_ports(rule->proto)) {
			snprintf(err, errlen,
				 "ports need a protocol with ports (tcp, udp, sctp; icmp/icmpv6 types)");
			return -EINVAL;
		}
		if (range_parse(ports, icmp ? 255 : 65535, &lo, &hi) != 0) {
			snprintf(err, errlen, "ports '%s' must be LO or LO-HI within 0-%d",
				 ports, icmp ? 255 : 65535);
			return -EINVAL;
		}
		rule->has_ports = true;
		rule->port_lo = icmp ? XV_ACL_ICMP_LO(lo) : lo;
		rule->port_hi = icmp ? XV_ACL_ICMP_HI(hi) : hi;
	}

	remote = jstr(obj, "remote");
	rgroup = jstr(obj, "remote_group");
	if (remote != NULL && rgroup != NULL) {
		snprintf(err, errlen, "give 'remote' or 'remote_group', not both");
		return -EINVAL;
	}
	if (remote != NULL) {
		struct xv_net_addr a;
		int ret = prefix_parse(remote, ipv6 != NULL || rule->proto != 0 ?
							rule->ipv6 : -1,
				       &a, true);

		if (ret == -EAFNOSUPPORT) {
			snprintf(err, errlen, "remote '%s' is not an %s prefix (add or drop --ipv6)",
				 remote, rule->ipv6 ? "IPv6" : "IPv4");
			return -EINVAL;
		}
		if (ret < 0) {
			snprintf(err, errlen, "remote '%s' is not a prefix (ADDR or ADDR/PLEN)",
				 remote);
			return -EINVAL;
		}
		rule->ipv6 = a.ipv6;
		rule->remote_plen = a.plen;
		memcpy(rule->remote, a.addr, 16);
	}
	if (rgroup != NULL) {
		rule->remote_group = xv_sg_find(rgroup);
		if (rule->remote_group == NULL) {
			snprintf(err, errlen, "no security group '%s'", rgroup);
			return -ENOENT;
		}
	}
	return 0;
}

int
xv_sg_rules_add(struct xv_sg *sg, struct xv_sg_rule *rules, unsigned int n,
		char *err, size_t errlen)
{
	unsigned int i;

	if (sg->n_rules + n > XV_NET_SG_RULES) {
		snprintf(err, errlen, "too many rules in '%s' (the limit is %d)",
			 sg->name, XV_NET_SG_RULES);
		return -ENOSPC;
	}
	if (sg->n_rules + n > sg->cap) {
		unsigned int cap = RTE_MAX(sg->cap * 2, sg->n_rules + n);
		struct xv_sg_rule *r = realloc(sg->rules, cap * sizeof(*r));

		if (r == NULL) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		sg->rules = r;
		sg->cap = cap;
	}
	for (i = 0; i < n; i++) {
		rules[i].id = sg->next_id++;
		if (rules[i].remote_group != NULL)
			rules[i].remote_group->n_remote_refs++;
		sg->rules[sg->n_rules++] = rules[i];
	}
	return 0;
}

int
xv_sg_rules_del(struct xv_sg *sg, const uint32_t *ids, unsigned int n,
		char *err, size_t errlen)
{
	unsigned int i, j, k;

	for (i = 0; i < n; i++) {
		for (j = 0; j < sg->n_rules; j++)
			if (sg->rules[j].id == ids[i])
				break;
		if (j == sg->n_rules) {
			snprintf(err, errlen, "security group '%s' has no rule %u",
				 sg->name, ids[i]);
			return -ENOENT;
		}
	}
	for (j = 0, k = 0; j < sg->n_rules; j++) {
		bool del = false;

		for (i = 0; i < n && !del; i++)
			del = sg->rules[j].id == ids[i];
		if (del) {
			if (sg->rules[j].remote_group != NULL)
				sg->rules[j].remote_group->n_remote_refs--;
			continue;
		}
		sg->rules[k++] = sg->rules[j];
	}
	sg->n_rules = k;
	return 0;
}

int
xv_sg_rules_replace(struct xv_sg *sg, const struct xv_sg_rule *rules,
		    unsigned int n)
{
	unsigned int i;

	if (n > sg->cap) {
		struct xv_sg_rule *r = realloc(sg->rules, n * sizeof(*r));

		if (r == NULL)
			return -ENOMEM;
		sg->rules = r;
		sg->cap = n;
	}
	for (i = 0; i < n; i++)
		if (rules[i].remote_group != NULL)
			rules[i].remote_group->n_remote_refs++;
	for (i = 0; i < sg->n_rules; i++)
		if (sg->rules[i].remote_group != NULL)
			sg->rules[i].remote_group->n_remote_refs--;
	if (n > 0)
		memmove(sg->rules, rules, n * sizeof(*rules));
	sg->n_rules = n;
	return 0;
}

static void
addr_str(const uint8_t *addr, int ipv6, char *buf, size_t len)
{
	inet_ntop(ipv6 ? AF_INET6 : AF_INET, addr, buf, len);
}

json_t *
xv_sg_rule_json(const struct xv_sg_rule *r)
{
	char buf[INET6_ADDRSTRLEN + 8], pbuf[8];
	bool icmp = r->proto == XV_ACL_PROTO_ICMP || r->proto == XV_ACL_PROTO_ICMPV6;
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "direction", json_string(r->ingress ? "ingress" : "egress"));
	json_object_set_new(o, "ipv6", json_boolean(r->ipv6));
	json_object_set_new(o, "proto", json_string(proto_name(r->proto, pbuf, sizeof(pbuf))));
	if (r->has_ports) {
		unsigned int lo = icmp ? r->port_lo >> 8 : r->port_lo;
		unsigned int hi = icmp ? r->port_hi >> 8 : r->port_hi;

		if (lo == hi)
			snprintf(buf, sizeof(buf), "%u", lo);
		else
			snprintf(buf, sizeof(buf), "%u-%u", lo, hi);
		json_object_set_new(o, "ports", json_string(buf));
	} else {
		json_object_set_new(o, "ports", json_null());
	}
	if (r->remote_group != NULL) {
		json_object_set_new(o, "remote_group", json_string(r->remote_group->name));
	} else {
		char a[INET6_ADDRSTRLEN];

		addr_str(r->remote, r->ipv6, a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s/%u", a, r->remote_plen);
		json_object_set_new(o, "remote", json_string(buf));
	}
	return o;
}

json_t *
xv_sg_describe(const struct xv_sg *sg, bool with_rules)
{
	json_t *rules, *ports = json_array();
	unsigned int i, j;

	if (with_rules) {
		rules = json_array();
		for (i = 0; i < sg->n_rules; i++)
			json_array_append_new(rules, xv_sg_rule_json(&sg->rules[i]));
	} else {
		rules = json_integer(sg->n_rules);
	}
	for (i = 0; i < xv_n_ports; i++)
		for (j = 0; j < xv_ports[i]->net.n_sgs; j++)
			if (xv_ports[i]->net.sgs[j] == sg)
				json_array_append_new(ports, json_string(xv_ports[i]->name));
	return json_pack("{s:s, s:o, s:o}", "name", sg->name, "rules", rules,
			 "ports", ports);
}

/* ---- ports ---- */

/* Split a comma-separated list in place; returns the count or -E2BIG. */
static int
split(char *s, char **items, int max)
{
	int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(s, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (*tok == '\0')
			continue;
		if (n == max)
			return -E2BIG;
		items[n++] = tok;
	}
	return n;
}

int
xv_port_net_parse(json_t *args, const struct xv_port_net *base,
		  struct xv_port_net_req *req, char *err, size_t errlen)
{
	const char *s;
	json_t *v;

	memset(req, 0, sizeof(*req));
	if (base != NULL)
		req->net = *base;

	if ((s = jstr(args, "network")) != NULL) {
		req->set_network = true;
		req->net.network = NULL;
		if (*s != '\0') {
			req->net.network = xv_network_find(s);
			if (req->net.network == NULL) {
				snprintf(err, errlen, "no network '%s'", s);
				return -ENOENT;
			}
		}
	}
	if ((s = jstr(args, "mac")) != NULL) {
		req->set_mac = true;
		req->net.has_mac = *s != '\0';
		if (req->net.has_mac &&
		    (rte_ether_unformat_addr(s, &req->net.mac) != 0 ||
		     !rte_is_unicast_ether_addr(&req->net.mac) ||
		     rte_is_zero_ether_addr(&req->net.mac))) {
			snprintf(err, errlen, "mac '%s' is not a unicast MAC address (like 52:54:00:12:34:56)",
				 s);
			return -EINVAL;
		}
	}
	if ((s = jstr(args, "ip")) != NULL) {
		char buf[2048], *items[4 * XV_NET_MAX_ADDRS];
		unsigned int n4 = 0, n6 = 0;
		int n, i;

		req->set_ip = true;
		if (strlen(s) >= sizeof(buf)) {
			snprintf(err, errlen, "ip list is too long");
			return -EINVAL;
		}
		snprintf(buf, sizeof(buf), "%s", s);
		n = split(buf, items, XV_ARRAY_SIZE(items));
		if (n < 0) {
			snprintf(err, errlen, "at most %d IPv4 and %d IPv6 addresses",
				 XV_NET_MAX_ADDRS, XV_NET_MAX_ADDRS);
			return -EINVAL;
		}
		req->net.n_addrs = 0;
		for (i = 0; i < n; i++) {
			struct xv_net_addr *a = &req->net.addrs[req->net.n_addrs];

			if (prefix_parse(items[i], -1, a, true) != 0) {
				snprintf(err, errlen, "ip '%s' is not an IPv4/IPv6 address or prefix",
					 items[i]);
				return -EINVAL;
			}
			if ((a->ipv6 ? ++n6 : ++n4) > XV_NET_MAX_ADDRS) {
				snprintf(err, errlen, "at most %d IPv4 and %d IPv6 addresses",
					 XV_NET_MAX_ADDRS, XV_NET_MAX_ADDRS);
				return -EINVAL;
			}
			req->net.n_addrs++;
		}
	}
	if ((v = json_object_get(args, "uplink")) != NULL) {
		req->set_uplink = true;
		req->net.uplink = json_is_true(v);
	}
	if ((v = json_object_get(args, "port_security")) != NULL) {
		req->set_psec = true;
		req->net.port_security = json_is_true(v);
	}
	if ((s = jstr(args, "sg")) != NULL) {
		char buf[XV_NET_PORT_SGS * (XV_NAME_MAX + 2) + 64];
		char *items[XV_NET_PORT_SGS];
		int n, i, j;

		req->set_sg = true;
		if (strlen(s) >= sizeof(buf)) {
			snprintf(err, errlen, "at most %d security groups per port",
				 XV_NET_PORT_SGS);
			return -EINVAL;
		}
		snprintf(buf, sizeof(buf), "%s", s);
		n = split(buf, items, XV_NET_PORT_SGS);
		if (n < 0) {
			snprintf(err, errlen, "at most %d security groups per port",
				 XV_NET_PORT_SGS);
			return -EINVAL;
		}
		req->net.n_sgs = 0;
		for (i = 0; i < n; i++) {
			struct xv_sg *sg = xv_sg_find(items[i]);

			if (sg == NULL) {
				snprintf(err, errlen, "no security group '%s'", items[i]);
				return -ENOENT;
			}
			for (j = 0; j < (int)req->net.n_sgs; j++)
				if (req->net.sgs[j] == sg)
					break;
			if (j == (int)req->net.n_sgs)
				req->net.sgs[req->net.n_sgs++] = sg;
		}
	}
	return 0;
}

int
xv_port_net_merge(const struct xv_port *port, const struct xv_port_net_req *req,
		  struct xv_port_net *out, char *err, size_t errlen)
{
	*out = req->net;
	/* Port security follows the MAC unless set: on for a VM port. */
	if (!req->set_psec && (req->set_mac || req->set_uplink))
		out->port_security = out->has_mac && !out->uplink;
	if (out->uplink && out->port_security) {
		snprintf(err, errlen, "an uplink has no port security");
		return -EINVAL;
	}
	if (out->port_security && !out->has_mac) {
		snprintf(err, errlen, "port security needs a MAC (--mac)");
		return -EINVAL;
	}
	if (out->uplink && out->n_sgs != 0) {
		snprintf(err, errlen, "an uplink has no security groups");
		return -EINVAL;
	}
	if (out->n_sgs != 0 && !out->port_security) {
		snprintf(err, errlen, "security groups need port security on");
		return -EINVAL;
	}
	if (out->network != NULL && port != NULL && port->peer != NULL) {
		snprintf(err, errlen, "port '%s' is in a relay with '%s'",
			 port->name, port->peer->name);
		return -EBUSY;
	}
	if (out->network != NULL && out->has_mac) {
		unsigned int i;

		for (i = 0; i < xv_n_ports; i++) {
			const struct xv_port *o = xv_ports[i];

			if (o != port && o->net.network == out->network &&
			    o->net.has_mac &&
			    rte_is_same_ether_addr(&o->net.mac, &out->mac)) {
				snprintf(err, errlen, "port '%s' has that MAC in network '%s'",
					 o->name, out->network->name);
				return -EEXIST;
			}
		}
	}
	return 0;
}

void
xv_port_net_set(struct xv_port *port, const struct xv_port_net *net)
{
	unsigned int i;

	for (i = 0; i < net->n_sgs; i++)
		net->sgs[i]->n_ports++;
	for (i = 0; i < port->net.n_sgs; i++)
		port->net.sgs[i]->n_ports--;
	if (net->network != NULL)
		net->network->n_ports++;
	if (port->net.network != NULL)
		port->net.network->n_ports--;
	port->net = *net;
}

void
xv_port_net_clear(struct xv_port *port)
{
	struct xv_port_net none;

	memset(&none, 0, sizeof(none));
	xv_port_net_set(port, &none);
}

void
xv_port_net_describe(const struct xv_port *port, json_t *obj)
{
	const struct xv_port_net *n = &port->net;
	json_t *ips = json_array(), *sgs = json_array();
	char buf[INET6_ADDRSTRLEN + 8], a[INET6_ADDRSTRLEN];
	unsigned int i;

	json_object_set_new(obj, "network",
			    n->network ? json_string(n->network->name) : json_null());
	if (n->has_mac) {
		rte_ether_format_addr(buf, sizeof(buf), &n->mac);
		json_object_set_new(obj, "mac", json_string(buf));
	} else {
		json_object_set_new(obj, "mac", json_null());
	}
	for (i = 0; i < n->n_addrs; i++) {
		addr_str(n->addrs[i].addr, n->addrs[i].ipv6, a, sizeof(a));
		if (n->addrs[i].plen == (n->addrs[i].ipv6 ? 128 : 32))
			snprintf(buf, sizeof(buf), "%s", a);
		else
			snprintf(buf, sizeof(buf), "%s/%u", a, n->addrs[i].plen);
		json_array_append_new(ips, json_string(buf));
	}
	json_object_set_new(obj, "ip", ips);
	json_object_set_new(obj, "uplink", json_boolean(n->uplink));
	json_object_set_new(obj, "port_security", json_boolean(n->port_security));
	for (i = 0; i < n->n_sgs; i++)
		json_array_append_new(sgs, json_string(n->sgs[i]->name));
	json_object_set_new(obj, "sg", sgs);
}
