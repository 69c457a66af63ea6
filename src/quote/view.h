/* dealdesk quote: the view classes of view_live.c that view.c hands out
 * (private to src/quote). */
#ifndef DD_QUOTE_VIEW_H
#define DD_QUOTE_VIEW_H

#include "policy/host.h"

extern const dd_sandbox_view_class quote_view_signals, quote_view_strset, quote_view_strlist,
	quote_view_attributes, quote_view_coupon_info, quote_view_usage,
	quote_view_checks;

#endif
