"""Shared set-up of the interop tests: a test PKI, Python stubs generated
from our .proto by grpc_tools (Debian's python3-grpc-tools), and our
test_server started on loopback."""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.join(HERE, "..", "..", "libcsf", "proto")
# Put before a daemon's command line: it gets SIGKILL when the test that
# started it dies (ctest kills a test that runs out of time, not its
# children), so no server is left behind holding ports and CPU.
DIE_WITH_TEST = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


class Env:
    def __init__(self, bin_dir):
        self.bin = bin_dir
        self.dir = tempfile.mkdtemp(prefix="csf-interop-")
        atexit.register(shutil.rmtree, self.dir, True)  # keys and stubs: made again next run
        self.pki = os.path.join(self.dir, "pki")
        subprocess.run([sys.executable, os.path.join(HERE, "make_pki.py"), self.pki], check=True,
                       stdout=subprocess.DEVNULL)
        stubs = os.path.join(self.dir, "stubs")
        os.makedirs(stubs)
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + PROTO_ROOT, "--python_out=" + stubs,
                        "--grpc_python_out=" + stubs, "csf/v1/agent.proto"], check=True)
        sys.path.insert(0, stubs)

    def read(self, name):
        with open(os.path.join(self.pki, name), "rb") as f:
            return f.read()

    def path(self, name):
        return os.path.join(self.pki, name)

    def pin(self, name="ca"):
        return self.read(name + ".sha256").decode()


class TestServer:
    """Our test_server on 127.0.0.1; `lines` collects what it prints."""

    def __init__(self, env, *args):
        self.proc = subprocess.Popen([*DIE_WITH_TEST, os.path.join(env.bin, "test_server"), "--pki", env.pki, *args],
                                     stdout=subprocess.PIPE)
        self.pending = ""
        self.lines = []
        first = self.read_until(lambda l: l.startswith("ready")).split()
        assert first and first[0] == "ready", first
        self.tls = int(first[1].split("=")[1])
        self.h2c = int(first[2].split("=")[1])

    def read_until(self, pred, timeout=10):
        """Read the server's output (from the raw pipe: select() cannot see
        what a buffered reader already holds) until a line matches."""
        import select
        import time
        end = time.time() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            while "\n" in self.pending:
                line, self.pending = self.pending.split("\n", 1)
                self.lines.append(line)
                if pred(line):
                    return line
            left = end - time.time()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.pending += chunk.decode()
        raise AssertionError("test_server never printed the expected line; got %r" % self.lines[-5:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
