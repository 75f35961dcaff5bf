/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stddef.h>

#include "fs-errors.h"

struct errno_name {
	int err;
	const char *name;
};

/* The codes a file operation can plausibly report, named as libuv names
 * them (uv_err_name). */
static const struct errno_name errno_names[] = {
	{ E2BIG, "E2BIG" },
	{ EAGAIN, "EAGAIN" },
	{ EBADF, "EBADF" },
	{ EBUSY, "EBUSY" },
	{ ECANCELED, "ECANCELED" },
	{ EEXIST, "EEXIST" },
	{ EFAULT, "EFAULT" },
	{ EFBIG, "EFBIG" },
	{ EINTR, "EINTR" },
	{ EINVAL, "EINVAL" },
	{ EIO, "EIO" },
	{ EMLINK, "EMLINK" },
	{ ENODEV, "ENODEV" },
	{ ENOMEM, "ENOMEM" },
	{ ENOSYS, "ENOSYS" },
	{ ENOTEMPTY, "ENOTEMPTY" },
	{ ENOTSUP, "ENOTSUP" },
	{ ENXIO, "ENXIO" },
	{ EOVERFLOW, "EOVERFLOW" },
	{ EROFS, "EROFS" },
	{ ESPIPE, "ESPIPE" },
	{ ETIMEDOUT, "ETIMEDOUT" },
	{ ETXTBSY, "ETXTBSY" },
	{ EXDEV, "EXDEV" },
#ifdef EDQUOT
	{ EDQUOT, "EDQUOT" },
#endif
#ifdef ESTALE
	{ ESTALE, "ESTALE" },
#endif
#ifdef EILSEQ
	{ EILSEQ, "EILSEQ" },
#endif
};

const char *
fs_errno_name(int err)
{
	size_t i;

	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	return NULL;
}

int
fs_error_append(struct buf *out, int err, const char *file)
{
	const char *reason;
	const char *name;

	switch (err) {
	case ENOENT:
		reason = "no such file or directory";
		break;
	case EACCES:
	case EPERM:
		reason = "permission denied";
		break;
	case ENOTDIR:
		reason = "not a directory";
		break;
	case EISDIR:
		reason = "is a directory";
		break;
	case ELOOP:
		reason = "too many levels of symbolic links";
		break;
	case ENAMETOOLONG:
		reason = "file name too long";
		break;
	case ENOSPC:
		reason = "no space left on device";
		break;
	case EMFILE:
	case ENFILE:
		reason = "too many open files";
		break;
	default:
		name = fs_errno_name(err);
		if (name)
			return buf_printf(out, "%s: i/o error (%s)", file, name);
		reason = "i/o error";
		break;
	}
	return buf_printf(out, "%s: %s", file, reason);
}
