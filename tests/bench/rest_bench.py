"""What REST load does to agents (issue 4: REST requests on worker threads),
measured, never asserted.

One csf-server (SQLite, or PostgreSQL with --db URL) and one agent streaming
metrics over mutual TLS at a fixed rate (grpcio, as the integration tests
do). For each phase the script prints the agent's send -> Ack latency and
the latency of GET /healthz (answered by the event loop), as p50 / p99, and
their ratio to the first phase, run in the same process:

  idle     no REST load (the baseline);
  logins   CLIENTS threads logging in back to back (each login verifies an
           argon2id hash: tens of milliseconds of CPU);
  queries  CLIENTS threads reading the agent list and a 7-day metrics range
           back to back.

Usage: /usr/bin/python3 tests/bench/rest_bench.py BUILD_DIR [SECONDS] [CLIENTS] [--db URL]
"""
import os
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from server_common import Agent, Env, Server, finish  # noqa: E402

RATE = 50  # agent messages per second
PASSWORD = "bench-admin-password"


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


class Streamer:
    """One agent sending RATE messages a second; the time each takes to be acked."""

    def __init__(self, agent, pb):
        self.agent, self.pb = agent, pb
        self.sent, self.lat, self.seq = {}, [], 0
        self.cv = threading.Condition()
        self.stop = False
        self.call = None

    def _gen(self):
        yield self.agent.hello()
        nxt = time.monotonic()
        while not self.stop:
            nxt += 1.0 / RATE
            time.sleep(max(0.0, nxt - time.monotonic()))
            self.seq += 1
            with self.cv:
                self.sent[self.seq] = time.monotonic()
            yield self.agent.metrics(self.seq)

    def start(self, rpc):
        self.call = rpc.AgentServiceStub(self.agent.channel(True)).StreamMetrics(self._gen(), timeout=3600)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        acked = 0
        for r in self.call:
            if r.HasField("ack"):
                now = time.monotonic()
                with self.cv:
                    for s in range(acked + 1, r.ack.seq + 1):
                        if s in self.sent:
                            self.lat.append(now - self.sent.pop(s))
                acked = max(acked, r.ack.seq)

    def take(self):
        with self.cv:
            lat, self.lat = self.lat, []
        return lat


def healthz_latencies(srv, seconds, out):
    end = time.time() + seconds
    url = "http://127.0.0.1:%d/healthz" % srv.http_port
    while time.time() < end:
        t0 = time.monotonic()
        with urllib.request.urlopen(url, timeout=30) as r:
            r.read()
        out.append(time.monotonic() - t0)
        time.sleep(0.02)


def load(srv, kind, agent_id, until, counts):
    admin = srv.login(password=PASSWORD) if kind == "queries" else None
    now = int(time.time())
    while time.time() < until:
        if kind == "logins":
            srv.login(password=PASSWORD)
        else:
            srv.rest("GET", "/api/v1/agents?limit=1000", token=admin)
            srv.rest("GET", "/api/v1/agents/%s/metrics?from=%d&to=%d" % (agent_id, now - 7 * 86400, now),
                     token=admin)
        counts.append(1)


def main():
    args = [a for a in sys.argv[1:]]
    db = None
    if "--db" in args:
        i = args.index("--db")
        db = args[i + 1]
        del args[i:i + 2]
    build = os.path.abspath(args[0])
    seconds = float(args[1]) if len(args) > 1 else 10
    clients = int(args[2]) if len(args) > 2 else 8
    bin_dir = os.path.join(build, "bin")
    env = Env(bin_dir)
    from csf.v1 import agent_pb2, agent_pb2_grpc
    srv = Server(bin_dir, db=db, env={"CSF_ADMIN_PASSWORD": PASSWORD}).start()
    ok = False
    try:
        agent = Agent(srv, agent_pb2, agent_pb2_grpc, name="bench")
        agent.enroll(srv.token())
        st = Streamer(agent, agent_pb2)
        st.start(agent_pb2_grpc)
        time.sleep(2)
        st.take()
        print("rest_bench: %s, agent at %d msg/s, %d REST clients, %g s a phase, load average %.2f"
              % ("PostgreSQL" if db else "SQLite", RATE, clients, seconds, os.getloadavg()[0]))
        print("%-8s %12s %12s %12s %12s %10s %8s %8s" % ("phase", "ack p50 ms", "ack p99 ms", "healthz p50",
                                                           "healthz p99", "requests/s", "ack p99x", "hz p99x"))
        base = None
        for phase in ("idle", "logins", "queries"):
            counts, hz = [], []
            until = time.time() + seconds
            threads = [] if phase == "idle" else [
                threading.Thread(target=load, args=(srv, phase, agent.agent_id, until, counts))
                for _ in range(clients)]
            for t in threads:
                t.start()
            healthz_latencies(srv, seconds, hz)
            for t in threads:
                t.join()
            lat = st.take()
            row = [pct(lat, 50) * 1e3, pct(lat, 99) * 1e3, pct(hz, 50) * 1e3, pct(hz, 99) * 1e3]
            base = base or row
            print("%-8s %12.2f %12.2f %12.2f %12.2f %10.1f %8.2f %8.2f"
                  % (phase, *row, len(counts) / seconds, row[1] / base[1], row[3] / base[3]))
        st.stop = True
        ok = True
    finally:
        srv.stop()
        finish(ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
