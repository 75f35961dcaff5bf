/* SPDX-License-Identifier: MIT */
/*
 * The status listener: a small non-blocking HTTP/1.1 server on the runner's
 * loop for probes and scrapers.  One request per connection (the answer
 * carries "Connection: close"), GET only, a request head of at most 4 KiB,
 * at most 32 connections, each closed after 5 s.  What a path answers is
 * up to the caller's serve callback.
 */
#ifndef ER_HEALTH_H
#define ER_HEALTH_H

#include <stddef.h>

#include "buf.h"
#include "loop.h"

/* Answer GET `path` (without the query): fill `body`, set *ret_type to a
 * static content type, return the HTTP status (404 for an unknown path). */
typedef int (*health_serve_cb)(void *userdata, const char *path, struct buf *body,
			       const char **ret_type);

struct health;

/* Listen on addr:port (a numeric IPv4 or IPv6 address).  Returns 0 or
 * -errno (-EADDRINUSE, -EACCES, -EINVAL for an address that is not
 * numeric) with one line in `err`. */
int health_new(struct loop *loop, const char *addr, int port, health_serve_cb serve, void *userdata,
	       struct health **ret, char *err, size_t errlen);
/* Close the listener and every connection.  Accepts NULL. */
void health_free(struct health *h);

#endif
