"""The WebSocket fallback against stock python3-websockets (Debian 10.4).

    /usr/bin/python3 websocket_test.py BUILD/bin

A websockets client talks to our test_server at /api/v1/agent/ws; our
test_client talks WebSocket to our server, and falls back to WebSocket when
a (websockets) server offers no HTTP/2.
"""
import asyncio
import os
import ssl
import subprocess
import sys
import threading
import unittest

import websockets

from common import Env, TestServer

env = server = pb = None


def setUpModule():
    global env, server, pb
    env = Env(BIN)
    from csf.v1 import agent_pb2
    pb = agent_pb2
    server = TestServer(env)


def tearDownModule():
    server.stop()


def tls(cert="client"):
    ctx = ssl.create_default_context(cafile=env.path("ca.pem"))
    if cert:
        ctx.load_cert_chain(env.path(cert + ".pem"), env.path(cert + ".key"))
    return ctx


def msg(agent_id, seq):
    return pb.AgentMessage(agent_id=agent_id, boot_id="b", seq=seq, heartbeat=pb.Heartbeat()).SerializeToString()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def url(path="/api/v1/agent/ws"):
    return "wss://localhost:%d%s" % (server.tls, path)


class StockClient(unittest.TestCase):
    def test_binary_envelopes_round_trip(self):
        async def go():
            async with websockets.connect(url(), ssl=tls(), subprotocols=["csf.v1"]) as ws:
                self.assertEqual(ws.subprotocol, "csf.v1")
                for i in range(1, 11):
                    await ws.send(msg("w", i))
                replies = [pb.ServerMessage.FromString(await ws.recv()) for _ in range(11)]
                return replies
        replies = run(go())
        self.assertEqual(replies[0].welcome.session_id, "agent-1")
        self.assertEqual([r.ack.seq for r in replies[1:]], list(range(1, 11)))

    def test_ping_is_answered(self):
        async def go():
            async with websockets.connect(url(), ssl=tls(), subprotocols=["csf.v1"]) as ws:
                await ws.recv()  # welcome
                pong = await ws.ping(b"hello")
                await asyncio.wait_for(pong, 5)
                return True
        self.assertTrue(run(go()))

    def test_call_status_travels_in_the_close_frame(self):
        async def go():
            async with websockets.connect(url(), ssl=tls(), subprotocols=["csf.v1"]) as ws:
                await ws.recv()  # welcome
                await ws.send(msg("fail-7", 1))
                with self.assertRaises(websockets.ConnectionClosed):
                    await ws.recv()
                return ws.close_code, ws.close_reason
        self.assertEqual(run(go()), (4007, "failed as asked"))  # 4000 + PERMISSION_DENIED

    def test_client_close_ends_the_call(self):
        async def go():
            async with websockets.connect(url(), ssl=tls(), subprotocols=["csf.v1"]) as ws:
                await ws.recv()
                await ws.close(1000)
                return ws.close_code
        self.assertEqual(run(go()), 1000)
        # the server's handler saw the half-close and finished the call OK
        server.read_until(lambda l: l.startswith("end /csf.v1.AgentService/StreamMetrics OK"))

    def test_text_frames_are_refused_with_1003(self):
        async def go():
            async with websockets.connect(url(), ssl=tls(), subprotocols=["csf.v1"]) as ws:
                await ws.recv()
                await ws.send("not binary")
                with self.assertRaises(websockets.ConnectionClosed):
                    await ws.recv()
                return ws.close_code
        self.assertEqual(run(go()), 1003)

    def test_oversized_message_is_refused_with_1009(self):
        async def go():
            async with websockets.connect(url(), ssl=tls(), subprotocols=["csf.v1"], max_size=None) as ws:
                await ws.recv()
                await ws.send(b"x" * (5 << 20))
                with self.assertRaises(websockets.ConnectionClosed):
                    await ws.recv()
                return ws.close_code
        self.assertEqual(run(go()), 1009)

    def status_of_failed_handshake(self, **kw):
        async def go():
            try:
                async with websockets.connect(**kw):
                    return 101
            except websockets.InvalidStatusCode as e:
                return e.status_code
        return run(go())

    def test_no_client_certificate_is_401(self):
        self.assertEqual(self.status_of_failed_handshake(uri=url(), ssl=tls(None), subprotocols=["csf.v1"]), 401)

    def test_expired_client_certificate_is_401(self):
        self.assertEqual(self.status_of_failed_handshake(uri=url(), ssl=tls("expired"), subprotocols=["csf.v1"]), 401)

    def test_missing_subprotocol_is_400(self):
        self.assertEqual(self.status_of_failed_handshake(uri=url(), ssl=tls()), 400)

    def test_unknown_path_is_404(self):
        self.assertEqual(self.status_of_failed_handshake(uri=url("/nope"), ssl=tls(), subprotocols=["csf.v1"]), 404)

    def test_plain_get_is_426_with_json(self):
        ctx = tls()
        import http.client
        conn = http.client.HTTPSConnection("localhost", server.tls, context=ctx, timeout=5)
        conn.request("GET", "/api/v1/agent/ws")
        r = conn.getresponse()
        body = r.read()
        self.assertEqual(r.status, 426)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertIn(b'"code":"upgrade_required"', body)


def client(*args):
    r = subprocess.run([os.path.join(env.bin, "test_client"), *args], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout.splitlines()


class OurClient(unittest.TestCase):
    def test_websocket_transport_to_our_server(self):
        rc, out = client("https://localhost:%d" % server.tls, "--ca", env.path("ca.pem"), "--cert",
                         env.path("client.pem"), "--key", env.path("client.key"), "--transport", "websocket",
                         "stream", "ws1", "5")
        self.assertEqual(rc, 0, out)
        self.assertIn("welcome agent-1", out)
        self.assertEqual([l for l in out if l.startswith("ack")], ["ack %d" % i for i in range(1, 6)])
        self.assertIn("transport websocket", out)

    def test_websocket_status_reaches_our_client(self):
        rc, out = client("https://localhost:%d" % server.tls, "--ca", env.path("ca.pem"), "--cert",
                         env.path("client.pem"), "--key", env.path("client.key"), "--transport", "websocket",
                         "stream", "fail-9", "1")
        self.assertEqual(rc, 1)
        self.assertIn("end FAILED_PRECONDITION failed as asked", out)

    def test_refused_upgrade_says_why(self):
        rc, out = client("https://localhost:%d" % server.tls, "--ca", env.path("ca.pem"), "--transport",
                         "websocket", "stream", "x", "1")
        self.assertEqual(rc, 1)
        self.assertTrue(any(l.startswith("end UNAUTHENTICATED") and "client certificate" in l for l in out), out)


class Fallback(unittest.TestCase):
    """A server that offers no HTTP/2 (ALPN http/1.1 only): a stock websockets
    server stands in for a path where HTTP/2 does not pass."""

    @classmethod
    def setUpClass(cls):
        cls.ready = threading.Event()
        cls.loop = asyncio.new_event_loop()
        cls.thread = threading.Thread(target=cls.serve, daemon=True)
        cls.thread.start()
        cls.ready.wait(10)

    @classmethod
    def serve(cls):
        async def handler(ws, path):
            cls.path = path
            async for data in ws:
                m = pb.AgentMessage.FromString(data)
                await ws.send(pb.ServerMessage(ack=pb.Ack(seq=m.seq, boot_id=m.boot_id)).SerializeToString())

        async def main():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(env.path("server.pem"), env.path("server.key"))
            ctx.set_alpn_protocols(["http/1.1"])
            srv = await websockets.serve(handler, "127.0.0.1", 0, ssl=ctx, subprotocols=["csf.v1"])
            cls.port = srv.sockets[0].getsockname()[1]
            cls.ready.set()
            await asyncio.Future()

        asyncio.set_event_loop(cls.loop)
        cls.loop.run_until_complete(main())

    def test_auto_falls_back_to_websocket(self):
        rc, out = client("https://localhost:%d" % self.port, "--ca", env.path("ca.pem"), "stream", "fb", "3")
        self.assertEqual([l for l in out if l.startswith("ack")], ["ack 1", "ack 2", "ack 3"], out)
        self.assertIn("transport websocket", out)
        self.assertEqual(self.path, "/api/v1/agent/ws")

    def test_grpc_only_does_not_fall_back(self):
        rc, out = client("https://localhost:%d" % self.port, "--ca", env.path("ca.pem"), "--transport", "grpc",
                         "stream", "fb", "1")
        self.assertEqual(rc, 1)
        self.assertTrue(any("HTTP/2" in l for l in out), out)


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
