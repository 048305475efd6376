/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The conntrack hash table: connection keys to positions, with each
 * position's key and state word on one cache line.
 *
 * Why not rte_hash: a lookup there reads both candidate buckets, then the
 * key slot, then (ours) the word in a separate array: three to four lines
 * per packet, and two calls through function pointers per key. Here a
 * lookup reads its primary bucket and one entry line holding key and word
 * (the secondary bucket only if the primary does not have the key, under 1 %
 * of keys at full capacity). Measured with 48-byte keys in bursts of 32
 * (lookup plus reading the word): 1k keys 24 -> 13 cycles, 100k 31 -> 16,
 * 1M 62 -> 23.
 *
 * Layout: 2^k buckets of 8 slots (a 16-bit signature and a position each,
 * one line), at least twice as many slots as positions, so at most half
 * full. A key's primary bucket comes from its hash, its secondary from the
 * primary and the signature (an XOR, so each bucket names the other). An
 * insertion takes the primary, else the secondary, else moves one entry of
 * either bucket to that entry's other bucket; simulated up to 4M keys at
 * capacity, nothing needed more than that one move.
 *
 * Concurrency: lookups take no lock. Insertion, deletion and giving back a
 * position serialize on the table's lock (for one insertion, like
 * rte_hash's multi-writer mode; never across packets). A slot is published
 * by storing its position last (release); a deleted entry's line stays as it
 * is until the caller frees the position after an RCU grace period, so a
 * reader that found a position always compares against a stable key. A move
 * adds the entry to its new bucket, bumps 'moves', then takes it out of the
 * old one; a lookup that misses rereads 'moves' and retries if it changed,
 * since it might have looked in the two buckets on either side of a move.
 */
#ifndef XV_CT_TABLE_H
#define XV_CT_TABLE_H

#include <stdint.h>

#include <stdbool.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>
#include <rte_spinlock.h>
#include <rte_vect.h>

#include "ct_private.h"

#define CT_BUCKET_SLOTS 8

/* A position: its key and its connection word (ct_private.h) together. */
struct ct_entry {
	struct ct_key key;
	uint64_t word;
	uint64_t unused;
} __rte_aligned(64);
_Static_assert(sizeof(struct ct_entry) == 64, "an entry is one 64-byte line");

struct ct_bucket {
	uint16_t sig[CT_BUCKET_SLOTS];
	uint32_t pos[CT_BUCKET_SLOTS]; /* position + 1; 0: an empty slot */
	uint8_t unused[16];
} __rte_aligned(64);
_Static_assert(sizeof(struct ct_bucket) == 64, "a bucket is one 64-byte line");

struct ct_table {
	/* Read by lookups, set at creation. */
	struct ct_bucket *buckets;
	struct ct_entry *entries;
	uint32_t bucket_mask;
	uint32_t n_entries; /* positions */
	uint32_t seed;

	/* Bumped by every move between buckets: on its own line, since
	 * every lookup reads it. */
	uint32_t moves __rte_cache_aligned;

	/* Writers. */
	rte_spinlock_t lock __rte_cache_aligned;
	uint32_t *free;   /* stack of free positions */
	uint32_t n_free;  /* stored atomically: ct_table_used reads it */
	uint64_t n_moved; /* entries moved to make room (a statistic) */
};

struct ct_table *ct_table_create(uint32_t n_entries, int socket, uint32_t seed);
void ct_table_free(struct ct_table *t);

/* The first 8 bytes of a key (ports, zone, protocol, family) as one
 * integer: built in registers and stored once, so hashing a key just made
 * does not load it back from narrower stores (a store-forwarding stall
 * that cost a third of a lookup). */
static inline uint64_t
ct_key_head(uint16_t port0, uint16_t port1, uint16_t zone, uint8_t proto,
	    uint8_t ipv6)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return (uint64_t)port0 | (uint64_t)port1 << 16 | (uint64_t)zone << 32 |
	       (uint64_t)proto << 48 | (uint64_t)ipv6 << 56;
#else
	return (uint64_t)port0 << 48 | (uint64_t)port1 << 32 | (uint64_t)zone << 16 |
	       (uint64_t)proto << 8 | ipv6;
#endif
}

static inline bool
ct_key_head_ipv6(uint64_t head)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return head >> 56;
#else
	return head & 0xff;
#endif
}

/* One CRC32-C step. The instruction itself where the build guarantees it:
 * rte_hash_crc_8byte checks at run time which one to use, on every call. */
static inline uint32_t
ct_crc_8byte(uint64_t data, uint32_t init)
{
#if defined(RTE_ARCH_X86_64) && defined(__SSE4_2__)
	return (uint32_t)_mm_crc32_u64(init, data);
#else
	return rte_hash_crc_8byte(data, init);
#endif
}

/*
 * A key's hash: CRC32 of the bytes that can differ, from a secret seed
 * (nobody can aim packets at one bucket). An IPv4 key's addresses are 4
 * bytes each (the rest is 0): two CRC instructions instead of six. 'a0' and
 * 'a1' are an IPv4 key's addresses as stored (ignored for IPv6).
 */
static inline uint32_t
ct_key_hash(uint32_t seed, uint64_t head, const struct ct_key *k,
	    uint32_t a0, uint32_t a1)
{
	uint32_t h = ct_crc_8byte(head, seed);

	if (unlikely(ct_key_head_ipv6(head)))
		return rte_hash_crc(k->addr, sizeof(k->addr), h);
	return ct_crc_8byte((uint64_t)a0 | (uint64_t)a1 << 32, h);
}

/* An IPv4 key from its head and addresses (as stored): each address in
 * the first 4 bytes of its 16, all else 0. Built in registers and stored
 * as three whole vectors, which the key compare then loads back as they
 * are (no memset first, no narrow stores over it). */
static inline void
ct_key_set_v4(struct ct_key *k, uint64_t head, uint32_t a0, uint32_t a1)
{
#if defined(RTE_ARCH_X86)
	__m128i *v = (__m128i *)(void *)k;

	_mm_storeu_si128(v, _mm_set_epi64x((long long)a0, (long long)head));
	_mm_storeu_si128(v + 1, _mm_set_epi64x((long long)a1, 0));
	_mm_storeu_si128(v + 2, _mm_setzero_si128());
#else
	memset(k, 0, sizeof(*k));
	memcpy(k, &head, sizeof(head));
	memcpy(k->addr[0], &a0, 4);
	memcpy(k->addr[1], &a1, 4);
#endif
}

/* The hash of a key in memory (insertion, deletion). */
static inline uint32_t
ct_table_hash(const struct ct_table *t, const struct ct_key *k)
{
	uint64_t head;
	uint32_t a0, a1;

	memcpy(&head, k, sizeof(head));
	memcpy(&a0, k->addr[0], 4);
	memcpy(&a1, k->addr[1], 4);
	return ct_key_hash(t->seed, head, k, a0, a1);
}

/* A key's signature and primary bucket, from its hash. */
static inline uint16_t
ct_table_sig(uint32_t hash)
{
	return hash >> 16;
}

static inline uint32_t
ct_table_bucket(const struct ct_table *t, uint32_t hash)
{
	return hash & t->bucket_mask;
}

/* The other bucket of a key in bucket 'b' with signature 'sig'. The XOR
 * makes the relation symmetric; the constant is odd, so it is never 'b'. */
static inline uint32_t
ct_table_other_bucket(const struct ct_table *t, uint32_t b, uint16_t sig)
{
	return (b ^ ((uint32_t)sig * 0x9e3779b1u | 1)) & t->bucket_mask;
}

/* Start loading the primary bucket of a key with hash 'hash': called as
 * soon as the hash is known, so the line is there by the lookup. */
static inline void
ct_table_prefetch(const struct ct_table *t, uint32_t hash)
{
	rte_prefetch0(&t->buckets[ct_table_bucket(t, hash)]);
}

/* Positions of 'n' (at most CT_TABLE_LOOKUP_MAX) keys with their hashes,
 * -1 where a key is absent. */
#define CT_TABLE_LOOKUP_MAX 32
void ct_table_lookup(const struct ct_table *t, const struct ct_key *keys,
		     const uint32_t *hash, unsigned int n, int32_t *pos);

/* Add 'k' unless present; the position of 'k' either way. -ENOSPC if no
 * position is free or neither bucket can make room. A new position's word
 * is 0 (set by the caller after). */
int32_t ct_table_add(struct ct_table *t, const struct ct_key *k, uint32_t hash);

/* Take position 'pos' out of its bucket, so lookups stop finding it; the
 * position itself is not reused until ct_table_release. -ENOENT if it is
 * in no bucket. */
int ct_table_del(struct ct_table *t, uint32_t pos);

/* Give 'pos' (deleted, and no reader can still hold it) back; its word is
 * reset to 0. */
void ct_table_release(struct ct_table *t, uint32_t pos);

/* Positions taken (live, being removed, or waiting to be released):
 * exact under the lock, a recent value without it. */
static inline uint32_t
ct_table_used(const struct ct_table *t)
{
	return t->n_entries - __atomic_load_n(&t->n_free, __ATOMIC_RELAXED);
}

static inline struct ct_entry *
ct_table_entry(const struct ct_table *t, uint32_t pos)
{
	return &t->entries[pos];
}

#endif /* XV_CT_TABLE_H */
