/* FNV-1a-64 (quote_fnv1a64 in src/quote/quoter.c) with the published
 * parameters: offset basis 14695981039346656037, prime 1099511628211.
 * Checked against the published test vectors, against dd.bucket as a
 * policy sees it, and against the README's experiment formula
 * FNV-1a-64(customer_id .. "\0" .. experiment_id) mod total weight,
 * computed here independently. */
#include "fixture.h"

#include "quote/quoter.h"

/* An independent implementation, written from the definition. */
static uint64_t fnv_ref(const unsigned char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* 14695981039346656037 */
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull; /* 1099511628211 */
	}
	return h;
}

static void test_published_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t h;
	} v[] = {
		{ "", 0xcbf29ce484222325ull },
		{ "a", 0xaf63dc4c8601ec8cull },
		{ "b", 0xaf63df4c8601f1a5ull },
		{ "c", 0xaf63de4c8601eff2ull },
		{ "fo", 0x08985907b541d342ull },
		{ "foo", 0xdcb27518fed9d577ull },
		{ "foob", 0xdd120e790c2512afull },
		{ "fooba", 0xcac165afa2fef40aull },
		{ "foobar", 0x85944171f73967e8ull },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t h = quote_fnv1a64(v[i].s, strlen(v[i].s));
		if (h != v[i].h)
			fail_msg("FNV-1a-64(\"%s\") = %016llx, want %016llx", v[i].s,
			         (unsigned long long)h, (unsigned long long)v[i].h);
	}
	/* the bytes, not a C string: NULs and high bytes count */
	unsigned char buf[256];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	for (size_t n = 0; n <= sizeof(buf); n += 17)
		assert_int_equal(quote_fnv1a64(buf, n), fnv_ref(buf, n));
	assert_int_equal(quote_fnv1a64("c1\0exp1", 7), fnv_ref((const unsigned char *)"c1\0exp1", 7));
	assert_int_not_equal(quote_fnv1a64("c1\0exp1", 7), quote_fnv1a64("c1", 2));
}

/* dd.bucket(key, n) = FNV-1a-64(key) mod n, as a policy sees it. */
static void test_bucket_in_a_policy(void **state)
{
	fixture *f = *state;
	fx_activate(f, DD_POLICY_PRICING,
	            "function price(ctx)\n"
	            "  local ns = { 1, 2, 3, 7, 10, 1000, 2147483647, 1 << 62, math.maxinteger }\n"
	            "  local out = {}\n"
	            "  for i, n in ipairs(ns) do out[i] = dd.bucket('a', n) end\n"
	            "  out[#out + 1] = dd.bucket('c1\\0exp1', 6)\n"
	            "  out[#out + 1] = dd.bucket('', 1000)\n"
	            "  return { { reason = table.concat(out, ',') } }\n"
	            "end\n");
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	const uint64_t a = 0xaf63dc4c8601ec8cull;
	const uint64_t ns[] = { 1, 2, 3, 7, 10, 1000, 2147483647, 1ull << 62, INT64_MAX };
	char want[512];
	size_t at = 0;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		at += (size_t)snprintf(want + at, sizeof(want) - at, "%llu,",
		                       (unsigned long long)(a % ns[i]));
	snprintf(want + at, sizeof(want) - at, "%llu,%llu",
	         (unsigned long long)(fnv_ref((const unsigned char *)"c1\0exp1", 7) % 6),
	         (unsigned long long)(0xcbf29ce484222325ull % 1000));
	assert_string_equal(r->lines[0]->price_reason, want);
	/* the same numbers worked out by hand (python3, FNV-1a-64) */
	assert_string_equal(r->lines[0]->price_reason,
	                    "0,0,1,5,6,996,1690936615,3414815163700866188,3414815163700866189,5,"
	                    "37");
	/* n must be a positive integer */
	fx_activate(f, DD_POLICY_PRICING, "function price(ctx) dd.bucket('a', 0) end");
	assert_int_equal(quote_err(f, &b, "dd.bucket: n must be > 0"), DD_EPOLICY);
	fx_activate(f, DD_POLICY_PRICING, "function price(ctx) dd.bucket('a', -5) end");
	assert_int_equal(quote_err(f, &b, "dd.bucket: n must be > 0"), DD_EPOLICY);
	fx_activate(f, DD_POLICY_PRICING, "function price(ctx) dd.bucket('a', 2.5) end");
	assert_int_equal(quote_err(f, &b, "number has no integer representation"), DD_EPOLICY);
}

/* The arm of each customer, by the README formula: bucket =
 * FNV-1a-64(customer_id "\0" experiment_id) mod total weight, walked over
 * the arms in order. */
static size_t readme_arm(const char *customer, const char *experiment, const uint32_t *w,
                         size_t n)
{
	unsigned char key[160];
	size_t lc = strlen(customer), le = strlen(experiment);
	memcpy(key, customer, lc);
	key[lc] = 0;
	memcpy(key + lc + 1, experiment, le);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += w[i];
	uint64_t bucket = fnv_ref(key, lc + 1 + le) % total;
	for (size_t i = 0; i < n; i++) {
		if (bucket < w[i])
			return i;
		bucket -= w[i];
	}
	return n - 1;
}

static void test_experiment_arm_by_the_readme(void **state)
{
	fixture *f = *state;
	/* the customers of tests/integration/test_promotions.py */
	const char *customers[] = { "c1", "c2", "new1" };
	for (size_t i = 1; i < 3; i++) {
		fx_customer c;
		fx_customer_init(&c, customers[i], "USD", "A", 1000000000);
		fx_put_customer(f, &c);
	}
	Dealdesk__V1__ExperimentArm a[3];
	Dealdesk__V1__ExperimentArm *arms[3];
	const char *names[] = { "a", "b", "c" };
	const uint32_t weights[] = { 3, 2, 1 };
	const int32_t bps[] = { 1000, 2000, 3000 };
	for (size_t i = 0; i < 3; i++) {
		dealdesk__v1__experiment_arm__init(&a[i]);
		a[i].name = (char *)names[i];
		a[i].weight = weights[i];
		a[i].percent_bps = bps[i];
		arms[i] = &a[i];
	}
	Dealdesk__V1__Promotion p = fx_promo("EXP", KIND(PERCENTAGE));
	p.percent_bps = 100;
	p.experiment_id = "exp1";
	p.arms = arms;
	p.n_arms = 3;
	fx_put_promo(f, &p);
	/* worked out by hand: FNV-1a-64 mod 6 is 5, 4 and 2; over weights
	 * 3:2:1 (buckets 0-2 a, 3-4 b, 5 c) that is c, b, a */
	const char *by_hand[] = { "c", "b", "a" };
	for (size_t i = 0; i < 3; i++) {
		size_t arm = readme_arm(customers[i], "exp1", weights, 3);
		assert_string_equal(names[arm], by_hand[i]);
		req_buf b;
		req_init(&b, customers[i], "USD", "web");
		req_line(&b, "D", 1);
		Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
		assert_int_equal(r->n_experiments, 1);
		assert_string_equal(r->experiments[0]->experiment_id, "exp1");
		assert_string_equal(r->experiments[0]->promotion_id, "EXP");
		assert_string_equal(r->experiments[0]->arm, names[arm]);
		/* the arm's own rate: 10 / 20 / 30 % of 20.00 */
		assert_int_equal(r->discount_total, 2000 * bps[arm] / 10000);
	}
	/* two equal arms, as in test_promotions.py: mod 2 gives 1, 0, 0 */
	const uint32_t two[] = { 1, 1 };
	assert_int_equal(readme_arm("c1", "exp1", two, 2), 1);
	assert_int_equal(readme_arm("c2", "exp1", two, 2), 0);
	assert_int_equal(readme_arm("new1", "exp1", two, 2), 0);
	p.n_arms = 2;
	a[0].weight = a[1].weight = 1;
	fx_put_promo(f, &p);
	for (size_t i = 0; i < 3; i++) {
		req_buf b;
		req_init(&b, customers[i], "USD", "web");
		req_line(&b, "D", 1);
		assert_string_equal(quote_ok(f, &b)->experiments[0]->arm,
		                    names[readme_arm(customers[i], "exp1", two, 2)]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_vectors),
		cmocka_unit_test_setup_teardown(test_bucket_in_a_policy, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_experiment_arm_by_the_readme, fx_setup,
		                                fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
