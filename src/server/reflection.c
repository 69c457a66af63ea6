/* dealdeskd: server reflection. The descriptor set is read once at start;
 * each file keeps its serialized bytes (sent as they are) and its decoded
 * form (names, dependencies, symbols). A request for a file or a symbol is
 * answered with the file, then every file it depends on, transitively;
 * list_services lists the services of the method
 * table. */
#include "reflection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "transport.h"

extern const unsigned char dd_embedded_descriptor_set[];
extern const size_t dd_embedded_descriptor_set_len;

typedef struct refl_file {
	const uint8_t *data; /* in the embedded set */
	size_t len;
	Google__Protobuf__FileDescriptorProto *fd;
} refl_file;

typedef struct refl_symbol {
	char *name;
	size_t file;
} refl_symbol;

struct dd_reflection {
	refl_file *files;
	size_t nfiles;
	refl_symbol *symbols;
	size_t nsymbols, cap;
};

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		r |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 1;
		}
	}
	return 0;
}

static int add_symbol(dd_reflection *r, const char *scope, const char *name, size_t file)
{
	if (r->nsymbols == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		refl_symbol *s = realloc(r->symbols, cap * sizeof(*s));
		if (s == NULL)
			return DD_ENOMEM;
		r->symbols = s;
		r->cap = cap;
	}
	size_t n = strlen(scope) + strlen(name) + 2;
	char *full = malloc(n);
	if (full == NULL)
		return DD_ENOMEM;
	if (scope[0])
		snprintf(full, n, "%s.%s", scope, name);
	else
		snprintf(full, n, "%s", name);
	r->symbols[r->nsymbols].name = full;
	r->symbols[r->nsymbols].file = file;
	r->nsymbols++;
	return DD_OK;
}

static int add_message(dd_reflection *r, const char *scope,
                       const Google__Protobuf__DescriptorProto *m, size_t file)
{
	int rc = add_symbol(r, scope, m->name, file);
	if (rc != DD_OK)
		return rc;
	char inner[512];
	snprintf(inner, sizeof(inner), "%s%s%s", scope, scope[0] ? "." : "", m->name);
	for (size_t i = 0; i < m->n_field && rc == DD_OK; i++)
		rc = add_symbol(r, inner, m->field[i]->name, file);
	for (size_t i = 0; i < m->n_nested_type && rc == DD_OK; i++)
		rc = add_message(r, inner, m->nested_type[i], file);
	for (size_t i = 0; i < m->n_enum_type && rc == DD_OK; i++)
		rc = add_symbol(r, inner, m->enum_type[i]->name, file);
	return rc;
}

static int index_file(dd_reflection *r, size_t i)
{
	const Google__Protobuf__FileDescriptorProto *fd = r->files[i].fd;
	const char *pkg = fd->package ? fd->package : "";
	int rc = DD_OK;
	for (size_t k = 0; k < fd->n_message_type && rc == DD_OK; k++)
		rc = add_message(r, pkg, fd->message_type[k], i);
	for (size_t k = 0; k < fd->n_enum_type && rc == DD_OK; k++)
		rc = add_symbol(r, pkg, fd->enum_type[k]->name, i);
	for (size_t k = 0; k < fd->n_service && rc == DD_OK; k++) {
		const Google__Protobuf__ServiceDescriptorProto *sv = fd->service[k];
		rc = add_symbol(r, pkg, sv->name, i);
		char scope[512];
		snprintf(scope, sizeof(scope), "%s%s%s", pkg, pkg[0] ? "." : "", sv->name);
		for (size_t m = 0; m < sv->n_method && rc == DD_OK; m++)
			rc = add_symbol(r, scope, sv->method[m]->name, i);
	}
	return rc;
}

static int symbol_cmp(const void *a, const void *b)
{
	return strcmp(((const refl_symbol *)a)->name, ((const refl_symbol *)b)->name);
}

int dd_reflection_new(dd_reflection **out, dd_error *err)
{
	dd_reflection *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	const uint8_t *p = dd_embedded_descriptor_set, *end = p + dd_embedded_descriptor_set_len;
	size_t cap = 0;
	int rc = DD_OK;
	while (p < end && rc == DD_OK) {
		uint64_t tag, len;
		if (!read_varint(&p, end, &tag) || tag != ((1u << 3) | 2) ||
		    !read_varint(&p, end, &len) || len > (uint64_t)(end - p)) {
			rc = dd_error_set(err, DD_EINTERNAL, "reflection: the embedded descriptor set is malformed");
			break;
		}
		if (r->nfiles == cap) {
			cap = cap ? cap * 2 : 16;
			refl_file *f = realloc(r->files, cap * sizeof(*f));
			if (f == NULL) {
				rc = dd_error_set(err, DD_ENOMEM, "out of memory");
				break;
			}
			r->files = f;
		}
		refl_file *f = &r->files[r->nfiles];
		f->data = p;
		f->len = (size_t)len;
		f->fd = google__protobuf__file_descriptor_proto__unpack(NULL, f->len, f->data);
		if (f->fd == NULL) {
			rc = dd_error_set(err, DD_EINTERNAL, "reflection: a file of the descriptor set is malformed");
			break;
		}
		r->nfiles++;
		p += len;
		rc = index_file(r, r->nfiles - 1);
	}
	if (rc == DD_OK)
		qsort(r->symbols, r->nsymbols, sizeof(*r->symbols), symbol_cmp);
	if (rc != DD_OK) {
		dd_reflection_free(r);
		return rc;
	}
	*out = r;
	return DD_OK;
}

void dd_reflection_free(dd_reflection *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nfiles; i++)
		google__protobuf__file_descriptor_proto__free_unpacked(r->files[i].fd, NULL);
	for (size_t i = 0; i < r->nsymbols; i++)
		free(r->symbols[i].name);
	free(r->symbols);
	free(r->files);
	free(r);
}

size_t dd_reflection_file_count(const dd_reflection *r)
{
	return r->nfiles;
}

const char *dd_reflection_file_name(const dd_reflection *r, size_t i)
{
	return i < r->nfiles ? r->files[i].fd->name : NULL;
}

long dd_reflection_find_symbol(const dd_reflection *r, const char *symbol)
{
	if (symbol[0] == '.')
		symbol++; /* a fully-qualified ".pkg.Name" */
	refl_symbol key = { (char *)symbol, 0 };
	const refl_symbol *s =
		bsearch(&key, r->symbols, r->nsymbols, sizeof(*r->symbols), symbol_cmp);
	return s ? (long)s->file : -1;
}

long dd_reflection_find_file(const dd_reflection *r, const char *name)
{
	for (size_t i = 0; i < r->nfiles; i++)
		if (strcmp(r->files[i].fd->name, name) == 0)
			return (long)i;
	return -1;
}

/* Adds file i after its dependencies (each once) to out. */
static void with_dependencies(const dd_reflection *r, size_t i, unsigned char *seen,
                              ProtobufCBinaryData *out, size_t *n)
{
	if (seen[i])
		return;
	seen[i] = 1;
	const Google__Protobuf__FileDescriptorProto *fd = r->files[i].fd;
	for (size_t d = 0; d < fd->n_dependency; d++) {
		long k = dd_reflection_find_file(r, fd->dependency[d]);
		if (k >= 0)
			with_dependencies(r, (size_t)k, seen, out, n);
	}
	out[*n].data = (uint8_t *)r->files[i].data;
	out[*n].len = r->files[i].len;
	(*n)++;
}

/* The services of the method table, each once. */
static int list_services(dd_arena *a, Grpc__Reflection__V1__ListServiceResponse *l)
{
	size_t n = 0;
	while (dd_methods[n].path)
		n++;
	l->service = dd_arena_calloc(a, n ? n : 1, sizeof(*l->service));
	if (l->service == NULL)
		return DD_ENOMEM;
	l->n_service = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = dd_methods[i].path + 1;
		const char *slash = strchr(p, '/');
		if (slash == NULL)
			continue;
		char *name = dd_arena_strndup(a, p, (size_t)(slash - p));
		if (name == NULL)
			return DD_ENOMEM;
		int dup = 0;
		for (size_t k = 0; k < l->n_service && !dup; k++)
			dup = strcmp(l->service[k]->name, name) == 0;
		if (dup)
			continue;
		Grpc__Reflection__V1__ServiceResponse *s = dd_arena_alloc(a, sizeof(*s));
		if (s == NULL)
			return DD_ENOMEM;
		grpc__reflection__v1__service_response__init(s);
		s->name = name;
		l->service[l->n_service++] = s;
	}
	return DD_OK;
}

static void set_error(dd_arena *a, Grpc__Reflection__V1__ServerReflectionResponse *resp,
                      int code, const char *what, const char *name)
{
	Grpc__Reflection__V1__ErrorResponse *e = dd_arena_alloc(a, sizeof(*e));
	if (e == NULL)
		return;
	grpc__reflection__v1__error_response__init(e);
	e->error_code = code;
	e->error_message = dd_arena_printf(a, "%s '%s' not found", what, name);
	if (e->error_message == NULL)
		e->error_message = "";
	resp->message_response_case =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
	resp->error_response = e;
}

int dd_reflection_info(dd_call *call)
{
	const Grpc__Reflection__V1__ServerReflectionRequest *q = (const void *)dd_call_request(call);
	if (q == NULL) /* the client is done asking */
		return dd_call_finish(call, DD_OK, NULL, NULL);
	const dd_reflection *r = call->w->server->reflection;
	dd_arena *a = dd_call_arena(call);
	dd_error err;
	Grpc__Reflection__V1__ServerReflectionResponse resp =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
	resp.valid_host = q->host;
	resp.original_request = (Grpc__Reflection__V1__ServerReflectionRequest *)q;
	Grpc__Reflection__V1__FileDescriptorResponse files =
		GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
	Grpc__Reflection__V1__ListServiceResponse services =
		GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
	Grpc__Reflection__V1__ExtensionNumberResponse ext =
		GRPC__REFLECTION__V1__EXTENSION_NUMBER_RESPONSE__INIT;
	long file = -1;
	switch (q->message_request_case) {
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
		if (list_services(a, &services) != DD_OK) {
			dd_error_set(&err, DD_ENOMEM, "out of memory");
			return dd_call_finish(call, DD_ENOMEM, NULL, &err);
		}
		resp.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
		resp.list_services_response = &services;
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
		file = dd_reflection_find_file(r, q->file_by_filename);
		if (file < 0)
			set_error(a, &resp, GRPC_STATUS_NOT_FOUND, "file", q->file_by_filename);
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
		file = dd_reflection_find_symbol(r, q->file_containing_symbol);
		if (file < 0)
			set_error(a, &resp, GRPC_STATUS_NOT_FOUND, "symbol", q->file_containing_symbol);
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
		/* no file here declares extensions: a known type has none */
		if (dd_reflection_find_symbol(r, q->all_extension_numbers_of_type) < 0) {
			set_error(a, &resp, GRPC_STATUS_NOT_FOUND, "type", q->all_extension_numbers_of_type);
			break;
		}
		ext.base_type_name = q->all_extension_numbers_of_type;
		resp.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
		resp.all_extension_numbers_response = &ext;
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
		set_error(a, &resp, GRPC_STATUS_NOT_FOUND, "extension of",
		          q->file_containing_extension && q->file_containing_extension->containing_type
		                  ? q->file_containing_extension->containing_type
		                  : "");
		break;
	default: {
		Grpc__Reflection__V1__ErrorResponse *e = dd_arena_alloc(a, sizeof(*e));
		if (e != NULL) {
			grpc__reflection__v1__error_response__init(e);
			e->error_code = GRPC_STATUS_INVALID_ARGUMENT;
			e->error_message = "message_request: not set";
			resp.message_response_case =
				GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
			resp.error_response = e;
		}
		break;
	}
	}
	if (file >= 0) {
		unsigned char *seen = dd_arena_calloc(a, r->nfiles, 1);
		ProtobufCBinaryData *out = dd_arena_calloc(a, r->nfiles, sizeof(*out));
		if (seen == NULL || out == NULL) {
			dd_error_set(&err, DD_ENOMEM, "out of memory");
			return dd_call_finish(call, DD_ENOMEM, NULL, &err);
		}
		size_t n = 0;
		with_dependencies(r, (size_t)file, seen, out, &n);
		/* the file asked for first, as gRPC's own servers answer */
		ProtobufCBinaryData asked = out[n - 1];
		memmove(out + 1, out, (n - 1) * sizeof(*out));
		out[0] = asked;
		files.file_descriptor_proto = out;
		files.n_file_descriptor_proto = n;
		resp.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
		resp.file_descriptor_response = &files;
	}
	int rc = dd_call_send(call, &resp.base);
	if (rc != DD_OK && rc != DD_EPRECOND) {
		dd_error_set(&err, rc, "reflection: the response cannot be sent (%s)", dd_strerror(rc));
		return dd_call_finish(call, rc, NULL, &err);
	}
	return DD_CALL_PENDING;
}
