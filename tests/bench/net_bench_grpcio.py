"""The anchor of the transport benchmark (net_bench.sh): a stock grpcio
server (Debian's python3-grpcio, grpc.aio) doing what csf-net-bench-server
does: StreamMetrics over TLS with a client certificate required, an Ack for
every AgentMessage at once.

    /usr/bin/python3 net_bench_grpcio.py --pki DIR [--listen 127.0.0.1:0]

Stubs are generated from libcsf/proto at run time with grpc_tools (as
tests/interop/common.py does). Prints "ready port=PORT pid=PID", then one
"stats ..." line per SIGUSR1 with the same fields as the C server where they
mean the same (RSS/PSS from smaps_rollup, CPU time of all threads, calls,
messages, acks); exits on SIGTERM / SIGINT.
"""
import argparse
import asyncio
import atexit
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.join(HERE, "..", "..", "libcsf", "proto")


def make_stubs():
    d = tempfile.mkdtemp(prefix="csf-net-bench-stubs-")
    atexit.register(shutil.rmtree, d, True)
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + PROTO_ROOT, "--python_out=" + d,
                    "--grpc_python_out=" + d, "csf/v1/agent.proto"], check=True)
    sys.path.insert(0, d)
    return d


def raise_nofile(want=1 << 20):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def proc_kb(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class Counters:
    calls = calls_total = msgs = acks = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pki", required=True)
    ap.add_argument("--listen", default="127.0.0.1:0")
    args = ap.parse_args()

    nofile = raise_nofile()
    make_stubs()
    import grpc
    from google.protobuf.internal import api_implementation
    from csf.v1 import agent_pb2 as pb, agent_pb2_grpc as rpc

    n = Counters()

    class Servicer(rpc.AgentServiceServicer):
        async def StreamMetrics(self, request_iterator, context):
            n.calls += 1
            n.calls_total += 1
            try:
                # response headers now, as the C server sends them: the load
                # generator counts a call as up when they arrive
                await context.send_initial_metadata(())
                async for msg in request_iterator:
                    n.msgs += 1
                    yield pb.ServerMessage(ack=pb.Ack(seq=msg.seq, boot_id=msg.boot_id))
                    n.acks += 1
            finally:
                n.calls -= 1

    def read(name):
        with open(os.path.join(args.pki, name), "rb") as f:
            return f.read()

    def stats():
        t = os.times()
        print("stats mono_us=%d rss_kb=%d pss_kb=%d anon_kb=%d vmrss_kb=%d utime_us=%d stime_us=%d"
              " conns=-1 calls=%d calls_total=%d msgs=%d acks=%d threads=%d"
              % (time.monotonic_ns() // 1000, proc_kb("/proc/self/smaps_rollup", "Rss"),
                 proc_kb("/proc/self/smaps_rollup", "Pss"), proc_kb("/proc/self/smaps_rollup", "Anonymous"),
                 proc_kb("/proc/self/status", "VmRSS"), int(t.user * 1e6), int(t.system * 1e6),
                 n.calls, n.calls_total, n.msgs, n.acks, proc_kb("/proc/self/status", "Threads")), flush=True)

    async def serve():
        server = grpc.aio.server(options=[
            ("grpc.max_concurrent_streams", 100),
            ("grpc.keepalive_time_ms", 3600000),  # no PINGs inside a run, as the C server
            ("grpc.so_reuseport", 0),
        ])
        rpc.add_AgentServiceServicer_to_server(Servicer(), server)
        creds = grpc.ssl_server_credentials([(read("server.key"), read("server.pem"))],
                                            root_certificates=read("ca.pem"), require_client_auth=True)
        port = server.add_secure_port(args.listen, creds)
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, stats)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        print("ready port=%d pid=%d nofile=%d grpcio=%s protobuf=%s" % (
            port, os.getpid(), nofile, grpc.__version__, api_implementation.Type()), flush=True)
        await stop.wait()
        await server.stop(0)
        print("stopped calls_total=%d msgs=%d acks=%d" % (n.calls_total, n.msgs, n.acks), flush=True)

    asyncio.run(serve())


if __name__ == "__main__":
    main()
