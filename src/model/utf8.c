/* dealdesk model: the one UTF-8 validator, and string field checks.
 * Used by the server's wire checks, validation, the quote path, JSON and
 * CSV: a byte sequence is valid in one place iff it is valid in all. */
#include "dealdesk/model.h"

#include <string.h>

/* Second bytes after E0, ED, F0 and F4 are narrowed: that rules out
 * overlong forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and values
 * above U+10FFFF (F4 90..BF). C0, C1 and F5..FF never start a sequence. */
static size_t seq_len(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

size_t dd_utf8_seq_len(const char *s, size_t left)
{
	return left == 0 ? 0 : seq_len((const unsigned char *)s, left);
}

size_t dd_utf8_check(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		if (p[i] < 0x80) { /* the common case: ASCII */
			i++;
			continue;
		}
		size_t n = seq_len(p + i, len - i);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

int dd_utf8_valid(const char *s, size_t len)
{
	return dd_utf8_check(s, len) == len;
}

int dd_check_string(const char *s, size_t max, int optional, const char *field,
                    dd_error *err)
{
	size_t len = s ? strlen(s) : 0;
	if (len == 0) {
		if (optional)
			return DD_OK;
		return dd_error_set(err, DD_EINVAL, "%s: required", field);
	}
	if (len > max)
		return dd_error_set(err, DD_EINVAL,
		                    "%s: longer than %zu bytes", field, max);
	if (!dd_utf8_valid(s, len))
		return dd_error_set(err, DD_EINVAL, "%s: invalid UTF-8", field);
	return DD_OK;
}
