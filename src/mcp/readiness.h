/*
 * A worker's GET /readyz: ready when the API child's own /readyz (its
 * schema applied and its database answering) said so within the last few
 * seconds and the worker's circuit breaker is closed.  The worker asks the
 * API child every second in the background, so the verdict is never older
 * than that, whoever asks and however rarely.  While the breaker is open
 * and its cool-down is over, that question is the breaker's probe, so the
 * breaker closes again without waiting for a tool call.
 */
#ifndef TRESTLE_READINESS_H
#define TRESTLE_READINESS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>

struct api_client;
struct breaker;
struct readiness;

struct readiness *readiness_start(struct event_base *, struct api_client *, struct breaker *);
void	readiness_free(struct readiness *);
/* 1 when ready at now_us; else 0, with the reason in why. */
int	readiness_check(const struct readiness *, int64_t now_us, char *why, size_t cap);
/* Answer GET /readyz: 200 "ready", or 503 "not ready: <reason>" with Retry-After. */
void	readiness_serve(const struct readiness *, struct evhttp_request *);

#endif
