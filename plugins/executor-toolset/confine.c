/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(HAVE_LINUX_OPENAT2_H) && defined(HAVE_DECL_SYS_OPENAT2) && HAVE_DECL_SYS_OPENAT2
#include <linux/openat2.h>
#include <sys/syscall.h>
#define CONFINE_HAVE_OPENAT2 1
#endif

#include "confine.h"
#include "fs-errors.h"

#define CONFINE_PATH_MAX 65536 /* longer inputs are refused with ENAMETOOLONG */

int confine_disable_openat2;
int confine_used_openat2;

void
confine_root_release(struct confine_root *root)
{
	free(root->path);
	root->path = NULL;
	root->len = 0;
	confine_root_close(root);
}

void
confine_root_close(struct confine_root *root)
{
	if (root->fd >= 0)
		close(root->fd);
	root->fd = -1;
}

int
confine_root_open(struct confine_root *root)
{
	struct stat st;
	int fd;

	if (root->fd >= 0)
		return 0;
	if (!root->path)
		return -EINVAL;
	fd = open(root->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_dev != root->dev || st.st_ino != root->ino) {
		close(fd);
		return -ESTALE;
	}
	root->fd = fd;
	return 0;
}

int
confine_root_init(struct confine_root *root, const char *workdir)
{
	struct stat st;
	char *abs = NULL;
	char *real = NULL;
	int fd;
	int r;

	root->path = NULL;
	root->len = 0;
	root->fd = -1;
	if (!workdir || workdir[0] != '/')
		return -EINVAL;
	r = path_resolve("/", workdir, &abs);
	if (r < 0)
		return r;
	r = confine_canonicalize(abs, &real);
	free(abs);
	if (r < 0)
		return r;
	fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		free(real);
		return r;
	}
	root->path = real;
	root->len = strlen(real);
	root->fd = fd;
	root->dev = st.st_dev;
	root->ino = st.st_ino;
	return 0;
}

/* Append the components of `p` to the normalised absolute path in `out`. */
static int
normalize_into(struct buf *out, const char *p)
{
	const char *s = p;
	int r;

	while (*s) {
		const char *e;
		size_t n;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		e = strchr(s, '/');
		n = e ? (size_t)(e - s) : strlen(s);
		if (n == 1 && s[0] == '.') {
			/* nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			char *slash = strrchr(out->data, '/');

			buf_truncate(out, slash ? (size_t)(slash - out->data) : 0);
		} else {
			r = buf_putc(out, '/');
			if (r == 0)
				r = buf_append(out, s, n);
			if (r < 0)
				return r;
		}
		s += n;
	}
	return 0;
}

int
path_resolve(const char *base, const char *p, char **ret)
{
	struct buf out = BUF_INIT(2 * CONFINE_PATH_MAX);
	int r;

	r = buf_puts(&out, "");
	if (r == 0 && p[0] != '/')
		r = normalize_into(&out, base);
	if (r == 0)
		r = normalize_into(&out, p);
	if (r == 0 && out.len == 0)
		r = buf_putc(&out, '/');
	if (r < 0) {
		buf_release(&out);
		return r == -ENOSPC ? -ENAMETOOLONG : r;
	}
	*ret = buf_steal(&out);
	return *ret ? 0 : -ENOMEM;
}

bool
confine_is_within(const char *root, const char *p)
{
	size_t n = strlen(root);

	if (strcmp(root, p) == 0)
		return true;
	if (n > 0 && root[n - 1] == '/')
		return strncmp(root, p, n) == 0;
	return strncmp(root, p, n) == 0 && p[n] == '/';
}

/* Split the normalised absolute `path` at its last slash, in place:
 * returns the basename; *path keeps the dirname ("/" for the root). */
static char *
split_last(char *path)
{
	char *slash = strrchr(path, '/');
	char *base = slash + 1;

	if (slash == path) {
		/* "/name": the dirname is "/"; keep it by moving the name. */
		return NULL;
	}
	*slash = '\0';
	return base;
}

/* dirname() of a normalised absolute path, newly allocated. */
static char *
dirname_dup(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int
tail_prepend(struct buf *tail, const char *name)
{
	struct buf n = BUF_INIT(2 * CONFINE_PATH_MAX);
	int r;

	r = buf_puts(&n, name);
	if (r == 0 && tail->len > 0) {
		r = buf_putc(&n, '/');
		if (r == 0)
			r = buf_append(&n, tail->data, tail->len);
	}
	if (r < 0) {
		buf_release(&n);
		return r == -ENOSPC ? -ENAMETOOLONG : r;
	}
	buf_release(tail);
	*tail = n;
	return 0;
}

static int
readlink_dup(const char *path, char **ret)
{
	size_t size = 256;

	for (;;) {
		char *b = malloc(size);
		ssize_t n;

		if (!b)
			return -ENOMEM;
		n = readlink(path, b, size);
		if (n < 0) {
			int r = -errno;

			free(b);
			return r;
		}
		if ((size_t)n < size) {
			b[n] = '\0';
			*ret = b;
			return 0;
		}
		free(b);
		if (size >= CONFINE_PATH_MAX)
			return -ENAMETOOLONG;
		size *= 2;
	}
}

int
confine_canonicalize(const char *abs, char **ret)
{
	struct buf tail = BUF_INIT(2 * CONFINE_PATH_MAX);
	char *prefix;
	int hops = 0;
	int r;

	prefix = strdup(abs);
	if (!prefix)
		return -ENOMEM;
	for (;;) {
		struct stat st;
		char *real;
		int realpath_err;

		real = realpath(prefix, NULL);
		if (real) {
			char *joined;

			free(prefix);
			if (tail.len == 0) {
				buf_release(&tail);
				*ret = real;
				return 0;
			}
			r = path_resolve(real, tail.data, &joined);
			free(real);
			buf_release(&tail);
			if (r < 0)
				return r;
			*ret = joined;
			return 0;
		}
		realpath_err = errno;
		if (realpath_err == ENOMEM) {
			r = -ENOMEM;
			goto fail;
		}
		if (lstat(prefix, &st) < 0) {
			char *base;

			r = -errno;
			if (r != -ENOENT && r != -ENOTDIR)
				goto fail;
			if (strcmp(prefix, "/") == 0)
				goto fail;
			base = split_last(prefix);
			if (!base) {
				r = tail_prepend(&tail, prefix + 1);
				if (r < 0)
					goto fail;
				prefix[1] = '\0';
			} else {
				r = tail_prepend(&tail, base);
				if (r < 0)
					goto fail;
			}
			continue;
		}
		if (!S_ISLNK(st.st_mode)) {
			r = -realpath_err;
			goto fail;
		}
		if (++hops > CONFINE_MAX_HOPS) {
			r = -ELOOP;
			goto fail;
		}
		{
			char *dir = dirname_dup(prefix);
			char *parent;
			char *target = NULL;
			char *next;
			struct buf rest = BUF_INIT(4 * CONFINE_PATH_MAX);

			if (!dir) {
				r = -ENOMEM;
				goto fail;
			}
			parent = realpath(dir, NULL);
			r = parent ? 0 : -errno;
			free(dir);
			if (r < 0)
				goto fail;
			r = readlink_dup(prefix, &target);
			if (r == 0)
				r = buf_puts(&rest, target);
			if (r == 0 && tail.len > 0) {
				r = buf_putc(&rest, '/');
				if (r == 0)
					r = buf_append(&rest, tail.data, tail.len);
			}
			if (r == 0)
				r = path_resolve(parent, rest.data, &next);
			free(parent);
			free(target);
			buf_release(&rest);
			if (r < 0) {
				if (r == -ENOSPC)
					r = -ENAMETOOLONG;
				goto fail;
			}
			free(prefix);
			prefix = next;
			buf_reset(&tail);
		}
	}
fail:
	free(prefix);
	buf_release(&tail);
	return r;
}

int
js_quote_append(struct buf *out, const char *s)
{
	int r = buf_putc(out, '"');

	for (; r == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
			r = buf_puts(out, "\\\"");
			break;
		case '\\':
			r = buf_puts(out, "\\\\");
			break;
		case '\b':
			r = buf_puts(out, "\\b");
			break;
		case '\f':
			r = buf_puts(out, "\\f");
			break;
		case '\n':
			r = buf_puts(out, "\\n");
			break;
		case '\r':
			r = buf_puts(out, "\\r");
			break;
		case '\t':
			r = buf_puts(out, "\\t");
			break;
		default:
			if (c < 0x20)
				r = buf_printf(out, "\\u%04x", c);
			else
				r = buf_putc(out, (char)c);
			break;
		}
	}
	if (r == 0)
		r = buf_putc(out, '"');
	return r;
}

int
confine_path(const struct confine_root *root, const char *p, char **ret_real, struct buf *msg)
{
	return confine_path_ex(root, NULL, p, ret_real, NULL, msg);
}

/* The first of `extra` whose canonical form holds `real` (the SDK's
 * containingRoot), or -1. */
int
confine_containing_root(const char *const *extra, const char *real)
{
	for (int i = 0; extra && extra[i]; i++) {
		char *abs = NULL;
		char *canon = NULL;
		int inside;

		if (extra[i][0] != '/' || path_resolve("/", extra[i], &abs) < 0)
			continue;
		if (confine_canonicalize(abs, &canon) < 0) {
			free(abs);
			continue;
		}
		inside = confine_is_within(canon, real);
		free(abs);
		free(canon);
		if (inside)
			return i;
	}
	return -1;
}

int
confine_path_ex(const struct confine_root *root, const char *const *extra, const char *p,
		char **ret_real, int *ret_index, struct buf *msg)
{
	char *abs = NULL;
	char *real = NULL;
	int index = -1;
	int r;

	r = path_resolve(root->path, p, &abs);
	if (r == 0)
		r = confine_canonicalize(abs, &real);
	free(abs);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		struct buf what = BUF_INIT(4 * CONFINE_PATH_MAX);
		int w;

		w = buf_puts(&what, "path ");
		if (w == 0)
			w = js_quote_append(&what, p);
		if (w == 0)
			w = fs_error_append(msg, -r, what.data);
		buf_release(&what);
		return w == -ENOMEM ? w : 1;
	}
	if (!confine_is_within(root->path, real) &&
	    (index = confine_containing_root(extra, real)) < 0) {
		free(real);
		r = buf_puts(msg, "path ");
		if (r == 0)
			r = js_quote_append(msg, p);
		if (r == 0)
			r = buf_puts(msg, " is outside the session's working directory");
		if (r == 0 && extra && extra[0])
			r = buf_puts(msg, " and its other permitted directories");
		return r == -ENOMEM ? r : 1;
	}
	if (ret_index)
		*ret_index = index;
	*ret_real = real;
	return 0;
}

const char *
confine_rel(const struct confine_root *root, const char *real)
{
	if (strcmp(real, root->path) == 0)
		return ".";
	if (root->len == 1)
		return real + 1;
	return real + root->len + 1;
}

#ifdef CONFINE_HAVE_OPENAT2
static int openat2_broken;

/* fd, -errno, or -ENOSYS when openat2 cannot be used here. */
static int
try_openat2(int dirfd, const char *rel, int oflags)
{
	struct open_how how;
	long fd;

	if (confine_disable_openat2 || openat2_broken)
		return -ENOSYS;
	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(oflags | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	do
		fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	if (fd < 0) {
		int r = -errno;

		/* Not there, or refused by a seccomp filter that predates it. */
		if (r == -ENOSYS || r == -E2BIG || r == -EPERM) {
			if (r != -EPERM)
				openat2_broken = 1;
			return -ENOSYS;
		}
		confine_used_openat2 = 1;
		return r;
	}
	confine_used_openat2 = 1;
	return (int)fd;
}
#else
static int
try_openat2(int dirfd, const char *rel, int oflags)
{
	return -ENOSYS;
}
#endif

#define DIR_OFLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Walk `dir` (relative, normalised, no "." or "..") from `startfd` one
 * component at a time, never following a symlink.  With CONFINE_MKDIR,
 * create missing directories 0700; a last component that exists but is not
 * a directory reads EEXIST, as Node's recursive mkdir reports it. */
static int
walk_dirs(int startfd, const char *dir, unsigned flags)
{
	char *copy;
	char *comp;
	char *next;
	int fd;
	int r;

	copy = strdup(dir);
	if (!copy)
		return -ENOMEM;
	fd = fcntl(startfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		free(copy);
		return r;
	}
	for (comp = copy; comp; comp = next) {
		int nfd;

		next = strchr(comp, '/');
		if (next)
			*next++ = '\0';
		if (!*comp || strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			r = -EXDEV;
			goto fail;
		}
		nfd = openat(fd, comp, DIR_OFLAGS);
		if (nfd < 0 && errno == ENOENT && (flags & CONFINE_MKDIR)) {
			if (mkdirat(fd, comp, 0700) < 0 && errno != EEXIST) {
				r = -errno;
				goto fail;
			}
			nfd = openat(fd, comp, DIR_OFLAGS);
		}
		if (nfd < 0) {
			r = -errno;
			if (r == -ENOTDIR && !next && (flags & CONFINE_MKDIR)) {
				struct stat st;

				if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				    !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
					r = -EEXIST;
			}
			goto fail;
		}
		close(fd);
		fd = nfd;
	}
	free(copy);
	return fd;
fail:
	close(fd);
	free(copy);
	return r;
}

int
confine_open_parent(const struct confine_root *root, const char *real, unsigned flags,
		    const char **ret_base)
{
	const char *rel = confine_rel(root, real);
	const char *slash;
	char *dir;
	int fd;

	confine_used_openat2 = 0;
	if (!confine_is_within(root->path, real))
		return -EXDEV;
	if (strcmp(rel, ".") == 0 || !strchr(rel, '/')) {
		fd = fcntl(root->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		*ret_base = rel;
		return fd;
	}
	slash = strrchr(rel, '/');
	dir = strndup(rel, (size_t)(slash - rel));
	if (!dir)
		return -ENOMEM;
	fd = try_openat2(root->fd, dir, O_RDONLY | O_DIRECTORY);
	if (fd == -ENOSYS || ((flags & CONFINE_MKDIR) && (fd == -ENOENT || fd == -ENOTDIR)))
		fd = walk_dirs(root->fd, dir, flags);
	free(dir);
	if (fd >= 0)
		*ret_base = slash + 1;
	return fd;
}

int
confine_open(const struct confine_root *root, const char *real, int oflags)
{
	const char *base;
	int dfd;
	int fd;

	confine_used_openat2 = 0;
	if (!confine_is_within(root->path, real))
		return -EXDEV;
	fd = try_openat2(root->fd, confine_rel(root, real), oflags);
	if (fd != -ENOSYS)
		return fd;
	dfd = confine_open_parent(root, real, 0, &base);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, base, oflags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(dfd);
	return fd;
}
