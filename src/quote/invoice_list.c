/* dealdesk orders: listing invoices (OrderService/ListInvoices), for the
 * receivables export. One read transaction, a scan of the invoices table
 * in key (invoice id) order from the page token. */
#include <string.h>

#include "dealdesk/order.h"

typedef struct invoice_scan {
	const Dealdesk__V1__ListInvoicesRequest *req;
	const char *after;
	dd_arena *a;
	Dealdesk__V1__Invoice **items;
	size_t n, max;
	char *next;
} invoice_scan;

static int invoice_one(void *ud, dd_val key, dd_val val)
{
	invoice_scan *s = ud;
	if (s->after && key.len == strlen(s->after) && memcmp(key.data, s->after, key.len) == 0)
		return 0;
	/* judged on a malloc'd copy: only the invoices returned go to the arena */
	Dealdesk__V1__Invoice *v = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__invoice__descriptor, NULL, val.len, val.data);
	if (v == NULL)
		return DD_ESTORE;
	const Dealdesk__V1__ListInvoicesRequest *q = s->req;
	int skip = (*q->customer_id && strcmp(q->customer_id, v->customer_id) != 0) ||
	           (q->open_only && v->open_amount <= 0) ||
	           (q->receivables_only && v->order_id[0] != '\0');
	protobuf_c_message_free_unpacked(&v->base, NULL);
	if (skip)
		return 0;
	if (s->n == s->max) {
		s->next = dd_arena_strdup(s->a, s->items[s->n - 1]->invoice_id);
		return s->next ? 1 : DD_ENOMEM;
	}
	v = (void *)protobuf_c_message_unpack(&dealdesk__v1__invoice__descriptor, &s->a->pb,
	                                      val.len, val.data);
	if (v == NULL)
		return DD_ENOMEM;
	s->items[s->n++] = v;
	return 0;
}

int dd_invoice_list(dd_store *store, const Dealdesk__V1__ListInvoicesRequest *req,
                    dd_arena *arena, Dealdesk__V1__ListInvoicesResponse **out, dd_error *err)
{
	if (*req->customer_id) {
		int rc = dd_check_string(req->customer_id, DD_MAX_ID, 0, "customer_id", err);
		if (rc != DD_OK)
			return rc;
	}
	size_t max = req->page && req->page->page_size ? req->page->page_size
	                                                : DD_PAGE_SIZE_DEFAULT;
	if (max > DD_PAGE_SIZE_MAX)
		max = DD_PAGE_SIZE_MAX;
	const char *token = req->page && *req->page->page_token ? req->page->page_token : NULL;
	invoice_scan s = { .req = req, .after = token, .a = arena, .max = max };
	s.items = dd_arena_calloc(arena, max + 1, sizeof(*s.items));
	Dealdesk__V1__ListInvoicesResponse *r = dd_arena_alloc(arena, sizeof(*r));
	if (s.items == NULL || r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dd_rtxn *t = NULL;
	if (dd_rtxn_new(store, &t) != DD_OK || dd_rtxn_begin(t) != DD_OK) {
		dd_rtxn_free(t);
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	}
	int rc = dd_rtxn_scan(t, DD_T_INVOICES, (dd_val){ NULL, 0 },
	                      (dd_val){ token, token ? strlen(token) : 0 }, invoice_one, &s);
	dd_rtxn_end(t);
	dd_rtxn_free(t);
	if (rc == DD_ENOMEM)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	if (rc < 0)
		return dd_error_set(err, DD_ESTORE, "store: cannot list invoices");
	dealdesk__v1__list_invoices_response__init(r);
	r->invoices = s.items;
	r->n_invoices = s.n;
	r->next_page_token = s.next ? s.next : "";
	*out = r;
	return DD_OK;
}
