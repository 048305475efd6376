/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging through rte_log with one registered type per module, so levels can
 * be changed per module (--log-level xvio.port:debug). Control code logs at
 * INFO; nothing logs per packet.
 */
#ifndef XV_LOG_H
#define XV_LOG_H

#include <rte_log.h>

extern int xv_logtype_core;
extern int xv_logtype_port;
extern int xv_logtype_dp;
extern int xv_logtype_ctl;

#define XV_LOG(mod, lvl, fmt, ...) \
	rte_log(RTE_LOG_##lvl, xv_logtype_##mod, "xvio: " fmt "\n", ##__VA_ARGS__)

#endif /* XV_LOG_H */
