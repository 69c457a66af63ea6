/* TEMPORARY shim until the model layer lands (branch model). */
#ifndef DEALDESK_MODEL_H
#define DEALDESK_MODEL_H
#include "dealdesk/admin.h"
typedef enum dd_policy_kind {
	DD_POLICY_PRICING = 1,
	DD_POLICY_PROMOTIONS = 2,
	DD_POLICY_CREDIT = 3,
	DD_POLICY_COMPLIANCE = 4,
} dd_policy_kind;
#define DD_POLICY_KIND_COUNT 5
#endif
