/* SPDX-License-Identifier: MIT */
/*
 * Non-blocking pipe and socket I/O on the event loop: the one loop that
 * empties a readable fd and the one that fills a writable fd.  Both retry on
 * EINTR and stop as soon as the fd would block (EAGAIN or EWOULDBLOCK), so a
 * callback never waits on a peer.
 *
 * Return convention of both: 0 when the fd would block (wait for the next
 * readiness), 1 when done (end of file; everything written), -errno on an
 * error.
 */
#ifndef ER_NBIO_H
#define ER_NBIO_H

#include <stddef.h>

#include "buf.h"

/* Takes one chunk read; a negative value stops the drain and is returned by
 * nbio_drain (e.g. when the callback closed the fd). */
typedef int (*nbio_data_fn)(void *userdata, const char *data, size_t len);

/* Read fd, polled readable, until it would block, a read comes back short
 * (the fd had no more then) or end of file, handing each chunk to on_data.
 * It stops with 0 after 1 MiB: readiness is level-triggered, so the loop
 * calls again and a busy writer cannot starve the other fds.  End of file
 * after a short read is seen on that next call. */
int nbio_drain(int fd, nbio_data_fn on_data, void *userdata);

/* Read a blocking fd (a file) to its end, handing each chunk to on_data: 0,
 * -errno, on_data's negative value, or -EAGAIN if fd is non-blocking and
 * would block. */
int nbio_read_all(int fd, nbio_data_fn on_data, void *userdata);

/* nbio_data_fn appending to a struct buf: -ENOSPC past its cap. */
int nbio_buf_append(void *buf, const char *data, size_t len);

/* Write data[*off..len) to fd until it would block; *off advances. */
int nbio_flush(int fd, const char *data, size_t len, size_t *off);

/* All of data to a blocking fd (a file), where nbio_flush never stops
 * early: 0, or -errno (-EAGAIN if fd is non-blocking and would block). */
int nbio_write_all(int fd, const char *data, size_t len);

/*
 * A line splitter to hand to nbio_drain (as on_data, with the struct as
 * userdata).  Each line goes to on_line without its '\n', NUL-terminated.  A
 * line longer than max_line comes in pieces of max_line bytes, each flagged
 * partial but the last, so memory stays capped and nothing is lost
 * (max_line > 0).
 */
typedef int (*nbio_line_fn)(void *userdata, const char *line, size_t len, int partial);

struct nbio_lines {
	struct buf line;
	nbio_line_fn on_line;
	void *userdata;
};

void nbio_lines_init(struct nbio_lines *l, size_t max_line, nbio_line_fn on_line, void *userdata);
/* nbio_data_fn: `lines` is a struct nbio_lines. */
int nbio_lines_feed(void *lines, const char *data, size_t len);
/* At end of file: hand on a last line that had no '\n'. */
int nbio_lines_end(struct nbio_lines *l);
void nbio_lines_release(struct nbio_lines *l);

#endif
