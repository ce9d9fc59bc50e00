"""`csf-agent collect` on the live machine, checked against psutil.

Run with Debian's /usr/bin/python3 (python3-psutil):
    /usr/bin/python3 collect_psutil_test.py /path/to/csf-agent

Counters are bracketed: psutil reads them just before and just after the
agent, so every counter the agent printed must lie between the two reads.
"""
import json
import os
import platform
import socket
import subprocess
import sys
import unittest

import psutil

AGENT = None


def run_agent(*args, check=True):
    return subprocess.run([AGENT, *args], capture_output=True, text=True, check=check, timeout=60)


def collect_json(*args):
    out = run_agent("collect", "--json", *args).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


class CollectAgainstPsutil(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net_before = psutil.net_io_counters(pernic=True)
        cls.disk_before = psutil.disk_io_counters(perdisk=True)
        cls.cpu_before = psutil.cpu_stats()
        cls.snap = collect_json()[0]
        cls.net_after = psutil.net_io_counters(pernic=True)
        cls.disk_after = psutil.disk_io_counters(perdisk=True)
        cls.cpu_after = psutil.cpu_stats()

    def test_schema_and_sections(self):
        s = self.snap
        self.assertEqual(s["schema"], 1)
        for key in ("host", "cpu", "memory", "filesystems", "disks", "network", "processes", "metrics"):
            self.assertIn(key, s)

    def test_host_facts(self):
        h = self.snap["host"]
        self.assertEqual(h["cpu_logical"], psutil.cpu_count(logical=True))
        self.assertEqual(h["cpu_physical"], psutil.cpu_count(logical=False))
        self.assertEqual(h["boot_time"], int(psutil.boot_time()))
        self.assertEqual(h["hostname"], socket.gethostname())
        self.assertEqual(h["kernel"], platform.release())
        self.assertEqual(h["arch"], platform.machine())
        osr = platform.freedesktop_os_release()
        self.assertEqual(h["os_id"], osr.get("ID", ""))
        self.assertEqual(h["os_pretty"], osr.get("PRETTY_NAME", ""))
        self.assertAlmostEqual(h["uptime_seconds"], psutil.time.time() - psutil.boot_time(), delta=5)

    def test_memory(self):
        m = self.snap["memory"]
        vm = psutil.virtual_memory()
        self.assertEqual(m["total"], vm.total)
        self.assertEqual(m["used"], m["total"] - m["available"])
        self.assertAlmostEqual(m["available"], vm.available, delta=vm.total * 0.02)
        self.assertEqual(m["swap_total"], psutil.swap_memory().total)

    def test_cpu(self):
        c = self.snap["cpu"]
        self.assertEqual(len(c["cores"]), psutil.cpu_count(logical=True))
        parts = ("user", "nice", "system", "iowait", "irq", "softirq", "steal", "idle")
        for usage in [c] + c["cores"]:
            self.assertAlmostEqual(sum(usage[p] for p in parts), 100.0, delta=0.05)
            self.assertGreaterEqual(usage["usage_percent"], 0)
            self.assertLessEqual(usage["usage_percent"], 100)
        self.assertLessEqual(self.cpu_before.ctx_switches, c["context_switches"])
        self.assertLessEqual(c["context_switches"], self.cpu_after.ctx_switches)
        load = os.getloadavg()
        self.assertAlmostEqual(c["load15"], load[2], delta=0.5)

    def test_filesystems(self):
        ours = self.snap["filesystems"]
        self.assertGreater(len(ours), 0)
        for f in ours:
            du = psutil.disk_usage(f["mountpoint"])
            self.assertAlmostEqual(f["total_bytes"], du.total, delta=du.total * 0.01, msg=f["mountpoint"])
            self.assertAlmostEqual(f["used_bytes"], du.used, delta=du.total * 0.01, msg=f["mountpoint"])
            self.assertAlmostEqual(f["available_bytes"], du.free, delta=du.total * 0.01, msg=f["mountpoint"])
        self.assertEqual(self.snap["filesystems_total_bytes"], sum(f["total_bytes"] for f in ours))
        # Every device psutil calls a physical partition is reported once
        # (further mounts of the same device are left out).
        our_devs = [os.stat(f["mountpoint"]).st_dev for f in ours]
        self.assertEqual(len(our_devs), len(set(our_devs)))
        theirs = {os.stat(p.mountpoint).st_dev for p in psutil.disk_partitions(all=False)
                  if os.path.exists(p.mountpoint)}
        self.assertEqual(set(our_devs), theirs)

    def test_network_counters_bracketed(self):
        ifs = {i["name"]: i for i in self.snap["network"]["interfaces"]}
        self.assertEqual(set(ifs), set(self.net_after))
        for name, i in ifs.items():
            b, a = self.net_before[name], self.net_after[name]
            for ours, lo, hi in ((i["rx"]["bytes"], b.bytes_recv, a.bytes_recv),
                                 (i["tx"]["bytes"], b.bytes_sent, a.bytes_sent),
                                 (i["rx"]["packets"], b.packets_recv, a.packets_recv),
                                 (i["tx"]["packets"], b.packets_sent, a.packets_sent),
                                 (i["rx"]["errors"], b.errin, a.errin),
                                 (i["tx"]["drops"], b.dropout, a.dropout)):
                self.assertLessEqual(lo, ours, name)
                self.assertLessEqual(ours, hi, name)
        total = self.snap["network"]["rx_total"]["bytes"]
        self.assertEqual(total, sum(i["rx"]["bytes"] for n, i in ifs.items() if n != "lo"))

    def test_disk_counters_bracketed(self):
        disks = self.snap["disks"]
        for d in disks:
            self.assertIn(d["name"], self.disk_after)
            b, a = self.disk_before[d["name"]], self.disk_after[d["name"]]
            self.assertLessEqual(b.read_count, d["reads"])
            self.assertLessEqual(d["reads"], a.read_count)
            self.assertLessEqual(b.write_bytes, d["write_bytes"])
            self.assertLessEqual(d["write_bytes"], a.write_bytes)
            self.assertTrue(os.path.exists("/sys/block/" + d["name"].replace("/", "!")))

    def test_processes(self):
        p = self.snap["processes"]
        self.assertAlmostEqual(p["count"], len(psutil.pids()), delta=20)
        self.assertEqual(len(p["top_memory"]), min(5, p["count"]))
        rss = [e["rss_bytes"] for e in p["top_memory"]]
        self.assertEqual(rss, sorted(rss, reverse=True))
        cpu = [e["cpu_percent"] for e in p["top_cpu"]]
        self.assertEqual(cpu, sorted(cpu, reverse=True))
        for e in p["top_memory"]:
            try:
                proc = psutil.Process(e["pid"])
                self.assertEqual(proc.username(), e["user"])
                self.assertEqual(proc.name()[:15], e["name"][:15])
            except psutil.NoSuchProcess:
                pass


class CollectCommandLine(unittest.TestCase):
    def test_interval_gives_rates_over_the_interval(self):
        snaps = collect_json("--interval", "0.3", "--count", "2", "--no-processes", )
        self.assertEqual(len(snaps), 2)
        for s in snaps:
            self.assertAlmostEqual(s["interval_seconds"], 0.3, delta=0.15)
            self.assertIsNone(s["processes"])
            self.assertGreaterEqual(s["cpu"]["context_switches_per_sec"], 0)
        self.assertGreater(snaps[1]["timestamp_ms"], snaps[0]["timestamp_ms"])

    def test_top_option(self):
        s = collect_json("--top", "2")[0]
        self.assertEqual(len(s["processes"]["top_cpu"]), 2)

    def test_human_table(self):
        out = run_agent("collect").stdout
        for heading in ("Host", "CPU", "Memory", "Filesystem", "Disk", "Interface", "Processes", "Top CPU"):
            self.assertIn(heading, out)

    def test_bad_arguments_exit_2(self):
        for args in (["collect", "--interval", "0"], ["collect", "--count", "3"],
                     ["collect", "--top", "500"], ["collect", "extra"], ["nonsense"], []):
            r = run_agent(*args, check=False)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.strip(), args)

    def test_missing_proc_exits_1_with_one_clear_line(self):
        r = run_agent("collect", "--proc-path", "/nonexistent", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/stat", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)


if __name__ == "__main__":
    AGENT = sys.argv.pop(1)
    unittest.main(verbosity=2)
