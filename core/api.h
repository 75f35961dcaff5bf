/* SPDX-License-Identifier: MIT */
/*
 * The control plane's HTTP API as the official SDK's core client speaks it
 * (docs/protocol.md §1): Bearer credentials, anthropic-beta, JSON bodies, the
 * error envelope, and the same retry rule (x-should-retry first, then 408,
 * 409, 429 and 5xx and connection errors, a transfer cut after its status
 * line included, at most two retries, honouring retry-after-ms and
 * retry-after).  A header value holding a control character is refused.
 */
#ifndef ER_API_H
#define ER_API_H

#include <stddef.h>

#include "buf.h"
#include "json.h"
#include "loop.h"

#define API_BETA_MANAGED_AGENTS "managed-agents-2026-04-01"
/* The API version the SDK (1.17.0) sends on every request. */
#define API_VERSION "2026-10-21"

struct api;
struct api_call;

struct api_result {
	long status;		     /* 0 when no response arrived */
	const char *transport_error; /* curl's message when status is 0 */
	const char *body;	     /* NUL-terminated, borrowed */
	size_t body_len;
	struct json_doc *doc;	/* the parsed body when it is JSON, else NULL */
	const char *error_type; /* from the error envelope, or NULL */
	const char *error_message;
	const char *error_code; /* error.details.error_code */
	int fatal;		/* a 4xx other than 408, 409, 429: do not retry */
	long retry_after_ms;	/* the delay the server asked for, or 0 */
};

typedef void (*api_done_cb)(void *userdata, const struct api_result *res);

struct api_request {
	const char *method;
	const char *path;      /* "/v1/...", query included, already escaped */
	const char *token;     /* Bearer credential; never logged */
	const char *beta;      /* anthropic-beta, or NULL */
	const char *worker_id; /* Anthropic-Worker-ID, or NULL */
	const char *helper;    /* x-stainless-helper, or NULL */
	const char *body;      /* JSON, or NULL */
	size_t body_len;
	long timeout_ms;    /* per attempt; default 600 s */
	int max_retries;    /* -1: the SDK's default, 2 */
	const char *accept; /* Accept; NULL: application/json */
	int urgent;	    /* never waits its turn (http.h): a heartbeat */
	/* A 2xx answer's body is not read: it is not parsed, and
	 * api_result.body is left empty. */
	int success_body_unread;
	/* Downloads: a 2xx body goes here chunk by chunk instead of into
	 * api_result.body (which stays empty); called with (NULL, 0) before a
	 * retry starts the body over.  Return negative to abort the transfer,
	 * which is then not retried.  NULL: buffer the body (capped). */
	int (*on_body)(void *userdata, const char *data, size_t n);
};

struct api *api_new(struct loop *loop, const char *base_url);
void api_free(struct api *api);
/* The base URL, without a trailing slash. */
const char *api_base_url(const struct api *api);

/* Start a call; `done` runs once with the final result (after retries),
 * unless the call is cancelled first. */
int api_call(struct api *api, const struct api_request *r, api_done_cb done, void *userdata,
	     struct api_call **ret_call);
/* Accepts NULL; safe from inside `done`. */
void api_call_cancel(struct api_call *call);

/* Percent-encode `s` for a path segment or query value into `out`
 * (RFC 3986 unreserved characters kept). */
int api_escape(struct buf *out, const char *s);
/* Build a path from `fmt`, where each %s is replaced by its argument
 * percent-encoded and %d by an int: api_path(&b, "/v1/sessions/%s", id).
 * -EINVAL when an argument before the query is "", "." or "..": such an id
 * would not stay in its path segment. */
int api_path(struct buf *out, const char *fmt, ...);

/* The SDK's retry delay for attempt `retries_done` (0-based) given the
 * server's headers (either may be NULL), in ms: the server's delay when it
 * asks for one, else 0.5 s doubling up to 8 s, less up to a quarter. */
long api_retry_delay_ms(int retries_done, const char *retry_after_ms, const char *retry_after);
/* The delay the server asks for with retry-after-ms or retry-after (seconds
 * or an HTTP date), in ms, or 0 for none. */
long api_server_delay_ms(const char *retry_after_ms, const char *retry_after);

#endif
