/* dealdesk model: policy kinds, their names and entry functions, and the
 * meta keys of their versions. */
#include "dealdesk/model.h"

#include <string.h>
#include <strings.h>

#include "dealdesk/v1/types.pb-c.h"

_Static_assert((int)DD_POLICY_PRICING == (int)DEALDESK__V1__POLICY_KIND__POLICY_KIND_PRICING &&
               (int)DD_POLICY_PROMOTIONS == (int)DEALDESK__V1__POLICY_KIND__POLICY_KIND_PROMOTIONS &&
               (int)DD_POLICY_CREDIT == (int)DEALDESK__V1__POLICY_KIND__POLICY_KIND_CREDIT &&
               (int)DD_POLICY_COMPLIANCE == (int)DEALDESK__V1__POLICY_KIND__POLICY_KIND_COMPLIANCE,
               "dd_policy_kind must equal dealdesk.v1.PolicyKind");
_Static_assert(DD_POLICY_KIND_COUNT == DD_POLICY_COMPLIANCE + 1,
               "DD_POLICY_KIND_COUNT sizes arrays indexed by kind");

static const char *const kind_names[DD_POLICY_KIND_COUNT] = {
	[DD_POLICY_PRICING] = "pricing",
	[DD_POLICY_PROMOTIONS] = "promotions",
	[DD_POLICY_CREDIT] = "credit",
	[DD_POLICY_COMPLIANCE] = "compliance",
};
static const char *const entry_names[DD_POLICY_KIND_COUNT] = {
	[DD_POLICY_PRICING] = "price",
	[DD_POLICY_PROMOTIONS] = "apply",
	[DD_POLICY_CREDIT] = "decide",
	[DD_POLICY_COMPLIANCE] = "check",
};

static int kind_ok(int kind)
{
	return kind >= DD_POLICY_PRICING && kind < DD_POLICY_KIND_COUNT;
}

const char *dd_policy_entry(dd_policy_kind kind)
{
	return kind_ok(kind) ? entry_names[kind] : NULL;
}

const char *dd_policy_kind_name(dd_policy_kind kind)
{
	return kind_ok(kind) ? kind_names[kind] : NULL;
}

int dd_policy_kind_parse(const char *s)
{
	if (s == NULL)
		return 0;
	if (strncasecmp(s, "POLICY_KIND_", 12) == 0)
		s += 12;
	for (int k = DD_POLICY_PRICING; k < DD_POLICY_KIND_COUNT; k++)
		if (strcasecmp(s, kind_names[k]) == 0 ||
		    (s[0] == '0' + k && s[1] == '\0'))
			return k;
	return 0;
}

/* prefix + the kind digit; kinds are single digits */
static void kind_key(const char *prefix, size_t n, dd_policy_kind kind, char buf[16])
{
	memcpy(buf, prefix, n);
	buf[n] = (char)('0' + (kind_ok(kind) ? kind : 0));
	buf[n + 1] = '\0';
}

void dd_policy_active_key(dd_policy_kind kind, char buf[16])
{
	kind_key(DD_META_ACTIVE_PREFIX, sizeof(DD_META_ACTIVE_PREFIX) - 1, kind, buf);
}

void dd_policy_next_key(dd_policy_kind kind, char buf[16])
{
	kind_key(DD_META_NEXT_PREFIX, sizeof(DD_META_NEXT_PREFIX) - 1, kind, buf);
}
