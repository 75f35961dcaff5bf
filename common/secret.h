/* SPDX-License-Identifier: MIT */
/*
 * The work secret (docs/protocol.md §3): base64url of a UTF-8 JSON object whose
 * `sessions_token` is the Bearer credential for the work's session calls.
 * Nothing here logs; callers must not log the secret or the token either.
 */
#ifndef ER_SECRET_H
#define ER_SECRET_H

/* Who holds a secret wipes it. */
#include "wipe.h"

/* Decode `secret` as the reference worker does: base64 (either alphabet,
 * padded or not), UTF-8 (invalid sequences become U+FFFD), JSON; the value
 * must be an object with a non-empty string `sessions_token`; other keys
 * (api_base_url, session_ingress_token...) are ignored.  On success
 * *ret_token is a new string the caller frees.  -EINVAL when the secret
 * yields no token (the caller then falls back to the environment key),
 * -EBADMSG when its token cannot be a header value (a control character:
 * a forged secret, and the item is given up), -ENOMEM; *ret_token is
 * untouched on failure.
 *
 * Stricter than Node only on inputs no server sends: characters outside
 * both base64 alphabets, and JSON that json_parse() refuses (duplicate
 * keys, lone surrogates, \u0000, nesting past JSON_MAX_DEPTH). */
int work_secret_sessions_token(const char *secret, char **ret_token);

/* Keep the process's memory, and so its credentials, out of core dumps and
 * away from ptrace by other processes of the same user: PR_SET_DUMPABLE off
 * on Linux (children get it back with exec).  0, or -ENOSYS where the
 * platform has no such switch (then the system's core dump settings
 * apply).  Secrets live in small heap strings, which MADV_DONTDUMP (whole
 * pages) cannot single out; the process-wide switch covers them all. */
int secret_protect_process(void);

#endif
