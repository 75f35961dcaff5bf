/* SPDX-License-Identifier: MIT */
#ifndef ER_BASE64_H
#define ER_BASE64_H

#include <stddef.h>

/* Decode standard or URL-safe base64 (the alphabets may even be mixed),
 * padded or not, as Node's lenient decoder does for the work secret
 * (docs/protocol.md §3): decoding stops at the first '=', and leftover bits that
 * do not fill a byte are dropped.  Returns 0 with a malloc'd, NUL-terminated
 * buffer in *ret (length in *ret_len, which may be NULL; the data may hold
 * NULs), -EINVAL on a character outside both alphabets (whitespace
 * included) or anything but '=' after the first '=', or -ENOMEM. */
int base64_decode(const char *in, size_t n, char **ret, size_t *ret_len);
/* Encode as unpadded base64url into a malloc'd, NUL-terminated string the
 * caller frees.  0, -EINVAL or -ENOMEM. */
int base64url_encode(const void *in, size_t n, char **ret);

#endif
