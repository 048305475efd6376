/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's event loop: the API's unix socket, its clients,
 * signals (SIGINT/SIGTERM end the loop) and wake-ups from port callbacks.
 */
#ifndef XV_SERVER_H
#define XV_SERVER_H

#include <stddef.h>

/*
 * Create the control socket at 'path' (mode 0600, or 0660 owned by 'group'
 * when not NULL). Refuses if another daemon answers there. 0, or -1 with a
 * message in 'err'.
 */
int xv_server_open(const char *path, const char *group, char *err,
		   size_t errlen);

/* Serve until SIGINT or SIGTERM. Returns 0, or -1 on a fatal error. */
int xv_server_run(void);

/* Clients whose next request is a change waiting for the one running
 * (doc/api.md, "Long changes"). */
unsigned int xv_server_changes_waiting(void);

/* Close every connection and remove the socket. */
void xv_server_close(void);

#endif /* XV_SERVER_H */
