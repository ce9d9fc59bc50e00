"""A running collector sees mounts come and go (mountinfo POLLPRI), reports
a device once however often it is mounted, and matches statvfs sizes.

Needs root (loop mount). Run: /usr/bin/python3 mount_change_test.py CSF_AGENT
"""
import json
import os
import select
import subprocess
import sys
import tempfile
import time

if os.geteuid() != 0:
    print("SKIPPED: needs root to loop-mount a filesystem")
    sys.exit(77)

agent = sys.argv[1]
work = tempfile.mkdtemp(prefix="csf-mount-")
image, mnt, bind = (os.path.join(work, n) for n in ("fs.img", "mnt", "bind"))
os.mkdir(mnt)
os.mkdir(bind)
subprocess.run(["truncate", "-s", "64M", image], check=True)
subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)

proc = subprocess.Popen([agent, "collect", "--json", "--no-processes", "--interval", "0.2"],
                        stdout=subprocess.PIPE, text=True)


def next_snapshot(deadline=10):
    ready, _, _ = select.select([proc.stdout], [], [], deadline)
    assert ready, "no snapshot within %ss" % deadline
    return json.loads(proc.stdout.readline())


def wait_for(pred, what):
    end = time.time() + 10
    while time.time() < end:
        snap = next_snapshot()
        if pred(snap):
            return snap
    raise AssertionError("timed out waiting for " + what)


def mounts(snap):
    return [f["mountpoint"] for f in snap["filesystems"]]


try:
    first = next_snapshot()
    assert mnt not in mounts(first), mounts(first)

    subprocess.run(["mount", "-o", "loop", image, mnt], check=True)
    snap = wait_for(lambda s: mnt in mounts(s), "the loop mount to appear")
    fs = next(f for f in snap["filesystems"] if f["mountpoint"] == mnt)
    st = os.statvfs(mnt)
    assert fs["fstype"] == "ext4", fs
    assert fs["device"].startswith("/dev/loop"), fs
    assert fs["total_bytes"] == st.f_blocks * st.f_frsize, (fs, st)
    assert fs["inodes_total"] == st.f_files, (fs, st)

    subprocess.run(["mount", "--bind", mnt, bind], check=True)
    # after the bind mount, the device is still reported once, at `mnt`
    for _ in range(3):
        snap = next_snapshot()
    assert mounts(snap).count(mnt) == 1 and bind not in mounts(snap), mounts(snap)

    subprocess.run(["umount", bind], check=True)
    subprocess.run(["umount", mnt], check=True)
    wait_for(lambda s: mnt not in mounts(s), "the mount to disappear")
    print("mount changes seen live; bind mount deduplicated; sizes match statvfs")
finally:
    proc.kill()
    proc.wait()
    for m in (bind, mnt):
        subprocess.run(["umount", m], stderr=subprocess.DEVNULL)
    subprocess.run(["rm", "-rf", work])
