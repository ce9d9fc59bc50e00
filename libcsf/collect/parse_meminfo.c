/* /proc/meminfo: "Key:   value kB" lines. */
#include "collect/procfs.h"
#include "collect/scan.h"

int csf__parse_meminfo(csf__meminfo *m, const char *buf, size_t len)
{
	static const struct {
		const char *key;
		size_t len;
		size_t off;
		unsigned bit;
	} keys[] = {
#define K(name, field, bit) { name ":", sizeof(name), offsetof(csf__meminfo, field), bit }
		K("MemTotal", total, 1), K("MemFree", free, 2),
		K("MemAvailable", available, 4), K("Buffers", buffers, 8),
		K("Cached", cached, 16), K("SReclaimable", sreclaimable, 32),
		K("SwapTotal", swap_total, 64), K("SwapFree", swap_free, 128),
#undef K
	};
	const unsigned required = 1 | 2 | 8 | 16 | 64 | 128;
	csf__scan s = csf__scan_make(buf, len);
	unsigned have = 0;
	int line = 0;

	*m = (csf__meminfo){ 0 };
	for (; !csf__scan_eof(&s) && have != 255; csf__scan_next_line(&s)) {
		size_t i;

		line++;
		for (i = 0; i < CSF__ARRAY_SIZE(keys); i++) {
			uint64_t v;

			if (!csf__scan_lit(&s, keys[i].key, keys[i].len))
				continue;
			if (csf__scan_u64(&s, &v))
				return csf__error_set(CSF_EPARSE, "proc meminfo: line %d: malformed", line);
			csf__scan_blanks(&s);
			if (CSF__SCAN_LIT(&s, "kB")) {
				if (v > UINT64_MAX / 1024)
					return csf__error_set(CSF_EPARSE, "proc meminfo: line %d: value too large", line);
				v *= 1024;
			}
			*(uint64_t *)((char *)m + keys[i].off) = v;
			have |= keys[i].bit;
			break;
		}
	}
	if ((have & required) != required)
		return csf__error_set(CSF_EPARSE, "proc meminfo: truncated (a required field is missing)");
	m->has_available = (have & 4) != 0;
	return 0;
}
