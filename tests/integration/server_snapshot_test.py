"""The agent's latest snapshot: GET /api/v1/agents/{id}/snapshot.

    /usr/bin/python3 server_snapshot_test.py BUILD/bin [--pg-dir DIR | DB_URL]

A stock gRPC agent (grpcio) streams metrics with filesystems, disks,
interfaces and processes; the endpoint answers them exactly, from the first
metrics message of each stream (then at most one per 10 s), only ever
replaced by a newer sample; acks and metrics rows are as without it. Before
any metrics, for an unknown agent and for another organization: 404. On
SQLite, or on PostgreSQL (the tests/pg fixture).
"""
import os
import sqlite3
import sys
import threading
import time
import unittest

from server_common import Agent, Env, Server, finish, psql, wipe_pg

BIN = DB_URL = None
PG_DIR_ARG = "--pg-dir"
PASSWORD = "correct horse battery"
env = pb = rpc = None


def setUpModule():
    global env, pb, rpc
    env = Env(BIN)
    from csf.v1 import agent_pb2, agent_pb2_grpc
    pb, rpc = agent_pb2, agent_pb2_grpc


def run_sql(server, sql, *params):
    """Run SQL straight on the server's database (`?` placeholders)."""
    if server.db:
        return psql(server.db, sql.replace("?", "%s") % tuple("'%s'" % p for p in params))
    db = sqlite3.connect(os.path.join(server.data, "csf.db"), timeout=30)
    try:
        with db:
            return db.execute(sql, params).fetchall()
    finally:
        db.close()


def full_metrics(agent, seq, ts_ms, k):
    """A metrics message whose every detail depends on k."""
    def counters(base):
        return pb.NetCounters(bytes=base, packets=base // 100, errors=k, drops=k + 1,
                              bytes_per_sec=base / 8, packets_per_sec=12.5)

    def proc(pid, name, cpu, rss):
        return pb.ProcessInfo(pid=pid, name=name, user="user%d" % k, cpu_percent=cpu, rss_bytes=rss)

    return pb.AgentMessage(
        agent_id=agent.agent_id, boot_id=agent.boot_id, seq=seq, sent_at_ms=ts_ms,
        metrics=pb.MetricsSnapshot(
            timestamp_ms=ts_ms, interval_seconds=10, uptime_seconds=3600.5 * k,
            cpu=pb.CpuMetrics(total=pb.CpuUsage(usage=10.25 * k), cores=[pb.CpuCore(), pb.CpuCore()],
                              load1=0.5 * k, load5=0.25, load15=0.125),
            memory=pb.MemoryMetrics(total=8 << 30, used=k << 30, available=(8 - k) << 30,
                                    swap_total=1 << 30, swap_used=k << 20),
            filesystems=[
                pb.FilesystemMetrics(device="/dev/sda%d" % k, mountpoint="/", fstype="ext4",
                                     total_bytes=100 << 30, used_bytes=(40 + k) << 30,
                                     available_bytes=(60 - k) << 30, inodes_total=6553600,
                                     inodes_used=1000 * k),
                pb.FilesystemMetrics(device="tmpfs", mountpoint="/run/k%d" % k, fstype="tmpfs",
                                     total_bytes=1 << 30, used_bytes=k << 20, available_bytes=(1 << 30) - (k << 20)),
            ],
            disks=[pb.DiskMetrics(name="sda", reads=100 * k, writes=200 * k, read_bytes=4096 * k,
                                  write_bytes=8192 * k, reads_per_sec=1.5, writes_per_sec=2.5,
                                  read_bytes_per_sec=100.75, write_bytes_per_sec=200.5, busy_percent=3.25 * k)],
            interfaces=[pb.InterfaceMetrics(name="eth%d" % k, rx=counters(1000000 * k), tx=counters(500000 * k)),
                        pb.InterfaceMetrics(name="wlan0", rx=counters(64000), tx=counters(32000))],
            rx_total=pb.NetCounters(bytes=1064000 * k), tx_total=pb.NetCounters(bytes=532000 * k),
            processes=pb.ProcessMetrics(
                count=200 + k, threads=800 + k,
                top_cpu=[proc(100 + k, "busy%d" % k, 95.5, 1 << 20), proc(7, "csf-agent", 1.25, 9 << 20)],
                top_memory=[proc(300 + k, "big%d" % k, 0.5, k << 30)])))


def expected(agent, ts_ms, k):
    """What the endpoint answers for full_metrics(..., ts_ms, k)."""
    def counters(base):
        return {"bytes": base, "packets": base // 100, "errors": k, "drops": k + 1,
                "bytes_per_sec": base / 8, "packets_per_sec": 12.5}

    def proc(pid, name, cpu, rss):
        return {"pid": pid, "name": name, "user": "user%d" % k, "cpu_percent": cpu, "rss_bytes": rss}

    return {
        "agent_id": agent.agent_id, "timestamp": ts_ms, "interval_seconds": 10, "uptime_seconds": 3600.5 * k,
        "cpu": {"usage_percent": 10.25 * k, "cores": 2, "load1": 0.5 * k, "load5": 0.25, "load15": 0.125},
        "memory": {"total_bytes": 8 << 30, "used_bytes": k << 30, "available_bytes": (8 - k) << 30,
                   "swap_total_bytes": 1 << 30, "swap_used_bytes": k << 20},
        "filesystems": [
            {"device": "/dev/sda%d" % k, "mountpoint": "/", "fstype": "ext4", "total_bytes": 100 << 30,
             "used_bytes": (40 + k) << 30, "available_bytes": (60 - k) << 30, "inodes_total": 6553600,
             "inodes_used": 1000 * k},
            {"device": "tmpfs", "mountpoint": "/run/k%d" % k, "fstype": "tmpfs", "total_bytes": 1 << 30,
             "used_bytes": k << 20, "available_bytes": (1 << 30) - (k << 20), "inodes_total": 0, "inodes_used": 0},
        ],
        "disks": [{"name": "sda", "reads": 100 * k, "writes": 200 * k, "read_bytes": 4096 * k,
                   "write_bytes": 8192 * k, "reads_per_sec": 1.5, "writes_per_sec": 2.5,
                   "read_bytes_per_sec": 100.75, "write_bytes_per_sec": 200.5, "busy_percent": 3.25 * k}],
        "interfaces": [{"name": "eth%d" % k, "rx": counters(1000000 * k), "tx": counters(500000 * k)},
                       {"name": "wlan0", "rx": counters(64000), "tx": counters(32000)}],
        "processes": {"count": 200 + k, "threads": 800 + k,
                      "top_cpu": [proc(100 + k, "busy%d" % k, 95.5, 1 << 20), proc(7, "csf-agent", 1.25, 9 << 20)],
                      "top_memory": [proc(300 + k, "big%d" % k, 0.5, k << 30)]},
    }


def stream(agent, msgs):
    """One StreamMetrics call: Hello, `msgs`, and the end of the call once
    the last is acked. Returns the highest seq acked (acks are cumulative:
    one may cover several messages)."""
    last = msgs[-1].seq
    done = threading.Event()
    acks = []

    def messages():
        yield agent.hello()
        yield from msgs
        done.wait(30)

    with agent.channel() as ch:
        call = rpc.AgentServiceStub(ch).StreamMetrics(messages(), timeout=30)
        for reply in call:
            if reply.HasField("ack"):
                acks.append(reply.ack.seq)
                if reply.ack.seq >= last:
                    break
        done.set()
        call.cancel()
    return max(acks, default=0)


def counter(srv, name):
    text = srv.rest("GET", "/metrics")[1].decode()
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith(name + " ")))


class SnapshotTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(BIN, db=wipe_pg(DB_URL) if DB_URL else None).start()
        cls.admin = cls.srv.login()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def enrolled(self, name):
        a = Agent(self.srv, pb, rpc, name=name)
        a.enroll(self.srv.token())
        return a

    def snapshot(self, agent_id, token=None):
        return self.srv.rest("GET", "/api/v1/agents/%s/snapshot" % agent_id, token=token or self.admin)

    def test_snapshot_end_to_end(self):
        a = self.enrolled("snapshotter")
        status, body = self.snapshot(a.agent_id)
        self.assertEqual((status, body["error"]["message"]), (404, "the agent has sent no metrics yet"))
        status, body = self.snapshot("0" * 32)
        self.assertEqual((status, body["error"]["message"]), (404, "no such agent"))

        written = counter(self.srv, "csf_ingest_snapshots_written_total")
        t0 = int(time.time() * 1000) - 60000
        # one stream: the first metrics message is stored, the second (within
        # 10 s) is not; both are acked and both rows are written
        self.assertEqual(stream(a, [full_metrics(a, 1, t0, 1), full_metrics(a, 2, t0 + 1000, 2)]), 2)
        self.assertEqual(self.snapshot(a.agent_id), (200, expected(a, t0, 1)))
        # a new stream's first message is stored: newer replaces older
        self.assertEqual(stream(a, [full_metrics(a, 3, t0 + 2000, 3)]), 3)
        self.assertEqual(self.snapshot(a.agent_id), (200, expected(a, t0 + 2000, 3)))
        # an older sample (an outbox replay) does not replace a newer one
        self.assertEqual(stream(a, [full_metrics(a, 4, t0 - 5000, 4)]), 4)
        self.assertEqual(self.snapshot(a.agent_id), (200, expected(a, t0 + 2000, 3)))
        self.assertEqual(counter(self.srv, "csf_ingest_snapshots_written_total") - written, 2)
        self.assertEqual(counter(self.srv, "csf_ingest_snapshot_failures_total"), 0)
        rows = run_sql(self.srv, "SELECT count(*) FROM agent_metrics WHERE agent_id = ?", a.agent_id)
        self.assertEqual(int(rows.strip()) if isinstance(rows, str) else rows[0][0], 4)

        # a viewer reads it; another organization's admin gets 404
        status, _ = self.srv.rest("POST", "/api/v1/users", token=self.admin,
                                  body={"username": "snap-viewer", "password": PASSWORD, "role": "viewer"})
        self.assertEqual(status, 201)
        viewer = self.srv.login("snap-viewer", PASSWORD)
        self.assertEqual(self.snapshot(a.agent_id, viewer)[0], 200)
        run_sql(self.srv, "INSERT INTO organizations (id, name, created_at) VALUES (?, 'snap-other', ?)",
                "f" * 32, int(time.time() * 1000))
        status, mover = self.srv.rest("POST", "/api/v1/users", token=self.admin,
                                      body={"username": "snap-other", "password": PASSWORD, "role": "admin"})
        self.assertEqual(status, 201)
        run_sql(self.srv, "UPDATE users SET organization_id = ? WHERE id = ?", "f" * 32, mover["id"])
        other = self.srv.login("snap-other", PASSWORD)
        status, body = self.snapshot(a.agent_id, other)
        self.assertEqual((status, body["error"]["message"]), (404, "no such agent"))

        # a revoked agent's snapshot is gone with it
        self.assertEqual(self.srv.rest("DELETE", "/api/v1/agents/" + a.agent_id, token=self.admin)[0], 204)
        self.assertEqual(self.snapshot(a.agent_id)[0], 404)


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    if len(sys.argv) > 2 and sys.argv[1] == PG_DIR_ARG:  # the ctest fixture's cluster
        with open(os.path.join(sys.argv[2], "url")) as f:
            DB_URL = f.read().strip()
        del sys.argv[1:3]
    elif len(sys.argv) > 1 and sys.argv[1].startswith("postgres"):
        DB_URL = sys.argv.pop(1)
    sys.exit(finish(unittest.main(verbosity=2, exit=False).result.wasSuccessful()))
