/* dealdeskd: grpc.health.v1 (Check and Watch) and the server's serving
 * status. Private to src/server. */
#ifndef DD_SERVER_HEALTH_H
#define DD_SERVER_HEALTH_H

#include "call.h"

typedef struct dd_health dd_health;

int dd_health_new(dd_health **out);
/* Every Watch must have ended (dd_health_shutdown) before. */
void dd_health_free(dd_health *h);
/* Draining: the status becomes NOT_SERVING, every Watch stream is sent it
 * and ended (status OK), and later Watch calls get NOT_SERVING at once. */
void dd_health_shutdown(dd_health *h);

/* 1 when service is "" or a service of the method table. */
int dd_health_known_service(const char *service);

/* The handlers of /grpc.health.v1.Health/Check and /Watch. */
int dd_health_check(dd_call *call);
int dd_health_watch(dd_call *call);

#endif
