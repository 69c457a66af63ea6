/* dealdesk quote: a quote on pinned policy versions (replay, impact;
 * include/dealdesk/quote.h). The quoter loads a policy when the version it
 * wants differs from the one compiled, and looks again only when the data
 * version moved (load.c): forgetting that it is current before and after
 * makes it load the pinned versions now and the active ones next time. */
#include "quoter.h"

#include <string.h>

int dd_quote_pinned(dd_quoter *q, const uint64_t pin[DD_POLICY_KIND_COUNT],
                    const Dealdesk__V1__QuoteRequest *req, int64_t now, dd_arena *arena,
                    Dealdesk__V1__QuoteResponse **out, dd_error *err)
{
	memcpy(q->pin, pin, sizeof(q->pin));
	q->current = 0;
	int rc = dd_quote(q, req, now, arena, out, err);
	memset(q->pin, 0, sizeof(q->pin));
	q->current = 0;
	return rc;
}
