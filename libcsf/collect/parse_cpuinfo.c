/* /proc/cpuinfo: "key<TAB>: value" blocks, one per logical CPU. The model
 * line differs by architecture; the first key found in `model_keys` order
 * wins. Physical cores come from "physical id" + "cpu cores" (x86). */
#include "collect/procfs.h"
#include "collect/scan.h"

#define CPUINFO_MAX_PACKAGES 1024

static const char *const model_keys[] = {
	"model name", /* x86, some arm64 kernels */
	"Model",      /* Raspberry Pi and other arm boards */
	"cpu model",  /* mips */
	"Hardware",   /* older arm */
	"cpu",        /* powerpc */
	"uarch",      /* riscv */
};

static int key_is(const char *k, size_t kn, const char *want)
{
	return strlen(want) == kn && memcmp(k, want, kn) == 0;
}

int csf__parse_cpuinfo(csf__cpuinfo *ci, const char *buf, size_t len)
{
	csf__scan s = csf__scan_make(buf, len);
	size_t best = CSF__ARRAY_SIZE(model_keys);
	uint32_t cores_of[CPUINFO_MAX_PACKAGES] = { 0 };
	int64_t package = -1;
	int saw_key = 0;

	memset(ci, 0, sizeof(*ci));
	for (; !csf__scan_eof(&s); csf__scan_next_line(&s)) {
		size_t n = csf__scan_line_len(&s), kn, vn, i;
		const char *line = s.p, *colon = memchr(line, ':', n), *v;

		if (n == 0) {
			package = -1; /* a blank line ends one CPU's block */
			continue;
		}
		if (!colon)
			continue;
		saw_key = 1;
		kn = (size_t)(colon - line);
		while (kn && (line[kn - 1] == ' ' || line[kn - 1] == '\t'))
			kn--;
		v = colon + 1;
		vn = n - (size_t)(v - line);
		while (vn && (*v == ' ' || *v == '\t'))
			v++, vn--;
		for (i = 0; i < best; i++) {
			if (!key_is(line, kn, model_keys[i]) || vn == 0)
				continue;
			if (vn >= sizeof(ci->model))
				vn = sizeof(ci->model) - 1;
			memcpy(ci->model, v, vn);
			ci->model[vn] = '\0';
			best = i;
			break;
		}
		if (key_is(line, kn, "physical id") || key_is(line, kn, "cpu cores")) {
			csf__scan vs = csf__scan_make(v, vn);
			uint64_t num;

			if (csf__scan_u64(&vs, &num))
				continue;
			if (line[0] == 'p')
				package = num < CPUINFO_MAX_PACKAGES ? (int64_t)num : -1;
			else if (package >= 0 && num <= UINT32_MAX)
				cores_of[package] = (uint32_t)num;
		}
	}
	if (!saw_key)
		return csf__error_set(CSF_EPARSE, "proc cpuinfo: no key: value lines");
	for (size_t i = 0; i < CPUINFO_MAX_PACKAGES; i++)
		if (UINT32_MAX - ci->physical_cores >= cores_of[i])
			ci->physical_cores += cores_of[i];
	return 0;
}
