/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "rand.h"
#include "sessiondir.h"
#include "process.h"

#define NAME_MAX_ID 96

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int
sessiondir_remove_tree(const char *path)
{
	/* FTW_PHYS: never follow a link the session planted. */
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

static void
sanitize(char *out, const char *id)
{
	size_t n = 0;

	for (; *id && n < NAME_MAX_ID; id++) {
		char c = *id;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			c = '_';
		out[n++] = c;
	}
	if (n == 0)
		out[n++] = '_';
	if (out[0] == '.')
		out[0] = '_';
	out[n] = '\0';
}

/* Does `path` still name the file open as `fd`? */
static int
is_same_file(int fd, const char *path)
{
	struct stat a;
	struct stat b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int
sessiondir_create(const char *base, const char *session_id, char **ret_path, int *ret_lock_fd)
{
	char id[NAME_MAX_ID + 2];
	int r = -EEXIST;

	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return -errno;
	sanitize(id, session_id);
	for (int attempt = 0; attempt < 8; attempt++) {
		struct buf path = BUF_INIT(4096);
		struct buf lock = BUF_INIT(4096);
		char suffix[37];
		int fd;

		if (rand_uuid(suffix) < 0 ||
		    buf_printf(&path, "%s/%s-%.8s", base, id, suffix) < 0 ||
		    buf_printf(&lock, "%s%s", path.data, SESSIONDIR_LOCK_SUFFIX) < 0) {
			buf_release(&path);
			buf_release(&lock);
			return -ENOMEM;
		}
		fd = open(lock.data, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			r = -errno;
			buf_release(&path);
			buf_release(&lock);
			if (r == -EEXIST)
				continue;
			return r;
		}
		/* A sweeper may have taken the new file between open and lock. */
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 || !is_same_file(fd, lock.data)) {
			close(fd);
			buf_release(&path);
			buf_release(&lock);
			r = -EAGAIN;
			continue;
		}
		if (mkdir(path.data, 0700) < 0) {
			r = -errno;
			unlink(lock.data);
			close(fd);
			buf_release(&path);
			buf_release(&lock);
			if (r == -EEXIST)
				continue;
			return r;
		}
		buf_release(&lock);
		*ret_path = buf_steal(&path);
		if (!*ret_path) {
			close(fd);
			return -ENOMEM;
		}
		*ret_lock_fd = fd;
		return 0;
	}
	return r;
}

int
sessiondir_adopt(const char *path, int *ret_lock_fd)
{
	struct buf lock = BUF_INIT(4096);
	struct stat st;
	int fd = -1;
	int r = -ENOMEM;

	if (buf_printf(&lock, "%s%s", path, SESSIONDIR_LOCK_SUFFIX) < 0)
		goto out;
	fd = open(lock.data, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = -EBUSY;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || !is_same_file(fd, lock.data))
		goto out;
	r = -ENOENT;
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		goto out;
	(void)spawn_kill_left_behind(path);
	*ret_lock_fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&lock);
	return r;
}

/* The sandbox's temporary directory beside `path`, if it made one. */
static int
remove_tmp(const char *path)
{
	struct buf tmp = BUF_INIT(4096);
	int r = buf_printf(&tmp, "%s%s", path, SESSIONDIR_TMP_SUFFIX);

	if (r == 0)
		r = sessiondir_remove_tree(tmp.data);
	buf_release(&tmp);
	return r;
}

int
sessiondir_release(const char *path, int lock_fd, int keep)
{
	struct buf lock = BUF_INIT(4096);
	int r = 0;

	if (!keep) {
		int t;

		r = sessiondir_remove_tree(path);
		t = remove_tmp(path);
		r = r ? r : t;
	}
	if (buf_printf(&lock, "%s%s", path, SESSIONDIR_LOCK_SUFFIX) == 0 && lock_fd >= 0 &&
	    is_same_file(lock_fd, lock.data) && unlink(lock.data) < 0 && !r)
		r = -errno;
	buf_release(&lock);
	if (lock_fd >= 0)
		close(lock_fd);
	return r;
}

/* One lock file: remove its directory if nobody holds it, after killing
 * the processes its runner left working in it.  1 when removed. */
static int
sweep_one(const char *base, const char *lockname, int *killed)
{
	size_t n = strlen(lockname) - strlen(SESSIONDIR_LOCK_SUFFIX);
	struct buf lock = BUF_INIT(4096);
	struct buf dir = BUF_INIT(4096);
	struct stat st;
	int removed = 0;
	int fd = -1;

	if (buf_printf(&lock, "%s/%s", base, lockname) < 0 ||
	    buf_printf(&dir, "%s/%.*s", base, (int)n, lockname) < 0)
		goto out;
	fd = open(lock.data, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		goto out;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || !is_same_file(fd, lock.data))
		goto out; /* a live runner holds it, or it changed meanwhile */
	*killed += spawn_kill_left_behind(dir.data);
	if (lstat(dir.data, &st) == 0) {
		if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			goto out;
		if (sessiondir_remove_tree(dir.data) < 0)
			goto out;
		removed = 1;
	}
	(void)remove_tmp(dir.data);
	unlink(lock.data);
out:
	if (fd >= 0)
		close(fd);
	buf_release(&lock);
	buf_release(&dir);
	return removed;
}

int
sessiondir_sweep(const char *base, int *ret_removed, int *ret_killed)
{
	size_t suffix = strlen(SESSIONDIR_LOCK_SUFFIX);
	struct dirent *de;
	int removed = 0;
	DIR *d;

	*ret_killed = 0;
	d = opendir(base);
	if (!d) {
		*ret_removed = 0;
		return errno == ENOENT ? 0 : -errno;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len <= suffix ||
		    strcmp(de->d_name + len - suffix, SESSIONDIR_LOCK_SUFFIX) != 0)
			continue;
		removed += sweep_one(base, de->d_name, ret_killed);
	}
	closedir(d);
	*ret_removed = removed;
	return 0;
}
