/* dealdesk store: building keys (layout in include/dealdesk/store.h). */
#include "dealdesk/store.h"

#include <stdarg.h>
#include <string.h>

/* Measures first so that buf is left untouched on DD_EINVAL (each part's
 * length kept for the copy, for the usual few parts). The \0 separator
 * keeps "ab"+"c" apart from "a"+"bc", and makes "sku\0" a scan prefix that
 * matches that sku and not "sku2". */
int dd_key_join(char *buf, size_t size, int nparts, ...)
{
	if (nparts < 1 || (buf == NULL && size > 0))
		return DD_EINVAL;
	enum { KEPT = 8 };
	size_t lens[KEPT];
	va_list ap;
	va_start(ap, nparts);
	size_t len = 0;
	int ret = DD_OK;
	for (int i = 0; i < nparts; i++) {
		const char *part = va_arg(ap, const char *);
		if (part == NULL) {
			ret = DD_EINVAL;
			break;
		}
		size_t n = strlen(part);
		if (i < KEPT)
			lens[i] = n;
		len += n + (i > 0); /* separator before all but the first */
		if (len > DD_STORE_MAX_KEY || len > size) {
			ret = DD_EINVAL;
			break;
		}
	}
	va_end(ap);
	if (ret != DD_OK)
		return ret;

	va_start(ap, nparts);
	size_t off = 0;
	for (int i = 0; i < nparts; i++) {
		const char *part = va_arg(ap, const char *);
		if (i > 0)
			buf[off++] = '\0';
		size_t n = i < KEPT ? lens[i] : strlen(part);
		if (n > 0) {
			memcpy(buf + off, part, n);
			off += n;
		}
	}
	va_end(ap);
	return (int)off;
}

/* Big-endian so that one kind's versions sort numerically in a scan. */
void dd_key_policy(unsigned char out[9], int kind, uint64_t version)
{
	out[0] = (unsigned char)kind;
	for (int i = 8; i >= 1; i--) {
		out[i] = (unsigned char)(version & 0xff);
		version >>= 8;
	}
}
