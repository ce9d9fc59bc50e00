#!/usr/bin/python3
"""Write the seed corpora of fuzz_envelope and fuzz_grpc_frame.

The messages come from Google's protobuf runtime (Debian's python3-protobuf,
stubs made by python3-grpc-tools from libcsf/proto/csf/v1/agent.proto), so
the seeds are also what a stock peer sends. Run it from anywhere with
/usr/bin/python3; it rewrites tests/fuzz/corpus/{envelope,grpc_frame}/.
"""
import importlib
import os
import shutil
import struct
import sys
import tempfile

from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROTO_DIR = os.path.join(ROOT, "libcsf", "proto")


def load_stubs(tmp):
    rc = protoc.main(["protoc", "-I" + PROTO_DIR, "--python_out=" + tmp,
                      os.path.join(PROTO_DIR, "csf", "v1", "agent.proto")])
    if rc != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, tmp)
    return importlib.import_module("csf.v1.agent_pb2")


def host(pb):
    return pb.HostFacts(hostname="web-1", os_id="debian", os_name="Debian GNU/Linux",
                        os_version="12", os_pretty="Debian GNU/Linux 12 (bookworm)",
                        kernel="6.1.0-18-amd64", arch="x86_64", cpu_model="Xeon",
                        cpu_logical=8, cpu_physical=4, memory_total_bytes=16 << 30,
                        boot_time=1700000000, ip_addresses=["10.0.0.5", "fe80::1"],
                        machine_id="0123456789abcdef0123456789abcdef")


def metrics(pb):
    usage = dict(usage=12.5, user=8, nice=0.5, system=3, iowait=1, irq=0.25,
                 softirq=0.125, steal=0.0625, idle=86.5)
    m = pb.MetricsSnapshot(timestamp_ms=1700000000123, interval_seconds=10, uptime_seconds=1234.5)
    m.cpu.total.CopyFrom(pb.CpuUsage(**usage))
    for i in range(2):
        m.cpu.cores.add(id=i, usage=pb.CpuUsage(**usage))
    m.cpu.load1, m.cpu.load5, m.cpu.load15 = 0.5, 0.75, 1.25
    m.cpu.context_switches = 123456789
    m.memory.CopyFrom(pb.MemoryMetrics(total=16 << 30, used=6 << 30, available=10 << 30,
                                       free=2 << 30, buffers=1 << 28, cached=7 << 30,
                                       swap_total=4 << 30, swap_used=1 << 20))
    m.filesystems.add(device="/dev/sda1", mountpoint="/", fstype="ext4", total_bytes=100 << 30,
                      used_bytes=40 << 30, available_bytes=55 << 30, inodes_total=6553600,
                      inodes_used=123456)
    m.disks.add(name="sda", reads=1000, writes=2000, read_bytes=4096000, write_bytes=8192000,
                reads_per_sec=10.5, busy_percent=3.5)
    ifc = m.interfaces.add(name="eth0")
    ifc.rx.bytes, ifc.rx.packets, ifc.tx.bytes = 5000, 50, 7000
    m.rx_total.bytes, m.tx_total.bytes = 5000, 7000
    m.processes.count, m.processes.threads = 321, 1234
    m.processes.top_cpu.add(pid=4242, name="postgres", user="postgres", cpu_percent=150.5,
                            rss_bytes=1 << 30)
    m.processes.top_memory.add(pid=1, name="systemd", user="root", rss_bytes=12 << 20)
    m.custom["app.requests"] = 12.5
    m.custom["queue.depth"] = 7
    return m


def agent_messages(pb):
    def env(seq=0, **body):
        return pb.AgentMessage(agent_id="agt_01HZX3", boot_id="boot-7f3a", seq=seq,
                               sent_at_ms=1700000000123, **body)

    containers = pb.ContainerStates(engine="podman 4.3.1")
    c = containers.containers.add(id="f" * 64, name="web", image="nginx:1.25", state="running",
                                  status="Up 3 minutes", created_at=1700000000,
                                  started_at=1700000001, cpu_percent=1.5, memory_bytes=50 << 20)
    c.ports.add(container_port=80, host_port=8080, protocol="tcp", host_ip="0.0.0.0")
    c.labels["app"] = "web"
    logs = pb.LogBatch()
    r = logs.records.add(timestamp_ms=1700000000123, level=pb.LOG_LEVEL_WARN,
                         message="disk almost full \u2013 92%", source="agent")
    r.context["mount"] = "/"
    return {
        "hello": env(hello=pb.Hello(agent_version="0.1.0", capabilities=["metrics", "docker"],
                                    last_acked_seq=41, host=host(pb), outbox_depth=3,
                                    dropped_messages=0)),
        "heartbeat": env(heartbeat=pb.Heartbeat(outbox_depth=3, last_acked_seq=41)),
        "metrics": env(seq=42, metrics=metrics(pb)),
        "containers": env(seq=43, containers=containers),
        "task_update": env(seq=44, task_update=pb.TaskUpdate(
            task_id="tsk_9", state=pb.TASK_STATE_REFUSED,
            error="privileged containers are not allowed by policy")),
        "task_done": env(seq=45, task_update=pb.TaskUpdate(
            task_id="tsk_8", state=pb.TASK_STATE_SUCCEEDED, progress_percent=100,
            result_json='{"container_id":"abc"}')),
        "logs": env(seq=46, logs=logs),
        "renew": env(renew_certificate=pb.CertificateRenewalRequest(csr_der=b"\x30\x82\x01\x0a" + bytes(range(64)))),
    }


def server_messages(pb):
    settings = pb.AgentSettings(collect_interval_seconds=10, heartbeat_interval_seconds=5,
                                max_message_bytes=4 << 20)
    spec = pb.ContainerSpec(image="nginx:1.25", name="web", command=["nginx", "-g", "daemon off;"],
                            restart_policy="unless-stopped", network_mode="bridge",
                            memory_limit_bytes=256 << 20, cpu_limit=0.5,
                            volumes=["/srv/www:/usr/share/nginx/html:ro"])
    spec.env["TZ"] = "UTC"
    spec.labels["csf.managed"] = "true"
    spec.ports.add(container_port=80, host_port=8080, protocol="tcp")

    def cmd(**task):
        return pb.ServerMessage(command=pb.Command(task_id="tsk_9", deadline_ms=1700000060000, **task))

    return {
        "welcome": pb.ServerMessage(welcome=pb.Welcome(session_id="ses_1", server_time_ms=1700000000500,
                                                       acked_seq=41, settings=settings)),
        "ack": pb.ServerMessage(ack=pb.Ack(seq=46, boot_id="boot-7f3a")),
        "deploy": cmd(deploy=pb.DeployContainer(spec=spec, pull=True, replace=True)),
        "restart": cmd(container=pb.ContainerCommand(container_id="web",
                                                     action=pb.CONTAINER_ACTION_RESTART,
                                                     timeout_seconds=10)),
        "collect_logs": cmd(collect_logs=pb.CollectLogs(container_id="web", since_ms=1699990000000,
                                                        tail_lines=100)),
        "scale": cmd(scale=pb.ScaleDeployment(namespace="default", name="api", replicas=3)),
        "settings": pb.ServerMessage(settings=settings),
        "certificate": pb.ServerMessage(certificate=pb.RenewedCertificate(
            certificate_der=b"\x30\x82\x02\x00" + bytes(range(32)), ca_chain_der=[b"\x30\x82\x01\x00"],
            expires_at=1700086400)),
        "go_away": pb.ServerMessage(go_away=pb.GoAway(reason="server shutting down",
                                                      reconnect_after_ms=2000)),
        "revoked": pb.ServerMessage(go_away=pb.GoAway(reason="certificate revoked", revoked=True)),
    }


def register(pb):
    req = pb.RegisterAgentRequest(enrollment_token="csf_enr_3q2+7w", csr_der=b"\x30\x82\x01\x0a" + bytes(32),
                                  host=host(pb), name="web-1", agent_version="0.1.0",
                                  capabilities=["metrics"])
    req.tags["env"] = "prod"
    resp = pb.RegisterAgentResponse(agent_id="agt_01HZX3", certificate_der=b"\x30\x82\x02\x00" + bytes(16),
                                    ca_chain_der=[b"\x30\x82\x01\x00"], certificate_expires_at=1700086400,
                                    settings=pb.AgentSettings(collect_interval_seconds=10),
                                    organization_id="org_default")
    return {"register_request": req, "register_response": resp}


def frame(payload, flag=0):
    return struct.pack(">BI", flag, len(payload)) + payload


def write(directory, name, data):
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main():
    tmp = tempfile.mkdtemp()
    try:
        pb = load_stubs(tmp)
        msgs = {}
        for group in (agent_messages(pb), server_messages(pb), register(pb)):
            msgs.update({k: v.SerializeToString() for k, v in group.items()})
    finally:
        shutil.rmtree(tmp)

    env_dir = os.path.join(HERE, "corpus", "envelope")
    frame_dir = os.path.join(HERE, "corpus", "grpc_frame")
    for d in (env_dir, frame_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)

    for name, data in sorted(msgs.items()):
        write(env_dir, name, data)
    # what the checks refuse, as starting points
    write(env_dir, "empty", b"")
    write(env_dir, "bad_utf8", b"\x0a\x02\xc3\x28\x12\x01b\x5a\x00")
    write(env_dir, "unknown_field", b"\x0a\x01a\x12\x01b\x9a\x06\x01x\x5a\x00")

    # fuzz_grpc_frame: control byte, feed-size count, feed sizes, stream
    stream = b"".join(frame(msgs[k]) for k in ("hello", "metrics", "heartbeat", "logs"))
    write(frame_dir, "one_feed", b"\x00\x00" + stream)
    write(frame_dir, "small_feeds", b"\x00\x03\x01\x07\x00" + stream)
    write(frame_dir, "large_feeds", b"\x00\x02\xff\x40" + stream)
    write(frame_dir, "empty_messages", b"\x02\x01\x03" + frame(b"") * 3 + frame(b"x" * 16))
    write(frame_dir, "over_limit", b"\x02\x01\x02" + frame(b"y" * 17))
    write(frame_dir, "compressed", b"\x00\x00" + frame(b"z", flag=1))
    write(frame_dir, "bad_flag", b"\x00\x00" + frame(b"z", flag=2))
    write(frame_dir, "callback_stops", b"\x0c\x01\x05" + stream)  # fail at message 1
    write(frame_dir, "partial", b"\x03\x01\x02" + frame(b"w" * 200)[:100])


if __name__ == "__main__":
    main()
