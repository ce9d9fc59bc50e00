"""csf-agent end to end against a real csf-server on loopback: enrollment
and its failures, the daemon online with its metrics in the REST API,
lossless delivery across SIGKILLs, the outbox cap, revocation.

    /usr/bin/python3 agent_test.py BUILD/bin
"""
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from server_common import DIE_WITH_TEST, LogReader, Server, finish, psql, wipe_pg

BIN = DB_URL = None
PG_DIR_ARG = "--pg-dir"


def agent_bin():
    return os.path.join(BIN, "csf-agent")


STATE_DIRS = []


def state_dir():
    d = tempfile.mkdtemp(prefix="csf-agent-state-")
    shutil.rmtree(d)  # enroll makes it (0700)
    STATE_DIRS.append(d)
    return d


def enroll(srv, state, token=None, *extra, url=None, env=None):
    return subprocess.run([agent_bin(), "enroll", "--server-url", url or "https://127.0.0.1:%d" % srv.agent_port,
                           "--token", token or srv.token(), "--state-dir", state, *extra],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ, **(env or {})))


def identity(state):
    ident = {}
    with open(os.path.join(state, "identity.conf")) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                ident[k.strip()] = v.strip().strip('"')
    return ident


class OneServer(unittest.TestCase):
    """Tests that share one csf-server; agents they start are killed after each."""
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(BIN).start()
        cls.admin = cls.srv.login()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def tearDown(self):
        for a in AgentProc.all:
            a.kill()
        AgentProc.all.clear()


class Enroll(OneServer):

    def test_enroll_stores_the_identity_and_the_server_knows_it(self):
        st = state_dir()
        r = enroll(self.srv, st, None, "--name", "web-1", "--tags", "env=prod,role=web")
        self.assertEqual(r.returncode, 0, r.stderr)
        ident = identity(st)
        self.assertIn(ident["agent_id"], r.stdout)
        self.assertEqual(ident["ca_sha256"], self.srv.ca_sha256)
        self.assertEqual(ident["name"], "web-1")
        self.assertEqual(stat.S_IMODE(os.stat(st).st_mode), 0o700)
        for name, mode in (("agent.key", 0o600), ("identity.conf", 0o600), ("agent.crt", 0o644), ("ca.crt", 0o644)):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(st, name)).st_mode), mode, name)
        with open(os.path.join(st, "agent.key")) as f:
            self.assertIn("PRIVATE KEY", f.read())
        with open(os.path.join(st, "ca.crt"), "rb") as f:
            self.assertEqual(f.read(), self.srv.ca_pem())
        # the certificate names the agent the server assigned
        subj = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in", os.path.join(st, "agent.crt")],
                              capture_output=True, text=True, check=True).stdout
        self.assertIn(ident["agent_id"], subj)
        status, agent = self.srv.rest("GET", "/api/v1/agents/" + ident["agent_id"], token=self.admin)
        self.assertEqual(status, 200, agent)
        self.assertEqual(agent["name"], "web-1")
        self.assertEqual(agent["tags"], {"env": "prod", "role": "web"})
        self.assertEqual(agent["agent_version"], subprocess.run([agent_bin(), "version"], capture_output=True,
                                                                text=True).stdout.split()[1])
        self.assertTrue(agent["hostname"])
        # the key never left the host: the server's database has no private key
        with open(os.path.join(self.srv.data, "csf.db"), "rb") as f:
            self.assertNotIn(b"PRIVATE KEY", f.read())

    def test_token_and_options_from_the_environment(self):
        st = state_dir()
        r = subprocess.run([agent_bin(), "enroll"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, CSF_SERVER_URL="https://127.0.0.1:%d" % self.srv.agent_port,
                                    CSF_TOKEN=self.srv.token(), CSF_STATE_DIR=st, CSF_NAME="from-env"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(identity(st)["name"], "from-env")

    def assert_failure(self, r, code, pattern):
        self.assertEqual(r.returncode, code, (r.stdout, r.stderr))
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertRegex(lines[0], pattern)

    def test_each_enrollment_failure_has_its_exit_code_and_one_line(self):
        token = self.srv.token()
        # a token the server never made, with the right CA hash (csf1_CAHASH_SECRET;
        # the secret is base64url, which may hold '_' too)
        prefix, secret = token[:len("csf1_") + 65], token[len("csf1_") + 65:]
        unknown = prefix + "A" * len(secret)
        self.assert_failure(enroll(self.srv, state_dir(), unknown), 4, r"refused the token: .*not known")
        st = state_dir()
        self.assertEqual(enroll(self.srv, st, token).returncode, 0)
        r = enroll(self.srv, state_dir(), token)
        self.assert_failure(r, 4, r"refused the token: .*already used")
        self.assertNotIn(secret, r.stderr + r.stdout)  # no secret in any output
        self.assertNotIn(secret, "\n".join(self.srv.log))
        short = self.srv.token("--ttl", "1s")
        time.sleep(1.2)
        self.assert_failure(enroll(self.srv, state_dir(), short), 4, r"refused the token: .*expired")
        self.assert_failure(enroll(self.srv, state_dir(), "csf1_nonsense"), 4, r"not an enrollment token")
        # a token of another server: its CA is not the one this server presents
        other = Server(BIN).start()
        try:
            foreign = other.token()
        finally:
            other.stop()
        self.assert_failure(enroll(self.srv, state_dir(), foreign), 3, r"did not present the CA the token pins")
        # nothing listens there
        with socket_closed_port() as port:
            self.assert_failure(enroll(self.srv, state_dir(), self.srv.token(), url="https://127.0.0.1:%d" % port),
                                5, r"cannot reach https://127.0.0.1:%d" % port)
        # state directory problems, found before the token is spent
        fresh = self.srv.token()
        self.assert_failure(enroll(self.srv, st, fresh), 6, r"already holds an agent identity")
        not_a_dir = tempfile.mktemp(prefix="csf-agent-file-")
        with open(not_a_dir, "w") as f:
            f.write("x")
        self.assert_failure(enroll(self.srv, not_a_dir, fresh), 6, r"not a directory")
        os.unlink(not_a_dir)
        # a place nobody may create a directory in (not even root)
        self.assert_failure(enroll(self.srv, "/proc/1/csf-agent-state", fresh), 6, r"cannot create")
        # the token was not spent by the failures above
        self.assertEqual(enroll(self.srv, state_dir(), fresh).returncode, 0)
        self.assert_failure(subprocess.run([agent_bin(), "enroll", "--token", fresh], capture_output=True,
                                           text=True), 2, r"--server-url and --token are required")


class AgentProc(LogReader):
    """csf-agent run, its stderr collected line by line."""
    name = "csf-agent"
    all = []

    def __init__(self, state, *args, env=None):
        super().__init__()
        AgentProc.all.append(self)
        self.state, self.args, self.env = state, list(args), dict(os.environ, **(env or {}))

    def start(self):
        self.follow(subprocess.Popen([*DIE_WITH_TEST, agent_bin(), "run", "--state-dir", self.state, *self.args],
                                     stderr=subprocess.PIPE, env=self.env))
        return self

    def wait_log(self, pattern, timeout=30):
        return super().wait_log(lambda line: re.search(pattern, line), timeout)

    def stop(self):
        """SIGTERM: the agent exits 0 within 2 s (DESIGN: flush and exit)."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        t0 = time.time()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(10)
        assert time.time() - t0 < 2.0, "SIGTERM took %.2f s" % (time.time() - t0)
        assert rc == 0, (rc, self.log[-10:])
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def status(state):
    out = subprocess.run([agent_bin(), "status", "--state-dir", state, "--json"], capture_output=True, text=True)
    import json
    return out.returncode, json.loads(out.stdout) if out.stdout else None


def wait_until(pred, timeout=30, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def fresh_db():
    """SQLite in the server's data directory, or the PostgreSQL fixture wiped."""
    return wipe_pg(DB_URL) if DB_URL else None


def server_seqs(srv, agent_id):
    if srv.db:
        out = psql(srv.db, "SELECT seq FROM agent_metrics WHERE agent_id = '%s' ORDER BY seq" % agent_id)
        return [int(x) for x in out.split()]
    db = sqlite3.connect(os.path.join(srv.data, "csf.db"))
    try:
        return [r[0] for r in db.execute("SELECT seq FROM agent_metrics WHERE agent_id = ? ORDER BY seq", (agent_id,))]
    finally:
        db.close()


def enrolled(srv, *extra):
    st = state_dir()
    r = enroll(srv, st, None, *extra)
    assert r.returncode == 0, r.stderr
    return st, identity(st)["agent_id"]


class Run(OneServer):
    def test_online_metrics_status_and_sigterm(self):
        st, aid = enrolled(self.srv, "--name", "runner")
        a = AgentProc(st, "--interval", "1").start()
        a.wait_log(r"connected to https://127.0.0.1:%d over grpc" % self.srv.agent_port)
        wait_until(lambda: self.srv.rest("GET", "/api/v1/agents/" + aid, token=self.admin)[1]["status"] == "online",
                   what="online in REST")
        wait_until(lambda: len(server_seqs(self.srv, aid)) >= 3, what="3 samples")
        now = int(time.time())
        code, body = self.srv.rest("GET", "/api/v1/agents/%s/metrics?from=%d&to=%d&step=1s" % (aid, now - 60, now + 5),
                                   token=self.admin)
        self.assertEqual(code, 200, body)
        buckets = [b for b in body["buckets"] if b["samples"]]
        self.assertGreaterEqual(len(buckets), 2, body)
        self.assertGreater(buckets[-1]["memory_total"], 0)
        wait_until(lambda: status(st)[1]["last_acked_seq"] >= 3, what="acks in status")
        rc, s = status(st)
        self.assertEqual(rc, 0)
        self.assertEqual((s["running"], s["state"], s["transport"], s["agent_id"]), (True, "connected", "grpc", aid))
        self.assertEqual(s["dropped"], 0)
        self.assertGreater(s["cert_expires_at"], now)
        a.stop()
        rc, s = status(st)
        self.assertEqual((rc, s["running"]), (3, False))
        # a second daemon on the same directory is refused while one runs
        a = AgentProc(st, "--interval", "1").start()
        a.wait_log(r"starting")
        b = AgentProc(st).start()
        self.assertEqual(b.proc.wait(10), 6)
        b.wait_log(r"another csf-agent runs on")  # its stderr may still be on the way
        a.stop()

    def test_websocket_transport(self):
        st, aid = enrolled(self.srv)
        a = AgentProc(st, "--interval", "1", "--transport", "websocket").start()
        a.wait_log(r"connected to .* over websocket")
        wait_until(lambda: len(server_seqs(self.srv, aid)) >= 2, what="samples over WebSocket")
        self.assertEqual(status(st)[1]["transport"], "websocket")
        a.stop()

    def test_config_file_env_and_flags(self):
        st, aid = enrolled(self.srv)
        conf = os.path.join(st, "agent.conf")
        with open(conf, "w") as f:
            f.write("# test\ninterval = 7\nlog_format = json\nstate_dir = /nonexistent\n")
        # flags beat the environment, which beats the file
        a = AgentProc(st, "--config", conf, env={"CSF_INTERVAL": "1", "CSF_STATE_DIR": "/nonexistent"}).start()
        a.wait_log(r'^\{"level":"info","module":"agent","message":"agent .* every 1 s')
        # SIGHUP reads the file again: the environment still says 1, so set it in the file only
        a.stop()
        a = AgentProc(st, "--config", conf).start()
        a.wait_log(r"every 7 s")
        with open(conf, "w") as f:
            f.write("interval = 2\n")
        a.proc.send_signal(signal.SIGHUP)
        a.wait_log(r"collecting every 2 s")
        a.wait_log(r"configuration reloaded")
        a.stop()
        with open(conf, "w") as f:
            f.write("interval = 2\n\nintervall = 3\n")
        r = subprocess.run([agent_bin(), "run", "--state-dir", st, "--config", conf], capture_output=True, text=True,
                           timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:3: unknown setting 'intervall'" % conf, r.stderr)
        r = subprocess.run([agent_bin(), "run", "--state-dir", st, "--config", conf + ".missing"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(".missing", r.stderr)
        r = subprocess.run([agent_bin(), "run", "--state-dir", st, "--interval", "0"], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("interval must be 1 to 86400", r.stderr)

    def test_bad_state_dirs(self):
        r = subprocess.run([agent_bin(), "run", "--state-dir", state_dir()], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 6)
        self.assertIn("holds no agent identity (run csf-agent enroll)", r.stderr)
        st, aid = enrolled(self.srv)
        with open(os.path.join(st, "identity.conf"), "a") as f:
            f.write("agent-id: garbage\n")
        r = subprocess.run([agent_bin(), "run", "--state-dir", st], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertRegex(r.stderr, r"identity.conf:8: ")
        st, aid = enrolled(self.srv)
        os.unlink(os.path.join(st, "agent.crt"))
        r = subprocess.run([agent_bin(), "run", "--state-dir", st], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertIn("agent.crt is missing", r.stderr)
        # a damaged outbox: moved aside, a new one with a new boot_id, and the agent says so
        st, aid = enrolled(self.srv)
        a = AgentProc(st, "--interval", "1").start()
        wait_until(lambda: len(server_seqs(self.srv, aid)) >= 2, what="samples")
        a.stop()
        boot1 = status(st)[1]["boot_id"]
        with open(os.path.join(st, "outbox.db"), "wb") as f:
            f.write(b"garbage " * 1000)
        a = AgentProc(st, "--interval", "1").start()
        line = a.wait_log(r"outbox was unreadable")
        self.assertIn("outbox.db.corrupt", line)
        a.wait_log(r"connected to")
        wait_until(lambda: status(st)[1]["last_acked_seq"] >= 1 and status(st)[1]["boot_id"] != boot1,
                   what="acks for the new boot_id")
        a.stop()

    def test_revocation_stops_the_agent(self):
        st, aid = enrolled(self.srv)
        a = AgentProc(st, "--interval", "1").start()
        a.wait_log(r"connected to")
        self.assertEqual(self.srv.rest("DELETE", "/api/v1/agents/" + aid, token=self.admin)[0], 204)
        self.assertEqual(a.proc.wait(10), 7)
        a.wait_log(r"revoked.*enroll it again with csf-agent enroll")
        # and it stays stopped: the next start is refused by the server the same way
        b = AgentProc(st, "--interval", "1").start()
        self.assertEqual(b.proc.wait(20), 7)
        b.wait_log(r"enroll it again")


class OwnServer(unittest.TestCase):
    """Tests that start (and kill) servers of their own."""
    def tearDown(self):
        for a in AgentProc.all:
            a.kill()
        AgentProc.all.clear()


class Delivery(OwnServer):
    def test_lossless_across_server_and_agent_sigkill(self):
        srv = Server(BIN, db=fresh_db()).start()
        try:
            st, aid = enrolled(srv)
            ports = ("127.0.0.1:%d" % srv.http_port, "127.0.0.1:%d" % srv.agent_port)
            a = AgentProc(st, "--interval", "1", "--backoff-max", "4s").start()
            a.wait_log(r"connected to")
            wait_until(lambda: len(server_seqs(srv, aid)) >= 3, what="first samples")
            srv.kill()  # SIGKILL
            time.sleep(20)
            depth = status(st)[1]["outbox_depth"]
            self.assertGreaterEqual(depth, 15)  # 20 s at 1 s, kept on disk
            srv.start(*ports)
            a.wait_log(r"connected to", timeout=30)
            wait_until(lambda: status(st)[1]["outbox_depth"] <= 1, what="the backlog replayed")
            a.kill()  # SIGKILL the agent too, then start it again on the same state
            a = AgentProc(st, "--interval", "1", "--backoff-max", "4s").start()
            a.wait_log(r"connected to")
            time.sleep(3)
            a.stop()
            s = status(st)[1]
            self.assertEqual(s["dropped"], 0)
            wait_until(lambda: len(server_seqs(srv, aid)) >= s["last_acked_seq"], what="all stored")
            seqs = server_seqs(srv, aid)
            # every seq from the first to the last, each exactly once
            self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
            # the server holds at least what it acked, and nothing the agent never wrote
            self.assertTrue(s["last_acked_seq"] <= len(seqs) <= s["last_acked_seq"] + s["outbox_depth"], (len(seqs), s))
            self.assertGreaterEqual(len(seqs), 25)
        finally:
            srv.stop()

    def test_outbox_cap_drops_the_oldest_and_counts_exactly(self):
        srv = Server(BIN, db=fresh_db()).start()
        try:
            st, aid = enrolled(srv)
            ports = ("127.0.0.1:%d" % srv.http_port, "127.0.0.1:%d" % srv.agent_port)
            srv.kill()
            a = AgentProc(st, "--interval", "1", "--outbox-max-bytes", "12K", "--backoff-max", "2s").start()
            wait_until(lambda: ((status(st)[1] or {}).get("dropped") or 0) >= 3, timeout=40, what="drops")
            a.stop()
            s = status(st)[1]
            made = s["dropped"] + s["outbox_depth"]
            self.assertLessEqual(s["outbox_bytes"], 12 * 1024)
            a.wait_log(r"outbox full: dropped")
            srv.start(*ports)
            a = AgentProc(st, "--interval", "60", "--outbox-max-bytes", "12K").start()
            a.wait_log(r"connected to")
            wait_until(lambda: status(st)[1]["outbox_depth"] == 0, what="the rest delivered")
            a.stop()
            seqs = server_seqs(srv, aid)
            dropped = status(st)[1]["dropped"]
            self.assertEqual(dropped, s["dropped"])
            # the oldest went: what arrived is the newest, without a gap, and the count explains the rest
            self.assertEqual(seqs, list(range(dropped + 1, made + 1)))
            # and the server was told: the agent's record carries the same count
            admin = srv.login()
            wait_until(lambda: srv.rest("GET", "/api/v1/agents/" + aid, token=admin)[1]["dropped_messages"] == dropped,
                       what="the dropped count at the server")
        finally:
            srv.stop()


class Heartbeats(OwnServer):
    def test_heartbeats_follow_the_server_setting_and_keep_the_agent_online(self):
        srv = Server(BIN, extra=["--heartbeat-interval", "1"]).start()
        try:
            admin = srv.login()
            st, aid = enrolled(srv)
            # no data for an hour: only heartbeats keep it online (offline after 3 missed)
            a = AgentProc(st, "--interval", "3600").start()
            a.wait_log(r"connected to")

            def beat():
                return srv.rest("GET", "/api/v1/agents/" + aid, token=admin)[1].get("last_heartbeat") or 0
            first = wait_until(beat, what="a heartbeat")
            wait_until(lambda: beat() >= first + 2000, timeout=10, what="heartbeats every second")
            self.assertEqual(srv.rest("GET", "/api/v1/agents/" + aid, token=admin)[1]["status"], "online")
            self.assertEqual(server_seqs(srv, aid), [])
            a.stop()
        finally:
            srv.stop()


class Renewal(OwnServer):
    def test_certificate_renews_at_half_life_and_is_used(self):
        srv = Server(BIN, extra=["--cert-lifetime", "20s"]).start()
        try:
            st, aid = enrolled(srv)
            t0 = time.time()
            with open(os.path.join(st, "agent.crt")) as f:
                first = f.read()
            a = AgentProc(st, "--interval", "1").start()
            a.wait_log(r"connected to")
            a.wait_log(r"certificate renewed, valid until", timeout=25)
            # 40-60 % of the 20 s it had left (its notBefore is a minute back: skew)
            self.assertTrue(7 <= time.time() - t0 <= 14, time.time() - t0)
            with open(os.path.join(st, "agent.crt")) as f:
                self.assertNotEqual(f.read(), first)
            self.assertFalse(os.path.exists(os.path.join(st, "agent.crt.next")))
            time.sleep(3)  # and not again right away: the next one is 8-12 s after this one
            self.assertEqual(sum("certificate renewed" in l for l in a.log), 1, a.log)
            a.kill()
            a = AgentProc(st, "--interval", "1").start()
            a.wait_log(r"connected to")  # the server accepts the renewed certificate
            a.stop()
        finally:
            srv.stop()

    def test_an_expired_certificate_stops_the_agent(self):
        srv = Server(BIN, extra=["--cert-lifetime", "2s"]).start()
        try:
            st, aid = enrolled(srv)
            # the certificate starts a minute back (clock skew) and ends 2 s after issue
            time.sleep(2.5)
            r = subprocess.run([agent_bin(), "run", "--state-dir", st], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 7, r.stderr)
            self.assertRegex(r.stderr, r"certificate expired at \d+; enroll it again with csf-agent enroll")
        finally:
            srv.stop()


class Footprint(unittest.TestCase):
    def test_agent_loads_no_server_only_library(self):
        # DESIGN.md section 2: libpq and argon2 are the server's; libcurl is not needed
        libs = subprocess.run(["ldd", agent_bin()], capture_output=True, text=True, check=True).stdout
        names = [line.split()[0] for line in libs.splitlines() if line.strip()]
        self.assertIn("libssl.so.3", names)
        for lib in ("libpq", "libargon2", "libcurl", "libjansson"):
            self.assertFalse([n for n in names if n.startswith(lib)], (lib, names))


class socket_closed_port:
    """A loopback port that nothing listens on (bound, then closed)."""

    def __enter__(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    if len(sys.argv) > 2 and sys.argv[1] == PG_DIR_ARG:  # the ctest fixture's cluster
        with open(os.path.join(sys.argv[2], "url")) as f:
            DB_URL = f.read().strip()
        del sys.argv[1:3]
    ok = unittest.main(verbosity=2, exit=False).result.wasSuccessful()
    for d in STATE_DIRS:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(finish(ok))
