"""Shared pieces of the csf-server end-to-end tests: start the daemon, talk
REST to it, and a scriptable agent made of stock parts (grpcio stubs from our
.proto, keys and CSRs from python3-cryptography)."""
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from common import DIE_WITH_TEST, Env  # noqa: E402  (the stubs and PKI helpers of the interop tests)


class LogReader:
    """A daemon's stderr, read all the time (a full pipe would stall it) and
    searched line by line."""
    name = "the daemon"

    def __init__(self):
        self.log = []
        self.seen = 0
        self.cond = threading.Condition()
        self.proc = None
        self.eof = False

    def follow(self, proc):
        self.proc = proc
        self.seen = len(self.log)
        self.eof = False
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc):
        for raw in proc.stderr:
            with self.cond:
                self.log.append(raw.decode(errors="replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            if proc is self.proc:  # not a previous, killed run's late reader
                self.eof = True  # every line the process wrote is in self.log
            self.cond.notify_all()

    def wait_log(self, pred, timeout=15):
        """The first line logged since follow() (or the last wait_log) that pred accepts."""
        end = time.time() + timeout
        with self.cond:
            while True:
                while self.seen < len(self.log):
                    line = self.log[self.seen]
                    self.seen += 1
                    if pred(line):
                        return line
                if time.time() >= end or self.eof and self.seen == len(self.log):
                    break
                self.cond.wait(max(0.0, min(0.5, end - time.time())))
        raise AssertionError("%s did not log what was expected; last lines: %r" % (self.name, self.log[-8:]))


class Server(LogReader):
    """csf-server on loopback ports of its own choosing."""
    name = "csf-server"
    all = []  # every server made, for the test's cleanup

    def __init__(self, bin_dir, data_dir=None, db=None, extra=(), env=None):
        super().__init__()
        Server.all.append(self)
        self.bin = bin_dir
        self.data = data_dir or tempfile.mkdtemp(prefix="csf-server-")
        self.db = db
        self.extra = list(extra)
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.http_port = self.agent_port = None

    def args(self, *more):
        a = [os.path.join(self.bin, "csf-server"), *more, "--data-dir", self.data]
        if self.db:
            a += ["--db", self.db]
        return a

    def start(self, http="127.0.0.1:0", agents="127.0.0.1:0"):
        self.follow(subprocess.Popen(DIE_WITH_TEST + self.args("serve") + ["--http-listen", http, "--agent-listen", agents,
                                                            *self.extra],
                                     stderr=subprocess.PIPE, env=self.env))
        line = self.wait_log(lambda l: "serving: http on port" in l)
        m = re.search(r"http on port (\d+), agents on port (\d+), CA sha256 ([0-9a-f]{64})", line)
        self.http_port, self.agent_port, self.ca_sha256 = int(m.group(1)), int(m.group(2)), m.group(3)
        return self

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def stop(self):
        """SIGTERM: a clean stop exits 0 (under ASan: nothing leaked)."""
        running = self.proc and self.proc.poll() is None
        self.kill(signal.SIGTERM)
        time.sleep(0.1)  # the reader thread takes the last lines
        with open(os.path.join(self.data, "server.log"), "w") as f:
            f.write("\n".join(self.log) + "\n")
        if running and self.proc.returncode != 0:
            raise AssertionError("csf-server exited %d on SIGTERM; last lines: %r"
                                 % (self.proc.returncode, self.log[-20:]))

    def token(self, *args):
        out = subprocess.run(self.args("token", "create") + list(args), capture_output=True, text=True,
                             check=True, env=self.env).stdout
        return out.split()[-1]

    def admin_password(self):
        with open(os.path.join(self.data, "initial-admin-password")) as f:
            return f.read().strip()

    def ca_pem(self):
        with open(os.path.join(self.data, "ca.pem"), "rb") as f:
            return f.read()

    # ----------------------------------------------------------------- REST

    def rest(self, method, path, token=None, body=None, headers=None, raw=None):
        url = "http://127.0.0.1:%d%s" % (self.http_port, path)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                text = r.read()
                return r.status, (json.loads(text) if text and r.headers.get_content_type() == "application/json" else text)
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def login(self, username="admin", password=None):
        status, body = self.rest("POST", "/api/v1/auth/login",
                                 body={"username": username, "password": password or self.admin_password()})
        assert status == 200, (status, body)
        return body["token"]


def psql_exe():
    """PostgreSQL's stock client."""
    return shutil.which("psql") or sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[-1]


def psql(url, sql):
    """Run SQL on PostgreSQL with the stock client; its unaligned output."""
    return subprocess.run([psql_exe(), url, "-qtAc", sql], capture_output=True, text=True, check=True).stdout


def wipe_pg(url):
    """An empty schema for the next server on the fixture's database."""
    psql(url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    return url


def finish(ok):
    """End of a test run: on failure show each server's last log lines, then
    delete their data directories; the exit status."""
    for srv in Server.all:
        if not ok:
            print("--- csf-server log (%s), last lines:" % srv.data, *srv.log[-40:], sep="\n", file=sys.stderr)
        shutil.rmtree(srv.data, ignore_errors=True)
    return 0 if ok else 1


class Agent:
    """An agent of stock parts: enrolls with a CSR and streams over mTLS."""

    def __init__(self, server, pb, rpc, name="test-agent", boot_id="boot-1"):
        self.server, self.pb, self.rpc = server, pb, rpc
        self.name, self.boot_id = name, boot_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.agent_id = self.cert_pem = None

    def csr(self, cn="please-call-me-admin"):
        return (x509.CertificateSigningRequestBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                .sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))

    def channel(self, with_cert=True):
        ca = self.server.ca_pem()
        # the token pins the CA: check it as a real agent would
        der = x509.load_pem_x509_certificate(ca).public_bytes(serialization.Encoding.DER)
        assert hashlib.sha256(der).hexdigest() == self.server.ca_sha256
        key = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()) if with_cert else None
        creds = grpc.ssl_channel_credentials(ca, key, self.cert_pem if with_cert else None)
        return grpc.secure_channel("localhost:%d" % self.server.agent_port, creds)

    def enroll(self, token, tags=None):
        with self.channel(with_cert=False) as ch:
            r = self.rpc.AgentServiceStub(ch).RegisterAgent(self.pb.RegisterAgentRequest(
                enrollment_token=token, csr_der=self.csr(), name=self.name, agent_version="test-1",
                tags=tags or {"env": "test"}, capabilities=["metrics"],
                host=self.pb.HostFacts(hostname="host-" + self.name, os_type="linux", os_pretty="Test OS 1",
                                       arch="x86_64", cpu_logical=2)), timeout=10)
        self.agent_id = r.agent_id
        self.cert_pem = x509.load_der_x509_certificate(r.certificate_der).public_bytes(serialization.Encoding.PEM)
        return r

    def hello(self):
        return self.pb.AgentMessage(agent_id=self.agent_id, boot_id=self.boot_id, seq=0,
                                    hello=self.pb.Hello(agent_version="test-1",
                                                        host=self.pb.HostFacts(hostname="host-" + self.name)))

    def metrics(self, seq, ts_ms=None, cpu=12.5):
        return self.pb.AgentMessage(
            agent_id=self.agent_id, boot_id=self.boot_id, seq=seq, sent_at_ms=ts_ms or int(time.time() * 1000),
            metrics=self.pb.MetricsSnapshot(
                timestamp_ms=ts_ms or int(time.time() * 1000), interval_seconds=1,
                cpu=self.pb.CpuMetrics(total=self.pb.CpuUsage(usage=cpu)),
                memory=self.pb.MemoryMetrics(total=8 << 30, used=2 << 30),
                filesystems=[self.pb.FilesystemMetrics(device="/dev/vda1", mountpoint="/", fstype="ext4",
                                                      total_bytes=100 << 30, used_bytes=40 << 30,
                                                      available_bytes=60 << 30)],
                rx_total=self.pb.NetCounters(bytes=1000 * seq), tx_total=self.pb.NetCounters(bytes=500 * seq),
                custom={"seq": float(seq)}))
