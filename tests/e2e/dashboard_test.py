"""The dashboard end to end: a real csf-server on loopback serving the built
dashboard, an agent of stock parts (grpcio + mTLS, enrolled through
RegisterAgent, streaming real metrics each second), and Debian's chromium
driven by playwright-core (dashboard.mjs). This script runs the parts; the
browser script says when to stop the agent (a line "ctl stop-agent" on its
stdout, answered "ok" on its stdin).

Usage: dashboard_test.py BIN_DIR WEB_ROOT WEB_SRC ARTIFACTS_DIR
"""
import os
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from server_common import Agent, Env, Server, finish  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "e2e-admin-password"


class LiveAgent:
    """Streams a hello, then one metrics sample a second until stopped; the
    stream's end is what a stopped agent looks like to the server."""

    def __init__(self, agent, rpc):
        self.agent, self.rpc = agent, rpc
        self.stopping = threading.Event()
        self.ch = agent.channel()
        self.call = rpc.AgentServiceStub(self.ch).StreamMetrics(self._messages(), timeout=120)
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _messages(self):
        yield self.agent.hello()
        seq = 0
        while not self.stopping.is_set():
            seq += 1
            yield self.agent.metrics(seq, cpu=20.0 + (seq % 7) * 5)
            self.stopping.wait(1.0)

    def _drain(self):
        try:
            for _ in self.call:
                pass
        except Exception:  # the call ends when we stop; what it says is not the point
            pass

    def stop(self):
        self.stopping.set()
        self.reader.join(15)
        self.ch.close()


def main():
    bin_dir, web_root, web_src, artifacts = sys.argv[1:5]
    if not os.access(CHROMIUM, os.X_OK):
        print("dashboard_test: %s is missing: scripts/setup.sh test installs it (apt: chromium)" % CHROMIUM,
              file=sys.stderr)
        return 1
    shutil.rmtree(artifacts, ignore_errors=True)  # only this run's screenshots
    os.makedirs(artifacts)
    Env(bin_dir)  # grpcio stubs from our .proto
    from csf.v1 import agent_pb2 as pb, agent_pb2_grpc as rpc

    srv = Server(bin_dir, extra=["--web-root", web_root], env={"CSF_ADMIN_PASSWORD": PASSWORD})
    ok, live, browser = False, None, None
    try:
        srv.start()
        admin = srv.login(password=PASSWORD)
        status, body = srv.rest("POST", "/api/v1/users", admin,
                                {"username": "watcher", "password": "viewer-password", "role": "viewer"})
        assert status == 201, (status, body)
        agent = Agent(srv, pb, rpc, name="e2e-agent")
        agent.enroll(srv.token(), tags={"env": "e2e", "rack": "7"})
        live = LiveAgent(agent, rpc)

        env = dict(os.environ, CSF_URL="http://127.0.0.1:%d" % srv.http_port, CSF_PASSWORD=PASSWORD,
                   CSF_VIEWER="watcher:viewer-password", CSF_AGENT_ID=agent.agent_id, CSF_AGENT_NAME=agent.name,
                   CSF_ARTIFACTS=artifacts, CSF_WEB_SRC=web_src, CSF_CHROMIUM=CHROMIUM)
        browser = subprocess.Popen(["node", os.path.join(HERE, "dashboard.mjs")], env=env, text=True,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for line in browser.stdout:
            line = line.rstrip("\n")
            print(line, flush=True)
            if line == "ctl stop-agent":
                live.stop()
                browser.stdin.write("ok\n")
                browser.stdin.flush()
        ok = browser.wait(30) == 0
    finally:
        if browser and browser.poll() is None:
            browser.kill()
            browser.wait()
        if live:
            live.stop()
        srv.stop()
    return finish(ok)


if __name__ == "__main__":
    sys.exit(main())
