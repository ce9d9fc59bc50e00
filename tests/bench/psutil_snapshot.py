#!/usr/bin/python3
"""psutil's cost for the fields of one csf system snapshot, timed in-process.

usage: /usr/bin/python3 psutil_snapshot.py [ITERATIONS [BATCHES [WARMUP [ROUNDS [GAP_MS]]]]]

Runs WARMUP iterations, then BATCHES batches of ITERATIONS // BATCHES, and
prints one line: the median, min and max of the batch means, in
microseconds per iteration. With ROUNDS > 0 it then times ROUNDS single
iterations GAP_MS milliseconds apart (caches gone cold, as in an agent that
wakes once a second) and prints a second line the same way.
csf-snapshot-bench reads both.
"""
import statistics
import sys
import time

import psutil


def snapshot():
    psutil.cpu_times(percpu=True)
    psutil.virtual_memory()
    psutil.net_io_counters(pernic=True)
    psutil.disk_io_counters(perdisk=True)
    psutil.disk_usage("/")
    psutil.getloadavg()


def report(samples):
    print(f"{statistics.median(samples):.3f} {min(samples):.3f} {max(samples):.3f}", flush=True)


def main():
    args = [int(a) for a in sys.argv[1:6]]
    iterations, batches, warmup, rounds, gap_ms = args + [20000, 5, 1000, 0, 250][len(args):]
    per_batch = iterations // batches
    for _ in range(warmup):
        snapshot()
    means = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(per_batch):
            snapshot()
        means.append((time.perf_counter() - t0) * 1e6 / per_batch)
    report(means)
    if rounds > 0:
        cold = []
        for _ in range(rounds):
            time.sleep(gap_ms / 1000)
            t0 = time.perf_counter()
            snapshot()
            cold.append((time.perf_counter() - t0) * 1e6)
        report(cold)


if __name__ == "__main__":
    main()
