/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_SYS_RANDOM_H
#include <sys/random.h>
#endif

#include "rand.h"
#include "wipe.h"

/* Bytes of the kernel's generator taken ahead, as many as one getentropy()
 * gives, so that a tool call's sentinel (16 bytes) does not cost a system
 * call of its own.  Each thread has its own; a child of fork() drops what
 * it inherited, so parent and child never hand out the same bytes. */
#define RAND_POOL_SIZE 256

struct rand_pool {
	unsigned char bytes[RAND_POOL_SIZE];
	size_t left;
};

static _Thread_local struct rand_pool pool;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void
pool_drop(void)
{
	secret_wipe(pool.bytes, sizeof(pool.bytes));
	pool.left = 0;
}

static void
pool_watch_forks(void)
{
	(void)pthread_atfork(NULL, NULL, pool_drop);
}

static int
kernel_bytes(void *p, size_t n)
{
	unsigned char *out = p;
	int fd;

#ifdef HAVE_GETENTROPY
	/* No descriptor to open. */
	while (n > 0) {
		size_t chunk = n < 256 ? n : 256;

		if (getentropy(out, chunk) < 0)
			break;
		out += chunk;
		n -= chunk;
	}
	if (n == 0)
		return 0;
#endif
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (n > 0) {
		ssize_t r = read(fd, out, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			close(fd);
			return r < 0 ? -errno : -EIO;
		}
		out += r;
		n -= (size_t)r;
	}
	close(fd);
	return 0;
}

int
rand_bytes(void *p, size_t n)
{
	unsigned char *out = p;

	(void)pthread_once(&pool_once, pool_watch_forks);
	while (n > 0) {
		size_t take;
		int r;

		if (pool.left == 0) {
			if (n >= sizeof(pool.bytes))
				return kernel_bytes(out, n);
			if ((r = kernel_bytes(pool.bytes, sizeof(pool.bytes))) < 0)
				return r;
			pool.left = sizeof(pool.bytes);
		}
		take = n < pool.left ? n : pool.left;
		/* Taken from the end, and wiped: a byte is handed out once. */
		memcpy(out, pool.bytes + pool.left - take, take);
		secret_wipe(pool.bytes + pool.left - take, take);
		pool.left -= take;
		out += take;
		n -= take;
	}
	return 0;
}

double
rand_unit(void)
{
	uint64_t v = 0;

	if (rand_bytes(&v, sizeof(v)) < 0)
		return 0.5;
	return (double)(v >> 11) / 9007199254740992.0;
}

int
rand_uuid(char out[37])
{
	unsigned char b[16];
	int r = rand_bytes(b, sizeof(b));

	if (r < 0)
		return r;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return 0;
}
