/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Constants and small helpers every xvio module may use.
 */
#ifndef XV_COMMON_H
#define XV_COMMON_H

#include <stdint.h>
#include <rte_common.h>
#include <rte_branch_prediction.h>

/* Packets moved per rx/tx call: the DPDK-wide sweet spot. */
#define XV_BURST_MAX 32
/* Packets one rx queue may hold for a destination that cannot take them
 * yet. While this is full the queue is not polled, so the packets stay in
 * the source (the guest's ring, the NIC's ring): backpressure, not drops. */
#define XV_HOLD_MAX (2 * XV_BURST_MAX)
/* Queue pairs per port. */
#define XV_MAX_QUEUES 16
/* Ports per daemon (vhost ports are not ethdevs, so this is not bounded by
 * RTE_MAX_ETHPORTS; eth ports are, by the DPDK build). */
#define XV_MAX_PORTS 1024
/* Worker lcores. */
#define XV_MAX_WORKERS 64
/* Port names: [A-Za-z0-9_.-]{1,32}. */
#define XV_NAME_MAX 32

#define XV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* XV_COMMON_H */
