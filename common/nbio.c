/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "nbio.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define NBIO_CHUNK 16384
/* Read by one nbio_drain at most (the largest pipe buffer Linux gives by
 * default), so that a writer faster than its reader cannot hold the loop. */
#define NBIO_DRAIN_MAX (1u << 20)

static int
would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK;
}

/* A drain (`ready`: the fd polled readable) stops after a short read: the
 * pipe or socket had nothing more at that moment, and the read that would
 * say so (EAGAIN) is a system call per wakeup saved, two a tool call.  What
 * comes later, end of file included, makes the fd readable again. */
static int
read_chunks(int fd, nbio_data_fn on_data, void *userdata, size_t budget, int ready)
{
	char chunk[NBIO_CHUNK];

	for (size_t total = 0; total < budget;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return would_block(errno) ? 0 : -errno;
		if (n == 0)
			return 1;
		r = on_data(userdata, chunk, (size_t)n);
		if (r < 0)
			return r;
		if (ready && (size_t)n < sizeof(chunk))
			return 0;
		total += (size_t)n;
	}
	return 0; /* more to read: the loop is level-triggered and calls again */
}

int
nbio_drain(int fd, nbio_data_fn on_data, void *userdata)
{
	return read_chunks(fd, on_data, userdata, NBIO_DRAIN_MAX, 1);
}

int
nbio_read_all(int fd, nbio_data_fn on_data, void *userdata)
{
	int r = read_chunks(fd, on_data, userdata, SIZE_MAX, 0);

	return r == 1 ? 0 : r == 0 ? -EAGAIN : r;
}

int
nbio_buf_append(void *buf, const char *data, size_t len)
{
	return buf_append(buf, data, len);
}

int
nbio_flush(int fd, const char *data, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t n = write(fd, data + *off, len - *off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return would_block(errno) ? 0 : -errno;
		if (n == 0)
			return -EIO;
		*off += (size_t)n;
	}
	return 1;
}

int
nbio_write_all(int fd, const char *data, size_t len)
{
	size_t off = 0;
	int r = nbio_flush(fd, data, len, &off);

	return r < 0 ? r : r == 0 ? -EAGAIN : 0;
}

void
nbio_lines_init(struct nbio_lines *l, size_t max_line, nbio_line_fn on_line, void *userdata)
{
	buf_init(&l->line, max_line);
	l->on_line = on_line;
	l->userdata = userdata;
}

static int
deliver(struct nbio_lines *l, int partial)
{
	int r = l->on_line(l->userdata, l->line.data ? l->line.data : "", l->line.len, partial);

	buf_reset(&l->line);
	return r;
}

int
nbio_lines_feed(void *lines, const char *data, size_t len)
{
	struct nbio_lines *l = lines;

	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t want = nl ? (size_t)(nl - data) : len;
		size_t room = l->line.max - l->line.len;
		size_t take = want < room ? want : room;
		int r;

		if (take > 0 && buf_append(&l->line, data, take) < 0)
			return -ENOMEM;
		data += take;
		len -= take;
		if (take < want) {
			r = deliver(l, 1); /* full: this piece, then the rest */
		} else if (nl) {
			data++;
			len--;
			r = deliver(l, 0);
		} else {
			r = 0;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int
nbio_lines_end(struct nbio_lines *l)
{
	return l->line.len ? deliver(l, 0) : 0;
}

void
nbio_lines_release(struct nbio_lines *l)
{
	buf_release(&l->line);
}
