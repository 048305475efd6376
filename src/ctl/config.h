/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The desired state file given with --config, in the same shape the
 * `config` command prints:
 *   {"ports": [{"name": "vm1", "type": "vhost", "path": "/run/vm1.sock"},
 *              {"name": "nic0", "type": "eth", "devargs": "0000:03:00.1"}],
 *    "relays": [{"a": "vm1", "b": "nic0"}]}
 * Each entry goes through the same command handler as the API.
 */
#ifndef XV_CONFIG_H
#define XV_CONFIG_H

#include <stddef.h>

/* Apply the file at 'path'. 0, or -1 with a message in 'err'. */
int xv_config_load(const char *path, char *err, size_t errlen);

#endif /* XV_CONFIG_H */
