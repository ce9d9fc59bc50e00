"""Stock grpcio (Debian python3-grpcio 1.51) against libcsf's gRPC, both ways.

    /usr/bin/python3 grpcio_test.py BUILD/bin

Server side: grpcio clients call our test_server (tests/interop/test_server.c)
over h2c and TLS 1.3 with mutual TLS. Client side: our test_client
(tests/interop/test_client.c) calls a grpcio server.
"""
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest
from concurrent import futures

import grpc

from common import Env, TestServer

env = None
server = None
pb = rpc = None


def setUpModule():
    global env, server, pb, rpc
    env = Env(BIN)
    from csf.v1 import agent_pb2, agent_pb2_grpc
    pb, rpc = agent_pb2, agent_pb2_grpc
    server = TestServer(env)


def tearDownModule():
    server.stop()


def mtls_channel(cert="client", port=None):
    creds = grpc.ssl_channel_credentials(env.read("ca.pem"), env.read(cert + ".key") if cert else None,
                                         env.read(cert + ".pem") if cert else None)
    return grpc.secure_channel("localhost:%d" % (port or server.tls), creds)


def heartbeats(agent_id, n, size=0):
    for i in range(1, n + 1):
        yield pb.AgentMessage(agent_id=agent_id, boot_id="boot", seq=i,
                              heartbeat=pb.Heartbeat(outbox_depth=size),
                              logs=pb.LogBatch(records=[pb.LogRecord(message="x" * size)]) if size else None)


class ServerSide(unittest.TestCase):
    def test_unary_over_h2c(self):
        with grpc.insecure_channel("127.0.0.1:%d" % server.h2c) as ch:
            r = rpc.AgentServiceStub(ch).RegisterAgent(pb.RegisterAgentRequest(name="bob"), timeout=5)
        self.assertEqual(r.agent_id, "agent-bob")

    def test_unary_with_metadata_over_mtls(self):
        with mtls_channel() as ch:
            r, call = rpc.AgentServiceStub(ch).RegisterAgent.with_call(
                pb.RegisterAgentRequest(name="alice"), metadata=[("x-org", "org-7")], timeout=5)
        self.assertEqual(r.agent_id, "agent-alice")
        self.assertEqual(r.organization_id, "org-7")
        self.assertEqual(call.code(), grpc.StatusCode.OK)

    def test_streaming_sees_the_client_identity_and_acks_in_order(self):
        with mtls_channel() as ch:
            replies = list(rpc.AgentServiceStub(ch).StreamMetrics(heartbeats("a1", 50), timeout=10))
        self.assertEqual(replies[0].WhichOneof("body"), "welcome")
        self.assertEqual(replies[0].welcome.session_id, "agent-1")  # the certificate's CN
        self.assertEqual([r.ack.seq for r in replies[1:]], list(range(1, 51)))

    def test_large_stream_exercises_flow_control(self):
        # 400 messages of 64 KiB: 25 MiB, far past the 256 KiB stream window
        with mtls_channel() as ch:
            replies = list(rpc.AgentServiceStub(ch).StreamMetrics(heartbeats("big", 400, 65536), timeout=60))
        self.assertEqual(len(replies), 401)
        self.assertEqual(replies[-1].ack.seq, 400)

    def test_many_concurrent_calls_on_one_connection(self):
        with mtls_channel() as ch:
            stub = rpc.AgentServiceStub(ch)
            futs = [stub.RegisterAgent.future(pb.RegisterAgentRequest(name="n%d" % i), timeout=10)
                    for i in range(200)]
            names = sorted(f.result().agent_id for f in futs)
        self.assertEqual(names, sorted("agent-n%d" % i for i in range(200)))

    def test_deadline_exceeded(self):
        def silent():
            yield pb.AgentMessage(agent_id="silent", boot_id="b", seq=1, heartbeat=pb.Heartbeat())
            threading.Event().wait(3)  # neither side ends the call

        with mtls_channel() as ch:
            it = rpc.AgentServiceStub(ch).StreamMetrics(silent(), timeout=0.4)
            with self.assertRaises(grpc.RpcError) as cm:
                list(it)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        # the server saw the deadline pass too (grpc-timeout header)
        server.read_until(lambda l: "StreamMetrics" in l and ("DEADLINE_EXCEEDED" in l or "CANCELLED" in l))

    def test_unknown_method_is_unimplemented(self):
        with mtls_channel() as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                ch.unary_unary("/csf.v1.AgentService/Nope")(b"", timeout=5)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_no_client_cert_is_unauthenticated(self):
        with mtls_channel(cert=None) as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                list(rpc.AgentServiceStub(ch).StreamMetrics(heartbeats("a", 1), timeout=5))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("client certificate", cm.exception.details())

    def test_enrollment_needs_no_client_cert(self):
        with mtls_channel(cert=None) as ch:
            r = rpc.AgentServiceStub(ch).RegisterAgent(pb.RegisterAgentRequest(name="new"), timeout=5)
        self.assertEqual(r.agent_id, "agent-new")

    def test_expired_client_cert_is_refused(self):
        with mtls_channel(cert="expired") as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                list(rpc.AgentServiceStub(ch).StreamMetrics(heartbeats("a", 1), timeout=5))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("expired", cm.exception.details())

    def test_client_cert_from_another_ca_is_refused(self):
        with mtls_channel(cert="rogue") as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                list(rpc.AgentServiceStub(ch).StreamMetrics(heartbeats("a", 1), timeout=5))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("rejected", cm.exception.details())

    def test_oversized_message_is_resource_exhausted(self):
        with mtls_channel() as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                rpc.AgentServiceStub(ch).RegisterAgent(pb.RegisterAgentRequest(name="x" * (5 << 20)), timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_handler_status_and_message_reach_the_client(self):
        with mtls_channel() as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                list(rpc.AgentServiceStub(ch).StreamMetrics(heartbeats("fail-7", 1), timeout=5))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertEqual(cm.exception.details(), "failed as asked")

    def test_tls12_and_below_are_refused(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_1):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(env.path("ca.pem"))
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.maximum_version = version
            try:
                ctx.set_ciphers("ALL:@SECLEVEL=0")
            except ssl.SSLError:
                pass
            with socket.create_connection(("127.0.0.1", server.tls), timeout=5) as s:
                with self.assertRaises((ssl.SSLError, ConnectionResetError)):
                    ctx.wrap_socket(s, server_hostname="localhost")

    def test_tls13_handshake_offers_h2(self):
        ctx = ssl.create_default_context(cafile=env.path("ca.pem"))
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", server.tls), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                self.assertEqual(t.version(), "TLSv1.3")
                self.assertEqual(t.selected_alpn_protocol(), "h2")


class Limits(unittest.TestCase):
    """A server with short deadlines and a small message limit."""

    @classmethod
    def setUpClass(cls):
        cls.srv = TestServer(env, "--handshake-ms", "500", "--max-message", "1024")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def wait_closed(self, s, limit):
        start = time.time()
        s.settimeout(limit)
        while True:
            try:
                if not s.recv(4096):
                    break
            except (ConnectionResetError, socket.timeout):
                break
        return time.time() - start

    def test_slow_loris_http1_is_cut_off(self):
        with socket.create_connection(("127.0.0.1", self.srv.h2c), timeout=5) as s:
            s.sendall(b"GET /api/v1/agent/ws HTTP/1.1\r\nHost: x\r\n")  # never finishes
            self.assertLess(self.wait_closed(s, 5), 3)

    def test_silent_tls_client_is_cut_off(self):
        with socket.create_connection(("127.0.0.1", self.srv.tls), timeout=5) as s:
            self.assertLess(self.wait_closed(s, 5), 3)

    def test_h2c_preface_prefix_waits_then_is_cut_off(self):
        with socket.create_connection(("127.0.0.1", self.srv.h2c), timeout=5) as s:
            s.sendall(b"PRI * HTTP/2.0\r\n")
            self.assertLess(self.wait_closed(s, 5), 3)

    def test_small_message_limit(self):
        with grpc.insecure_channel("127.0.0.1:%d" % self.srv.h2c) as ch:
            stub = rpc.AgentServiceStub(ch)
            self.assertEqual(stub.RegisterAgent(pb.RegisterAgentRequest(name="a" * 900), timeout=5).agent_id,
                             "agent-" + "a" * 900)
            with self.assertRaises(grpc.RpcError) as cm:
                stub.RegisterAgent(pb.RegisterAgentRequest(name="a" * 1100), timeout=5)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)


class Drain(unittest.TestCase):
    def test_sigterm_lets_calls_in_flight_finish(self):
        srv = TestServer(env)
        try:
            gate = threading.Event()

            def messages():
                yield pb.AgentMessage(agent_id="d", boot_id="b", seq=1, heartbeat=pb.Heartbeat())
                gate.wait(10)
                yield pb.AgentMessage(agent_id="d", boot_id="b", seq=2, heartbeat=pb.Heartbeat())

            with mtls_channel(port=srv.tls) as ch:
                it = rpc.AgentServiceStub(ch).StreamMetrics(messages(), timeout=20)
                self.assertEqual(next(it).WhichOneof("body"), "welcome")
                self.assertEqual(next(it).ack.seq, 1)
                srv.proc.send_signal(signal.SIGTERM)
                srv.read_until(lambda l: l.startswith("draining"))
                # the listener is closed: new connections are refused
                with self.assertRaises(ConnectionRefusedError):
                    socket.create_connection(("127.0.0.1", srv.tls), timeout=2)
                gate.set()
                rest = list(it)
            self.assertEqual([r.ack.seq for r in rest], [2])
            srv.read_until(lambda l: l == "stopped")
            self.assertEqual(srv.proc.wait(10), 0)
        finally:
            srv.stop()


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def h2_frames(sock, until):
    """Yield (type, flags, stream, payload) of HTTP/2 frames until EOF or `until` seconds."""
    buf = b""
    end = time.time() + until
    while time.time() < end:
        sock.settimeout(max(0.01, end - time.time()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            yield ("eof", 0, 0, b"")
            return
        buf += chunk
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            yield (buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7fffffff, buf[9:9 + n])
            buf = buf[9 + n:]


class Keepalive(unittest.TestCase):
    """A server that PINGs after 300 ms of quiet and waits 500 ms for the ACK."""

    @classmethod
    def setUpClass(cls):
        cls.srv = TestServer(env, "--keepalive-ms", "300", "--keepalive-timeout-ms", "500", "--idle-ms", "60000")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_unanswered_ping_closes_the_connection(self):
        with socket.create_connection(("127.0.0.1", self.srv.h2c), timeout=5) as s:
            s.sendall(PREFACE + EMPTY_SETTINGS)
            start, pinged = time.time(), None
            for ftype, flags, _, _ in h2_frames(s, 5):
                if ftype == 6 and not flags & 1 and pinged is None:  # PING, not an ACK: ignore it
                    pinged = time.time() - start
                if ftype == "eof":
                    break
            closed = time.time() - start
        self.assertIsNotNone(pinged)
        self.assertGreater(pinged, 0.2)
        self.assertLess(closed, 3)

    def test_answered_pings_keep_it_open(self):
        with socket.create_connection(("127.0.0.1", self.srv.h2c), timeout=5) as s:
            s.sendall(PREFACE + EMPTY_SETTINGS)
            pings = 0
            for ftype, flags, _, payload in h2_frames(s, 2.0):
                self.assertNotEqual(ftype, "eof", "closed although every PING was answered")
                if ftype == 4 and not flags & 1:
                    s.sendall(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")  # SETTINGS ACK
                if ftype == 6 and not flags & 1:
                    pings += 1
                    s.sendall(b"\x00\x00\x08\x06\x01\x00\x00\x00\x00" + payload)  # PING ACK
        self.assertGreaterEqual(pings, 2)


class AgentService(object):
    """A grpcio implementation of our service, for our client to call."""

    def __init__(self):
        self.peers = []

    def RegisterAgent(self, request, context):
        if request.name == "sleepy":
            time.sleep(2)
        self.peers.append(context.peer())
        return pb.RegisterAgentResponse(agent_id="grpcio-" + request.name)

    def StreamMetrics(self, request_iterator, context):
        yield pb.ServerMessage(welcome=pb.Welcome(session_id="grpcio"))
        for m in request_iterator:
            yield pb.ServerMessage(ack=pb.Ack(seq=m.seq, boot_id=m.boot_id))


class ClientSide(unittest.TestCase):
    """Our client (test_client) against a grpcio server with TLS 1.3."""

    @classmethod
    def setUpClass(cls):
        cls.grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        rpc.add_AgentServiceServicer_to_server(AgentService(), cls.grpc_server)
        creds = grpc.ssl_server_credentials([(env.read("server.key"), env.read("server.pem"))],
                                            root_certificates=env.read("ca.pem"),
                                            require_client_auth=False)
        cls.port = cls.grpc_server.add_secure_port("127.0.0.1:0", creds)
        cls.plain = cls.grpc_server.add_insecure_port("127.0.0.1:0")
        cls.grpc_server.start()

    @classmethod
    def tearDownClass(cls):
        cls.grpc_server.stop(0)

    def client(self, url, *args):
        r = subprocess.run([os.path.join(env.bin, "test_client"), url, *args], capture_output=True, text=True,
                           timeout=30)
        return r.returncode, r.stdout.splitlines()

    def test_unary_with_ca(self):
        rc, out = self.client("https://localhost:%d" % self.port, "--ca", env.path("ca.pem"), "register", "z")
        self.assertEqual(rc, 0, out)
        self.assertIn("agent_id grpcio-z", out)

    def test_unary_h2c(self):
        rc, out = self.client("http://127.0.0.1:%d" % self.plain, "register", "p")
        self.assertEqual(rc, 0, out)
        self.assertIn("agent_id grpcio-p", out)

    def test_streaming_with_client_cert_and_pin(self):
        rc, out = self.client("https://localhost:%d" % self.port, "--pin", env.pin(), "--cert",
                              env.path("client.pem"), "--key", env.path("client.key"), "stream", "s", "20")
        self.assertEqual(rc, 0, out)
        self.assertIn("welcome grpcio", out)
        self.assertEqual([l for l in out if l.startswith("ack")], ["ack %d" % i for i in range(1, 21)])
        self.assertIn("transport grpc", out)

    def test_wrong_pin_is_refused(self):
        rc, out = self.client("https://localhost:%d" % self.port, "--pin", env.pin("rogue-ca"), "register", "z")
        self.assertEqual(rc, 1)
        self.assertTrue(any(l.startswith("end UNAVAILABLE") and "certificate" in l for l in out), out)

    def test_wrong_host_name_is_refused(self):
        rc, out = self.client("https://127.0.0.1:%d" % self.port, "--ca", env.path("ca.pem"), "--name",
                              "not-the-server.example", "register", "z")
        self.assertEqual(rc, 1)
        self.assertTrue(any("certificate" in l for l in out), out)

    def test_deadline(self):
        rc, out = self.client("https://localhost:%d" % self.port, "--ca", env.path("ca.pem"), "--timeout-ms",
                              "300", "register", "sleepy")
        self.assertEqual(rc, 1)
        # whichever side's timer fires first, the call ends DEADLINE_EXCEEDED
        self.assertTrue(out[0].startswith("end DEADLINE_EXCEEDED"), out)

    def test_unknown_method_status_reaches_our_client(self):
        # grpcio answers an unknown method with UNIMPLEMENTED: our client must say so
        rc, out = self.client("http://127.0.0.1:%d" % server.h2c, "stream", "x", "1")
        self.assertEqual(rc, 1)
        self.assertTrue(any(l.startswith("end UNAUTHENTICATED") for l in out), out)

    def test_connection_refused_is_unavailable(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        rc, out = self.client("http://127.0.0.1:%d" % port, "register", "z")
        self.assertEqual(rc, 1)
        self.assertTrue(any(l.startswith("end UNAVAILABLE") for l in out), out)


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
