/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Log types xvio.core, xvio.port, xvio.dp and xvio.ctl. (RTE_LOG_REGISTER_SUFFIX
 * would prefix RTE_LOG_DEFAULT_LOGTYPE, which only DPDK's own build defines.)
 */
#include "xv_log.h"

RTE_LOG_REGISTER(xv_logtype_core, xvio.core, INFO);
RTE_LOG_REGISTER(xv_logtype_port, xvio.port, INFO);
RTE_LOG_REGISTER(xv_logtype_dp, xvio.dp, WARNING);
RTE_LOG_REGISTER(xv_logtype_ctl, xvio.ctl, INFO);
