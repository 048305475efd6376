/* SPDX-License-Identifier: BSD-3-Clause */
#include "xv_log.h"

RTE_LOG_REGISTER_SUFFIX(xv_logtype_core, core, INFO);
RTE_LOG_REGISTER_SUFFIX(xv_logtype_port, port, INFO);
RTE_LOG_REGISTER_SUFFIX(xv_logtype_dp, dp, WARNING);
RTE_LOG_REGISTER_SUFFIX(xv_logtype_ctl, ctl, INFO);
