/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "http-header.h"
#include "journal.h"
#include "log.h"
#include "nbio.h"
#include "sha256.h"
#include "statedir.h"

#define WORKER_ID_MAX 256

/* The kept worker id, or NULL. */
static char *
read_worker_id(const char *path)
{
	struct buf b = BUF_INIT(WORKER_ID_MAX + 2);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (fd < 0)
		return NULL;
	r = nbio_read_all(fd, nbio_buf_append, &b);
	close(fd);
	while (r == 0 && b.len && b.data[b.len - 1] == '\n')
		buf_truncate(&b, b.len - 1);
	if (r < 0 || !b.len || !http_header_value_valid(b.data)) {
		log_warning("state", "'%s' holds no usable worker id: a new one is kept there",
			    path);
		buf_release(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static int
write_worker_id(const char *path, const char *id)
{
	struct buf line = BUF_INIT(WORKER_ID_MAX + 2);
	int r = buf_printf(&line, "%s\n", id);

	if (r == 0)
		r = fsutil_replace_file(path, line.data, line.len, 1);
	buf_release(&line);
	return r;
}

/* Lock STATE/workers/<hash>/ and make its items directory: 0, -EBUSY when
 * another runner holds it, or -errno. */
static int
lock_worker(const char *dir, const char *worker_id, struct statedir *sd)
{
	struct buf path = BUF_INIT(8192);
	char hex[65];
	int fd = -1;
	int r = -ENOMEM;

	sha256_hex(worker_id, strlen(worker_id), hex);
	if (buf_printf(&path, "%s/workers/%s", dir, hex) < 0)
		goto out;
	r = fsutil_mkdir_p(path.data, 0700);
	if (r < 0 || buf_puts(&path, "/lock") < 0)
		goto out;
	fd = open(path.data, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto out;
	}
	buf_truncate(&path, path.len - strlen("/lock"));
	r = buf_puts(&path, "/items");
	if (r == 0 && mkdir(path.data, 0700) < 0 && errno != EEXIST)
		r = -errno;
	if (r < 0)
		goto out;
	sd->items_dir = buf_steal(&path);
	if (!sd->items_dir) {
		r = -ENOMEM;
		goto out;
	}
	sd->lock_fd = fd;
	return 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	return r;
}

static void
no_records(const char *dir, const char *why)
{
	log_warning("state",
		    "%s: items in flight are not recorded in '%s', and a runner started again "
		    "cannot resume them",
		    why, dir);
}

void
statedir_open(const char *dir, char **worker_id, int generated, struct statedir *ret)
{
	struct buf idfile = BUF_INIT(8192);
	char *kept = NULL;
	char why[512];
	int r;

	ret->items_dir = NULL;
	ret->lock_fd = -1;
	r = fsutil_mkdir_p(dir, 0700);
	if (r < 0 || buf_printf(&idfile, "%s/worker-id", dir) < 0) {
		snprintf(why, sizeof(why),
			 "cannot make the state directory: %s; fix: pass "
			 "--state-dir a directory this user may write",
			 strerror(r < 0 ? -r : ENOMEM));
		no_records(dir, why);
		goto out;
	}
	if (generated) {
		kept = read_worker_id(idfile.data);
		if (kept && lock_worker(dir, kept, ret) == 0) {
			free(*worker_id);
			*worker_id = kept;
			kept = NULL;
			goto out;
		}
		if (kept)
			log_info("state",
				 "another runner serves as worker %s (kept in '%s'): this one "
				 "serves as %s",
				 kept, idfile.data, *worker_id);
		else if ((r = write_worker_id(idfile.data, *worker_id)) < 0)
			log_warning("state", "cannot keep the worker id in '%s': %s", idfile.data,
				    strerror(-r));
	}
	r = lock_worker(dir, *worker_id, ret);
	if (r == -EBUSY) {
		snprintf(why, sizeof(why),
			 "another runner serves as worker %s with this state directory; fix: "
			 "give each runner its own --worker-id or --state-dir",
			 *worker_id);
		no_records(dir, why);
	} else if (r < 0) {
		snprintf(why, sizeof(why), "cannot lock the worker's records: %s", strerror(-r));
		no_records(dir, why);
	}
out:
	free(kept);
	buf_release(&idfile);
}

void
statedir_close(struct statedir *sd)
{
	free(sd->items_dir);
	sd->items_dir = NULL;
	if (sd->lock_fd >= 0)
		close(sd->lock_fd);
	sd->lock_fd = -1;
}

int
statedir_each_record(const struct statedir *sd, int tidy,
		     void (*fn)(void *userdata, const char *path), void *userdata)
{
	struct buf path = BUF_INIT(8192);
	struct dirent *e;
	DIR *d;

	if (!sd->items_dir)
		return 0;
	d = opendir(sd->items_dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		buf_reset(&path);
		if (buf_printf(&path, "%s/%s", sd->items_dir, e->d_name) < 0)
			continue;
		if (journal_is_leftover(sd->items_dir, e->d_name)) {
			if (tidy)
				unlink(path.data);
			continue;
		}
		if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0)
			fn(userdata, path.data);
	}
	closedir(d);
	buf_release(&path);
	return 0;
}
