/* SPDX-License-Identifier: MIT */
/*
 * The runner's open-file budget.  Every session holds descriptors (its
 * shell's pipes, its event stream's connection) and takes more for a
 * while during each call (its record's log, a file tool's files, a
 * connection for the result).  A runner that runs out cannot open the
 * connection for a heartbeat and loses its leases, so it stops claiming
 * work while a new session and the running ones' bursts would not fit.
 */
#ifndef ER_DESCRIPTORS_H
#define ER_DESCRIPTORS_H

#include <stdint.h>

/* The most a session may hold at once: its shell's three pipes, its event
 * stream's connection over HTTP/1.1, and while a call runs its record's
 * log, a file tool's directory and file, or rg's pipes. */
#define DESCRIPTORS_PER_SESSION 8
/* The runner's own: log, loop, listeners, plugins, idle connections. */
#define DESCRIPTORS_BASE 64

/* What to do about too few descriptors, for each message that meets it. */
#define DESCRIPTORS_FIX                                                                            \
	"raise the limit (LimitNOFILE= in a systemd unit, or ulimit -n) or lower --capacity"

/* Raise the soft open-file limit to the hard one (distributions start
 * daemons at 1024), warning when `capacity` sessions would not fit.  The
 * limit then in force; 0 when there is none. */
long descriptors_raise_limit(int capacity);

/* The most short requests in progress at once within `limit` (0: no
 * limit), for http_cap_requests(): over HTTP/1.1 each holds a connection.
 * A sixteenth of the limit, from DESCRIPTORS_REQUESTS_MIN to
 * DESCRIPTORS_REQUESTS_MAX. */
#define DESCRIPTORS_REQUESTS_MIN 16
#define DESCRIPTORS_REQUESTS_MAX 512
long descriptors_request_cap(long limit);

/* Descriptors open in this process, or -1 when the system cannot tell at
 * the cost of a system call (Linux counts them in the size of
 * /proc/self/fd since 6.2). */
long descriptors_open(void);

/* The most descriptors open in any second of the last 30, the longest
 * a runner waits between two heartbeats of a lease.  A runner's bursts
 * (calls' logs, results' and heartbeats' connections) come back, and a
 * claim counted between two of them would leave no room for the next.
 * Zeroed to start. */
#define DESCRIPTORS_PEAK_SECONDS 30
struct descriptors_peak {
	long per_second[DESCRIPTORS_PEAK_SECONDS]; /* 0: none noted */
	uint64_t second;			   /* of the newest entry */
};

/* Note `open` at `now_ms` (a monotonic clock); the most noted over the
 * last DESCRIPTORS_PEAK_SECONDS, or -1 when `open` is -1 (the system
 * cannot count). */
long descriptors_peak_note(struct descriptors_peak *p, uint64_t now_ms, long open);

/* Room for one more session within `limit` (0: no limit) with `sessions`
 * running and `open` descriptors in use (-1: unknown, then estimated at
 * DESCRIPTORS_PER_SESSION each)?  The new session's share and a reserve
 * for the running ones' bursts, half a descriptor each and
 * DESCRIPTORS_BASE at least, must stay free; with none running there is
 * always room.  *in_use: the count the answer went by. */
int descriptors_room_for_session(long limit, int sessions, long open, long *in_use);

#endif
