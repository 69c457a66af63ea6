/* dealdeskd handlers: dealdesk.v1.ComplianceService and the compliance
 * checks run when a promotion or a price is written (README "Price history
 * and price claims"). */
#include "handlers.h"

#include "dealdesk/compliance.h"

int dd_compliance_get_price_history(dd_call *call)
{
	dd_error err;
	dd_error_clear(&err);
	Dealdesk__V1__PriceHistoryResponse *r = NULL;
	int rc = dd_compliance_price_history(dd_call_quoter(call), (const void *)dd_call_request(call),
	                                     dd_handler_now(), dd_call_arena(call), &r, &err);
	return dd_handler_finish(call, rc, rc == DD_OK ? &r->base : NULL, &err);
}

int dd_compliance_screen_write(dd_call *call, dd_entity_kind kind, ProtobufCMessage *const *items,
                               size_t n, char ***warnings, size_t *nwarnings, dd_error *err)
{
	if (kind != DD_ENTITY_PROMOTION && kind != DD_ENTITY_PRICE) {
		*warnings = NULL;
		*nwarnings = 0;
		return DD_OK;
	}
	return dd_compliance_screen(dd_call_quoter(call), kind, items, n, dd_handler_now(),
	                            dd_call_arena(call), warnings, nwarnings, err);
}
