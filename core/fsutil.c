/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "nbio.h"

static int
normalize_into(struct buf *out, const char *p)
{
	while (*p) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = out->data ? strrchr(out->data, '/') : NULL;

			buf_truncate(out, slash ? (size_t)(slash - out->data) : 0);
		} else if (buf_putc(out, '/') < 0 || buf_append(out, p, n) < 0) {
			return -ENOMEM;
		}
		p += n;
	}
	return 0;
}

char *
fsutil_resolve(const char *base, const char *p)
{
	struct buf out = BUF_INIT(1u << 20);

	if (buf_puts(&out, "") < 0 || (p[0] != '/' && normalize_into(&out, base) < 0) ||
	    normalize_into(&out, p) < 0 || (out.len == 0 && buf_putc(&out, '/') < 0)) {
		buf_release(&out);
		return NULL;
	}
	return buf_steal(&out);
}

static bool
within(const char *root, const char *p, int (*cmp)(const char *, const char *, size_t))
{
	size_t n = strlen(root);

	if (strlen(p) == n && cmp(root, p, n) == 0)
		return true;
	if (n > 0 && root[n - 1] == '/')
		return cmp(root, p, n) == 0;
	return strlen(p) > n && cmp(root, p, n) == 0 && p[n] == '/';
}

bool
fsutil_is_within(const char *root, const char *p)
{
	return within(root, p, strncmp);
}

bool
fsutil_is_within_folded(const char *root, const char *p)
{
	return within(root, p, strncasecmp);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	/* A directory we may not enter: open it up, then try again. */
	if (flag == FTW_DNR)
		chmod(path, 0700);
	if (remove(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int
fsutil_remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	/* FTW_PHYS: never follow a link the session planted. */
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

/* Deeper than this is left for the session directory's own removal. */
#define REMOVE_AT_DEPTH 64

static int
remove_at(int dirfd, const char *name, int depth)
{
	struct dirent *e;
	DIR *d;
	int fd;
	int r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != ENOTDIR && errno != ELOOP)
			return -errno;
		/* A file or a link: the entry itself goes. */
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	}
	if (depth >= REMOVE_AT_DEPTH) {
		close(fd);
		return -ELOOP;
	}
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while (r == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			r = remove_at(fd, e->d_name, depth + 1);
	}
	closedir(d);
	if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

int
fsutil_remove_tree_at(int dirfd, const char *name)
{
	return remove_at(dirfd, name, 0);
}

int
fsutil_mkdir_p(const char *path, mode_t mode)
{
	char *copy = strdup(path);
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *s = copy + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST) {
				r = -errno;
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(copy);
	return r;
}

int
fsutil_replace_file(const char *path, const void *data, size_t len, int sync)
{
	struct buf tmp = BUF_INIT(PATH_MAX + 8);
	const char *slash = strrchr(path, '/');
	int fd;
	int r;

	if (buf_printf(&tmp, "%s.new", path) < 0)
		return -ENOMEM;
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = nbio_write_all(fd, data, len);
	if (r == 0 && sync && fdatasync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp.data, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp.data);
		goto out;
	}
	if (sync) {
		/* The rename is on disk once the directory is. */
		buf_reset(&tmp);
		if (buf_printf(&tmp, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".") <
		    0) {
			r = -ENOMEM;
			goto out;
		}
		fd = open(tmp.data[0] ? tmp.data : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			r = -errno;
		if (fd >= 0)
			close(fd);
	}
out:
	buf_release(&tmp);
	return r;
}
