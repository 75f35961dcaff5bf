/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "http.h"
#include "rand.h"
#include "secret.h"

#define API_DEFAULT_TIMEOUT_MS 600000L
#define API_DEFAULT_RETRIES 2
#define API_MAX_HEADERS 12

struct api {
	struct loop *loop;
	char *base_url; /* without a trailing slash */
};

struct api_call {
	struct api *api;
	char *url;
	char *body;
	size_t body_len;
	char *method;
	char *headers[API_MAX_HEADERS + 1]; /* NULL-terminated */
	long timeout_ms;
	int urgent;
	int success_body_unread;
	int max_retries;
	int retries_done;
	struct http_request *http;
	struct loop_timer *retry_timer;
	api_done_cb done;
	int (*on_body)(void *userdata, const char *data, size_t n);
	int body_refused; /* on_body aborted the transfer: no retry */
	void *userdata;
	int in_done;
	int cancelled;
};

struct api *
api_new(struct loop *loop, const char *base_url)
{
	struct api *api = calloc(1, sizeof(*api));
	size_t n;

	if (!api)
		return NULL;
	api->loop = loop;
	api->base_url = strdup(base_url);
	if (!api->base_url) {
		free(api);
		return NULL;
	}
	n = strlen(api->base_url);
	while (n > 0 && api->base_url[n - 1] == '/')
		api->base_url[--n] = '\0';
	return api;
}

const char *
api_base_url(const struct api *api)
{
	return api->base_url;
}

void
api_free(struct api *api)
{
	if (!api)
		return;
	free(api->base_url);
	free(api);
}

int
api_escape(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int r;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			r = buf_putc(out, (char)c);
		} else {
			char enc[3] = { '%', hex[c >> 4], hex[c & 15] };

			r = buf_append(out, enc, 3);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* "", "." and ".." would not stay one path segment: libcurl and servers
 * remove dot segments, and an empty one names the collection. */
static int
is_path_segment(const char *s)
{
	return *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int
api_path(struct buf *out, const char *fmt, ...)
{
	va_list ap;
	int r = 0;

	va_start(ap, fmt);
	for (const char *f = fmt; *f && r == 0; f++) {
		if (f[0] == '%' && f[1] == 's') {
			const char *arg = va_arg(ap, const char *);
			int in_query = out->data && memchr(out->data, '?', out->len);

			r = in_query || is_path_segment(arg) ? api_escape(out, arg) : -EINVAL;
			f++;
		} else if (f[0] == '%' && f[1] == 'd') {
			r = buf_printf(out, "%d", va_arg(ap, int));
			f++;
		} else {
			r = buf_putc(out, *f);
		}
	}
	va_end(ap);
	return r;
}

/* The whole header as a number into *v: 1, or 0 when it is missing or is
 * not one. */
static int
parse_number(const char *s, double *v)
{
	char *end;

	if (!s || !*s)
		return 0;
	*v = strtod(s, &end);
	while (*end == ' ')
		end++;
	return !*end && *v == *v;
}

long
api_server_delay_ms(const char *retry_after_ms, const char *retry_after)
{
	double ms = 0;

	/* As the SDK: retry-after-ms unless it is missing, not a number or 0;
	 * then retry-after, in seconds or as an HTTP date. */
	if (!parse_number(retry_after_ms, &ms) || ms == 0) {
		double sec;

		ms = 0;
		if (parse_number(retry_after, &sec)) {
			ms = sec * 1000.0;
		} else if (retry_after) {
			struct tm tm;
			const char *end;

			memset(&tm, 0, sizeof(tm));
			end = strptime(retry_after, "%a, %d %b %Y %H:%M:%S GMT", &tm);
			if (end && !*end)
				ms = difftime(timegm(&tm), time(NULL)) * 1000.0;
		}
	}
	/* What one timer can hold; a fraction of a millisecond waits one. */
	if (!(ms > 0 && ms <= 2147483647.0))
		return 0;
	return (long)ms < ms ? (long)ms + 1 : (long)ms;
}

long
api_retry_delay_ms(int retries_done, const char *retry_after_ms, const char *retry_after)
{
	long ms = api_server_delay_ms(retry_after_ms, retry_after);
	double base;

	if (ms > 0)
		return ms;
	base = 500.0 * (double)(1u << (retries_done < 4 ? retries_done : 4));
	if (base > 8000.0)
		base = 8000.0;
	return (long)(base * (1.0 - rand_unit() * 0.25));
}

static int
should_retry(const struct http_response *resp)
{
	/* A transfer cut after its status line is a connection error (the
	 * SDK's too), unless it was cut for carrying more than we accept. */
	if (resp->curl_code != CURLE_OK && resp->status != 0)
		return !resp->body_too_large;
	if (resp->should_retry) {
		if (strcasecmp(resp->should_retry, "true") == 0)
			return 1;
		if (strcasecmp(resp->should_retry, "false") == 0)
			return 0;
	}
	if (resp->status == 0)
		return 1;
	return resp->status == 408 || resp->status == 409 || resp->status == 429 ||
	       resp->status >= 500;
}

static void call_free(struct api_call *call);
static int call_attempt(struct api_call *call);

static void
retry_fired(void *userdata)
{
	struct api_call *call = userdata;

	call->retry_timer = NULL;
	if (call_attempt(call) < 0) {
		struct api_result res = { .transport_error = "out of memory" };

		call->in_done = 1;
		call->done(call->userdata, &res);
		call_free(call);
	}
}

static void
finish(struct api_call *call, const struct http_response *resp)
{
	struct api_result res;
	struct json_doc *doc = NULL;

	memset(&res, 0, sizeof(res));
	res.status = resp->status;
	res.body = resp->body->data ? resp->body->data : "";
	res.body_len = resp->body->len;
	if (resp->status == 0)
		res.transport_error = resp->error ? resp->error : "no response";
	if (call->success_body_unread && resp->curl_code == CURLE_OK && resp->status >= 200 &&
	    resp->status < 300) {
		res.body = "";
		res.body_len = 0;
	}
	if (res.body_len > 0 && json_parse(res.body, res.body_len, &doc, NULL, 0) == 0) {
		res.doc = doc;
		if (json_kind(doc, 0) == JSON_OBJECT) {
			int err = json_get(doc, 0, "error");

			if (json_kind(doc, err) == JSON_OBJECT) {
				res.error_type = json_get_str(doc, err, "type");
				res.error_message = json_get_str(doc, err, "message");
				res.error_code = json_get_str(doc, json_get(doc, err, "details"),
							      "error_code");
			}
		}
	}
	/* A transfer cut off mid-body is not a usable answer. */
	if (resp->curl_code != CURLE_OK && resp->status != 0) {
		res.transport_error =
			resp->body_too_large ? "the answer is larger than 8 MiB" : resp->error;
		res.status = 0;
	}
	res.retry_after_ms = api_server_delay_ms(resp->retry_after_ms, resp->retry_after);
	res.fatal = res.status >= 400 && res.status < 500 && res.status != 408 &&
		    res.status != 409 && res.status != 429;
	call->in_done = 1;
	call->done(call->userdata, &res);
	json_free(doc);
}

static void
http_done(void *userdata, const struct http_response *resp)
{
	struct api_call *call = userdata;
	int ok = resp->curl_code == CURLE_OK && resp->status >= 200 && resp->status < 300;

	call->http = NULL;
	if (!ok && !call->body_refused && call->retries_done < call->max_retries &&
	    should_retry(resp)) {
		long delay = api_retry_delay_ms(call->retries_done, resp->retry_after_ms,
						resp->retry_after);

		call->retries_done++;
		if (call->on_body && call->on_body(call->userdata, NULL, 0) < 0)
			goto out;
		if (loop_add_timer(call->api->loop, (uint64_t)delay, retry_fired, call,
				   &call->retry_timer) == 0)
			return;
	}
out:
	finish(call, resp);
	call_free(call);
}

static int
body_chunk(void *userdata, const char *data, size_t n)
{
	struct api_call *call = userdata;

	if (call->on_body(call->userdata, data, n) < 0) {
		call->body_refused = 1;
		return -1;
	}
	return 0;
}

static int
call_attempt(struct api_call *call)
{
	struct http_options o;

	memset(&o, 0, sizeof(o));
	o.method = call->method;
	o.url = call->url;
	o.headers = (const char *const *)call->headers;
	o.body = call->body;
	o.body_len = call->body_len;
	o.timeout_ms = call->timeout_ms;
	o.urgent = call->urgent;
	if (call->on_body)
		o.on_chunk = body_chunk;
	o.on_done = http_done;
	o.userdata = call;
	return http_request_start(call->api->loop, &o, &call->http);
}

static void
call_free(struct api_call *call)
{
	free(call->url);
	free(call->method);
	free(call->body);
	for (int i = 0; i < API_MAX_HEADERS; i++)
		secret_free(call->headers[i]); /* one is "Authorization: Bearer ..." */
	free(call);
}

static int
add_header(struct api_call *call, int *n, const char *name, const char *value)
{
	struct buf b = BUF_INIT(16384);

	if (!value)
		return 0;
	if (*n >= API_MAX_HEADERS || buf_printf(&b, "%s: %s", name, value) < 0) {
		buf_release(&b);
		return -ENOMEM;
	}
	call->headers[(*n)++] = buf_steal(&b);
	return call->headers[*n - 1] ? 0 : -ENOMEM;
}

int
api_call(struct api *api, const struct api_request *r, api_done_cb done, void *userdata,
	 struct api_call **ret_call)
{
	struct api_call *call;
	struct buf url = BUF_INIT(16384);
	struct buf auth = BUF_INIT(16384);
	int n = 0;
	int err = -ENOMEM;

	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->api = api;
	call->done = done;
	call->on_body = r->on_body;
	call->userdata = userdata;
	call->timeout_ms = r->timeout_ms > 0 ? r->timeout_ms : API_DEFAULT_TIMEOUT_MS;
	call->urgent = r->urgent;
	call->success_body_unread = r->success_body_unread;
	call->max_retries = r->max_retries >= 0 ? r->max_retries : API_DEFAULT_RETRIES;
	if (buf_printf(&url, "%s%s", api->base_url, r->path) < 0)
		goto fail;
	call->url = buf_steal(&url);
	if (r->body) {
		call->body = malloc(r->body_len + 1);
		if (!call->body)
			goto fail;
		memcpy(call->body, r->body, r->body_len);
		call->body[r->body_len] = '\0';
		call->body_len = r->body_len;
	}
	if (r->token && buf_printf(&auth, "Bearer %s", r->token) < 0)
		goto fail;
	if (add_header(call, &n, "Accept", r->accept ? r->accept : "application/json") < 0 ||
	    add_header(call, &n, "User-Agent", "environment-runner/" PACKAGE_VERSION) < 0 ||
	    add_header(call, &n, "anthropic-version", API_VERSION) < 0 ||
	    add_header(call, &n, "Authorization", auth.data) < 0 ||
	    add_header(call, &n, "anthropic-beta", r->beta) < 0 ||
	    add_header(call, &n, "Anthropic-Worker-ID", r->worker_id) < 0 ||
	    add_header(call, &n, "x-stainless-helper", r->helper) < 0 ||
	    add_header(call, &n, "Content-Type", r->body ? "application/json" : NULL) < 0)
		goto fail;
	call->method = strdup(r->method ? r->method : r->body ? "POST" : "GET");
	if (!call->method)
		goto fail;
	secret_wipe(auth.data, auth.len);
	buf_release(&auth);
	err = call_attempt(call);
	if (err < 0)
		goto fail_call;
	if (ret_call)
		*ret_call = call;
	return 0;
fail:
	buf_release(&url);
	secret_wipe(auth.data, auth.len);
	buf_release(&auth);
fail_call:
	call_free(call);
	return err;
}

void
api_call_cancel(struct api_call *call)
{
	if (!call || call->in_done)
		return;
	http_request_cancel(call->http);
	loop_cancel_timer(call->retry_timer);
	call_free(call);
}
