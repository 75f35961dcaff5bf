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
#define OWNER_ID_LEN 36 /* a UUID */

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

/* ---- owners ------------------------------------------------------------- */

/* The owner lock this process holds in each base directory where it has
 * sessions; made with the first, removed with the last. */
struct owner {
	struct owner *next;
	char *base;
	int fd;
	unsigned sessions;
	char id[OWNER_ID_LEN + 1];
};

static struct owner *owners;

static int
owner_path(struct buf *b, const char *base, const char *id)
{
	return buf_printf(b, "%s/%s%s", base, SESSIONDIR_OWNER_PREFIX, id);
}

static struct owner *
own_owner(const char *base)
{
	for (struct owner *o = owners; o; o = o->next)
		if (strcmp(o->base, base) == 0)
			return o;
	return NULL;
}

/* This process's owner in `base`, made and locked at its first use. */
static struct owner *
owner_of(const char *base)
{
	struct owner *o = own_owner(base);

	if (o)
		return o;
	o = calloc(1, sizeof(*o));
	if (!o || !(o->base = strdup(base))) {
		free(o);
		return NULL;
	}
	o->fd = -1;
	for (int attempt = 0; attempt < 8 && o->fd < 0; attempt++) {
		struct buf path = BUF_INIT(4096);
		int fd;

		if (rand_uuid(o->id) < 0 || owner_path(&path, base, o->id) < 0) {
			buf_release(&path);
			break;
		}
		fd = open(path.data, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		/* A sweep may have taken the new file between open and lock. */
		if (fd >= 0 && (flock(fd, LOCK_EX | LOCK_NB) < 0 || !is_same_file(fd, path.data))) {
			close(fd);
			fd = -1;
		}
		buf_release(&path);
		o->fd = fd;
	}
	if (o->fd < 0) {
		free(o->base);
		free(o);
		return NULL;
	}
	o->next = owners;
	owners = o;
	return o;
}

/* Its last session released: the owner file and lock go. */
static void
owner_drop(struct owner *o)
{
	struct buf path = BUF_INIT(4096);

	for (struct owner **p = &owners; *p; p = &(*p)->next) {
		if (*p == o) {
			*p = o->next;
			break;
		}
	}
	if (owner_path(&path, o->base, o->id) == 0 && is_same_file(o->fd, path.data))
		unlink(path.data);
	buf_release(&path);
	close(o->fd);
	free(o->base);
	free(o);
}

/* Is the owner `id` of `base` alive: this process, or another holding its
 * owner lock?  A lock that cannot be checked counts as held. */
static int
owner_alive(const char *base, const char *id)
{
	const struct owner *own = own_owner(base);
	struct buf path = BUF_INIT(4096);
	int alive = 1;
	int fd;

	if (own && strcmp(own->id, id) == 0)
		return 1;
	if (owner_path(&path, base, id) < 0) {
		buf_release(&path);
		return 1;
	}
	fd = open(path.data, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		alive = errno != ENOENT;
	else
		alive = flock(fd, LOCK_EX | LOCK_NB) < 0;
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	return alive;
}

/* The owner a session's lock file names, into id (OWNER_ID_LEN + 1):
 * 1, or 0 when it names none (empty, as an older runner left it, or not
 * an owner's id). */
static int
read_owner(int fd, char *id)
{
	char line[OWNER_ID_LEN + 2];
	ssize_t n = pread(fd, line, sizeof(line), 0);

	if (n < OWNER_ID_LEN || (n > OWNER_ID_LEN && line[OWNER_ID_LEN] != '\n'))
		return 0;
	for (int i = 0; i < OWNER_ID_LEN; i++) {
		char c = line[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-'))
			return 0;
	}
	memcpy(id, line, OWNER_ID_LEN);
	id[OWNER_ID_LEN] = '\0';
	return 1;
}

static int
write_owner(int fd, const struct owner *o)
{
	char line[OWNER_ID_LEN + 1];

	memcpy(line, o->id, OWNER_ID_LEN);
	line[OWNER_ID_LEN] = '\n';
	if (ftruncate(fd, 0) < 0)
		return -errno;
	return pwrite(fd, line, sizeof(line), 0) == (ssize_t)sizeof(line) ? 0 : -EIO;
}

/* Is the session whose lock file is open (and flock'd by us) as `fd`
 * served by a live runner? */
static int
session_alive(const char *base, int fd)
{
	char id[OWNER_ID_LEN + 1];

	return read_owner(fd, id) && owner_alive(base, id);
}

/* ---- session directories ------------------------------------------------ */

int
sessiondir_create(const char *base, const char *session_id, char **ret_path)
{
	char id[NAME_MAX_ID + 2];
	struct owner *owner;
	int r = -EEXIST;

	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return -errno;
	owner = owner_of(base);
	if (!owner)
		return -EAGAIN;
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
		/* A sweeper may have taken the new file between open and lock:
		 * empty, it names no owner. */
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 || !is_same_file(fd, lock.data)) {
			close(fd);
			buf_release(&path);
			buf_release(&lock);
			r = -EAGAIN;
			continue;
		}
		r = write_owner(fd, owner);
		if (r == 0 && mkdir(path.data, 0700) < 0)
			r = -errno;
		if (r < 0) {
			unlink(lock.data);
			close(fd);
			buf_release(&path);
			buf_release(&lock);
			if (r == -EEXIST)
				continue;
			return r;
		}
		close(fd);
		buf_release(&lock);
		*ret_path = buf_steal(&path);
		if (!*ret_path)
			return -ENOMEM;
		owner->sessions++;
		return 0;
	}
	if (!owner->sessions)
		owner_drop(owner);
	return r;
}

/* The directory `path` is in, into `base`. */
static int
base_of(const char *path, struct buf *base)
{
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		return -EINVAL;
	return buf_printf(base, "%.*s", (int)(slash - path), path);
}

int
sessiondir_adopt(const char *path)
{
	struct buf lock = BUF_INIT(4096);
	struct buf base = BUF_INIT(4096);
	struct owner *owner = NULL;
	struct stat st;
	int fd = -1;
	int r = -ENOMEM;

	if (buf_printf(&lock, "%s%s", path, SESSIONDIR_LOCK_SUFFIX) < 0)
		goto out;
	if ((r = base_of(path, &base)) < 0)
		goto out;
	r = -EAGAIN;
	if (!(owner = owner_of(base.data)))
		goto out;
	fd = open(lock.data, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = -EBUSY;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || !is_same_file(fd, lock.data))
		goto out;
	{
		char id[OWNER_ID_LEN + 1];

		if (read_owner(fd, id) && strcmp(id, owner->id) != 0 && owner_alive(base.data, id))
			goto out;
	}
	r = -ENOENT;
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		goto out;
	(void)spawn_kill_left_behind(path);
	r = write_owner(fd, owner);
out:
	if (fd >= 0)
		close(fd);
	if (owner && r == 0)
		owner->sessions++;
	else if (owner && !owner->sessions)
		owner_drop(owner);
	buf_release(&lock);
	buf_release(&base);
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
sessiondir_release(const char *path, int keep)
{
	struct buf lock = BUF_INIT(4096);
	struct buf base = BUF_INIT(4096);
	struct owner *own;
	int r = 0;
	int fd;

	if (!keep) {
		int t;

		r = sessiondir_remove_tree(path);
		t = remove_tmp(path);
		r = r ? r : t;
	}
	/* The lock file goes if it still names this process; with the last
	 * session, the owner lock. */
	if (buf_printf(&lock, "%s%s", path, SESSIONDIR_LOCK_SUFFIX) == 0 &&
	    base_of(path, &base) == 0 && (own = own_owner(base.data))) {
		char id[OWNER_ID_LEN + 1];

		fd = open(lock.data, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && read_owner(fd, id) && strcmp(id, own->id) == 0 &&
		    is_same_file(fd, lock.data) && unlink(lock.data) < 0 && !r)
			r = -errno;
		if (fd >= 0)
			close(fd);
		if (own->sessions && !--own->sessions)
			owner_drop(own);
	}
	buf_release(&lock);
	buf_release(&base);
	return r;
}

/* One lock file: remove its directory if no live runner serves it, after
 * killing the processes its runner left working in it.  1 when removed. */
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
	/* Held: an older runner serving it, or another one changing it now. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || !is_same_file(fd, lock.data))
		goto out;
	if (session_alive(base, fd))
		goto out;
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

/* An owner lock no runner holds, once its sessions are swept. */
static void
sweep_owner(const char *base, const char *name)
{
	struct buf path = BUF_INIT(4096);
	const struct owner *own = own_owner(base);
	int fd;

	if (own && strcmp(name + strlen(SESSIONDIR_OWNER_PREFIX), own->id) == 0)
		return;
	if (buf_printf(&path, "%s/%s", base, name) == 0 &&
	    (fd = open(path.data, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && is_same_file(fd, path.data))
			unlink(path.data);
		close(fd);
	}
	buf_release(&path);
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
	/* Then the owners gone, whose sessions are now swept or taken back. */
	rewinddir(d);
	while ((de = readdir(d)))
		if (strncmp(de->d_name, SESSIONDIR_OWNER_PREFIX, strlen(SESSIONDIR_OWNER_PREFIX)) ==
		    0)
			sweep_owner(base, de->d_name);
	closedir(d);
	*ret_removed = removed;
	return 0;
}
