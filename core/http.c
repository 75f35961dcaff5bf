/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http-header.h"
#include "http.h"
#include "metrics.h"
#include "secret.h"

#define STREAM_BUFFER_SIZE 4096L
/* libcurl's least: over HTTP/2 it sends a POST's body through a buffer of
 * this size, 64 kB unless told, and a result or a heartbeat is a few
 * hundred bytes, with hundreds in progress at once under load. */
#define UPLOAD_BUFFER_SIZE 16384L

struct http_request {
	struct loop *loop;
	enum loop_transfer_kind kind;
	CURL *easy;
	struct curl_slist *headers;
	struct buf body;
	char errbuf[CURL_ERROR_SIZE];
	struct http_header_values hv;
	long status;
	int body_too_large; /* the body passed HTTP_MAX_BODY */
	int streaming;	    /* on_chunk gets the body */
	int in_callback;
	int cancelled;
	int has_turn;			/* counts in turns.running */
	struct http_request *wait_prev; /* in turns' queue, when waiting */
	struct http_request *wait_next;
	int waiting;
	struct loop_timer *add_timer; /* a start deferred to the loop, or a removal */
	http_headers_cb on_headers;
	http_chunk_cb on_chunk;
	http_done_cb on_done;
	void *userdata;
};

/* How deep we are in curl callbacks: libcurl refuses multi calls there. */
static int curl_callback_depth;

/* http_cap_requests(): short requests in progress, and those waiting for
 * their turn, oldest first. */
static struct {
	long cap; /* 0: none */
	long running;
	struct http_request *head, *tail;
} turns;

/* http_set_trust(): NULL keeps curl's built-in CA store. */
static char *trust_ca_file;
static char *trust_ca_dir;

static int
replace_string(char **slot, const char *value)
{
	char *copy = NULL;

	if (value && !(copy = strdup(value)))
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

int
http_set_trust(const char *ca_file, const char *ca_dir)
{
	if (replace_string(&trust_ca_file, ca_file) < 0 ||
	    replace_string(&trust_ca_dir, ca_dir) < 0)
		return -ENOMEM;
	return 0;
}

void
http_cap_requests(long most)
{
	turns.cap = most;
}

static void add_deferred(void *userdata);

static void
wait_for_turn(struct http_request *req)
{
	metrics.requests_waited++;
	metrics.requests_waiting++;
	req->waiting = 1;
	req->wait_prev = turns.tail;
	if (turns.tail)
		turns.tail->wait_next = req;
	else
		turns.head = req;
	turns.tail = req;
}

static void
stop_waiting(struct http_request *req)
{
	if (req->wait_prev)
		req->wait_prev->wait_next = req->wait_next;
	else
		turns.head = req->wait_next;
	if (req->wait_next)
		req->wait_next->wait_prev = req->wait_prev;
	else
		turns.tail = req->wait_prev;
	req->wait_prev = req->wait_next = NULL;
	req->waiting = 0;
	metrics.requests_waiting--;
}

/* Start the waiting requests whose turn has come, from the loop: this
 * may run inside any callback, where curl and the caller expect none. */
static void
pass_turns(void)
{
	while (turns.head && turns.running < turns.cap) {
		struct http_request *next = turns.head;

		if (loop_add_timer(next->loop, 0, add_deferred, next, &next->add_timer) < 0)
			return; /* out of memory: the next request to end tries again */
		stop_waiting(next);
		next->has_turn = 1;
		turns.running++;
	}
}

static void
request_free(struct http_request *req)
{
	if (req->waiting)
		stop_waiting(req);
	if (req->has_turn) {
		turns.running--;
		pass_turns();
	}
	loop_cancel_timer(req->add_timer);
	/* Out of every multi handle by now. */
	loop_easy_give(req->loop, req->kind, req->easy);
	/* Header lines carry credentials, a poll answer carries a work secret. */
	for (struct curl_slist *l = req->headers; l; l = l->next)
		secret_wipe(l->data, strlen(l->data));
	curl_slist_free_all(req->headers);
	if (req->body.data)
		secret_wipe(req->body.data, req->body.len);
	buf_release(&req->body);
	free(req);
}

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_request *req = userdata;
	size_t n = size * nmemb;

	if (http_header_parse(&req->hv, data, n) == HTTP_HEADER_END) {
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
		req->streaming = req->on_chunk && req->status >= 200 && req->status < 300;
		if (req->streaming && req->on_headers) {
			req->in_callback = 1;
			curl_callback_depth++;
			req->on_headers(req->userdata, req->status);
			curl_callback_depth--;
			req->in_callback = 0;
			if (req->cancelled)
				return 0;
		}
	}
	return n;
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_request *req = userdata;
	size_t n = size * nmemb;
	int r;

	if (req->cancelled)
		return CURL_WRITEFUNC_ERROR;
	if (!req->streaming) {
		if (buf_append(&req->body, data, n) == 0)
			return n;
		req->body_too_large = 1;
		return CURL_WRITEFUNC_ERROR;
	}
	req->in_callback = 1;
	curl_callback_depth++;
	r = req->on_chunk(req->userdata, data, n);
	curl_callback_depth--;
	req->in_callback = 0;
	if (r < 0 || req->cancelled)
		return CURL_WRITEFUNC_ERROR;
	return n;
}

static void
add_deferred(void *userdata)
{
	struct http_request *req = userdata;
	struct http_response resp;

	req->add_timer = NULL;
	if (curl_multi_add_handle(loop_multi(req->loop, req->kind), req->easy) == CURLM_OK)
		return;
	memset(&resp, 0, sizeof(resp));
	resp.curl_code = CURLE_OUT_OF_MEMORY;
	resp.error = "cannot start the transfer";
	resp.body = &req->body;
	req->in_callback = 1;
	req->on_done(req->userdata, &resp);
	request_free(req);
}

static void
remove_deferred(void *userdata)
{
	struct http_request *req = userdata;

	req->add_timer = NULL;
	curl_multi_remove_handle(loop_multi(req->loop, req->kind), req->easy);
	request_free(req);
}

int
http_request_start(struct loop *loop, const struct http_options *o, struct http_request **ret)
{
	struct http_request *req;
	CURL *e;

	/* A CR or LF in a value would start a header of the server's choosing. */
	for (const char *const *h = o->headers; h && *h; h++)
		if (!http_header_value_valid(*h))
			return -EINVAL;
	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	buf_init(&req->body, HTTP_MAX_BODY);
	req->loop = loop;
	req->kind = o->long_lived ? LOOP_TRANSFER_STREAMS : LOOP_TRANSFER_REQUESTS;
	req->on_headers = o->on_headers;
	req->on_chunk = o->on_chunk;
	req->on_done = o->on_done;
	req->userdata = o->userdata;
	e = req->easy = loop_easy_take(loop, req->kind);
	if (!e)
		goto fail;
	for (const char *const *h = o->headers; h && *h; h++) {
		struct curl_slist *l = curl_slist_append(req->headers, *h);

		if (!l)
			goto fail;
		req->headers = l;
	}
	/* No "Expect: 100-continue" round trip on POSTs. */
	req->headers = curl_slist_append(req->headers, "Expect:");
	if (!req->headers)
		goto fail;

	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000L);
	/* A stream is held for its session's life and mostly idle: a receive
	 * buffer of 4 kB instead of curl's 16 kB is 12 kB less a session. */
	if (o->long_lived)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, STREAM_BUFFER_SIZE);
	if (trust_ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, trust_ca_file);
		curl_easy_setopt(e, CURLOPT_PROXY_CAINFO, trust_ca_file);
	}
	if (trust_ca_dir) {
		curl_easy_setopt(e, CURLOPT_CAPATH, trust_ca_dir);
		curl_easy_setopt(e, CURLOPT_PROXY_CAPATH, trust_ca_dir);
	}
	/* Over HTTPS the API may speak HTTP/2: a transfer started while a
	 * connection is still being set up waits to share it rather than open
	 * its own, so a burst of claims does not open a connection a stream. */
	if (strncmp(o->url, "https:", 6) == 0)
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
	if (o->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	if (strcmp(o->method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER_SIZE);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(o->body ? o->body_len : 0));
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, o->body ? o->body : "");
	} else if (strcmp(o->method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->method);
	}
	if (!o->long_lived && !o->urgent && turns.cap > 0) {
		if (turns.running >= turns.cap) {
			wait_for_turn(req);
			goto started;
		}
		req->has_turn = 1;
		turns.running++;
	}
	if (curl_callback_depth > 0) {
		if (loop_add_timer(loop, 0, add_deferred, req, &req->add_timer) < 0)
			goto fail;
	} else if (curl_multi_add_handle(loop_multi(loop, req->kind), e) != CURLM_OK) {
		goto fail;
	}
started:
	if (ret)
		*ret = req;
	return 0;
fail:
	request_free(req);
	return -ENOMEM;
}

void
http_request_cancel(struct http_request *req)
{
	if (!req)
		return;
	if (req->waiting) {
		request_free(req);
		return;
	}
	if (req->in_callback) {
		/* curl is on the stack: let the transfer fail, free it then. */
		req->cancelled = 1;
		return;
	}
	if (curl_callback_depth > 0 && !req->add_timer) {
		/* Inside another transfer's callback: remove it from the loop. */
		req->cancelled = 1;
		if (loop_add_timer(req->loop, 0, remove_deferred, req, &req->add_timer) == 0)
			return;
	}
	if (!req->add_timer)
		curl_multi_remove_handle(loop_multi(req->loop, req->kind), req->easy);
	request_free(req);
}

void
http_curl_done(CURL *easy, CURLcode result)
{
	struct http_request *req = NULL;
	struct http_response resp;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&req);
	if (!req)
		return;
	if (!req->cancelled) {
		memset(&resp, 0, sizeof(resp));
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp.status);
		resp.curl_code = result;
		resp.error = result == CURLE_OK ? NULL
			     : req->errbuf[0]	? req->errbuf
						: curl_easy_strerror(result);
		resp.body = &req->body;
		resp.body_too_large = req->body_too_large;
		resp.retry_after = req->hv.retry_after[0] ? req->hv.retry_after : NULL;
		resp.retry_after_ms = req->hv.retry_after_ms[0] ? req->hv.retry_after_ms : NULL;
		resp.should_retry = req->hv.should_retry[0] ? req->hv.should_retry : NULL;
		resp.content_type = req->hv.content_type[0] ? req->hv.content_type : NULL;
		/* The callback may cancel this very request: that is a no-op now. */
		req->in_callback = 1;
		req->on_done(req->userdata, &resp);
	}
	request_free(req);
}
