/* dealdeskd: gRPC server reflection (grpc.reflection.v1 and v1alpha, one
 * wire format) over the descriptor set of every served service, built
 * from proto/ and embedded at build time (CMakeLists.txt). Private to
 * src/server. */
#ifndef DD_SERVER_REFLECTION_H
#define DD_SERVER_REFLECTION_H

#include "call.h"

typedef struct dd_reflection dd_reflection;

/* Reads the embedded descriptor set and indexes its files and symbols. */
int dd_reflection_new(dd_reflection **out, dd_error *err);
void dd_reflection_free(dd_reflection *r);

/* The files, in the set's order: n and each one's serialized
 * FileDescriptorProto (the index's, valid while r lives). */
size_t dd_reflection_file_count(const dd_reflection *r);
const char *dd_reflection_file_name(const dd_reflection *r, size_t i);
/* The file index declaring symbol ("dealdesk.v1.QuoteService",
 * "dealdesk.v1.QuoteRequest", "dealdesk.v1.QuoteService.Quote"), or -1. */
long dd_reflection_find_symbol(const dd_reflection *r, const char *symbol);
long dd_reflection_find_file(const dd_reflection *r, const char *name);

/* The handler of /grpc.reflection.v1.ServerReflection/ServerReflectionInfo
 * and its v1alpha twin (bidirectional streaming: one response per
 * request). */
int dd_reflection_info(dd_call *call);

#endif
