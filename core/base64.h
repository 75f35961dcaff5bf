/* SPDX-License-Identifier: MIT */
#ifndef ER_BASE64_H
#define ER_BASE64_H

#include <stddef.h>

/* Decode standard or URL-safe base64, padded or not, as Node's lenient
 * decoder does for the work secret (protocol.md 3).  Returns a malloc'd,
 * NUL-terminated buffer in *ret (length in *ret_len), -EINVAL on a character
 * outside both alphabets, or -ENOMEM. */
int base64_decode(const char *in, size_t n, char **ret, size_t *ret_len);
/* Encode as unpadded base64url into a malloc'd string. */
int base64url_encode(const void *in, size_t n, char **ret);

#endif
