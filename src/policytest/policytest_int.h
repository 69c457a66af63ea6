/* dealdesk policy tests: what cases.c (running and comparing) and data.c
 * (the scratch store and the data a case puts in it) share. Private to
 * src/policytest. */
#ifndef DD_POLICYTEST_INT_H
#define DD_POLICYTEST_INT_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "dealdesk/model.h"
#include "dealdesk/store.h"

#define T0 1790000000

typedef struct run {
	const char *name; /* the case */
	int failures;     /* mismatches of the case */
	FILE *report;     /* NULL: nothing printed */
	char first[300];  /* the case's first mismatch */
	dd_policy_kind kind;
	const char *source; /* the candidate, or NULL */
} run;

/* A mismatch of the running case: counted, the first kept, reported. */
void policytest_mismatch(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct store {
	char dir[64];
	dd_store *st;
} store;

/* A fresh store with the shipped policies (and the candidate of r, when
 * it has one) active; 0 and a mismatch when it cannot be made. */
int policytest_open_store(run *r, store *s);
/* Closes it and removes its files. */
void policytest_close_store(store *s);
/* The case's "data" written into s; 0 and a mismatch on a bad item. */
int policytest_put_data(run *r, store *s, json_object *data);

/* o[key] as a string (dflt when absent) and as an integer (0). */
const char *policytest_str_of(json_object *o, const char *key, const char *dflt);
int64_t policytest_int_of(json_object *o, const char *key);

#endif
