"""The dashboard end to end: a real csf-server on loopback serving the built
dashboard, a real csf-agent (enrolled with `csf-agent enroll`, then `run` at a
1 s interval over mutual TLS), and Debian's chromium driven by playwright-core
(dashboard.mjs). This script runs the parts; the browser script says when to
stop the agent (a line "ctl stop-agent" on its stdout, answered "ok" on its
stdin): SIGTERM, as systemd stops it.

Usage: dashboard_test.py BIN_DIR WEB_ROOT WEB_SRC ARTIFACTS_DIR
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from server_common import Server, finish  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "e2e-admin-password"


class LiveAgent:
    """`csf-agent run` on a state dir enrolled with `csf-agent enroll`."""

    def __init__(self, bin_dir, srv, name, tags):
        self.state = os.path.join(tempfile.mkdtemp(prefix="csf-e2e-agent-"), "state")
        agent = os.path.join(bin_dir, "csf-agent")
        r = subprocess.run([agent, "enroll", "--server-url", "https://127.0.0.1:%d" % srv.agent_port,
                            "--token", srv.token(), "--name", name, "--tags", tags, "--state-dir", self.state],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        with open(os.path.join(self.state, "identity.conf")) as f:
            ident = dict((k.strip(), v.strip().strip('"')) for k, v in
                         (line.split("=", 1) for line in f if "=" in line and not line.startswith("#")))
        self.agent_id = ident["agent_id"]
        self.name = name
        self.log = os.path.join(os.path.dirname(self.state), "agent.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([agent, "run", "--state-dir", self.state, "--interval", "1",
                                          "--config", "/dev/null"], stdout=subprocess.DEVNULL, stderr=log)

    def stop(self):
        """SIGTERM, as systemd stops it; the agent must be gone within 2 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.returncode != 0:
            with open(self.log) as f:
                print("csf-agent exited %d:\n%s" % (self.proc.returncode, f.read()[-4000:]), file=sys.stderr)
        return self.proc.returncode

    def remove(self):
        shutil.rmtree(os.path.dirname(self.state), ignore_errors=True)


def root_fs():
    """The root filesystem's type and use, as the agent should report them."""
    with open("/proc/self/mounts") as f:
        fstype = [line.split()[2] for line in f if line.split()[1] == "/"][-1]
    st = os.statvfs("/")
    used = st.f_blocks - st.f_bfree
    return {"fstype": fstype, "used_pct": 100.0 * used / (used + st.f_bavail)}  # as df counts it


def main():
    bin_dir, web_root, web_src, artifacts = sys.argv[1:5]
    if not os.access(CHROMIUM, os.X_OK):
        print("dashboard_test: %s is missing: scripts/setup.sh test installs it (apt: chromium)" % CHROMIUM,
              file=sys.stderr)
        return 1
    shutil.rmtree(artifacts, ignore_errors=True)  # only this run's screenshots
    os.makedirs(artifacts)
    srv = Server(bin_dir, extra=["--web-root", web_root], env={"CSF_ADMIN_PASSWORD": PASSWORD})
    ok, live, browser = False, None, None
    try:
        srv.start()
        admin = srv.login(password=PASSWORD)
        status, body = srv.rest("POST", "/api/v1/users", admin,
                                {"username": "watcher", "password": "viewer-password", "role": "viewer"})
        assert status == 201, (status, body)
        live = LiveAgent(bin_dir, srv, "e2e-agent", "env=e2e,rack=7")

        env = dict(os.environ, CSF_URL="http://127.0.0.1:%d" % srv.http_port, CSF_PASSWORD=PASSWORD,
                   CSF_VIEWER="watcher:viewer-password", CSF_AGENT_ID=live.agent_id, CSF_AGENT_NAME=live.name,
                   CSF_AGENT_HOSTNAME=socket.gethostname(), CSF_ROOT_FS=json.dumps(root_fs()),
                   CSF_ARTIFACTS=artifacts, CSF_WEB_SRC=web_src, CSF_CHROMIUM=CHROMIUM)
        browser = subprocess.Popen(["node", os.path.join(HERE, "dashboard.mjs")], env=env, text=True,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for line in browser.stdout:
            line = line.rstrip("\n")
            print(line, flush=True)
            if line == "ctl stop-agent":
                browser.stdin.write("ok\n" if live.stop() == 0 else "agent did not exit cleanly\n")
                browser.stdin.flush()
        ok = browser.wait(30) == 0
    finally:
        if browser and browser.poll() is None:
            browser.kill()
            browser.wait()
        if live:
            live.stop()
            live.remove()
        srv.stop()
    return finish(ok)


if __name__ == "__main__":
    sys.exit(main())
