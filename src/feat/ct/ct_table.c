/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The conntrack hash table (see ct_table.h for the layout and why).
 */
#include <errno.h>
#include <stdbool.h>

#include <rte_branch_prediction.h>
#include <rte_debug.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_vect.h>

#include "ct_table.h"

/* Slots of 'b' whose signature is 'sig': bit 2*i for slot i. */
static inline unsigned int
sig_hits(const struct ct_bucket *b, uint16_t sig)
{
#if defined(RTE_ARCH_X86)
	__m128i v = _mm_load_si128((const __m128i *)(const void *)b->sig);

	return _mm_movemask_epi8(_mm_cmpeq_epi16(v, _mm_set1_epi16(sig))) & 0x5555;
#else
	unsigned int i, m = 0;

	for (i = 0; i < CT_BUCKET_SLOTS; i++)
		m |= (unsigned int)(b->sig[i] == sig) << (2 * i);
	return m;
#endif
}

static inline bool
key_eq(const struct ct_key *a, const struct ct_key *b)
{
#if defined(RTE_ARCH_X86)
	const __m128i *x = (const __m128i *)(const void *)a;
	const __m128i *y = (const __m128i *)(const void *)b;
	__m128i d = _mm_or_si128(
		_mm_or_si128(_mm_xor_si128(_mm_loadu_si128(x), _mm_loadu_si128(y)),
			     _mm_xor_si128(_mm_loadu_si128(x + 1), _mm_loadu_si128(y + 1))),
		_mm_xor_si128(_mm_loadu_si128(x + 2), _mm_loadu_si128(y + 2)));

	return _mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) == 0xffff;
#else
	return memcmp(a, b, sizeof(*a)) == 0;
#endif
}

/* Position of 'k' in bucket 'b', or -1. */
static inline int32_t
find(const struct ct_table *t, const struct ct_bucket *b, uint16_t sig,
     const struct ct_key *k)
{
	unsigned int m = sig_hits(b, sig);

	while (m != 0) {
		uint32_t p = __atomic_load_n(&b->pos[__builtin_ctz(m) >> 1],
					     __ATOMIC_ACQUIRE);

		if (p != 0 && key_eq(&t->entries[p - 1].key, k))
			return p - 1;
		m &= m - 1;
	}
	return -1;
}

/* Position of 'k' (hash 'hash') in either of its buckets, or -1. */
static inline int32_t
find_both(const struct ct_table *t, uint32_t hash, const struct ct_key *k)
{
	uint32_t b = ct_table_bucket(t, hash);
	uint16_t sig = ct_table_sig(hash);
	int32_t p = find(t, &t->buckets[b], sig, k);

	if (p < 0)
		p = find(t, &t->buckets[ct_table_other_bucket(t, b, sig)], sig, k);
	return p;
}

void
ct_table_lookup(const struct ct_table *t, const struct ct_key *keys,
		const uint32_t *hash, unsigned int n, int32_t *pos)
{
	uint32_t moves = __atomic_load_n(&t->moves, __ATOMIC_ACQUIRE), now;
	uint32_t first[CT_TABLE_LOOKUP_MAX]; /* position + 1 of each key's
						first candidate */
	unsigned int i, misses;

	RTE_ASSERT(n <= CT_TABLE_LOOKUP_MAX);
	/* Two passes, so each packet's loads overlap the others': the entry
	 * the first signature match in the primary bucket (prefetched by the
	 * caller as it hashed, ct_table_prefetch) points to, then the
	 * comparisons (which find both lines in cache). That first match is
	 * nearly always the key; the full search runs only when it is not. */
	for (i = 0; i < n; i++) {
		const struct ct_bucket *b = &t->buckets[ct_table_bucket(t, hash[i])];
		unsigned int m = sig_hits(b, ct_table_sig(hash[i]));

		first[i] = 0;
		if (m == 0)
			continue;
		first[i] = __atomic_load_n(&b->pos[__builtin_ctz(m) >> 1],
					   __ATOMIC_ACQUIRE);
		if (first[i] != 0)
			rte_prefetch0(&t->entries[first[i] - 1]);
	}
	misses = 0;
	for (i = 0; i < n; i++) {
		if (likely(first[i] != 0 &&
			   key_eq(&t->entries[first[i] - 1].key, &keys[i]))) {
			pos[i] = first[i] - 1;
			continue;
		}
		pos[i] = find_both(t, hash[i], &keys[i]);
		misses += pos[i] < 0;
	}
	/* A miss may have looked in the two buckets on either side of a
	 * move: if one happened meanwhile, look again. */
	while (unlikely(misses != 0)) {
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		now = __atomic_load_n(&t->moves, __ATOMIC_ACQUIRE);
		if (now == moves)
			return;
		moves = now;
		misses = 0;
		for (i = 0; i < n; i++)
			if (pos[i] < 0) {
				pos[i] = find_both(t, hash[i], &keys[i]);
				misses += pos[i] < 0;
			}
	}
}

static inline int
empty_slot(const struct ct_bucket *b)
{
	unsigned int i;

	for (i = 0; i < CT_BUCKET_SLOTS; i++)
		if (b->pos[i] == 0)
			return i;
	return -1;
}

/* Write a slot: the signature, then the position that publishes it. */
static inline void
set_slot(struct ct_bucket *b, unsigned int s, uint16_t sig, uint32_t pos1)
{
	__atomic_store_n(&b->sig[s], sig, __ATOMIC_RELEASE);
	__atomic_store_n(&b->pos[s], pos1, __ATOMIC_RELEASE);
}

/* Free a slot of bucket 'bi' (full) by moving one of its entries to that
 * entry's other bucket; the freed slot's index, or -1. Lock held. */
static int
make_room(struct ct_table *t, uint32_t bi)
{
	struct ct_bucket *b = &t->buckets[bi];
	unsigned int s;

	for (s = 0; s < CT_BUCKET_SLOTS; s++) {
		struct ct_bucket *o = &t->buckets[ct_table_other_bucket(t, bi, b->sig[s])];
		int e = empty_slot(o);

		if (e < 0)
			continue;
		/* In both buckets for a moment, then only the new one; a
		 * lookup that saw neither sees 'moves' change. */
		set_slot(o, e, b->sig[s], b->pos[s]);
		__atomic_store_n(&t->moves, t->moves + 1, __ATOMIC_RELEASE);
		__atomic_store_n(&b->pos[s], 0, __ATOMIC_RELEASE);
		t->n_moved++;
		return s;
	}
	return -1;
}

int32_t
ct_table_add(struct ct_table *t, const struct ct_key *k, uint32_t hash)
{
	uint16_t sig = ct_table_sig(hash);
	uint32_t b1 = ct_table_bucket(t, hash), b2 = ct_table_other_bucket(t, b1, sig);
	uint32_t bi, pos;
	int32_t ret;
	int s;

	rte_spinlock_lock(&t->lock);
	ret = find_both(t, hash, k);
	if (ret >= 0)
		goto out;
	ret = -ENOSPC;
	if (unlikely(t->n_free == 0))
		goto out;
	/* A free slot in either bucket, else one made by moving an entry
	 * out of either. */
	s = empty_slot(&t->buckets[bi = b1]);
	if (s < 0)
		s = empty_slot(&t->buckets[bi = b2]);
	if (unlikely(s < 0))
		s = make_room(t, bi = b1);
	if (unlikely(s < 0))
		s = make_room(t, bi = b2);
	if (unlikely(s < 0))
		goto out;
	pos = t->free[t->n_free - 1];
	__atomic_store_n(&t->n_free, t->n_free - 1, __ATOMIC_RELAXED);
	t->entries[pos].key = *k;
	set_slot(&t->buckets[bi], s, sig, pos + 1);
	ret = pos;
out:
	rte_spinlock_unlock(&t->lock);
	return ret;
}

int
ct_table_del(struct ct_table *t, uint32_t pos)
{
	uint32_t hash = ct_table_hash(t, &t->entries[pos].key);
	uint32_t bi = ct_table_bucket(t, hash);
	unsigned int i, s;
	int ret = -ENOENT;

	rte_spinlock_lock(&t->lock);
	for (i = 0; i < 2 && ret != 0; i++) {
		struct ct_bucket *b = &t->buckets[bi];

		for (s = 0; s < CT_BUCKET_SLOTS; s++)
			if (b->pos[s] == pos + 1) {
				__atomic_store_n(&b->pos[s], 0, __ATOMIC_RELEASE);
				ret = 0;
				break;
			}
		bi = ct_table_other_bucket(t, bi, ct_table_sig(hash));
	}
	rte_spinlock_unlock(&t->lock);
	return ret;
}

void
ct_table_release(struct ct_table *t, uint32_t pos)
{
	__atomic_store_n(&t->entries[pos].word, 0, __ATOMIC_RELEASE);
	rte_spinlock_lock(&t->lock);
	t->free[t->n_free] = pos;
	__atomic_store_n(&t->n_free, t->n_free + 1, __ATOMIC_RELAXED);
	rte_spinlock_unlock(&t->lock);
}

struct ct_table *
ct_table_create(uint32_t n_entries, int socket, uint32_t seed)
{
	struct ct_table *t;
	uint32_t n_buckets, i;

	t = rte_zmalloc_socket("xv_ct_table", sizeof(*t), RTE_CACHE_LINE_SIZE,
			       socket);
	if (t == NULL)
		return NULL;
	/* At least two slots per position: at most half full. */
	n_buckets = rte_align32pow2(RTE_MAX(2 * n_entries / CT_BUCKET_SLOTS, 2u));
	t->bucket_mask = n_buckets - 1;
	t->n_entries = n_entries;
	t->seed = seed;
	rte_spinlock_init(&t->lock);
	t->buckets = rte_zmalloc_socket("xv_ct_buckets",
					(size_t)n_buckets * sizeof(*t->buckets),
					RTE_CACHE_LINE_SIZE, socket);
	t->entries = rte_zmalloc_socket("xv_ct_entries",
					(size_t)n_entries * sizeof(*t->entries),
					RTE_CACHE_LINE_SIZE, socket);
	t->free = rte_malloc_socket("xv_ct_free",
				    (size_t)n_entries * sizeof(*t->free),
				    RTE_CACHE_LINE_SIZE, socket);
	if (t->buckets == NULL || t->entries == NULL || t->free == NULL) {
		ct_table_free(t);
		return NULL;
	}
	/* Lowest positions first: a lightly used table stays compact. */
	for (i = 0; i < n_entries; i++)
		t->free[i] = n_entries - 1 - i;
	t->n_free = n_entries;
	return t;
}

void
ct_table_free(struct ct_table *t)
{
	if (t == NULL)
		return;
	rte_free(t->free);
	rte_free(t->entries);
	rte_free(t->buckets);
	rte_free(t);
}
