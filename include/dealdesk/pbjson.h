/* dealdesk pbjson: protobuf-c messages <-> JSON, driven by descriptors.
 *
 * Works for any protobuf-c message: nested messages, repeated fields, maps
 * (protobuf-c represents map<K,V> as a repeated message "<Field>Entry" with
 * fields key = 1 and value = 2; such fields are JSON objects), enums, oneofs,
 * bool, all integer types, float/double, string and bytes (base64).
 *
 * The mapping follows proto3 JSON with these choices:
 *  - Output names are the proto field names (snake_case). Input accepts the
 *    proto name or its lowerCamelCase form; giving both is an error.
 *  - 64-bit integers are JSON numbers on output. On input integers are JSON
 *    numbers or decimal strings ("-12"); a fraction, exponent or float is an
 *    error ("lines[1].quantity: expected an integer"), as is a value outside
 *    the field's type.
 *  - Enums are written by full value name ("PROMOTION_KIND_PERCENTAGE"). Input
 *    accepts the full name, the name without the enum's prefix ("percentage",
 *    any case) or the number of a defined value.
 *  - Unknown JSON fields are errors. JSON null means "the default".
 *  - Strings must be valid UTF-8 without NUL on input. On output an invalid
 *    byte sequence in a message string is replaced by U+FFFD. Valid means
 *    what the model says (dd_utf8_check in model.h), as everywhere else.
 *  - Proto3 defaults (0, "", false, empty repeated/map, enum 0) are omitted on
 *    output unless DD_PBJSON_EMIT_DEFAULTS is given. Unset sub-messages are
 *    always omitted.
 * Errors name the field by path: "lines[1].quantity", "attributes[\"k\"]".
 */
#ifndef DEALDESK_PBJSON_H
#define DEALDESK_PBJSON_H

#include <stddef.h>

#include <json-c/json.h>
#include <protobuf-c/protobuf-c.h>

#include "dealdesk/error.h"

/* Flags for output. */
#define DD_PBJSON_EMIT_DEFAULTS 0x1u /* also write fields holding defaults */
#define DD_PBJSON_PRETTY 0x2u        /* dd_pbjson_format: indented text */

/* Converts m to a new JSON object in *out (the caller owns it: json_object_put).
 * Returns DD_OK, DD_ENOMEM, or DD_EINVAL when m is not a valid message. */
int dd_pbjson_from_message(const ProtobufCMessage *m, json_object **out);

/* As dd_pbjson_from_message, with DD_PBJSON_* flags. */
int dd_pbjson_from_message_flags(const ProtobufCMessage *m, unsigned flags,
                                 json_object **out);

/* Builds a message of type d from the JSON object j. On success *out is a new
 * message the caller frees with protobuf_c_message_free_unpacked(*out, NULL)
 * (it is allocated exactly as protobuf_c_message_unpack with the default
 * allocator would). On failure *out is NULL and err (if not NULL) names the
 * field: DD_EINVAL (bad input) or DD_ENOMEM. j is only read. */
int dd_pbjson_to_message(json_object *j, const ProtobufCMessageDescriptor *d,
                         ProtobufCMessage **out, dd_error *err);

/* Formats m as JSON text in a new NUL-terminated string (*out, free()).
 * flags: DD_PBJSON_EMIT_DEFAULTS, DD_PBJSON_PRETTY. Compact by default, with
 * no spaces and "/" unescaped. Returns DD_OK, DD_ENOMEM or DD_EINVAL. */
int dd_pbjson_format(const ProtobufCMessage *m, unsigned flags, char **out);

/* Parses len bytes of JSON text strictly: one value, nothing but whitespace
 * after it, valid UTF-8, and every integer literal within the int64/uint64
 * range (json-c itself would clamp larger ones silently). *out is a new
 * JSON value (json_object_put). DD_EINVAL with the line in err. */
int dd_pbjson_parse(const char *text, size_t len, json_object **out,
                    dd_error *err);

/* dd_pbjson_parse followed by dd_pbjson_to_message. */
int dd_pbjson_parse_message(const char *text, size_t len,
                            const ProtobufCMessageDescriptor *d,
                            ProtobufCMessage **out, dd_error *err);

/* Looks up an enum value the way JSON input does: full name, name without
 * the enum prefix (case-insensitive) or a decimal number of a defined value.
 * Returns DD_OK and sets *value, or DD_EINVAL. */
int dd_pbjson_enum_parse(const ProtobufCEnumDescriptor *d, const char *s,
                         int *value);

/* The name of an enum value without the enum prefix ("PERCENTAGE" for
 * PROMOTION_KIND_PERCENTAGE), or the full name when it has no such prefix.
 * NULL for an undefined value. Points into the static descriptor. */
const char *dd_pbjson_enum_short_name(const ProtobufCEnumDescriptor *d,
                                      int value);

#endif
