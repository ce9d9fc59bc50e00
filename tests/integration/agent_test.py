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

from server_common import Server, finish

BIN = None


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


class Enroll(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(BIN).start()
        cls.admin = cls.srv.login()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

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
        # a token the server never made, with the right CA hash
        unknown = token[:token.rindex("_") + 1] + "A" * len(token[token.rindex("_") + 1:])
        self.assert_failure(enroll(self.srv, state_dir(), unknown), 4, r"refused the token: .*not known")
        st = state_dir()
        self.assertEqual(enroll(self.srv, st, token).returncode, 0)
        self.assert_failure(enroll(self.srv, state_dir(), token), 4, r"refused the token: .*already used")
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
    ok = unittest.main(verbosity=2, exit=False).result.wasSuccessful()
    for d in STATE_DIRS:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(finish(ok))
