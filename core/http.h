/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous HTTP requests on the loop's curl multi handle.  One request,
 * one completion callback; streaming requests (SSE) also get each chunk of
 * a 2xx body as it arrives.  Bodies are capped.  This module does not log:
 * it never sees what a header means, so it cannot leak one.
 */
#ifndef ER_HTTP_H
#define ER_HTTP_H

#include <stddef.h>

#include <curl/curl.h>

#include "buf.h"
#include "loop.h"

#define HTTP_MAX_BODY (8u << 20)

struct http_response {
	long status;		 /* 0 when no response arrived */
	CURLcode curl_code;	 /* CURLE_OK unless the transfer failed */
	const char *error;	 /* curl's message when curl_code != CURLE_OK */
	const struct buf *body;	 /* the body, unless it was streamed */
	int body_too_large;	 /* it passed HTTP_MAX_BODY: the transfer was cut */
	const char *retry_after; /* header values, or NULL */
	const char *retry_after_ms;
	const char *should_retry; /* x-should-retry */
	const char *content_type;
};

/* The transfer ended (successfully or not).  The response is borrowed. */
typedef void (*http_done_cb)(void *userdata, const struct http_response *resp);
/* Headers of a streamed 2xx response arrived. */
typedef void (*http_headers_cb)(void *userdata, long status);
/* A chunk of a streamed 2xx body.  Return 0 to go on, negative to abort the
 * transfer (on_done then reports CURLE_WRITE_ERROR). */
typedef int (*http_chunk_cb)(void *userdata, const char *data, size_t n);

struct http_options {
	const char *method; /* "GET", "POST", "DELETE" */
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value" lines, copied */
	const char *body;	    /* copied; NULL for none */
	size_t body_len;
	long timeout_ms;	    /* whole transfer; 0 for none (streams) */
	long connect_timeout_ms;    /* default 10 s */
	http_headers_cb on_headers; /* streams only, may be NULL */
	http_chunk_cb on_chunk;	    /* set for a stream */
	http_done_cb on_done;
	/* Open for as long as a session (an event stream): on connections of
	 * its own, apart from the short requests' (loop.h). */
	int long_lived;
	/* Never waits its turn under http_cap_requests(): a lease's
	 * heartbeat, which a backlog of results must not hold up. */
	int urgent;
	void *userdata;
};

struct http_request;

/* -EINVAL when a header line holds a control character. */
/*
 * The CAs every later request trusts, for the server and an https:// proxy:
 * a PEM bundle file and colon-separated hashed directories, either NULL for
 * curl's built-in store.  Set once at start, before any request; copied.
 * Proxies come from the environment as curl reads it (https_proxy,
 * HTTPS_PROXY, http_proxy, no_proxy, NO_PROXY).
 */
int http_set_trust(const char *ca_file, const char *ca_dir);

/*
 * At most `most` short requests (not long-lived, not urgent) in progress
 * at once, 0 for no cap; the others wait their turn in order, and a
 * request's timeout starts with its turn.  Over HTTP/1.1 each request in
 * progress holds a connection: without a cap, an API slow to answer
 * would have the runner open one for every request waiting on it, until
 * no descriptor is left.  Set once at start, before any request.
 */
void http_cap_requests(long most);

int http_request_start(struct loop *loop, const struct http_options *o, struct http_request **ret);
/* Abort; on_done is not called.  Safe from inside this request's own
 * callbacks.  Accepts NULL. */
void http_request_cancel(struct http_request *req);

/* The loop's completion hook (loop_new's curl_done). */
void http_curl_done(CURL *easy, CURLcode result);

#endif
