/* dealdesk model: what the records are, below everything that stores,
 * quotes or sends them.
 *
 * Limits, the store's tables and meta keys, entity kinds and the validation
 * of their fields, policy kinds, UTF-8 and string checks. The model needs
 * no Lua, no LMDB and no gRPC: the server and the CLI both link it, so a
 * record the CLI checks before sending is checked by the very same code the
 * server runs.
 *
 * No function returns memory to free: strings are static or written into
 * the caller's buffer. Every function may be called from any thread;
 * dd_local_to_unix switches TZ for the whole process under a lock, so
 * nothing else should read local time meanwhile (nothing in dealdesk does).
 */
#ifndef DEALDESK_MODEL_H
#define DEALDESK_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "dealdesk/error.h"

/* ---- limits ---------------------------------------------------------------- */

/* Largest id / sku / code, in bytes. */
#define DD_MAX_ID 64
/* Most records per put call. */
#define DD_MAX_BATCH 10000
/* List calls: records per page when page_size is 0, and at most. */
#define DD_PAGE_SIZE_DEFAULT 100
#define DD_PAGE_SIZE_MAX 1000
/* Largest promotion condition (the body of a Lua function), in bytes. */
#define DD_MAX_CONDITION 4096
/* Largest policy script, in bytes. */
#define DD_MAX_POLICY_SOURCE (256 * 1024)
/* Largest policy review comment, in bytes. */
#define DD_MAX_COMMENT 1024

/* Defaults of the quote request limits (dd_quote_limits in quote.h, where 0
 * means the default). */
#define DD_QUOTE_DEFAULT_MAX_LINES 500
#define DD_QUOTE_DEFAULT_MAX_QUANTITY 1000000
#define DD_QUOTE_DEFAULT_MAX_COUPONS 20
#define DD_QUOTE_DEFAULT_MAX_ATTRIBUTES 64

/* ---- the store's tables (key layout in store.h) ------------------------------ */

typedef enum dd_table {
	DD_T_PRICES = 0,
	DD_T_PROMOTIONS,
	DD_T_CUSTOMERS,
	DD_T_CHECKS,
	DD_T_POLICIES,
	DD_T_META,
	DD_T_SIGNALS,
	DD_T_COUPONS,
	DD_T_USAGE,
	DD_T_TOKENS, /* API tokens: SHA-256 of the secret -> ApiToken */
	DD_T_ORDERS,      /* order_id -> Order */
	DD_T_SKU_HISTORY, /* sku \0 time (8 bytes BE) \0 order_id -> SkuSale */
	DD_T_INVOICES,    /* invoice_id -> Invoice */
	DD_T_OPEN_ITEMS,  /* customer \0 due (8 bytes BE) \0 invoice_id -> "" (open invoices) */
	DD_T_CREDIT_AUDIT, /* customer \0 time ns (8 bytes BE) -> CreditChange; the tier
	                    * table's changes under "" \0 tier \0 time ns */
	DD_T_CREDIT_TIERS, /* name -> CreditTier */
	DD_T_OPEN_ORDERS,  /* customer \0 delivery (8 bytes BE) \0 order_id -> exposure
	                    * (8 bytes BE): the open orders by delivery date */
	DD_T_CUSTOMER_ORDERS, /* customer \0 created_at (8 bytes BE) \0 order_id -> "" */
	DD_T_ANALYTICS,    /* quote counts per experiment arm, stored RFM (analytics.h) */
	/* journal tables (src/journal): writing them does not advance data_version */
	DD_T_DECISIONS,      /* seq (8 bytes BE) -> DecisionRecord */
	DD_T_DECISION_INDEX, /* "d" decision_id -> seq; "o" \0 order_id \0 seq -> "" */
	DD_T_AUDIT,          /* seq (8 bytes BE) -> SHA-256 (32 bytes) + AuditEntry */
	DD_T_JOURNAL,        /* "decision_seq" -> seq (8 BE); "audit_head" -> seq (8 BE) + hash */
	DD_T_PRICE_HISTORY, /* sku \0 currency \0 at (8 bytes BE) \0 price_list_id -> PriceEntry
	                     * as written at `at` (empty value: deleted); dealdesk/history.h */
	DD_T_PROMO_HISTORY, /* promotion id \0 at (8 bytes BE) -> Promotion as written (empty: deleted) */
	DD_T__COUNT
} dd_table;

/* ---- meta keys (the meta table, uint64 values) ------------------------------- */

/* Advanced by every write transaction that changed something. */
#define DD_META_DATA_VERSION "data_version"
/* Version of the store layout. */
#define DD_META_SCHEMA "schema"
/* Counters that let readers cache derived data per entity. */
#define DD_META_PROMOTIONS_VERSION "promotions_version"
#define DD_META_CHECKS_VERSION "checks_version"
#define DD_META_CREDIT_TIERS_VERSION "credit_tiers_version"
/* 1 once customer_orders holds every order (built by the first commit). */
#define DD_META_CUSTOMER_ORDERS "customer_orders_indexed"
/* + a kind digit: the active version of a policy kind, the last version. */
#define DD_META_ACTIVE_PREFIX "active/"
#define DD_META_NEXT_PREFIX "next/"

/* ---- policy kinds ---------------------------------------------------------- */

/* Values equal dealdesk.v1.PolicyKind. */
typedef enum dd_policy_kind {
	DD_POLICY_PRICING = 1,
	DD_POLICY_PROMOTIONS = 2,
	DD_POLICY_CREDIT = 3,
	DD_POLICY_COMPLIANCE = 4
} dd_policy_kind;
/* Size of an array indexed by kind (index 0 unused). */
#define DD_POLICY_KIND_COUNT 5

/* The function each kind of policy must define ("price", "apply", "decide",
 * "check"), its name ("pricing", ...), or NULL for an invalid kind. Static
 * strings. */
const char *dd_policy_entry(dd_policy_kind kind);
const char *dd_policy_kind_name(dd_policy_kind kind);
/* Parses "pricing" / "PRICING" / "POLICY_KIND_PRICING" / "1" (any case);
 * the kind, or 0 if unknown. */
int dd_policy_kind_parse(const char *s);

/* Meta key holding the active version of a kind ("active/1"); the one
 * holding its last version ("next/1"). An invalid kind gives digit 0. No
 * printf: this runs on every quote. */
void dd_policy_active_key(dd_policy_kind kind, char buf[16]);
void dd_policy_next_key(dd_policy_kind kind, char buf[16]);

/* ---- entities ----------------------------------------------------------------- */

/* The records finance and compliance write, each a dealdesk.v1 message. */
typedef enum dd_entity_kind {
	DD_ENTITY_PRICE = 0,
	DD_ENTITY_PROMOTION,
	DD_ENTITY_CUSTOMER,
	DD_ENTITY_CHECK,
	DD_ENTITY_SIGNALS,
	DD_ENTITY_COUPON,
	DD_ENTITY_CREDIT_TIER,
	DD_ENTITY__COUNT
} dd_entity_kind;

typedef struct dd_entity_def {
	const char *name;                       /* in messages: "price entry" */
	dd_table table;                         /* where its records live */
	const ProtobufCMessageDescriptor *desc; /* the message */
	int key_parts;                          /* 1..3 */
	/* String fields whose values, in order, make the key (store.h): a
	 * price entry is (sku, currency, price_list_id), a coupon (code). */
	const char *key_fields[3];
	/* Meta counter advanced by every write of this kind, or NULL. */
	const char *meta_counter;
} dd_entity_def;

/* The description of kind (static), or NULL when kind is out of range. */
const dd_entity_def *dd_entity(dd_entity_kind kind);

/* Completes a record before it is validated and stored: for a promotion
 * with a time zone, computes valid_from / valid_to from the local times.
 * `field` prefixes messages. */
int dd_entity_normalize(dd_entity_kind kind, ProtobufCMessage *m,
                        const char *field, dd_error *err);

/* Validates the fields of one record of `kind`; `field` prefixes messages
 * ("entries[3].unit_price: -1 is out of range [0, ...]"). A promotion's
 * Lua condition is only checked for length here: compiling it needs Lua,
 * so the admin layer does that on write, after this. */
int dd_entity_validate(dd_entity_kind kind, const ProtobufCMessage *m,
                       const char *field, dd_error *err);

/* Converts "YYYY-MM-DDTHH:MM[:SS]" in IANA zone tz to Unix seconds.
 * DD_EINVAL for a malformed or impossible time, DD_ENOTFOUND for an
 * unknown zone. Safe from any thread (TZ is switched under a lock). */
int dd_local_to_unix(const char *local, const char *tz, int64_t *out);

/* The Lua source a promotion condition body is wrapped in, in buf:
 * "function condition(ctx, promotion)\n<body>\nend\n". DD_EINVAL when it
 * does not fit. */
int dd_condition_source(const char *body, char *buf, size_t size);

/* ---- UTF-8 and strings ------------------------------------------------------- */

/* The one UTF-8 validator (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF). NUL bytes count as valid here. */

/* Length of the well-formed sequence at s (1..4), or 0 when it is not one
 * (or left is 0). left is how many bytes s holds. */
size_t dd_utf8_seq_len(const char *s, size_t left);
/* Offset of the first byte of s that is not well-formed, or len. */
size_t dd_utf8_check(const char *s, size_t len);
/* Are the len bytes of s well-formed? */
int dd_utf8_valid(const char *s, size_t len);

/* Checks that s is valid UTF-8 without NUL, 1..max bytes (0..max when
 * optional; NULL counts as ""). On failure sets err naming `field`:
 * "field: required", "field: longer than N bytes", "field: invalid UTF-8". */
int dd_check_string(const char *s, size_t max, int optional, const char *field,
                    dd_error *err);

#endif
