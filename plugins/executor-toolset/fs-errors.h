/* SPDX-License-Identifier: MIT */
/*
 * The SDK's wording for filesystem errors (fsErrorMessage), so
 * that the agent reads the same text whichever runner served the call.
 */
#ifndef TOOLSET_FS_ERRORS_H
#define TOOLSET_FS_ERRORS_H

#include "buf.h"

/* Append "<file>: <reason>" for the positive errno value `err`.  Unmapped
 * codes read "i/o error (<CODE>)" with Node's code name, or "i/o error".
 * Returns 0 or a buf error. */
int fs_error_append(struct buf *out, int err, const char *file);

/* Node's (libuv's) name for a positive errno value, e.g. "EEXIST", or NULL. */
const char *fs_errno_name(int err);

#endif
