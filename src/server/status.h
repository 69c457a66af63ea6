/* dealdeskd: the ServerAdmin handlers. Private to src/server. */
#ifndef DD_SERVER_STATUS_H
#define DD_SERVER_STATUS_H

#include "call.h"

/* /dealdesk.v1.ServerAdmin/GetStatus */
int dd_status_get(dd_call *call);

#endif
