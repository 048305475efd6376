/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compiling the network model into what workers read (control thread):
 * the security-group classifier (rte_acl, via feat/acl) and the view
 * (ports, flood lists, MAC table). Both are immutable once published and
 * replaced whole: a new one is published with a release store, and the old
 * one freed after every worker has passed a quiescent point.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>

#include "acl.h"
#include "ct.h"
#include "net.h"
#include "plan.h"
#include "port.h"
#include "worker.h"
#include "xv_aside.h"
#include "xv_log.h"

struct xv_net_view *xv_net_view;
uint32_t xv_net_ct_capacity = XV_NET_CT_DEFAULT;

static struct xv_acl_set *acl_in_force;
/* Each filtered port's profile (by slot) in acl_in_force. */
static uint16_t profile_in_force[XV_MAX_PORTS];
static struct xv_ct *ct;
static double last_build_ms;
static unsigned int last_rules;
static unsigned int last_profiles;
static unsigned int last_chunks, last_reused; /* of the set in force */
static uint64_t n_applies;


static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A port is filtered (anti-spoofing, groups, conntrack) when it is in a
 * network with port security on. */
static bool
filtered(const struct xv_port *p)
{
	return p->net.network != NULL && p->net.port_security;
}

static bool
same_sgs(const struct xv_port_net *a, const struct xv_port_net *b)
{
	unsigned int i, j;

	if (a->n_sgs != b->n_sgs)
		return false;
	for (i = 0; i < a->n_sgs; i++) {
		for (j = 0; j < b->n_sgs; j++)
			if (a->sgs[i] == b->sgs[j])
				break;
		if (j == b->n_sgs)
			return false;
	}
	return true;
}

/*
 * Profiles: ports with the same set of groups share one. profile_of[slot]
 * gets each filtered port's profile; reps[] one port per profile.
 */
static unsigned int
assign_profiles(uint16_t *profile_of, const struct xv_port **reps)
{
	unsigned int n = 0, i, k;

	for (i = 0; i < xv_n_ports; i++) {
		const struct xv_port *p = xv_ports[i];

		if (!filtered(p))
			continue;
		for (k = 0; k < n; k++)
			if (same_sgs(&reps[k]->net, &p->net))
				break;
		if (k == n)
			reps[n++] = p;
		profile_of[p->slot] = k;
	}
	return n;
}

/* Add one model rule to 'profile', expanding a remote group into one rule
 * per address of its member ports. */
static int
add_rule(struct xv_acl_builder *b, uint16_t profile, const struct xv_sg_rule *r)
{
	struct xv_acl_rule ar = {
		.id = r->id,
		.ingress = r->ingress,
		.ipv6 = r->ipv6,
		.proto = r->proto,
		.remote_plen = r->remote_plen,
		.port_lo = r->port_lo,
		.port_hi = r->port_hi,
	};
	unsigned int i, j, k;
	int ret;

	if (r->remote_group == NULL) {
		memcpy(ar.remote, r->remote, sizeof(ar.remote));
		return xv_acl_builder_add(b, profile, &ar);
	}
	for (i = 0; i < xv_n_ports; i++) {
		const struct xv_port_net *n = &xv_ports[i]->net;

		for (j = 0; j < n->n_sgs; j++)
			if (n->sgs[j] == r->remote_group)
				break;
		if (j == n->n_sgs)
			continue;
		for (k = 0; k < n->n_addrs; k++) {
			if (n->addrs[k].ipv6 != r->ipv6)
				continue;
			memcpy(ar.remote, n->addrs[k].addr, sizeof(ar.remote));
			ar.remote_plen = n->addrs[k].plen;
			ret = xv_acl_builder_add(b, profile, &ar);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* Does 'r' allow all traffic of its direction and family? */
static bool
allows_all(const struct xv_sg_rule *r)
{
	return r->proto == 0 && !r->has_ports && r->remote_group == NULL &&
	       r->remote_plen == 0;
}

/* Add one profile's rules: those of the groups in 'n'. */
static int
add_profile(struct xv_acl_builder *b, uint16_t k, const struct xv_port_net *n)
{
	/* Everything of one family, in a direction set below. */
	static const struct xv_sg_rule allow_all[2] = {
		{ .ipv6 = 0, .port_hi = UINT16_MAX },
		{ .ipv6 = 1, .port_hi = UINT16_MAX },
	};
	bool all[2][2] = { { false } }; /* [ingress][ipv6] */
	unsigned int d, f, g, r;
	int ret = 0;

	/* No group: egress allowed, ingress denied. */
	if (n->n_sgs == 0)
		all[0][0] = all[0][1] = true;
	/* Rules only allow: once one allows a whole direction and family,
	 * the others there cannot change a verdict. Leaving them out keeps
	 * the tables small and the build fast (a group's default egress
	 * rules are such rules). */
	for (g = 0; g < n->n_sgs; g++)
		for (r = 0; r < n->sgs[g]->n_rules; r++)
			if (allows_all(&n->sgs[g]->rules[r]))
				all[n->sgs[g]->rules[r].ingress]
				   [n->sgs[g]->rules[r].ipv6] = true;
	for (d = 0; d < 2 && ret == 0; d++)
		for (f = 0; f < 2 && ret == 0; f++)
			if (all[d][f]) {
				struct xv_sg_rule any = allow_all[f];

				any.ingress = d;
				ret = add_rule(b, k, &any);
			}
	for (g = 0; g < n->n_sgs && ret == 0; g++)
		for (r = 0; r < n->sgs[g]->n_rules && ret == 0; r++) {
			const struct xv_sg_rule *rule = &n->sgs[g]->rules[r];

			if (!all[rule->ingress][rule->ipv6])
				ret = add_rule(b, k, rule);
		}
	return ret;
}

/* rte_acl's compile, the slow part of a rule change, run aside (xv_aside.h):
 * it reads only the builder and the set in force (to take over its
 * unchanged chunks), which nothing else touches meanwhile. */
struct build_job {
	const struct xv_acl_builder *b;
	const struct xv_acl_set *prev;
	char *err;
	size_t errlen;
	struct xv_acl_set *set;
	int err_no;
};

static void
build_job_run(void *arg)
{
	struct build_job *j = arg;

	errno = 0;
	j->set = xv_acl_build_from(j->b, j->prev, j->err, j->errlen);
	j->err_no = errno;
}

/* Compile the model's rules, with each filtered port's profile (by slot)
 * in 'profile_of'; NULL with '*ret' = 0 when no port is filtered. */
static struct xv_acl_set *
compile(uint16_t *profile_of, int *ret, char *err, size_t errlen)
{
	static const struct xv_port *reps[XV_MAX_PORTS];
	struct xv_acl_builder *b;
	struct xv_acl_set *set;
	struct build_job job;
	unsigned int n_prof, k;

	*ret = 0;
	n_prof = assign_profiles(profile_of, reps);
	last_profiles = n_prof;
	if (n_prof == 0) {
		last_rules = 0;
		return NULL;
	}
	b = xv_acl_builder_new();
	if (b == NULL) {
		*ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (k = 0; k < n_prof && *ret == 0; k++)
		*ret = add_profile(b, k, &reps[k]->net);
	if (*ret != 0) {
		if (*ret == -ENOSPC)
			snprintf(err, errlen,
				 "too many rules after expanding remote groups (the limit is %u)",
				 XV_ACL_MAX_RULES);
		else
			snprintf(err, errlen, "cannot add a rule to the classifier: %s",
				 strerror(-*ret));
		xv_acl_builder_free(b);
		return NULL;
	}
	last_rules = xv_acl_builder_count(b);
	job = (struct build_job){ .b = b, .prev = acl_in_force, .err = err,
				  .errlen = errlen };
	xv_aside(build_job_run, &job);
	set = job.set;
	if (set == NULL)
		*ret = -(job.err_no ? job.err_no : ENOMEM);
	xv_acl_builder_free(b);
	return set;
}

/* ---- the view ---- */

static void
view_free(struct xv_net_view *v)
{
	unsigned int i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n_nets; i++) {
		free(v->nets[i].all);
		free(v->nets[i].unknown);
	}
	free(v->nets);
	free(v->ports);
	rte_hash_free(v->macs);
	free(v->memo);
	free(v);
}

static void
fill_nport(struct xv_nport *np, struct xv_port *p, uint16_t net)
{
	const struct xv_port_net *n = &p->net;
	unsigned int i, w;

	np->port = p;
	np->uid = p->uid;
	np->net = net;
	np->filtered = filtered(p);
	np->uplink = n->uplink;
	np->profile = np->filtered ? profile_in_force[p->slot] : 0;
	np->mac = n->mac;
	for (i = 0; i < n->n_addrs; i++) {
		const struct xv_net_addr *a = &n->addrs[i];

		if (!a->ipv6) {
			uint32_t mask = a->plen == 0 ? 0 :
					rte_cpu_to_be_32(~0u << (32 - a->plen));

			memcpy(&np->v4[np->n_v4], a->addr, 4);
			np->v4[np->n_v4] &= mask;
			np->v4_mask[np->n_v4++] = mask;
		} else {
			memcpy(np->v6[np->n_v6], a->addr, 16);
			np->v6_plen[np->n_v6++] = a->plen;
		}
	}
	/* fe80::/64 + the modified EUI-64 of the MAC (RFC 4291). */
	memset(np->ll6, 0, sizeof(np->ll6));
	np->ll6[0] = 0xfe;
	np->ll6[1] = 0x80;
	np->ll6[8] = n->mac.addr_bytes[0] ^ 0x02;
	np->ll6[9] = n->mac.addr_bytes[1];
	np->ll6[10] = n->mac.addr_bytes[2];
	np->ll6[11] = 0xff;
	np->ll6[12] = 0xfe;
	np->ll6[13] = n->mac.addr_bytes[3];
	np->ll6[14] = n->mac.addr_bytes[4];
	np->ll6[15] = n->mac.addr_bytes[5];
	for (w = 0; w < xv_n_workers; w++) {
		if (p->type == XV_PORT_VHOST)
			np->txq[w] = xv_plan_vhost_txq(p, w);
		else
			np->txq[w] = p->eth.nb_txq ? w % p->eth.nb_txq : 0;
	}
}

/* A view of the registry in '*out' (NULL when no port is in a network).
 * 0 or -ENOMEM. */
static int
view_build(struct xv_net_view **out)
{
	static unsigned int hash_seq;
	struct xv_net_view *v;
	struct rte_hash_parameters hp = { 0 };
	char hname[RTE_HASH_NAMESIZE];
	unsigned int i, j, n = 0;

	*out = NULL;
	for (i = 0; i < xv_n_ports; i++)
		n += xv_ports[i]->net.network != NULL;
	if (n == 0)
		return 0;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	memset(v->by_slot, 0xff, sizeof(v->by_slot));
	v->ports = calloc(n, sizeof(*v->ports));
	v->nets = calloc(xv_n_networks, sizeof(*v->nets));
	v->memo = aligned_alloc(RTE_CACHE_LINE_SIZE,
				XV_MAX_WORKERS * sizeof(*v->memo));
	for (i = 0; v->memo != NULL && i < XV_MAX_WORKERS; i++) {
		const struct rte_ether_addr bcast = {
			.addr_bytes = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
		unsigned int s;

		for (s = 0; s < RTE_DIM(v->memo[i].slot); s++) {
			v->memo[i].slot[s].key = xv_mac_memo_key(&bcast, 0);
			v->memo[i].slot[s].idx = XV_NPORT_NONE;
		}
	}
	snprintf(hname, sizeof(hname), "xv_mac%u", hash_seq++);
	hp.name = hname;
	hp.entries = RTE_MAX(2 * n, 64u);
	hp.key_len = sizeof(struct xv_mac_key);
	hp.hash_func = rte_jhash;
	hp.socket_id = SOCKET_ID_ANY;
	v->macs = rte_hash_create(&hp);
	if (v->ports == NULL || v->nets == NULL || v->macs == NULL ||
	    v->memo == NULL)
		goto fail;
	v->n_nets = xv_n_networks;
	v->ct = ct;
	v->acl = acl_in_force;
	for (i = 0; i < xv_n_networks; i++) {
		struct xv_nnet *nn = &v->nets[i];
		unsigned int cnt = xv_networks[i]->n_ports;

		nn->zone = xv_networks[i]->zone;
		nn->all = calloc(cnt + 1, sizeof(uint16_t));
		nn->unknown = calloc(cnt + 1, sizeof(uint16_t));
		if (nn->all == NULL || nn->unknown == NULL)
			goto fail;
	}
	for (i = 0; i < xv_n_ports; i++) {
		struct xv_port *p = xv_ports[i];
		struct xv_nport *np;
		struct xv_nnet *nn;
		uint16_t idx;

		if (p->net.network == NULL)
			continue;
		for (j = 0; j < xv_n_networks; j++)
			if (xv_networks[j] == p->net.network)
				break;
		idx = v->n_ports++;
		np = &v->ports[idx];
		fill_nport(np, p, j);
		v->by_slot[p->slot] = idx;
		nn = &v->nets[j];
		nn->all[nn->n_all++] = idx;
		if (!np->filtered)
			nn->unknown[nn->n_unknown++] = idx;
		if (p->net.has_mac) {
			struct xv_mac_key key;

			memset(&key, 0, sizeof(key));
			key.mac = p->net.mac;
			key.net = j;
			if (rte_hash_add_key_data(v->macs, &key,
						  (void *)(uintptr_t)idx) < 0)
				goto fail;
		}
	}
	*out = v;
	return 0;
fail:
	view_free(v);
	return -ENOMEM;
}

void
xv_net_refresh(void)
{
	struct xv_net_view *v, *old;

	if (view_build(&v) != 0) {
		XV_LOG(dp, ERR, "out of memory building the network view: keeping the old one");
		return;
	}
	old = __atomic_exchange_n(&xv_net_view, v, __ATOMIC_ACQ_REL);
	if (old != NULL) {
		xv_worker_synchronize();
		view_free(old);
	}
}

int
xv_net_apply(char *err, size_t errlen, double *ms)
{
	static uint16_t profiles[XV_MAX_PORTS], old_profiles[XV_MAX_PORTS];
	double t0 = now_ms(), t_built;
	struct xv_acl_set *set, *old;
	int ret;

	set = compile(profiles, &ret, err, errlen);
	if (ret != 0)
		return ret;
	t_built = now_ms();
	old = acl_in_force;
	acl_in_force = set;
	memcpy(old_profiles, profile_in_force, sizeof(old_profiles));
	memcpy(profile_in_force, profiles, sizeof(profiles));
	/* New plans too: ports may have joined or left networks. */
	xv_plan_rebuild();
	if (xv_net_view != NULL && xv_net_view->acl != set) {
		/* The view could not be rebuilt: the old classifier is still
		 * in use, keep it. */
		acl_in_force = old;
		memcpy(profile_in_force, old_profiles, sizeof(old_profiles));
		xv_acl_free(set);
		snprintf(err, errlen, "out of memory publishing the new rules");
		return -ENOMEM;
	}
	/* xv_plan_rebuild waited for the workers: 'old' is out of use. */
	xv_acl_free(old);
	last_build_ms = now_ms() - t0;
	n_applies++;
	last_chunks = last_reused = 0;
	if (set != NULL)
		xv_acl_set_chunks(set, &last_chunks, &last_reused);
	XV_LOG(ctl, INFO, "security groups: %u rules in %u profiles compiled in %.1f ms (%u of %u chunks unchanged), in force after %.1f ms",
	       last_rules, last_profiles, t_built - t0, last_reused, last_chunks,
	       last_build_ms);
	if (ms != NULL)
		*ms = last_build_ms;
	return 0;
}

struct xv_ct *
xv_net_ct(void)
{
	return ct;
}

int
xv_net_ct_ensure(char *err, size_t errlen)
{
	struct xv_ct_conf conf = { 0 };

	if (ct != NULL)
		return 0;
	conf.capacity = xv_net_ct_capacity;
	conf.rcu = xv_worker_qsbr();
	conf.socket_id = SOCKET_ID_ANY;
	ct = xv_ct_create(&conf);
	if (ct == NULL) {
		snprintf(err, errlen,
			 "cannot create the conntrack table for %u connections (%s): lower --ct-capacity or add hugepages",
			 xv_net_ct_capacity, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

void
xv_net_tick(void)
{
	struct xv_ct_stats st;

	if (ct == NULL)
		return;
	/* Removed connections wait for the workers' grace period; a worker
	 * asleep with nothing to poll reports none until woken, so wake
	 * them when memory is waiting (they are up again in microseconds). */
	xv_ct_stats_read(ct, &st);
	if (st.limbo > 0)
		xv_worker_synchronize();
	xv_ct_expire(ct, rte_rdtsc(), RTE_MAX(65536u, xv_ct_slots(ct) / 8));
}

json_t *
xv_net_status(void)
{
	unsigned int i, rules = 0;
	json_t *o, *cto = json_null();

	for (i = 0; i < xv_n_sgs; i++)
		rules += xv_sgs[i]->n_rules;
	if (ct != NULL) {
		struct xv_ct_stats st;

		xv_ct_stats_read(ct, &st);
		cto = json_object();
#define XV_CT_STAT_JSON(name, help) json_object_set_new(cto, #name, json_integer(st.name));
		XV_CT_STATS(XV_CT_STAT_JSON)
#undef XV_CT_STAT_JSON
		json_object_set_new(cto, "used", json_integer(st.used));
		json_object_set_new(cto, "limbo", json_integer(st.limbo));
		json_object_set_new(cto, "capacity", json_integer(xv_net_ct_capacity));
		json_object_set_new(cto, "count",
				    json_integer(xv_ct_count(ct, -1, rte_rdtsc())));
	}
	o = json_object();
	json_object_set_new(o, "networks", json_integer(xv_n_networks));
	json_object_set_new(o, "security_groups", json_integer(xv_n_sgs));
	json_object_set_new(o, "rules", json_integer(rules));
	json_object_set_new(o, "classifier_rules", json_integer(last_rules));
	json_object_set_new(o, "profiles", json_integer(last_profiles));
	json_object_set_new(o, "classifier_chunks", json_integer(last_chunks));
	json_object_set_new(o, "classifier_chunks_reused", json_integer(last_reused));
	json_object_set_new(o, "last_apply_ms", json_real(last_build_ms));
	json_object_set_new(o, "applies", json_integer(n_applies));
	json_object_set_new(o, "ct", cto);
	return o;
}

void
xv_net_fini(void)
{
	/* Workers are stopped and the plans freed. */
	view_free(xv_net_view);
	xv_net_view = NULL;
	xv_acl_free(acl_in_force);
	acl_in_force = NULL;
	xv_ct_destroy(ct);
	ct = NULL;
	while (xv_n_sgs > 0) {
		struct xv_sg *sg = xv_sgs[--xv_n_sgs];

		free(sg->rules);
		free(sg);
	}
	while (xv_n_networks > 0)
		free(xv_networks[--xv_n_networks]);
}
