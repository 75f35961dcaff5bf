/* SPDX-License-Identifier: MIT */
/*
 * The work poller, as the SDK's WorkPoller (docs/protocol.md §2): long-poll the
 * environment's queue with block_ms and Anthropic-Worker-ID, ack what comes
 * (with the environment key), and hand it over.  Fatal 4xx stop it; other
 * errors back off exponentially (1 s doubling to 60 s, jittered).  It polls
 * only while the runner has room for another session.  After an empty
 * answer it polls again at once, so one long poll is always in flight (a
 * session is claimed within a poll round trip, not after a pause), but at
 * most once a second: 60 polls a minute whatever the capacity.  (The SDK
 * sleeps 1-3 s after an empty poll instead.)
 */
#ifndef ER_POLLER_H
#define ER_POLLER_H

#include "api.h"
#include "json.h"
#include "loop.h"

struct poller_callbacks {
	/* Room for one more session? */
	int (*has_capacity)(void *userdata);
	/* An acked item (the poll response). */
	void (*claimed)(void *userdata, const struct json_doc *work);
	/* Polling cannot go on: a 4xx other than 408, 409, 429. */
	void (*fatal)(void *userdata, long status, const char *message);
};

struct poller_options {
	const char *environment_id;
	const char *environment_key; /* never logged */
	const char *worker_id;
	int block_ms;
};

struct poller;

struct poller *poller_start(struct loop *loop, struct api *api, const struct poller_options *o,
			    const struct poller_callbacks *cb, void *userdata);
/* Capacity was freed: poll now if waiting for it. */
void poller_kick(struct poller *p);
/* Use this key from the next request on (SIGHUP); copied. */
int poller_set_key(struct poller *p, const char *environment_key);
/* Stop polling (drain); an item acked meanwhile is still handed over. */
void poller_stop(struct poller *p);
void poller_free(struct poller *p);

#endif
