/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The conntrack hash table (src/feat/ct/ct_table.c) on its own: where keys
 * go when both their buckets are full (an entry moves to its other bucket),
 * deletion, reuse of released positions, a full table; then lookups on one
 * cpu racing with insertions that move the very keys they look for on the
 * other. Keys are chosen by their hashes so that the crowding is certain,
 * not left to chance.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_memory.h>

#include "ct_table.h"
#include "tap.h"

#define CAP 64 /* 16 buckets of 8 slots */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
rand_key(struct ct_key *k)
{
	uint64_t r = rnd();

	memset(k, 0, sizeof(*k));
	k->port[0] = r;
	k->port[1] = r >> 16;
	k->zone = (r >> 32) & 3;
	k->proto = 17;
	k->addr[0][0] = 198;
	k->addr[0][1] = 18;
	k->addr[0][2] = r >> 40;
	k->addr[0][3] = r >> 48;
	k->addr[1][0] = 198;
	k->addr[1][1] = 19;
	k->addr[1][3] = r >> 56;
}

static uint32_t
bucket_of(const struct ct_table *t, const struct ct_key *k)
{
	return ct_table_bucket(t, ct_table_hash(t, k));
}

static uint32_t
other_of(const struct ct_table *t, const struct ct_key *k)
{
	uint32_t h = ct_table_hash(t, k);

	return ct_table_other_bucket(t, ct_table_bucket(t, h), ct_table_sig(h));
}

/* A random key whose buckets are 'p' and (if 'q' >= 0) 'q', or whose
 * other bucket is not 'not_q'. */
static void
key_in(const struct ct_table *t, struct ct_key *k, uint32_t p, int q, int not_q)
{
	do
		rand_key(k);
	while (bucket_of(t, k) != p || (q >= 0 && other_of(t, k) != (uint32_t)q) ||
	       (not_q >= 0 && other_of(t, k) == (uint32_t)not_q));
}

static int32_t
find(const struct ct_table *t, const struct ct_key *k)
{
	uint32_t h = ct_table_hash(t, k);
	int32_t pos;

	ct_table_lookup(t, k, &h, 1, &pos);
	return pos;
}

static void
test_placement(void)
{
	struct ct_table *t = ct_table_create(CAP, SOCKET_ID_ANY, 1234);
	struct ct_key a[8], b[8], c, d, full_key;
	int32_t pa[8], pb[8], pc, pd, p;
	unsigned int i, found = 0, distinct = 1, n;

	if (!check(t != NULL && t->bucket_mask == 15, "a table of %u positions has 16 buckets", CAP))
		return;
	/* Bucket 0 full of keys that can move elsewhere, bucket 1 full. */
	for (i = 0; i < 8; i++) {
		key_in(t, &a[i], 0, -1, 1);
		pa[i] = ct_table_add(t, &a[i], ct_table_hash(t, &a[i]));
		key_in(t, &b[i], 1, -1, 0);
		pb[i] = ct_table_add(t, &b[i], ct_table_hash(t, &b[i]));
	}
	for (i = 0; i < 8; i++) {
		found += find(t, &a[i]) == pa[i] && pa[i] >= 0;
		found += find(t, &b[i]) == pb[i] && pb[i] >= 0;
		distinct &= pa[i] != pb[i] && (i == 0 || pa[i] != pa[i - 1]);
	}
	check(found == 16 && distinct && t->n_moved == 0,
	      "placement: 16 keys in their primary buckets, found (%u), no move", found);
	check(ct_table_add(t, &a[3], ct_table_hash(t, &a[3])) == pa[3] && t->n_free == CAP - 16,
	      "placement: adding a present key gives its position, takes none");

	/* Both buckets of 'c' are full: one of bucket 0's keys moves. */
	key_in(t, &c, 0, 1, -1);
	pc = ct_table_add(t, &c, ct_table_hash(t, &c));
	found = 0;
	for (i = 0; i < 8; i++)
		found += (find(t, &a[i]) == pa[i]) + (find(t, &b[i]) == pb[i]);
	check(pc >= 0 && t->n_moved == 1 && find(t, &c) == pc && found == 16,
	      "placement: both buckets full: one entry moves to its other bucket, all found (moved %" PRIu64 ")",
	      t->n_moved);
	key_in(t, &d, 0, 1, -1);
	pd = ct_table_add(t, &d, ct_table_hash(t, &d));
	check(pd >= 0 && t->n_moved == 2 && find(t, &d) == pd && find(t, &c) == pc,
	      "placement: and again for another such key");

	/* Delete, then give the position back and reuse it. */
	check(ct_table_del(t, pc) == 0 && find(t, &c) == -1 && find(t, &d) == pd,
	      "delete: the key is gone, its neighbours stay");
	check(ct_table_del(t, pc) == -ENOENT, "delete: twice is -ENOENT");
	n = t->n_free;
	ct_table_release(t, pc);
	check(t->n_free == n + 1 && ct_table_entry(t, pc)->word == 0,
	      "release: the position is free again, its word reset");
	ct_table_entry(t, pd)->word = 42;
	p = ct_table_add(t, &c, ct_table_hash(t, &c));
	check(p == pc && find(t, &c) == pc && ct_table_entry(t, pd)->word == 42,
	      "release: re-adding takes the freed position");

	/* Fill every position: the next new key is refused, present ones
	 * still answer. */
	while (t->n_free > 0) {
		rand_key(&full_key);
		if (ct_table_add(t, &full_key, ct_table_hash(t, &full_key)) < 0)
			break;
	}
	rand_key(&full_key);
	check(t->n_free == 0 && ct_table_add(t, &full_key, ct_table_hash(t, &full_key)) == -ENOSPC &&
	      ct_table_add(t, &d, ct_table_hash(t, &d)) == pd,
	      "full: a new key is -ENOSPC, a present one gives its position");
	ct_table_free(t);
}

/* Lookups racing with moves: a reader on another cpu looks up resident
 * keys all the time while this thread inserts and deletes keys crowded
 * into the same four buckets, so inserts keep moving residents. */
#define N_RES 12
#define N_POOL 40
static struct ct_table *race_t;
static struct ct_key res_keys[N_RES];
static int32_t res_pos[N_RES];
static volatile int race_stop;
static uint64_t race_lookups, race_misses, race_wrong;

static int
race_reader(void *arg __rte_unused)
{
	uint32_t h[N_RES];
	int32_t pos[N_RES];
	unsigned int i;

	for (i = 0; i < N_RES; i++)
		h[i] = ct_table_hash(race_t, &res_keys[i]);
	while (!race_stop) {
		ct_table_lookup(race_t, res_keys, h, N_RES, pos);
		for (i = 0; i < N_RES; i++) {
			race_misses += pos[i] < 0;
			race_wrong += pos[i] >= 0 && pos[i] != res_pos[i];
		}
		race_lookups += N_RES;
	}
	return 0;
}

static void
crowded_key(struct ct_key *k)
{
	do
		rand_key(k);
	while (bucket_of(race_t, k) >= 4 || other_of(race_t, k) >= 4);
}

static void
test_race(void)
{
	static struct ct_key pool[N_POOL];
	int32_t pool_pos[N_POOL];
	unsigned int i, reader = rte_get_next_lcore(-1, 1, 0), added = 0, refused = 0;
	uint64_t deadline;

	race_t = ct_table_create(CAP, SOCKET_ID_ANY, 99);
	for (i = 0; i < N_RES; i++) {
		crowded_key(&res_keys[i]);
		res_pos[i] = ct_table_add(race_t, &res_keys[i], ct_table_hash(race_t, &res_keys[i]));
	}
	for (i = 0; i < N_POOL; i++) {
		crowded_key(&pool[i]);
		pool_pos[i] = -1;
	}
	if (!check(reader < RTE_MAX_LCORE, "race: a second lcore for the reader"))
		return;
	rte_eal_remote_launch(race_reader, NULL, reader);
	/* A second of churn (or 2M operations): the four buckets hold 32
	 * slots, the residents and up to 20 others compete for them. */
	deadline = rte_rdtsc() + rte_get_tsc_hz();
	for (i = 0; i < 2000000 && rte_rdtsc() < deadline; i++) {
		unsigned int j = rnd() % N_POOL;

		if (pool_pos[j] < 0) {
			pool_pos[j] = ct_table_add(race_t, &pool[j],
						   ct_table_hash(race_t, &pool[j]));
			if (pool_pos[j] >= 0)
				added++;
			else
				refused++;
		} else {
			ct_table_del(race_t, pool_pos[j]);
			/* Only residents are looked up: no reader can hold
			 * this position, so no grace period is needed. */
			ct_table_release(race_t, pool_pos[j]);
			pool_pos[j] = -1;
		}
	}
	race_stop = 1;
	rte_eal_wait_lcore(reader);
	printf("# race: %u operations, %u added, %u refused, %" PRIu64 " moves, %" PRIu64
	       " lookups\n", i, added, refused, race_t->n_moved, race_lookups);
	check(race_t->n_moved > 100 && race_lookups > 0,
	      "race: residents were moved while being looked up (%" PRIu64 " moves)",
	      race_t->n_moved);
	check(race_misses == 0 && race_wrong == 0,
	      "race: no lookup of a resident missed or went wrong (%" PRIu64 " missed, %" PRIu64
	      " wrong of %" PRIu64 ")", race_misses, race_wrong, race_lookups);
	ct_table_free(race_t);
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--lcores", "0@0,1@1", "--no-huge", "-m", "64",
			"--no-shconf", "--no-pci", "--no-telemetry", "--log-level=*:error",
			NULL };

	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	test_placement();
	test_race();
	rte_eal_cleanup();
	return tap_done();
}
