/*
 * A worker's GET /readyz: ready when the API child's own /readyz (its
 * schema applied and its database answering) said so within the last
 * second and the worker's circuit breaker is closed.  The question is asked
 * when /readyz is asked and the last answer is older than a second: the
 * request waits for the answer (at most 1.5 s), so the verdict is never a
 * stale one, and an idle worker costs the database nothing.  While the
 * breaker is open, the worker also asks on its own four times a second, and
 * a "ready" closes the breaker at once: calls resume as soon as the API
 * child is back, not only after the cool-down.
 */
#ifndef TRESTLE_READINESS_H
#define TRESTLE_READINESS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>

struct http_link;
struct breaker;
struct readiness;

struct readiness *readiness_start(struct event_base *, struct http_link *, struct breaker *);
/* Waiting /readyz requests are answered 503 (call it while the HTTP side still runs). */
void	readiness_free(struct readiness *);
/* 1 when ready at now_us; else 0, with the reason in why. */
int	readiness_check(const struct readiness *, int64_t now_us, char *why, size_t cap);
/* Answer GET /readyz, now or once the API child answered: 200 "ready", or 503 "not ready: <why>". */
void	readiness_serve(struct readiness *, struct evhttp_request *);

#endif
