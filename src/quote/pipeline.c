/* dealdesk quote: the pipeline (include/dealdesk/quote.h).
 *
 *   validate -> load -> price -> promote -> credit -> comply -> respond
 *
 * over one read transaction and one quote_run. The quoter points at the
 * run while it goes (host functions and views find it there) and forgets
 * it after, bumping its generation so that no view a script kept can be
 * read again. */
#include "quoter.h"

#include <string.h>

int quote_init_run(quote_run *r, dd_quoter *q, const Dealdesk__V1__QuoteRequest *req,
                    int64_t now, dd_arena *arena, dd_error *err)
{
	memset(r, 0, sizeof(*r));
	r->q = q;
	r->arena = arena;
	r->err = err;
	r->explain = req->explain;
	r->verbose = req->explain || req->n_coupon_codes > 0;
	qo_order *o = &r->order;
	o->req = req;
	o->time = req->request_time ? req->request_time : now;
	o->exponent = dd_currency_exponent(req->currency);
	o->channel = req->channel ? req->channel : "";
	o->region = req->region ? req->region : "";
	o->nrequested = req->n_lines;
	o->caplines = req->n_lines + 1; /* a gift; grows for more (load.c) */
	o->nlines = req->n_lines;
	o->points_multiplier = 1;
	o->lines = dd_arena_alloc(arena, o->caplines * sizeof(*o->lines)); /* load fills them */
	if (o->lines == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	return DD_OK;
}

int quote_run_stages(quote_run *r, Dealdesk__V1__QuoteResponse **out)
{
	int rc;
	if ((rc = quote_load(r)) != DD_OK || (rc = quote_price(r)) != DD_OK ||
	    (rc = quote_promote(r)) != DD_OK || (rc = quote_credit(r)) != DD_OK ||
	    (rc = quote_comply(r)) != DD_OK)
		return rc;
	if ((rc = quote_respond(r, out)) != DD_OK)
		return dd_error_set(r->err, rc, "out of memory building the response");
	return DD_OK;
}

int dd_quote(dd_quoter *q, const Dealdesk__V1__QuoteRequest *req, int64_t now,
             dd_arena *arena, Dealdesk__V1__QuoteResponse **out, dd_error *err)
{
	dd_error_clear(err);
	int rc = quote_validate(q, req, err);
	if (rc != DD_OK)
		return rc;
	quote_run r;
	if ((rc = quote_init_run(&r, q, req, now, arena, err)) != DD_OK)
		return rc;
	int top = lua_gettop(q->L);
	if (dd_rtxn_begin(q->txn) != DD_OK)
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	q->run = &r;
	rc = quote_run_stages(&r, out);
	q->run = NULL;
	q->generation++;
	dd_rtxn_end(q->txn);
	lua_settop(q->L, top);
	if (rc != DD_OK && err && err->code == DD_OK)
		dd_error_set(err, rc, "%s", dd_strerror(rc));
	return rc;
}
