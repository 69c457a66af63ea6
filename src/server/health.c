/* dealdeskd: grpc.health.v1.Health. Check answers the status at once;
 * Watch (server streaming) sends the status now, then each change: the one
 * change there is, NOT_SERVING when the server starts draining, after
 * which the stream ends so that the drain is not held up. An unknown
 * service is SERVICE_UNKNOWN on Watch (the protocol's rule) and NOT_FOUND
 * on Check. */
#include "health.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/log.h"
#include "grpc/health/v1/health.pb-c.h"
#include "transport.h"

#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define SERVICE_UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

typedef struct watcher {
	struct watcher *next, *prev;
	dd_call *call;
	int known;
} watcher;

struct dd_health {
	pthread_mutex_t lock;
	int draining;
	watcher *watchers;
};

int dd_health_new(dd_health **out)
{
	dd_health *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return DD_ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	return DD_OK;
}

void dd_health_free(dd_health *h)
{
	if (h == NULL)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int dd_health_known_service(const char *service)
{
	if (service[0] == '\0')
		return 1;
	size_t n = strlen(service);
	for (int i = 0; dd_methods[i].path; i++) {
		const char *p = dd_methods[i].path + 1; /* "/svc/Method" */
		if (strncmp(p, service, n) == 0 && p[n] == '/')
			return 1;
	}
	return 0;
}

static dd_health *health_of(dd_call *call)
{
	return call->w->server->health;
}

static Grpc__Health__V1__HealthCheckResponse__ServingStatus status_of(dd_health *h, int known)
{
	if (!known)
		return SERVICE_UNKNOWN;
	pthread_mutex_lock(&h->lock);
	int draining = h->draining;
	pthread_mutex_unlock(&h->lock);
	return draining ? NOT_SERVING : SERVING;
}

int dd_health_check(dd_call *call)
{
	const Grpc__Health__V1__HealthCheckRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	if (!dd_health_known_service(q->service)) {
		dd_error_set(&err, DD_ENOTFOUND, "service: unknown service '%s'", q->service);
		return dd_call_finish(call, DD_ENOTFOUND, NULL, &err);
	}
	Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	r.status = status_of(health_of(call), 1);
	return dd_call_finish(call, DD_OK, &r.base, NULL);
}

static void send_status(dd_call *call, Grpc__Health__V1__HealthCheckResponse__ServingStatus st)
{
	Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	r.status = st;
	dd_call_send(call, &r.base);
}

/* The client went away: the watch is forgotten (on the call's worker).
 * wt lives in the call's arena. */
static void watch_cancelled(dd_call *call, void *ud)
{
	dd_health *h = health_of(call);
	watcher *wt = ud;
	pthread_mutex_lock(&h->lock);
	if (wt->call != NULL) {
		if (wt->prev)
			wt->prev->next = wt->next;
		else
			h->watchers = wt->next;
		if (wt->next)
			wt->next->prev = wt->prev;
		wt->call = NULL;
	}
	pthread_mutex_unlock(&h->lock);
}

int dd_health_watch(dd_call *call)
{
	const Grpc__Health__V1__HealthCheckRequest *q = (const void *)dd_call_request(call);
	dd_health *h = health_of(call);
	int known = dd_health_known_service(q->service);
	watcher *wt = dd_arena_calloc(dd_call_arena(call), 1, sizeof(*wt));
	if (wt == NULL) {
		dd_error err;
		dd_error_set(&err, DD_ENOMEM, "out of memory");
		return dd_call_finish(call, DD_ENOMEM, NULL, &err);
	}
	wt->call = call;
	wt->known = known;
	pthread_mutex_lock(&h->lock);
	send_status(call, !known ? SERVICE_UNKNOWN : h->draining ? NOT_SERVING : SERVING);
	if (h->draining) {
		pthread_mutex_unlock(&h->lock);
		return dd_call_finish(call, DD_OK, NULL, NULL);
	}
	wt->next = h->watchers;
	if (h->watchers)
		h->watchers->prev = wt;
	h->watchers = wt;
	dd_call_on_cancel(call, watch_cancelled, wt);
	pthread_mutex_unlock(&h->lock);
	return DD_CALL_PENDING;
}

void dd_health_shutdown(dd_health *h)
{
	pthread_mutex_lock(&h->lock);
	h->draining = 1;
	while (h->watchers) {
		watcher *wt = h->watchers;
		h->watchers = wt->next;
		dd_call *call = wt->call;
		wt->call = NULL;
		/* The call is alive while the lock is held: if its client has
		 * gone, its worker waits in watch_cancelled for the lock before
		 * it may free it. */
		if (wt->known)
			send_status(call, NOT_SERVING);
		dd_call_finish(call, DD_OK, NULL, NULL);
	}
	pthread_mutex_unlock(&h->lock);
}
