"""Print net_bench.sh's tables from its results file.

    /usr/bin/python3 net_bench_report.py RESULTS

Each line of RESULTS is a label and key=value fields: "run kind= n= ...",
"base|connected|idle|w0|w1 stats ..." (the server's stats lines),
"loadgen connected ..." / "loadgen result ...", "fail kind= n= stage=".
"""
import sys

# the goals of issue 3, checked at the largest N measured
GOAL_N = 10000
GOAL_KIB_PER_CONN = 16
GOAL_P99_MS = 20


def fields(words):
    out = {}
    for w in words:
        if "=" in w:
            k, v = w.split("=", 1)
            try:
                out[k] = float(v) if "." in v else int(v)
            except ValueError:
                out[k] = v
    return out


def load(path):
    runs = []
    cur = None
    with open(path) as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            label = words[0]
            if label == "run":
                cur = {"meta": fields(words[1:])}
                cur["kind"], cur["n"] = cur["meta"]["kind"], cur["meta"]["n"]
                runs.append(cur)
            elif label == "fail":
                f_ = fields(words[1:])
                cur["fail"] = f_.get("stage")
            elif label == "loadgen":
                cur["lg_" + words[1]] = fields(words[2:])
            else:
                cur[label] = fields(words[2:])
    return runs


def cpu_us(s):
    return s["utime_us"] + s["stime_us"]


def cpu_pct(a, b):
    return 100.0 * (cpu_us(b) - cpu_us(a)) / (b["mono_us"] - a["mono_us"])


def table(head, rows):
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print()


def f1(x):
    return "%.1f" % x


def f2(x):
    return "%.2f" % x


def main():
    runs = load(sys.argv[1])
    name = {"csf": "libcsf", "grpcio": "grpcio"}

    print("Memory of idle connections: server RSS/PSS (smaps_rollup) with N idle StreamMetrics calls,")
    print("less the same before the first connection, / N.")
    print()
    rows = []
    for r in runs:
        if "idle" not in r:
            rows.append([name[r["kind"]], r["n"], "failed: " + r.get("fail", "?")] + [""] * 7)
            continue
        b, c, i, lg = r["base"], r["connected"], r["idle"], r["lg_connected"]
        n = r["n"]
        rows.append([
            name[r["kind"]], n, "%d/%d" % (lg["up"], n), f1(lg["secs"]),
            f2((cpu_us(c) - cpu_us(b)) / 1000.0 / max(lg["up"], 1)),
            f1(b["rss_kb"] / 1024.0), f1(i["rss_kb"] / 1024.0),
            "**%s**" % f1((i["rss_kb"] - b["rss_kb"]) / n), f1((i["pss_kb"] - b["pss_kb"]) / n),
            f2(cpu_pct(c, i)),
        ])
    table(["server", "N", "up", "connect s", "server CPU ms / handshake", "RSS before MiB", "RSS idle MiB",
           "RSS KiB / conn", "PSS KiB / conn", "idle CPU %"], rows)

    rows = []
    for r in runs:
        if r["kind"] != "csf" or "idle" not in r or "csf_bytes" not in r["idle"]:
            continue
        b, i, n = r["base"], r["idle"], r["n"]

        def per(k):
            return f1((i[k] - b[k]) / 1024.0 / n)
        other = (i["heap_used"] - b["heap_used"]) - sum(i[k + "_bytes"] - b[k + "_bytes"]
                                                        for k in ("csf", "ssl", "event"))
        rows.append([n, per("csf_bytes"), "%.1f" % ((i["csf_allocs"] - b["csf_allocs"]) / n), per("ssl_bytes"),
                     "%.1f" % ((i["ssl_allocs"] - b["ssl_allocs"]) / n), per("event_bytes"),
                     "%.1f" % ((i["event_allocs"] - b["event_allocs"]) / n), f1(other / 1024.0 / n),
                     per("heap_used"), per("heap_free"), f1((i["rss_kb"] - b["rss_kb"]) / n)])
    if rows:
        print("Where an idle libcsf connection's memory is (server --tally: live bytes, malloc_usable_size, through")
        print("each library's allocator; heap = glibc mallinfo2; all KiB per connection, allocations per connection):")
        print()
        table(["N", "libcsf+nghttp2+protobuf-c KiB", "allocs", "OpenSSL KiB", "allocs", "libevent KiB", "allocs",
               "malloc headers + other KiB", "heap in use KiB", "heap free (held) KiB", "RSS KiB"], rows)

    print("Streaming: one message/s per connection, spread over the second; a %d-byte AgentMessage" %
          next((r["lg_connected"]["message_bytes"] for r in runs if "lg_connected" in r), 0))
    print("(a real MetricsSnapshot of this machine). Server CPU = user + system of all its threads over the")
    print("window; RTT = loadgen send -> Ack read, so it bounds the server's receive -> Ack time from above.")
    print("Kept up: at least 99.9 % of the window's messages acked (2 s grace) and p99 under 100 ms. Rest of the")
    print("machine: CPU time of every other thread over the window (schedstat; threads that ended inside")
    print("it are missed), % of one core.")
    print()
    rows = []
    per_msg = {}
    saturated = []
    busy = []
    for r in runs:
        if "w1" not in r or "lg_result" not in r:
            continue
        a, b, lg, n = r["w0"], r["w1"], r["lg_result"], r["n"]
        secs = (b["mono_us"] - a["mono_us"]) / 1e6
        msgs = b["acks"] - a["acks"]
        rate = msgs / secs
        pct = cpu_pct(a, b)
        us = (cpu_us(b) - cpu_us(a)) / max(msgs, 1)
        per_msg[(r["kind"], n)] = (us, (r["idle"]["rss_kb"] - r["base"]["rss_kb"]) / n)
        kept_up = lg["acked"] >= 0.999 * lg["sent"] and lg["rtt_us_p99"] < 100e3
        if not kept_up:
            saturated.append((r["kind"], n))
        others = None
        if isinstance(b.get("others_cpu_us"), int):
            others = 100.0 * b["others_cpu_us"] / (b["mono_us"] - a["mono_us"])
            if others > 10:
                busy.append((r["kind"], n, others))
        rows.append([
            name[r["kind"]], n, "yes" if kept_up else "**no**", "%.0f" % rate, f1(pct), "**%s**" % f2(pct / (rate / 1000.0)) if rate else "-",
            f1(us), f2(lg["rtt_us_p50"] / 1000.0), f2(lg["rtt_us_p90"] / 1000.0),
            "**%s**" % f2(lg["rtt_us_p99"] / 1000.0), f2(lg["rtt_us_max"] / 1000.0),
            "%d/%d" % (lg["acked"], lg["sent"]), f1(lg["cpu_pct"]), f2(lg["lag_us_p99"] / 1000.0), "?" if others is None else f1(others),
        ])
    table(["server", "N", "kept up", "msgs/s acked", "server CPU %", "CPU % per 1k msgs/s", "CPU µs / msg", "RTT p50 ms",
           "p90 ms", "p99 ms", "max ms", "acked/sent", "loadgen CPU %", "loadgen send lag p99 ms",
           "rest of machine CPU %"], rows)
    for kind, n, others in busy:
        print("warning: other processes used %.0f %% of a core during the %s N=%d window: its figures are"
              " skewed; run again on a quiet machine" % (others, name[kind], n))
        print()

    rows = []
    for n in sorted({r["n"] for r in runs}):
        if ("csf", n) in per_msg and ("grpcio", n) in per_msg:
            c, g = per_msg[("csf", n)], per_msg[("grpcio", n)]
            rows.append([n, f1(g[0]), f1(c[0]), "**%s**" % f1(g[0] / c[0]), f1(g[1]), f1(c[1]), f1(g[1] / c[1])])
    if rows:
        print("Against grpcio, same run, same load:")
        print()
        for kind, n in saturated:
            print("(%s did not keep up at N=%d: Acks missing after the window or p99 over 100 ms; its CPU per"
                  " message is that of a saturated server, which batches more, so the ratio there flatters it.)"
                  % (name[kind], n))
            print()
        table(["N", "grpcio CPU µs / msg", "libcsf CPU µs / msg", "CPU ratio grpcio / libcsf",
               "grpcio RSS KiB / idle conn", "libcsf RSS KiB / idle conn", "memory ratio"], rows)

    big = [r for r in runs if r["kind"] == "csf" and r["n"] == max(x["n"] for x in runs if x["kind"] == "csf")]
    if big:
        r = big[0]
        n = r["n"]
        print("Goals (issue 3), at N=%d%s:" % (n, "" if n >= GOAL_N else " (below the goal's 10000)"))
        print()
        rows = []
        lg = r.get("lg_connected", {})
        ok = lg.get("up") == n and lg.get("failed") == 0 and "w1" in r and r["lg_result"]["lost"] == 0
        rows.append(["%d connections on %d cores" % (GOAL_N, 2), "%s/%d up, %s lost" %
                     (lg.get("up", 0), n, r.get("lg_result", {}).get("lost", "?")), "yes" if ok else "no"])
        if "idle" in r:
            kib = (r["idle"]["rss_kb"] - r["base"]["rss_kb"]) / n
            rows.append(["< %d KiB per idle connection" % GOAL_KIB_PER_CONN, "%s KiB (RSS)" % f1(kib),
                         "yes" if kib < GOAL_KIB_PER_CONN else "no"])
        if "lg_result" in r:
            p99 = r["lg_result"]["rtt_us_p99"] / 1000.0
            rows.append(["p99 ack < %d ms" % GOAL_P99_MS, "%s ms (send -> Ack)" % f2(p99),
                         "yes" if p99 < GOAL_P99_MS else "no"])
        table(["goal", "measured", "met?"], rows)


if __name__ == "__main__":
    main()
