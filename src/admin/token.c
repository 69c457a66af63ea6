/* dealdesk admin: API tokens (see "API tokens" in include/dealdesk/admin.h).
 *
 * The secret leaves this file once, to be shown to whoever created it; the
 * store keys each record by the SHA-256 of its secret, so a lookup is one
 * get by hash, and the hash in the record is compared again in constant
 * time. A stolen copy of the database gives names and roles, no secrets. */
#include "admin/admin_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "admin/write.h"

#define SECRET_PREFIX "ddt_"
#define SECRET_BYTES 32

static const char *const roles[] = { "checkout", "finance", "pricing", "compliance", "admin",
	                             NULL };

int dd_token_role_valid(const char *role)
{
	for (int i = 0; role && roles[i]; i++)
		if (strcmp(role, roles[i]) == 0)
			return 1;
	return 0;
}

static int name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > DD_TOKEN_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

/* SHA-256 is computed on every authenticated call: the implementation is
 * fetched once (EVP_Digest with EVP_sha256() looks it up each time). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int mdlen = 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	pthread_once(&sha256_once, sha256_fetch);
	EVP_Digest(data, len, md, &mdlen, sha256_md ? sha256_md : EVP_sha256(), NULL);
	memcpy(out, md, 32);
	OPENSSL_cleanse(md, sizeof(md));
}

static int random_bytes(unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);
		if (r < 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* base64url without padding: 32 bytes -> 43 characters. */
static void b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = a[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = a[v & 63];
	}
	out[o] = '\0';
}

int dd_token_create_prepare(const char *name, const char *role, const char *created_by,
                            int64_t now, dd_arena *arena, dd_admin_write **out,
                            char **secret, dd_error *err)
{
	if (!name_valid(name))
		return dd_error_set(err, DD_EINVAL,
		                    "name: 1-%d characters of A-Z a-z 0-9 . _ @ - required",
		                    DD_TOKEN_NAME_MAX);
	if (!dd_token_role_valid(role))
		return dd_error_set(err, DD_EINVAL,
		                    "role: '%s' is not one of checkout, finance, pricing, "
		                    "compliance, admin",
		                    role ? role : "");
	dd_admin_write *w = dd_admin__write_new(arena, WRITE_TOKEN_CREATE, err);
	Dealdesk__V1__ApiToken *t = w ? dd_arena_alloc(arena, sizeof(*t)) : NULL;
	char *s = t ? dd_arena_alloc(arena, DD_TOKEN_SECRET_MAX + 1) : NULL;
	unsigned char *hash = s ? dd_arena_alloc(arena, 32) : NULL;
	if (hash == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	unsigned char raw[SECRET_BYTES];
	if (random_bytes(raw, sizeof(raw)) != 0)
		return dd_error_set(err, DD_EINTERNAL, "getrandom failed");
	memcpy(s, SECRET_PREFIX, strlen(SECRET_PREFIX));
	b64url(raw, sizeof(raw), s + strlen(SECRET_PREFIX));
	OPENSSL_cleanse(raw, sizeof(raw));
	sha256(s, strlen(s), hash);
	dealdesk__v1__api_token__init(t);
	t->name = dd_arena_strdup(arena, name);
	t->role = dd_arena_strdup(arena, role);
	t->created_by = dd_arena_strdup(arena, created_by ? created_by : "");
	if (t->name == NULL || t->role == NULL || t->created_by == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	t->created_at = now;
	t->secret_sha256.data = hash;
	t->secret_sha256.len = 32;
	w->token = t;
	w->now = now;
	*out = w;
	*secret = s;
	return DD_OK;
}

int dd_token_revoke_prepare(const char *name, int64_t now, dd_arena *arena,
                            dd_admin_write **out, dd_error *err)
{
	if (!name_valid(name))
		return dd_error_set(err, DD_EINVAL, "name: not a token name");
	dd_admin_write *w = dd_admin__write_new(arena, WRITE_TOKEN_REVOKE, err);
	if (w == NULL)
		return DD_ENOMEM;
	w->key0 = name;
	w->now = now;
	*out = w;
	return DD_OK;
}

Dealdesk__V1__ApiToken *dd_admin_write_token(const dd_admin_write *w)
{
	return w->op == WRITE_TOKEN_CREATE || w->op == WRITE_TOKEN_REVOKE ? w->token : NULL;
}

/* Finds the record named name: its key (the hash) and its record, unpacked
 * in arena. */
typedef struct find_name {
	const char *name;
	dd_arena *arena;
	unsigned char key[32];
	Dealdesk__V1__ApiToken *found;
	int corrupt;
} find_name;

static int find_name_fn(void *ud, dd_val key, dd_val val)
{
	find_name *f = ud;
	Dealdesk__V1__ApiToken *t = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__api_token__descriptor, &f->arena->pb, val.len, val.data);
	if (t == NULL || key.len != 32) {
		f->corrupt = 1;
		return 1;
	}
	if (strcmp(t->name, f->name) == 0) {
		memcpy(f->key, key.data, 32);
		f->found = t;
		return 1;
	}
	return 0;
}

static int put_token(dd_wtxn *txn, const unsigned char key[32], const Dealdesk__V1__ApiToken *t,
                     dd_arena *arena, dd_error *err)
{
	size_t len = protobuf_c_message_get_packed_size(&t->base);
	uint8_t *buf = dd_arena_alloc(arena, len ? len : 1);
	if (buf == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	protobuf_c_message_pack(&t->base, buf);
	int rc = dd_wtxn_put(txn, DD_T_TOKENS, (dd_val){ key, 32 }, (dd_val){ buf, len });
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: cannot write the token");
	return DD_OK;
}

int dd_admin__apply_token(dd_wtxn *txn, dd_admin_write *w, dd_error *err)
{
	find_name f = { .name = w->op == WRITE_TOKEN_CREATE ? w->token->name : w->key0,
		        .arena = w->arena };
	int rc = dd_wtxn_scan(txn, DD_T_TOKENS, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 },
	                      find_name_fn, &f);
	if (rc < 0)
		return dd_error_set(err, rc, "store: cannot read the tokens");
	if (f.corrupt)
		return dd_error_set(err, DD_ESTORE, "store: corrupt token record");
	if (w->op == WRITE_TOKEN_CREATE) {
		if (f.found)
			return dd_error_set(err, DD_EEXIST, "name: a token named '%s' exists",
			                    f.name);
		rc = put_token(txn, w->token->secret_sha256.data, w->token, w->arena, err);
	} else {
		if (f.found == NULL)
			return dd_error_set(err, DD_ENOTFOUND, "no token named '%s'", f.name);
		if (!f.found->revoked) {
			f.found->revoked = 1;
			f.found->revoked_at = w->now;
			rc = put_token(txn, f.key, f.found, w->arena, err);
		}
		w->token = f.found;
	}
	return rc;
}

int dd_token_create(dd_store *store, const char *name, const char *role,
                    const char *created_by, int64_t now, dd_arena *arena, char **secret,
                    dd_error *err)
{
	dd_admin_write *w = NULL;
	int rc = dd_token_create_prepare(name, role, created_by, now, arena, &w, secret, err);
	if (rc == DD_OK)
		rc = dd_admin__write_now(store, w, NULL, err);
	return rc;
}

typedef struct list_ctx {
	dd_arena *arena;
	Dealdesk__V1__ApiToken **items;
	size_t n;
	int rc;
} list_ctx;

static int list_fn(void *ud, dd_val key, dd_val val)
{
	(void)key;
	list_ctx *l = ud;
	if (l->n >= DD_PAGE_SIZE_MAX)
		return 1;
	Dealdesk__V1__ApiToken *t = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__api_token__descriptor, &l->arena->pb, val.len, val.data);
	if (t == NULL) {
		l->rc = DD_ESTORE;
		return 1;
	}
	t->secret_sha256.len = 0;
	t->secret_sha256.data = NULL;
	l->items[l->n++] = t;
	return 0;
}

int dd_token_list(dd_store *store, dd_arena *arena, Dealdesk__V1__ApiToken ***items,
                  size_t *n, dd_error *err)
{
	list_ctx l = { .arena = arena };
	l.items = dd_arena_alloc(arena, sizeof(*l.items) * DD_PAGE_SIZE_MAX);
	if (l.items == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dd_rtxn *r;
	int rc = dd_rtxn_new(store, &r);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: cannot read");
	if ((rc = dd_rtxn_begin(r)) == DD_OK) {
		rc = dd_rtxn_scan(r, DD_T_TOKENS, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 }, list_fn,
		                  &l);
		dd_rtxn_end(r);
	}
	dd_rtxn_free(r);
	if (rc < 0 || l.rc != DD_OK)
		return dd_error_set(err, rc < 0 ? rc : l.rc, "store: cannot read the tokens");
	*items = l.items;
	*n = l.n;
	return DD_OK;
}

int dd_token_lookup(dd_rtxn *txn, const char *secret, size_t len, char name[DD_MAX_ID + 1],
                    char role[16], dd_error *err)
{
	if (len == 0 || len > DD_TOKEN_SECRET_MAX)
		return dd_error_set(err, DD_EUNAUTH, "unknown token");
	unsigned char hash[32];
	sha256(secret, len, hash);
	dd_val v;
	int rc = dd_rtxn_get(txn, DD_T_TOKENS, (dd_val){ hash, 32 }, &v);
	if (rc == DD_ENOTFOUND)
		return dd_error_set(err, DD_EUNAUTH, "unknown token");
	if (rc != DD_OK)
		return dd_error_set(err, DD_EINTERNAL, "store: cannot read the tokens");
	Dealdesk__V1__ApiToken *t = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__api_token__descriptor, NULL, v.len, v.data);
	if (t == NULL)
		return dd_error_set(err, DD_EINTERNAL, "store: corrupt token record");
	if (t->secret_sha256.len != 32 || CRYPTO_memcmp(t->secret_sha256.data, hash, 32) != 0)
		rc = dd_error_set(err, DD_EUNAUTH, "unknown token");
	else if (t->revoked)
		rc = dd_error_set(err, DD_EUNAUTH, "token '%s' was revoked", t->name);
	else if (strlen(t->name) > DD_MAX_ID || strlen(t->role) >= 16)
		rc = dd_error_set(err, DD_EINTERNAL, "store: corrupt token record");
	else {
		snprintf(name, DD_MAX_ID + 1, "%s", t->name);
		snprintf(role, 16, "%s", t->role);
		rc = DD_OK;
	}
	protobuf_c_message_free_unpacked(&t->base, NULL);
	return rc;
}

static int any_fn(void *ud, dd_val key, dd_val val)
{
	(void)key;
	Dealdesk__V1__ApiToken *t = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__api_token__descriptor, NULL, val.len, val.data);
	int live = t != NULL && !t->revoked;
	if (t)
		protobuf_c_message_free_unpacked(&t->base, NULL);
	if (live)
		*(int *)ud = 1;
	return live;
}

int dd_token_any(dd_store *store)
{
	int any = 0;
	dd_rtxn *r;
	if (dd_rtxn_new(store, &r) != DD_OK)
		return 0;
	if (dd_rtxn_begin(r) == DD_OK) {
		dd_rtxn_scan(r, DD_T_TOKENS, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 }, any_fn, &any);
		dd_rtxn_end(r);
	}
	dd_rtxn_free(r);
	return any;
}
