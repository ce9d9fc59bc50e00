"""csf-server end to end: enrollment, sessions, lossless ingest, REST, live feed.

    /usr/bin/python3 server_test.py BUILD/bin [DB_URL]

Without DB_URL the server uses embedded SQLite in its data directory; with a
postgresql:// URL (the PostgreSQL fixture of tests/pg) the same tests run on
PostgreSQL.
"""
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc
import websockets

from server_common import Agent, Env, Server, finish, psql, psql_exe, wipe_pg

BIN = DB_URL = PG_DIR = None
PG_DIR_ARG = "--pg-dir"
HERE = os.path.dirname(os.path.abspath(__file__))
env = pb = rpc = None


def setUpModule():
    global env, pb, rpc
    env = Env(BIN)
    from csf.v1 import agent_pb2, agent_pb2_grpc
    pb, rpc = agent_pb2, agent_pb2_grpc


def fresh_db():
    """A database of its own for each server (PostgreSQL: a schema wipe)."""
    return wipe_pg(DB_URL) if DB_URL else None


def count_rows(server, sql, *params):
    """Count rows straight in the server's database."""
    if server.db:
        return int(psql(server.db, sql.replace("?", "%s") % tuple("'%s'" % p for p in params)).strip())
    db = sqlite3.connect(os.path.join(server.data, "csf.db"))
    try:
        return db.execute(sql, params).fetchone()[0]
    finally:
        db.close()


class Stream:
    """A StreamMetrics call fed from a queue, with what came back."""

    def __init__(self, agent, with_cert=True, timeout=30):
        self.q = []
        self.cv = threading.Condition()
        self.closed = False
        self.replies = []
        self.error = None
        self.ch = agent.channel(with_cert)
        self.call = rpc.AgentServiceStub(self.ch).StreamMetrics(self._gen(), timeout=timeout)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _gen(self):
        while True:
            with self.cv:
                while not self.q and not self.closed:
                    self.cv.wait()
                if not self.q:
                    return
                m = self.q.pop(0)
            yield m

    def _read(self):
        try:
            for r in self.call:
                with self.cv:
                    self.replies.append(r)
                    self.cv.notify_all()
        except grpc.RpcError as e:
            self.error = e
        with self.cv:
            self.cv.notify_all()

    def send(self, *msgs):
        with self.cv:
            self.q.extend(msgs)
            self.cv.notify_all()

    def close(self):
        with self.cv:
            self.closed = True
            self.cv.notify_all()
        self.reader.join(15)
        self.ch.close()

    def wait(self, pred, timeout=15):
        end = time.time() + timeout
        with self.cv:
            while not pred(self.replies) and time.time() < end and (self.reader.is_alive() or not self.replies):
                self.cv.wait(0.1)
            return pred(self.replies)

    def acked(self):
        return max([r.ack.seq for r in self.replies if r.HasField("ack")], default=0)


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(BIN, db=fresh_db(), env={"CSF_LOG_LEVEL": "debug"}).start()
        cls.admin = cls.srv.login()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def enrolled(self, name):
        a = Agent(self.srv, pb, rpc, name=name)
        a.enroll(self.srv.token())
        return a

    # ------------------------------------------------------------ identity

    def test_first_start_admin_and_login(self):
        path = os.path.join(self.srv.data, "initial-admin-password")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.join(self.srv.data, "ca.key")).st_mode & 0o777, 0o600)
        status, body = self.srv.rest("POST", "/api/v1/auth/login", body={"username": "admin", "password": "wrong"})
        self.assertEqual(status, 401)
        self.assertEqual(body["error"]["code"], "unauthenticated")
        status, me = self.srv.rest("GET", "/api/v1/auth/me", token=self.admin)
        self.assertEqual((status, me["username"], me["role"]), (200, "admin", "admin"))
        self.assertNotIn(self.srv.admin_password(), "\n".join(self.srv.log))  # never logged

    def test_enroll_ignores_the_csr_identity_and_pins_the_ca(self):
        a = Agent(self.srv, pb, rpc, name="pinned")
        r = a.enroll(self.srv.token())
        from cryptography import x509
        cert = x509.load_der_x509_certificate(r.certificate_der)
        cn = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
        self.assertEqual(cn, r.agent_id)
        self.assertNotEqual(cn, "please-call-me-admin")
        self.assertEqual(len(r.ca_chain_der), 1)
        self.assertGreater(r.certificate_expires_at, time.time() + 23 * 3600)
        self.assertEqual(r.settings.heartbeat_interval_seconds, 10)

    def test_token_errors_are_clear_and_single_use(self):
        token = self.srv.token()
        Agent(self.srv, pb, rpc, name="first").enroll(token)
        cases = [
            (token, "already used"),
            (token[:-4] + "AAAA", "not known"),
            ("csf1_" + "0" * 64 + token[69:], "another server"),
            ("garbage", "malformed"),
        ]
        for tok, why in cases:
            with self.assertRaises(grpc.RpcError) as cm:
                Agent(self.srv, pb, rpc, name="x").enroll(tok)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED, tok)
            self.assertIn(why, cm.exception.details())
        expiring = self.srv.token("--ttl", "1s")
        time.sleep(1.2)
        with self.assertRaises(grpc.RpcError) as cm:
            Agent(self.srv, pb, rpc, name="late").enroll(expiring)
        self.assertIn("expired", cm.exception.details())

    def test_token_with_uses(self):
        token = self.srv.token("--uses", "2")
        Agent(self.srv, pb, rpc, name="u1").enroll(token)
        Agent(self.srv, pb, rpc, name="u2").enroll(token)
        with self.assertRaises(grpc.RpcError):
            Agent(self.srv, pb, rpc, name="u3").enroll(token)

    # ------------------------------------------------------------ sessions

    def test_stream_acks_online_metrics_and_offline(self):
        a = self.enrolled("streamer")
        s = Stream(a)
        s.send(a.hello())
        self.assertTrue(s.wait(lambda r: r and r[0].HasField("welcome")))
        self.assertEqual(s.replies[0].welcome.acked_seq, 0)
        t0 = int(time.time() * 1000) - 20000
        s.send(*[a.metrics(i, ts_ms=t0 + i * 1000, cpu=float(i)) for i in range(1, 21)])
        self.assertTrue(s.wait(lambda r: s.acked() == 20), s.replies)
        status, agent = self.srv.rest("GET", "/api/v1/agents/" + a.agent_id, token=self.admin)
        self.assertEqual((status, agent["status"], agent["name"]), (200, "online", "streamer"))
        self.assertEqual(agent["tags"], {"env": "test"})
        status, m = self.srv.rest("GET", "/api/v1/agents/%s/metrics?from=%d&to=%d&step=5s" % (
            a.agent_id, t0 // 1000, t0 // 1000 + 30), token=self.admin)
        self.assertEqual((status, m["source"]), (200, "raw"))
        self.assertEqual(sum(b["samples"] for b in m["buckets"]), 20)
        self.assertEqual(max(b["cpu_max"] for b in m["buckets"]), 20)
        s.close()
        self.assertIsNone(s.error)
        deadline = time.time() + 5
        while time.time() < deadline:
            if self.srv.rest("GET", "/api/v1/agents/" + a.agent_id, token=self.admin)[1]["status"] == "offline":
                break
            time.sleep(0.1)
        self.assertEqual(self.srv.rest("GET", "/api/v1/agents/" + a.agent_id, token=self.admin)[1]["status"],
                         "offline")

    def test_stream_must_start_with_hello(self):
        a = self.enrolled("no-hello")
        s = Stream(a)
        s.send(a.metrics(1))
        s.wait(lambda r: False, timeout=3)
        self.assertEqual(s.error.code(), grpc.StatusCode.FAILED_PRECONDITION)
        s.close()

    def test_stream_needs_a_certificate_of_ours(self):
        a = self.enrolled("certless")
        s = Stream(a, with_cert=False)
        s.send(a.hello())
        s.wait(lambda r: False, timeout=3)
        self.assertEqual(s.error.code(), grpc.StatusCode.UNAUTHENTICATED)
        s.close()

    def test_replay_is_idempotent(self):
        a = self.enrolled("replayer")
        s = Stream(a)
        s.send(a.hello(), *[a.metrics(i) for i in range(1, 11)])
        self.assertTrue(s.wait(lambda r: s.acked() == 10))
        s.close()
        s = Stream(a)
        s.send(a.hello())
        self.assertTrue(s.wait(lambda r: r and r[0].HasField("welcome")))
        self.assertEqual(s.replies[0].welcome.acked_seq, 10)
        s.send(*[a.metrics(i) for i in range(5, 16)])  # 5..10 again, then 11..15
        self.assertTrue(s.wait(lambda r: s.acked() == 15))
        s.close()
        self.assertEqual(count_rows(self.srv, "SELECT count(*) FROM agent_metrics WHERE agent_id = ?", a.agent_id), 15)
        self.assertEqual(count_rows(self.srv, "SELECT count(DISTINCT seq) FROM agent_metrics WHERE agent_id = ?",
                                    a.agent_id), 15)

    def test_revocation_cuts_the_live_stream(self):
        a = self.enrolled("revoked")
        s = Stream(a)
        s.send(a.hello())
        self.assertTrue(s.wait(lambda r: r and r[0].HasField("welcome")))
        status, _ = self.srv.rest("DELETE", "/api/v1/agents/" + a.agent_id, token=self.admin)
        self.assertEqual(status, 204)
        s.wait(lambda r: False, timeout=3)
        self.assertTrue(any(r.HasField("go_away") and r.go_away.revoked for r in s.replies), s.replies)
        self.assertEqual(s.error.code(), grpc.StatusCode.UNAUTHENTICATED)
        s.close()
        again = Stream(a)
        again.send(a.hello())
        again.wait(lambda r: False, timeout=3)
        self.assertEqual(again.error.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("revoked", again.error.details())
        again.close()
        self.assertEqual(self.srv.rest("GET", "/api/v1/agents/" + a.agent_id, token=self.admin)[0], 404)

    def test_certificate_renewal_over_the_stream(self):
        a = self.enrolled("renewer")
        s = Stream(a)
        s.send(a.hello(), pb.AgentMessage(agent_id=a.agent_id, boot_id=a.boot_id,
                                          renew_certificate=pb.CertificateRenewalRequest(csr_der=a.csr())))
        self.assertTrue(s.wait(lambda r: any(x.HasField("certificate") for x in r)))
        s.close()
        from cryptography import x509
        new = [r for r in s.replies if r.HasField("certificate")][0].certificate
        cert = x509.load_der_x509_certificate(new.certificate_der)
        self.assertEqual(cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value, a.agent_id)
        # the renewed certificate works
        from cryptography.hazmat.primitives import serialization
        a.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        s = Stream(a)
        s.send(a.hello())
        self.assertTrue(s.wait(lambda r: r and r[0].HasField("welcome")))
        s.close()

    # --------------------------------------------------------------- REST

    def test_agent_list_filters_and_pagination(self):
        for i in range(5):
            a = Agent(self.srv, pb, rpc, name="page-%d" % i)
            a.enroll(self.srv.token(), tags={"env": "page", "n": str(i)})
        seen, cursor = [], None
        while True:
            path = "/api/v1/agents?tag=env%3Dpage&limit=2" + ("&cursor=" + cursor if cursor else "")
            status, body = self.srv.rest("GET", path, token=self.admin)
            self.assertEqual(status, 200, body)
            seen += [x["name"] for x in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, ["page-%d" % i for i in range(5)])
        status, body = self.srv.rest("GET", "/api/v1/agents?name=PAGE-3", token=self.admin)
        self.assertEqual([x["name"] for x in body["items"]], ["page-3"])
        status, body = self.srv.rest("GET", "/api/v1/agents?status=bogus", token=self.admin)
        self.assertEqual(status, 400)

    def test_patch_agent(self):
        a = self.enrolled("patchme")
        status, body = self.srv.rest("PATCH", "/api/v1/agents/" + a.agent_id, token=self.admin,
                                     body={"name": "patched", "tags": {"role": "db"}})
        self.assertEqual((status, body["name"], body["tags"]), (200, "patched", {"role": "db"}))
        for bad in ({"name": 5}, {"tags": {"a": 1}}, {"nope": 1}, {"name": ""}):
            status, body = self.srv.rest("PATCH", "/api/v1/agents/" + a.agent_id, token=self.admin, body=bad)
            self.assertEqual(status, 400, bad)
            self.assertIn("message", body["error"])

    def test_bad_requests_get_json_errors(self):
        cases = [
            ("POST", "/api/v1/auth/login", b"{not json", 400),
            ("POST", "/api/v1/auth/login", b"[1,2]", 400),
            ("POST", "/api/v1/auth/login", b'{"username":"a","password":"b","x":1}', 400),
            ("POST", "/api/v1/auth/login", b'{"username":1,"password":"b"}', 400),
            ("POST", "/api/v1/auth/login", b'{"username":"a","username":"b","password":"c"}', 400),
        ]
        for method, path, raw, want in cases:
            status, body = self.srv.rest(method, path, raw=raw)
            self.assertEqual(status, want, raw)
            self.assertIn("code", body["error"])
        status, body = self.srv.rest("POST", "/api/v1/users", token=self.admin, raw=b"x" * (2 << 20))
        self.assertEqual((status, body["error"]["code"]), (413, "payload_too_large"))
        self.assertEqual(self.srv.rest("GET", "/api/v1/agents")[0], 401)
        self.assertEqual(self.srv.rest("GET", "/api/v1/agents", token="csfs_bogus")[0], 401)
        self.assertEqual(self.srv.rest("GET", "/api/v1/nothing-here", token=self.admin)[0], 404)

    def test_roles_are_enforced(self):
        status, key = self.srv.rest("POST", "/api/v1/api-keys", token=self.admin, body={"name": "ro", "role": "viewer"})
        self.assertEqual(status, 201)
        viewer = key["key"]
        self.assertEqual(self.srv.rest("GET", "/api/v1/agents", token=viewer)[0], 200)
        self.assertEqual(self.srv.rest("POST", "/api/v1/enrollment-tokens", token=viewer, body={})[0], 403)
        self.assertEqual(self.srv.rest("GET", "/api/v1/users", token=viewer)[0], 403)
        a = self.enrolled("protected")
        self.assertEqual(self.srv.rest("DELETE", "/api/v1/agents/" + a.agent_id, token=viewer)[0], 403)
        self.assertEqual(self.srv.rest("PATCH", "/api/v1/agents/" + a.agent_id, token=viewer, body={"name": "x"})[0],
                         403)
        self.assertEqual(self.srv.rest("DELETE", "/api/v1/api-keys/" + key["id"], token=self.admin)[0], 204)
        self.assertEqual(self.srv.rest("GET", "/api/v1/agents", token=viewer)[0], 401)

    def test_users_and_sessions(self):
        status, u = self.srv.rest("POST", "/api/v1/users", token=self.admin,
                                  body={"username": "ops", "password": "correct horse battery", "role": "operator"})
        self.assertEqual((status, u["role"]), (201, "operator"))
        self.assertEqual(self.srv.rest("POST", "/api/v1/users", token=self.admin,
                                       body={"username": "ops", "password": "another good one", "role": "viewer"})[0],
                         409)
        ops = self.srv.login("ops", "correct horse battery")
        self.assertEqual(self.srv.rest("GET", "/api/v1/auth/me", token=ops)[1]["role"], "operator")
        self.assertEqual(self.srv.rest("PATCH", "/api/v1/users/" + u["id"], token=self.admin, body={"disabled": True})[0],
                         200)
        self.assertEqual(self.srv.rest("GET", "/api/v1/auth/me", token=ops)[0], 401)
        self.assertEqual(self.srv.rest("POST", "/api/v1/auth/logout", token=self.srv.login())[0], 204)

    def walk(self, path, limit):
        """Every item of a paginated list, a page of `limit` at a time."""
        items, cursor, pages = [], None, 0
        while True:
            q = "%s?limit=%d" % (path, limit) + ("&cursor=" + cursor if cursor else "")
            status, page = self.srv.rest("GET", q, token=self.admin)
            self.assertEqual(status, 200, page)
            self.assertLessEqual(len(page["items"]), limit)
            items += page["items"]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                return items, pages

    def test_admin_lists_are_paginated(self):
        made = []
        for i in range(5):
            status, k = self.srv.rest("POST", "/api/v1/api-keys", token=self.admin,
                                      body={"name": "page-%d" % i, "role": "viewer"})
            self.assertEqual(status, 201)
            made.append(k["id"])
            status, u = self.srv.rest("POST", "/api/v1/users", token=self.admin,
                                      body={"username": "pager-%d" % i, "password": "long enough password", "role": "viewer"})
            self.assertEqual(status, 201)
            self.assertEqual(self.srv.rest("POST", "/api/v1/enrollment-tokens", token=self.admin, body={})[0], 201)
        for path in ("/api/v1/api-keys", "/api/v1/users", "/api/v1/enrollment-tokens"):
            whole = self.srv.rest("GET", path, token=self.admin)[1]
            self.assertIsNone(whole["next_cursor"])
            items, pages = self.walk(path, 2)
            self.assertEqual([x["id"] for x in items], [x["id"] for x in whole["items"]], path)  # same order, no gaps
            self.assertEqual(len(set(x["id"] for x in items)), len(items), path)
            self.assertEqual(pages, (len(items) + 1) // 2, path)  # no empty last page
            self.assertGreaterEqual(len(items), 5)
        keys, _ = self.walk("/api/v1/api-keys", 3)
        self.assertEqual([k["id"] for k in keys if k["id"] in made], made[::-1])  # newest first
        users, _ = self.walk("/api/v1/users", 1)
        self.assertEqual([u["username"] for u in users], sorted(u["username"] for u in users))
        for bad in ("limit=0", "limit=1001", "limit=x", "cursor=zz", "cursor=" + "61" * 3):
            status, body = self.srv.rest("GET", "/api/v1/api-keys?" + bad, token=self.admin)
            self.assertEqual(status, 400, bad)

    def test_enrollment_tokens_over_rest(self):
        status, t = self.srv.rest("POST", "/api/v1/enrollment-tokens", token=self.admin,
                                  body={"ttl_seconds": 600, "uses": 3, "description": "rack 4"})
        self.assertEqual(status, 201)
        self.assertTrue(t["token"].startswith("csf1_" + self.srv.ca_sha256 + "_"))
        self.assertEqual((t["uses_left"], t["uses"]), (3, 0))
        status, lst = self.srv.rest("GET", "/api/v1/enrollment-tokens", token=self.admin)
        row = [x for x in lst["items"] if x["id"] == t["id"]][0]
        self.assertEqual((row["uses_left"], row["description"]), (3, "rack 4"))
        self.assertNotIn(t["token"], json.dumps(lst))  # secrets are shown once
        self.assertEqual(self.srv.rest("DELETE", "/api/v1/enrollment-tokens/" + t["id"], token=self.admin)[0], 204)
        with self.assertRaises(grpc.RpcError) as cm:
            Agent(self.srv, pb, rpc, name="too-late").enroll(t["token"])
        self.assertIn("revoked", cm.exception.details())

    def test_fleet_summary(self):
        a = self.enrolled("summarized")
        s = Stream(a)
        s.send(a.hello(), a.metrics(1, cpu=97.0))
        self.assertTrue(s.wait(lambda r: s.acked() == 1))
        status, body = self.srv.rest("GET", "/api/v1/fleet/summary", token=self.admin)
        self.assertEqual(status, 200)
        self.assertGreaterEqual(body["agents"]["online"], 1)
        self.assertIn({"id": a.agent_id, "reason": "cpu"},
                      [{"id": x["id"], "reason": x["reason"]} for x in body["attention"]])
        s.close()

    def test_health_and_prometheus_metrics(self):
        self.assertEqual(self.srv.rest("GET", "/healthz")[0], 200)
        self.assertEqual(self.srv.rest("GET", "/readyz")[0], 200)
        status, text = self.srv.rest("GET", "/metrics")
        self.assertEqual(status, 200)
        from prometheus_client.parser import text_string_to_metric_families
        families = {f.name: f for f in text_string_to_metric_families(text.decode())}
        for name in ("csf_agents_connected", "csf_ingest_rows_committed", "csf_ingest_queue_depth",
                     "csf_ingest_commit_seconds", "csf_enrollments", "csf_build_info", "csf_workers",
                     "csf_workers_busy", "csf_worker_queue_depth", "csf_worker_queue_wait_seconds",
                     "csf_worker_job_seconds"):
            self.assertIn(name, families)
        self.assertGreaterEqual(families["csf_enrollments"].samples[0].value, 1)
        self.assertEqual(families["csf_workers"].samples[0].value, 4)
        jobs = {s.name: s.value for s in families["csf_worker_job_seconds"].samples}
        self.assertGreaterEqual(jobs["csf_worker_job_seconds_count"], 2)  # /readyz and the login at least

    # ------------------------------------------------------------ live feed

    def test_a_rest_request_waiting_on_the_database_holds_up_nothing_else(self):
        """A REST request and an enrollment stuck on a lock wait on worker
        threads (with their own database connections): the loop goes on with
        health checks, other requests and, on PostgreSQL, agents' metrics."""
        a = self.enrolled("beside-a-lock")
        newcomer, token = Agent(self.srv, pb, rpc, name="enrolls-during-a-lock"), self.srv.token()
        late = self.enrolled("starts-during-a-lock")
        s = Stream(a)
        s.send(a.hello(), a.metrics(1))
        self.assertTrue(s.wait(lambda r: s.acked() == 1))
        if self.srv.db:
            # a reader waits for an exclusive lock on the table it reads
            locker = subprocess.Popen([psql_exe(), self.srv.db, "-qtA"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
            locker.stdin.write("BEGIN; LOCK TABLE enrollment_tokens, agent_certificates IN ACCESS EXCLUSIVE MODE; "
                               "SELECT 'locked';\n")
            locker.stdin.flush()
            self.assertEqual(locker.stdout.readline().strip(), "locked")
            blocked, want = ("GET", "/api/v1/enrollment-tokens", None), 200
        else:
            # WAL readers never wait: a writer does, while another connection writes
            locker = sqlite3.connect(os.path.join(self.srv.data, "csf.db"), isolation_level=None)
            locker.execute("BEGIN IMMEDIATE")
            blocked, want = ("POST", "/api/v1/enrollment-tokens", {"description": "after the lock"}), 201
        answer = {}
        waiter = threading.Thread(target=lambda: answer.update(r=self.srv.rest(
            blocked[0], blocked[1], token=self.admin, body=blocked[2])))
        enroller = threading.Thread(target=newcomer.enroll, args=(token,))
        try:
            waiter.start()
            enroller.start()
            time.sleep(0.3)
            self.assertTrue(waiter.is_alive(), "the request did not wait for the lock: %r" % answer)
            self.assertTrue(enroller.is_alive(), "the enrollment did not wait for the lock")
            self.assertEqual(self.srv.rest("GET", "/healthz")[0], 200)
            self.assertEqual(self.srv.rest("GET", "/api/v1/agents/" + a.agent_id, token=self.admin)[0], 200)
            self.assertEqual(self.srv.rest("GET", "/api/v1/auth/me", token=self.admin)[0], 200)
            if self.srv.db:  # on SQLite the ingest writer waits for the lock too
                # a stream start checks the certificate on a worker: it waits, the others do not
                starting = Stream(late)
                starting.send(late.hello())
                s.send(a.metrics(2))
                self.assertTrue(s.wait(lambda r: s.acked() == 2, timeout=5))
                self.assertEqual(starting.replies, [], "the new stream did not wait for the lock")
            self.assertTrue(waiter.is_alive() and enroller.is_alive(), "the lock went before the checks were done")
        finally:
            if self.srv.db:
                locker.stdin.write("COMMIT;\n")
                locker.stdin.close()
                locker.wait(10)
            else:
                locker.execute("COMMIT")
                locker.close()
        waiter.join(15)
        enroller.join(15)
        self.assertEqual(answer["r"][0], want, answer)
        self.assertEqual(self.srv.rest("GET", "/api/v1/agents/" + newcomer.agent_id, token=self.admin)[0], 200)
        if self.srv.db:
            self.assertTrue(starting.wait(lambda r: r and r[0].HasField("welcome")), starting.error)
            starting.close()
        s.send(a.metrics(3))
        self.assertTrue(s.wait(lambda r: s.acked() == 3))
        s.close()

    def test_live_feed(self):
        a = self.enrolled("live")
        origin = "http://127.0.0.1:%d" % self.srv.http_port
        url = "ws://127.0.0.1:%d/api/v1/ws" % self.srv.http_port
        events = []

        async def feed():
            async with websockets.connect(url, subprotocols=["csf.feed.v1"], origin=origin) as ws:
                await ws.send(json.dumps({"type": "auth", "token": self.admin}))
                events.append(json.loads(await ws.recv()))
                await ws.send(json.dumps({"type": "subscribe", "topics": ["agents", "metrics:" + a.agent_id]}))
                await asyncio.sleep(0.2)
                s = Stream(a)
                s.send(a.hello(), a.metrics(1, cpu=33.0))
                while not any(e.get("type") == "metrics" for e in events):
                    events.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
                s.close()
                while not any(e.get("type") == "agent" and e["status"] == "offline" for e in events):
                    events.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))

        asyncio.run(feed())
        self.assertEqual(events[0]["type"], "hello")
        self.assertIn({"type": "agent", "id": a.agent_id, "status": "online"},
                      [{k: e[k] for k in ("type", "id", "status")} for e in events if e["type"] == "agent"])
        m = [e for e in events if e["type"] == "metrics"][0]
        self.assertEqual((m["id"], m["cpu_percent"]), (a.agent_id, 33))

    def test_live_feed_refuses_foreign_origins_and_unauthenticated(self):
        url = "ws://127.0.0.1:%d/api/v1/ws" % self.srv.http_port

        async def attempt(origin, token):
            async with websockets.connect(url, subprotocols=["csf.feed.v1"], origin=origin) as ws:
                try:  # a foreign origin is closed on at once, before the auth message
                    await ws.send(json.dumps({"type": "auth", "token": token}))
                    await asyncio.wait_for(ws.recv(), 5)
                except websockets.ConnectionClosed:
                    pass
                return ws.close_code

        self.assertEqual(asyncio.run(attempt("http://evil.example", self.admin)), 4007)
        self.assertEqual(asyncio.run(attempt("http://127.0.0.1:%d" % self.srv.http_port, "csfs_nope")), 4016)

    def test_live_feed_ends_with_its_credentials(self):
        url = "ws://127.0.0.1:%d/api/v1/ws" % self.srv.http_port
        origin = "http://127.0.0.1:%d" % self.srv.http_port
        status, key = self.srv.rest("POST", "/api/v1/api-keys", token=self.admin, body={"name": "feed", "role": "viewer"})
        self.assertEqual(status, 201)
        status, u = self.srv.rest("POST", "/api/v1/users", token=self.admin,
                                  body={"username": "watcher", "password": "watch it all day", "role": "viewer"})
        self.assertEqual(status, 201)

        async def feed(token, end):
            async with websockets.connect(url, subprotocols=["csf.feed.v1"], origin=origin) as ws:
                await ws.send(json.dumps({"type": "auth", "token": token}))
                self.assertEqual(json.loads(await ws.recv())["type"], "hello")
                await ws.send(json.dumps({"type": "ping"}))
                self.assertEqual(json.loads(await ws.recv())["type"], "pong")
                await asyncio.get_running_loop().run_in_executor(None, end)
                t0 = time.monotonic()
                try:
                    while True:  # closed within the next tick (a second), not at the 30 s recheck
                        await asyncio.wait_for(ws.recv(), 5)
                except websockets.ConnectionClosed:
                    pass
                return ws.close_code, time.monotonic() - t0

        session = self.srv.login()
        cases = [
            (session, lambda: self.srv.rest("POST", "/api/v1/auth/logout", token=session)),
            (key["key"], lambda: self.srv.rest("DELETE", "/api/v1/api-keys/" + key["id"], token=self.admin)),
            (self.srv.login("watcher", "watch it all day"),
             lambda: self.srv.rest("PATCH", "/api/v1/users/" + u["id"], token=self.admin, body={"disabled": True})),
        ]
        for token, end in cases:
            code, took = asyncio.run(feed(token, end))
            self.assertEqual(code, 4016)
            self.assertLess(took, 4)


def stream_losslessly(agent, total, disrupt, after_break=lambda: None, pace=0.0):
    """Send seqs 1..total as a real agent does: keep every message until it is
    acked and replay the rest after each reconnect. disrupt(seq) runs after
    each send; if it returns True the stream is abandoned there and
    after_break() runs before reconnecting (a restarted server, say)."""
    outbox, sent = {}, 0
    for _ in range(30):
        s = Stream(agent)
        s.send(agent.hello())
        if not s.wait(lambda r: r and r[0].HasField("welcome"), timeout=10):
            s.close()
            time.sleep(0.5)
            continue
        acked = s.replies[0].welcome.acked_seq
        for seq in [k for k in sorted(outbox) if k <= acked]:
            del outbox[seq]
        s.send(*[outbox[k] for k in sorted(outbox)])
        broke = False
        while sent < total and not broke:
            sent += 1
            outbox[sent] = agent.metrics(sent)
            s.send(outbox[sent])
            time.sleep(pace)
            broke = disrupt(sent)
        if not broke and s.wait(lambda r: s.acked() == total, timeout=60):
            s.close()
            return
        s.close()
        if broke:
            after_break()
    raise AssertionError("the stream never completed")


def assert_each_seq_once(test, srv, agent, total):
    rows = count_rows(srv, "SELECT count(*) FROM agent_metrics WHERE agent_id = ?", agent.agent_id)
    distinct = count_rows(srv, "SELECT count(DISTINCT seq) FROM agent_metrics WHERE agent_id = ?", agent.agent_id)
    test.assertEqual((rows, distinct), (total, total))


class Lossless(unittest.TestCase):
    """Every seq stored exactly once, whatever dies mid-stream."""

    def test_sigkill_mid_stream(self):
        srv = Server(BIN, db=fresh_db()).start()
        kills = []

        def kill(seq):
            if seq % 100 == 50 and len(kills) < 2:
                time.sleep(0.05)
                srv.kill()  # SIGKILL while messages are in flight
                kills.append(seq)
                return True
            return False

        try:
            a = Agent(srv, pb, rpc, name="lossless")
            a.enroll(srv.token())
            ports = ("127.0.0.1:%d" % srv.http_port, "127.0.0.1:%d" % srv.agent_port)
            stream_losslessly(a, 300, kill, after_break=lambda: srv.start(*ports))
            self.assertEqual(len(kills), 2)
            assert_each_seq_once(self, srv, a, 300)
        finally:
            srv.stop()

    @unittest.skipIf(PG_DIR_ARG in sys.argv, "fills the disk under SQLite: runs without --pg-dir")
    def test_sqlite_disk_full_mid_stream(self):
        mnt = tempfile.mkdtemp(prefix="csf-full-")
        if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt]).returncode:
            os.rmdir(mnt)
            self.skipTest("needs root to mount a small tmpfs")
        srv = Server(BIN, data_dir=os.path.join(mnt, "data"))
        filler = os.path.join(mnt, "filler")
        try:
            srv.start()
            a = Agent(srv, pb, rpc, name="disk-full")
            a.enroll(srv.token())
            s = Stream(a)
            s.send(a.hello())
            self.assertTrue(s.wait(lambda r: r and r[0].HasField("welcome")))
            s.send(*[a.metrics(i) for i in range(1, 51)])
            self.assertTrue(s.wait(lambda r: s.acked() == 50))
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)  # take every free block
            try:
                while os.write(fd, b"\0" * 65536):
                    pass
            except OSError:
                pass
            finally:
                os.close(fd)
            s.send(*[a.metrics(i, cpu=float(i % 97)) for i in range(51, 2001)])
            srv.wait_log(lambda l: "did not commit" in l and "full" in l, timeout=30)
            self.assertLess(s.acked(), 2000)  # what did not commit is not acked
            os.remove(filler)
            self.assertTrue(s.wait(lambda r: s.acked() == 2000, timeout=60), s.acked())
            s.close()
            assert_each_seq_once(self, srv, a, 2000)
        finally:
            if os.path.exists(filler):
                os.remove(filler)
            srv.stop()
            subprocess.run(["umount", "--lazy", mnt])
            os.rmdir(mnt)

    @unittest.skipUnless(PG_DIR_ARG in sys.argv, "restarts the PostgreSQL fixture: runs with --pg-dir")
    def test_postgresql_restart_mid_stream(self):
        srv = Server(BIN, db=fresh_db()).start()
        restarts = []

        def restart(seq):
            if seq == 100:  # the stream goes on while the database is down
                t = threading.Thread(target=subprocess.run, daemon=True, kwargs=dict(
                    args=["sh", os.path.join(HERE, "..", "pg", "pg_cluster.sh"), "restart", PG_DIR],
                    check=True, stdout=subprocess.DEVNULL))
                t.start()
                restarts.append(t)
            return False

        try:
            a = Agent(srv, pb, rpc, name="pg-restart")
            a.enroll(srv.token())
            stream_losslessly(a, 300, restart, pace=0.01)
            restarts[0].join(60)
            assert_each_seq_once(self, srv, a, 300)
            # the server's own connection heals as well: REST works again
            token = srv.login()
            status, agent = srv.rest("GET", "/api/v1/agents/" + a.agent_id, token=token)
            self.assertEqual((status, agent["name"]), (200, "pg-restart"))
            self.assertTrue(any("reconnected to the database" in line for line in srv.log), srv.log[-20:])
        finally:
            srv.stop()


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    if len(sys.argv) > 2 and sys.argv[1] == PG_DIR_ARG:  # the ctest fixture's cluster
        PG_DIR = sys.argv[2]
        with open(os.path.join(PG_DIR, "url")) as f:
            DB_URL = f.read().strip()
        del sys.argv[1:3]
    elif len(sys.argv) > 1 and sys.argv[1].startswith("postgres"):
        DB_URL = sys.argv.pop(1)
    sys.exit(finish(unittest.main(verbosity=2, exit=False).result.wasSuccessful()))
