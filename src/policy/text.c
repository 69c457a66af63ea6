/* dealdesk policy: the one rule for text that leaves the sandbox (see
 * policy_int.h and the README's "Policy sandbox"): valid UTF-8, every byte
 * that does not begin a well-formed sequence (and every NUL) replaced by
 * U+FFFD, cut on a character boundary so that it fits. */
#include <string.h>

#include "dealdesk/model.h"
#include "policy/host.h"
#include "policy/policy_int.h"

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

size_t policy_text_clean(char *out, size_t size, const char *s, size_t len)
{
	size_t o = 0, i = 0;
	if (size == 0)
		return 0;
	while (i < len) {
		size_t c = s[i] != '\0' ? dd_utf8_seq_len(s + i, len - i) : 0;
		const char *from = c ? s + i : replacement;
		size_t w = c ? c : sizeof(replacement) - 1;
		if (o + w > size - 1)
			break;
		memcpy(out + o, from, w);
		o += w;
		i += c ? c : 1;
	}
	out[o] = '\0';
	return o;
}

size_t dd_sandbox_clean_text(char *out, size_t size, const char *s, size_t len)
{
	return policy_text_clean(out, size, s, len);
}
