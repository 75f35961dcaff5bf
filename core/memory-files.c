/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memory-files.h"
#include "nbio.h"
#include "rand.h"
#include "sha256.h"

/* The relative path's components, or -EXDEV when it escapes the root
 * (a `..` component), as FileStore.resolveUnderRoot.  "" for the root. */
static int
clean_rel(const char *rel, struct buf *out)
{
	const char *s = rel;

	while (*s) {
		const char *e;
		size_t n;

		while (*s == '/' || *s == '\\')
			s++;
		if (!*s)
			break;
		for (e = s; *e && *e != '/' && *e != '\\'; e++)
			;
		n = (size_t)(e - s);
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return -EXDEV;
		if (!(n == 1 && s[0] == '.')) {
			if ((out->len > 0 && buf_putc(out, '/') < 0) || buf_append(out, s, n) < 0)
				return -ENOMEM;
		}
		s = e;
	}
	return buf_puts(out, "");
}

static int
open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Open the folders of `dir` (clean, relative) below rootfd without
 * following links, creating them (0700) with `create`: the fd or -errno. */
static int
open_dirs(int rootfd, char *dir, bool create)
{
	char *save = NULL;
	int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	for (char *c = strtok_r(dir, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int nfd = open_dir_at(fd, c);

		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, c, 0700) < 0 && errno != EEXIST)
				nfd = -1;
			else
				nfd = open_dir_at(fd, c);
		}
		if (nfd < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
		close(fd);
		fd = nfd;
	}
	return fd;
}

/* The folder holding rel, opened from the root by descriptor, and rel's
 * last component in `clean` (which *base points into). */
static int
open_parent(const char *root, const char *rel, bool create, struct buf *clean, const char **base)
{
	char *slash;
	int rootfd;
	int fd;
	int r = clean_rel(rel, clean);

	if (r < 0)
		return r;
	if (clean->len == 0)
		return -EISDIR;
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	slash = strrchr(clean->data, '/');
	if (slash) {
		*slash = '\0';
		*base = slash + 1;
		fd = open_dirs(rootfd, clean->data, create);
	} else {
		*base = clean->data;
		fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			fd = -errno;
	}
	close(rootfd);
	return fd;
}

int
memory_files_put(const char *root, const char *rel, const char *data, size_t len)
{
	struct buf clean = BUF_INIT(8192);
	unsigned char rnd[8];
	char tmp[64];
	const char *base = NULL;
	size_t rl = strlen(rel);
	int dfd;
	int fd;
	int r = 0;

	if (rl == 0 || rel[rl - 1] == '/' || rel[rl - 1] == '\\' || strcmp(rel, ".") == 0 ||
	    (rl >= 2 && rel[rl - 1] == '.' && (rel[rl - 2] == '/' || rel[rl - 2] == '\\')))
		return -EISDIR;
	dfd = open_parent(root, rel, true, &clean, &base);
	if (dfd < 0) {
		buf_release(&clean);
		return dfd;
	}
	rand_bytes(rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), ".fs-%02x%02x%02x%02x%02x%02x%02x%02x.tmp", rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = nbio_write_all(fd, data, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, base) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dfd, tmp, 0);
out:
	close(dfd);
	buf_release(&clean);
	return r;
}

/* Open the regular file `name` in dirfd for reading, never through a
 * link: the fd, or -errno (-EISDIR for anything but a regular file). */
static int
open_file_at(int dirfd, const char *name, struct stat *sb)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
		close(fd);
		return -EISDIR;
	}
	return fd;
}

struct capped_read {
	struct buf *out;     /* or NULL */
	struct sha256 *hash; /* or NULL */
	size_t total;
};

static int
take_capped(void *userdata, const char *data, size_t len)
{
	struct capped_read *c = userdata;

	c->total += len;
	if (c->total > MEMORY_MAX_FILE_BYTES)
		return -ENOSPC;
	if (c->out && buf_append(c->out, data, len) < 0)
		return -ENOMEM;
	if (c->hash)
		sha256_update(c->hash, data, len);
	return 0;
}

/* Read the whole of fd, at most MEMORY_MAX_FILE_BYTES, into out (when
 * not NULL) and the hash (when not NULL). */
static int
read_capped(int fd, struct buf *out, struct sha256 *hash)
{
	struct capped_read c = { out, hash, 0 };
	int r = nbio_read_all(fd, take_capped, &c);

	if (r == 0 && out)
		r = buf_puts(out, "");
	return r;
}

int
memory_files_get(const char *root, const char *rel, struct buf *out)
{
	struct buf clean = BUF_INIT(8192);
	const char *base = NULL;
	struct stat sb;
	int dfd = open_parent(root, rel, false, &clean, &base);
	int fd;
	int r;

	if (dfd < 0) {
		buf_release(&clean);
		return dfd == -ENOTDIR || dfd == -ELOOP ? -ENOENT : dfd;
	}
	fd = open_file_at(dfd, base, &sb);
	close(dfd);
	buf_release(&clean);
	if (fd < 0)
		return fd;
	r = read_capped(fd, out, NULL);
	close(fd);
	return r;
}

void
memory_stamp_of(const struct stat *sb, struct memory_stamp *stamp)
{
	stamp->dev = (uint64_t)sb->st_dev;
	stamp->ino = (uint64_t)sb->st_ino;
	stamp->size = (int64_t)sb->st_size;
#ifdef __APPLE__
	stamp->mtime_sec = (int64_t)sb->st_mtimespec.tv_sec;
	stamp->mtime_nsec = sb->st_mtimespec.tv_nsec;
#else
	stamp->mtime_sec = (int64_t)sb->st_mtim.tv_sec;
	stamp->mtime_nsec = sb->st_mtim.tv_nsec;
#endif
}

bool
memory_stamp_holds(const struct memory_stamp *cached, const struct memory_stamp *now)
{
	return cached->ino != 0 && cached->dev == now->dev && cached->ino == now->ino &&
	       cached->size == now->size && cached->mtime_sec == now->mtime_sec &&
	       cached->mtime_nsec == now->mtime_nsec;
}

bool
memory_stamp_settled(const struct memory_stamp *stamp, int64_t walk_sec)
{
	return stamp->mtime_sec < walk_sec - MEMORY_RACY_SEC;
}

int
memory_files_hash_at(int dirfd, const char *name, char hex[65], struct memory_stamp *stamp)
{
	struct sha256 hash;
	struct stat sb;
	int fd = open_file_at(dirfd, name, &sb);
	int r;

	if (fd < 0)
		return fd == -EISDIR || fd == -ELOOP ? -ENOENT : fd;
	sha256_init(&hash);
	r = read_capped(fd, NULL, &hash);
	close(fd);
	if (r < 0)
		return r;
	sha256_final_hex(&hash, hex);
	if (stamp)
		memory_stamp_of(&sb, stamp);
	return 0;
}

int
memory_files_hash(const char *root, const char *rel, char hex[65])
{
	struct buf clean = BUF_INIT(8192);
	const char *base = NULL;
	int dfd = open_parent(root, rel, false, &clean, &base);
	int r;

	if (dfd < 0) {
		buf_release(&clean);
		return dfd == -ENOTDIR || dfd == -ELOOP || dfd == -EISDIR ? -ENOENT : dfd;
	}
	r = memory_files_hash_at(dfd, base, hex, NULL);
	close(dfd);
	buf_release(&clean);
	return r;
}

int
memory_files_remove(const char *root, const char *rel)
{
	struct buf clean = BUF_INIT(8192);
	const char *base = NULL;
	int dfd = open_parent(root, rel, false, &clean, &base);
	int r = 0;

	if (dfd < 0) {
		buf_release(&clean);
		return dfd;
	}
	if (unlinkat(dfd, base, 0) < 0)
		r = -errno;
	close(dfd);
	buf_release(&clean);
	return r;
}

/* ---- the walk ------------------------------------------------------------ */

static int
walk_push(struct memory_walk *w, int fd)
{
	DIR *d;

	if (w->depth == MEMORY_MAX_WALK_DEPTH) {
		close(fd);
		return -ELOOP;
	}
	d = fdopendir(fd);
	if (!d) {
		int r = -errno;

		close(fd);
		return r;
	}
	w->dirs[w->depth] = d;
	w->prefix[w->depth] = w->rel.len;
	w->depth++;
	return 0;
}

int
memory_walk_open(struct memory_walk *w, const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	memset(w, 0, sizeof(*w));
	buf_init(&w->rel, 8192);
	w->budget = MEMORY_MAX_WALK_ENTRIES;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	return walk_push(w, fd);
}

/* Set rel to the current folder's prefix followed by name. */
static int
walk_rel(struct memory_walk *w, const char *name)
{
	w->rel.len = w->prefix[w->depth - 1];
	if (w->rel.len > 0 && buf_putc(&w->rel, '/') < 0)
		return -ENOMEM;
	if (buf_puts(&w->rel, name) < 0)
		return -ENOMEM;
	return 0;
}

int
memory_walk_next(struct memory_walk *w, struct memory_walk_file *f)
{
	while (w->depth > 0) {
		DIR *d = w->dirs[w->depth - 1];
		struct dirent *e;
		int r;

		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				return -errno;
			closedir(d);
			w->depth--;
			continue;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (--w->budget < 0)
			return -E2BIG;
		if (fstatat(dirfd(d), e->d_name, &f->sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone since listed */
		r = walk_rel(w, e->d_name);
		if (r < 0)
			return r;
		if (S_ISDIR(f->sb.st_mode)) {
			int fd = open_dir_at(dirfd(d), e->d_name);

			if (fd < 0) {
				if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
					continue; /* replaced since listed */
				return -errno;
			}
			r = walk_push(w, fd);
			if (r < 0)
				return r;
			continue;
		}
		if (!S_ISREG(f->sb.st_mode))
			continue;
		f->rel = w->rel.data;
		f->name = e->d_name;
		f->dirfd = dirfd(d);
		return 1;
	}
	return 0;
}

void
memory_walk_close(struct memory_walk *w)
{
	while (w->depth > 0)
		closedir(w->dirs[--w->depth]);
	buf_release(&w->rel);
}
