/*
 * libFuzzer targets for the /proc and /sys parsers: one source, compiled
 * once per parser with CSF_FUZZ_<NAME> defined (tests/fuzz/CMakeLists.txt).
 * Each parses the input twice into the same output (as the collector
 * re-parses into kept buffers) and frees it.
 */
#include <stdint.h>
#include <string.h>

#include "collect/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	int pass;

	for (pass = 0; pass < 2; pass++) {
#if defined(CSF_FUZZ_PROC_STAT)
		static csf__proc_stat st;
		if (csf__parse_proc_stat(&st, buf, size) == 0 && st.ncpus == 0)
			__builtin_trap();
		if (pass)
			csf__proc_stat_free(&st);
#elif defined(CSF_FUZZ_MEMINFO)
		csf__meminfo m;
		if (csf__parse_meminfo(&m, buf, size) == 0 && m.has_available > 1)
			__builtin_trap();
#elif defined(CSF_FUZZ_NETDEV)
		static csf__netdev nd;
		if (csf__parse_netdev(&nd, buf, size) == 0 && nd.n && strlen(nd.v[0].name) == 0)
			__builtin_trap();
		if (pass)
			csf__netdev_free(&nd);
#elif defined(CSF_FUZZ_DISKSTATS)
		static csf__diskstats ds;
		csf__parse_diskstats(&ds, buf, size);
		if (pass)
			csf__diskstats_free(&ds);
#elif defined(CSF_FUZZ_MOUNTINFO)
		static csf__mountinfo mi;
		if (csf__parse_mountinfo(&mi, buf, size) == 0) {
			size_t i;
			for (i = 0; i < mi.n; i++)
				if (mi.v[i].source >= mi.strings.len)
					__builtin_trap();
		}
		if (pass)
			csf__mountinfo_free(&mi);
#elif defined(CSF_FUZZ_FILESYSTEMS)
		csf__buf types = CSF__BUF_INIT(1u << 20);
		if (csf__parse_filesystems(&types, buf, size) == 0)
			(void)csf__filesystems_has(&types, "ext4");
		csf__buf_free(&types);
#elif defined(CSF_FUZZ_LOADAVG)
		double load[3];
		(void)csf__parse_loadavg(load, buf, size);
#elif defined(CSF_FUZZ_UPTIME)
		double up;
		(void)csf__parse_uptime(&up, buf, size);
#elif defined(CSF_FUZZ_PID_STAT)
		csf__pid_stat ps;
		if (csf__parse_pid_stat(&ps, buf, size) == 0 && ps.pid <= 0)
			__builtin_trap();
#elif defined(CSF_FUZZ_OS_RELEASE)
		csf__os_release os;
		(void)csf__parse_os_release(&os, buf, size);
#elif defined(CSF_FUZZ_CPUINFO)
		csf__cpuinfo ci;
		if (csf__parse_cpuinfo(&ci, buf, size) == 0 && ci.model[sizeof(ci.model) - 1] != '\0')
			__builtin_trap();
#else
#error "define one CSF_FUZZ_<PARSER>"
#endif
	}
	csf_error_clear();
	return 0;
}
