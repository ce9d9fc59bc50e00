"""csf-agent install / uninstall and agent/install.sh against a real csf-server.

    /usr/bin/python3 agent_install_test.py BUILD/bin

Every install goes into a throwaway root (`--root`, the way `systemctl --root`
works): a temporary directory with its own /etc/passwd, /etc/group, shadow
files and /etc/systemd/system, so useradd, userdel and `systemctl enable` run
for real without touching this machine. Enrollment is real (csf-agent enroll
against csf-server on loopback) and the agent is then looked up over REST.
The installed unit is checked with `systemd-analyze verify`, pointed at the
root's unit directory with SYSTEMD_UNIT_PATH (verify's own --root needs a
whole OS tree).
"""
import functools
import hashlib
import http.server
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import unittest

from server_common import Server, finish

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
BIN = None

EXIT_TOKEN_REJECTED = 4
EXIT_NOT_ROOT = 20
EXIT_NO_SERVICE_MANAGER = 21
EXIT_OTHER_IDENTITY = 22


def make_root(with_docker=False):
    """A root with what a Debian system has before the agent: the account
    files (root only, plus a docker group if asked), their '-' backups,
    /etc/systemd/system, /var/lib, /usr/local/bin."""
    root = tempfile.mkdtemp(prefix="csf-install-root-")
    for d in ("etc/systemd/system", "var/lib", "usr/local/bin"):
        os.makedirs(os.path.join(root, d))
    files = {"passwd": "root:x:0:0:root:/root:/bin/bash\n", "group": "root:x:0:\n",
             "shadow": "root:*:19000:0:99999:7:::\n", "gshadow": "root:*::\n"}
    if with_docker:
        files["group"] += "docker:x:990:\n"
        files["gshadow"] += "docker:!::\n"
    for name, text in files.items():
        for suffix in ("", "-"):
            path = os.path.join(root, "etc", name + suffix)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o640 if "shadow" in name else 0o644)
    return root


def tree(root):
    """Every path under root with its type, mode, owner and content: what
    "leaves nothing behind" compares. The '-' backups that useradd and
    userdel rotate are left out (their own bookkeeping)."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(d, name)
            rel = os.path.relpath(path, root)
            if rel.startswith("etc/") and rel.endswith("-"):
                continue
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                content = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    content = hashlib.sha256(f.read()).hexdigest()
            else:
                content = None
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, content)
    return out


def user_ids(root, name="csf-agent"):
    """(uid, gid) of a user in the root's /etc/passwd, or None."""
    with open(os.path.join(root, "etc", "passwd")) as f:
        for line in f:
            parts = line.split(":")
            if parts[0] == name:
                return int(parts[2]), int(parts[3])
    return None


def conf(path):
    """A `key = value` file as a dict (double-quoted values unquoted)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                v = v.strip()
                if len(v) >= 2 and v[0] == v[-1] == '"':
                    v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                out[k.strip()] = v
    return out


def agent(*args, env=None, **kw):
    return subprocess.run([os.path.join(BIN, "csf-agent"), *args], capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), timeout=60, **kw)


class AgentInstall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(BIN).start()
        cls.url = "https://127.0.0.1:%d" % cls.srv.agent_port
        cls.admin = cls.srv.login()
        cls.roots = []

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        for r in cls.roots:
            shutil.rmtree(r, ignore_errors=True)

    def root(self, **kw):
        r = make_root(**kw)
        self.roots.append(r)
        return r

    def rest_agent(self, agent_id):
        status, body = self.srv.rest("GET", "/api/v1/agents/" + agent_id, token=self.admin)
        self.assertEqual(status, 200, body)
        return body

    def verify_unit(self, root):
        """systemd-analyze verify of the root's unit with its drop-ins."""
        r = subprocess.run(["systemd-analyze", "verify", "csf-agent.service"], capture_output=True, text=True,
                           env=dict(os.environ, SYSTEMD_UNIT_PATH=os.path.join(root, "etc/systemd/system") + ":"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("csf-agent", r.stderr, "verify warned about the unit")

    def test_install_verify_reinstall_uninstall(self):
        root = self.root(with_docker=True)
        before = tree(root)
        token = self.srv.token()
        r = agent("install", "--root", root, "--no-start", "--server-url", self.url, "--api-key", token,
                  "--name", "web-1", "--tags", "env=test,role=web", "--docker")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn(token, r.stdout + r.stderr, "the token was printed")

        uid, gid = user_ids(root)
        self.assertLess(uid, 1000, "not a system user")
        state = os.path.join(root, "var/lib/csf-agent")
        st = os.stat(state)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o700, uid, gid))
        for name in ("agent.key", "agent.crt", "ca.crt", "identity.conf"):
            st = os.stat(os.path.join(state, name))
            self.assertEqual((st.st_uid, st.st_gid), (uid, gid), name)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(state, "agent.key")).st_mode), 0o600)
        identity = conf(os.path.join(state, "identity.conf"))
        self.assertEqual(identity["server_url"], self.url)

        cfg = os.path.join(root, "etc/csf/agent.conf")
        st = os.stat(cfg)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o640, 0, gid))
        self.assertEqual(conf(cfg), {"server_url": self.url, "state_dir": "/var/lib/csf-agent"})

        units = os.path.join(root, "etc/systemd/system")
        with open(os.path.join(units, "csf-agent.service")) as f, \
                open(os.path.join(SRC, "agent/csf-agent.service")) as g:
            self.assertEqual(f.read(), g.read())
        self.assertEqual(os.readlink(os.path.join(units, "multi-user.target.wants/csf-agent.service")),
                         "/etc/systemd/system/csf-agent.service")
        with open(os.path.join(units, "csf-agent.service.d/10-install.conf")) as f:
            self.assertIn("ExecStart=%s run --config /etc/csf/agent.conf" % os.path.join(BIN, "csf-agent"),
                          f.read())
        with open(os.path.join(units, "csf-agent.service.d/20-docker.conf")) as f:
            self.assertIn("SupplementaryGroups=docker", f.read())
        self.verify_unit(root)

        body = self.rest_agent(identity["agent_id"])
        self.assertEqual(body["name"], "web-1")
        self.assertEqual(body["tags"], {"env": "test", "role": "web"})

        # again with the same server: the identity is kept (the token is used up)
        installed = tree(root)
        r = agent("install", "--root", root, "--no-start", "--server-url", self.url, "--token", token,
                  "--name", "web-1", "--docker")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("keeping that identity", r.stdout)
        self.assertEqual(tree(root), installed)

        # another server: refused, nothing changes
        r = agent("install", "--root", root, "--no-start", "--server-url", "https://127.0.0.2:1",
                  "--token", token)
        self.assertEqual(r.returncode, EXIT_OTHER_IDENTITY, r.stdout + r.stderr)
        self.assertIn(identity["agent_id"], r.stderr)
        self.assertEqual(tree(root), installed)

        # uninstall keeps the identity and the user; --purge takes them too
        r = agent("uninstall", "--root", root)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(cfg))
        self.assertFalse(os.path.exists(os.path.join(units, "csf-agent.service")))
        self.assertTrue(os.path.exists(os.path.join(state, "identity.conf")))
        self.assertIsNotNone(user_ids(root))
        r = agent("uninstall", "--root", root, "--purge", "--state-dir", "/var/lib/csf-agent")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(tree(root), before)
        # and once more: nothing left to do is not an error
        r = agent("uninstall", "--root", root, "--purge")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(tree(root), before)

    def test_custom_paths_drop_in(self):
        root = self.root()
        r = agent("install", "--root", root, "--server-url", self.url, "--token", self.srv.token(),
                  "--state-dir", "/srv/csf/state", "--config-path", "/etc/csf-agent.conf")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(os.path.join(root, "srv/csf/state/identity.conf")))
        self.assertEqual(conf(os.path.join(root, "etc/csf-agent.conf"))["state_dir"], "/srv/csf/state")
        with open(os.path.join(root, "etc/systemd/system/csf-agent.service.d/10-install.conf")) as f:
            dropin = f.read()
        self.assertIn("--config /etc/csf-agent.conf\n", dropin)
        self.assertIn("ReadWritePaths=\nReadWritePaths=/srv/csf/state\n", dropin)
        self.verify_unit(root)
        # uninstall finds the state dir in the config it removes
        r = agent("uninstall", "--root", root, "--purge", "--config-path", "/etc/csf-agent.conf")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(os.path.join(root, "srv/csf/state")))
        self.assertIsNone(user_ids(root))

    def test_wrong_token_leaves_nothing(self):
        root = self.root()
        before = tree(root)
        token = self.srv.token()
        bad = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
        r = agent("install", "--root", root, "--server-url", self.url, "--token", bad, "--name", "nope")
        self.assertEqual(r.returncode, EXIT_TOKEN_REJECTED, r.stdout + r.stderr)
        self.assertIn("nothing was installed", r.stderr)
        self.assertEqual(tree(root), before)
        self.assertIsNone(user_ids(root))

    def test_purge_spares_what_is_not_a_state_dir(self):
        root = self.root()
        keep = os.path.join(root, "var/lib/precious")
        os.makedirs(keep)
        with open(os.path.join(keep, "data"), "w") as f:
            f.write("not the agent's")
        for state_dir in ("/var/lib/precious", "/var"):
            r = agent("uninstall", "--root", root, "--purge", "--state-dir", state_dir)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("does not look like a csf-agent state directory", r.stderr)
        self.assertTrue(os.path.exists(os.path.join(keep, "data")))

    def test_docker_without_docker_group(self):
        root = self.root()
        before = tree(root)
        r = agent("install", "--root", root, "--server-url", self.url, "--token", self.srv.token(), "--docker")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("no group 'docker'", r.stderr)
        self.assertEqual(tree(root), before)

    def test_bad_command_lines(self):
        r = agent("install", "--token", "x")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--server-url", r.stderr)
        r = agent("install", "--server-url", self.url, "--token", "x", "--state-dir", "relative")
        self.assertEqual(r.returncode, 2)
        r = agent("install", "--server-url", "https://x\ny", "--token", "x")
        self.assertEqual(r.returncode, 2)
        r = agent("uninstall", "--bogus")
        self.assertEqual(r.returncode, 2)
        r = agent("install", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--api-key", r.stdout)

    def test_not_root(self):
        root = self.root()
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            os.path.join(BIN, "csf-agent"), "install", "--root", root, "--server-url", self.url,
                            "--token", "x"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, EXIT_NOT_ROOT, r.stderr)
        self.assertIn("must run as root", r.stderr)

    def test_no_systemd_running(self):
        if os.path.isdir("/run/systemd/system"):
            # a booted systemd would take the real install: this case needs a host without one
            print("systemd runs here: the no-systemd refusal is checked on hosts without it", file=sys.stderr)
            return
        r = agent("install", "--server-url", self.url, "--token", "x")
        self.assertEqual(r.returncode, EXIT_NO_SERVICE_MANAGER, r.stderr)
        self.assertIn("--no-start", r.stderr)

    def test_no_systemctl(self):
        root = self.root()
        empty = tempfile.mkdtemp(prefix="csf-empty-path-")
        self.roots.append(empty)
        r = agent("install", "--root", root, "--server-url", self.url, "--token", "x", env={"PATH": empty})
        self.assertEqual(r.returncode, EXIT_NO_SERVICE_MANAGER, r.stderr)
        self.assertIn("systemctl is missing", r.stderr)

    # ------------------------------------------------------------ install.sh

    def fetch_script(self):
        r = subprocess.run(["curl", "-fsS", "http://127.0.0.1:%d/agent/install.sh" % self.srv.http_port],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_install_sh_end_to_end(self):
        root = self.root()
        token = self.srv.token()
        script = self.fetch_script()
        self.assertIn(("agent_url=${CSF_AGENT_URL:-'%s'}" % self.url).encode(), script)
        # as documented: curl ... | sh -s -- --token TOKEN ...
        r = subprocess.run("curl -fsSL http://127.0.0.1:%d/agent/install.sh | sh -s -- --token %s "
                           "--name via-script --tags how=curl" % (self.srv.http_port, token),
                           shell=True, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, CSF_INSTALL_ROOT=root))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        installed = os.path.join(root, "usr/local/bin/csf-agent")
        with open(installed, "rb") as f, open(os.path.join(BIN, "csf-agent"), "rb") as g:
            self.assertEqual(hashlib.sha256(f.read()).digest(), hashlib.sha256(g.read()).digest())
        self.assertEqual(stat.S_IMODE(os.stat(installed).st_mode), 0o755)
        identity = conf(os.path.join(root, "var/lib/csf-agent/identity.conf"))
        self.assertEqual(self.rest_agent(identity["agent_id"])["name"], "via-script")
        self.assertEqual(conf(os.path.join(root, "etc/csf/agent.conf"))["server_url"], self.url)
        # the binary sits where the shipped unit expects it: no drop-in
        self.assertFalse(os.path.exists(os.path.join(root, "etc/systemd/system/csf-agent.service.d/10-install.conf")))
        r = subprocess.run([installed, "uninstall", "--root", root, "--purge"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIsNone(user_ids(root))

    def test_install_sh_refuses_a_bad_checksum(self):
        """A mirror (a stock Python HTTP server) whose binary is not the one
        the server's SHA-256 names: nothing is installed."""
        root = self.root()
        mirror = tempfile.mkdtemp(prefix="csf-mirror-")
        self.roots.append(mirror)
        name = "csf-agent-linux-" + os.uname().machine
        os.makedirs(os.path.join(mirror, "agent"))
        r = subprocess.run(["curl", "-fsS", "-o", os.path.join(mirror, "agent", name + ".sha256"),
                            "http://127.0.0.1:%d/agent/%s.sha256" % (self.srv.http_port, name)])
        self.assertEqual(r.returncode, 0)
        with open(os.path.join(BIN, "csf-agent"), "rb") as f, open(os.path.join(mirror, "agent", name), "wb") as g:
            g.write(f.read()[:-1])  # one byte short
        handler = functools.partial(QuietHandler, directory=mirror)
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            script = self.fetch_script()
            r = subprocess.run(["sh", "-s", "--", "--token", self.srv.token()], input=script, capture_output=True,
                               timeout=60, env=dict(os.environ, CSF_INSTALL_ROOT=root,
                                                    CSF_SERVER_HTTP_URL="http://127.0.0.1:%d" % httpd.server_port))
        finally:
            httpd.shutdown()
            httpd.server_close()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"SHA-256", r.stderr)
        self.assertEqual(os.listdir(os.path.join(root, "usr/local/bin")), [])
        self.assertIsNone(user_ids(root))

    def test_agent_files_routes(self):
        port = self.srv.http_port
        name = "csf-agent-linux-" + os.uname().machine
        status, body = self.srv.rest("GET", "/agent/%s.sha256" % name)
        self.assertEqual(status, 200)
        with open(os.path.join(BIN, "csf-agent"), "rb") as f:
            self.assertEqual(body.decode(), "%s  %s\n" % (hashlib.sha256(f.read()).hexdigest(), name))
        self.assertEqual(self.srv.rest("GET", "/agent/csf-agent-plan9-mips")[0], 404)
        # the HTTP layer refuses an encoded '/' (400); no name outside the pattern is served
        self.assertIn(self.srv.rest("GET", "/agent/..%2fbin%2fcsf-agent")[0], (400, 404))
        self.assertEqual(self.srv.rest("GET", "/agent/csf-agent")[0], 404)
        self.assertEqual(self.srv.rest("GET", "/agent/csf-agent-linux-x86_64.sig")[0], 404)
        self.assertEqual(self.srv.rest("GET", "/agent/.csf-agent-linux-x86_64")[0], 404)
        # a Host that is not a plain name never reaches the script
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: evil$(id)",
                            "http://127.0.0.1:%d/agent/install.sh" % port], capture_output=True, text=True)
        self.assertEqual(r.stdout, "400")
        r = subprocess.run(["curl", "-fsS", "-H", "Host: csf.example.com:8443", "-H", "X-Forwarded-Proto: https",
                            "http://127.0.0.1:%d/agent/install.sh" % port], capture_output=True, text=True)
        self.assertIn("http_url=${CSF_SERVER_HTTP_URL:-'https://csf.example.com:8443'}", r.stdout)
        self.assertIn("agent_url=${CSF_AGENT_URL:-'https://csf.example.com:%d'}" % self.srv.agent_port, r.stdout)

    def test_public_urls(self):
        srv = Server(BIN, extra=["--public-url", "https://csf.example.com", "--agent-public-url",
                                 "https://agents.example.com:7443"]).start()
        try:
            status, body = srv.rest("GET", "/agent/install.sh")
            self.assertEqual(status, 200)
            self.assertIn(b"http_url=${CSF_SERVER_HTTP_URL:-'https://csf.example.com'}", body)
            self.assertIn(b"agent_url=${CSF_AGENT_URL:-'https://agents.example.com:7443'}", body)
        finally:
            srv.stop()
        data = tempfile.mkdtemp(prefix="csf-bad-")
        self.roots.append(data)
        r = subprocess.run([os.path.join(BIN, "csf-server"), "--data-dir", data,
                            "--http-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0",
                            "--public-url", "https://x.example/'$(id)'"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("public URLs", r.stderr)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    sys.exit(finish(unittest.main(verbosity=2, exit=False).result.wasSuccessful()))
