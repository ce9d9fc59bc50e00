"""Where an idle connection's heap goes, from a heaptrack profile of
csf-net-bench-server --exit-fast (net_heap_profile.sh).

    /usr/bin/python3 net_heap_breakdown.py STACKS N [MAPS]

STACKS is `heaptrack_print --flamegraph-cost-type leaked -F STACKS`: one
line per call stack ("frame;frame;... BYTES", outermost first) with the
bytes still allocated when the server exited with N idle connections open.
MAPS, the server's /proc/PID/maps, names the library of frames heaptrack
left as bare addresses (static functions of the shared libraries, and
OpenSSL's CRYPTO_malloc, which tail-calls malloc and so leaves no frame).
Each stack is put in the first category whose rule matches; the table gives
bytes per connection (the server's fixed setup, a few hundred KiB, is
spread over N too).
"""
import collections
import re
import sys

# callbacks of ours that nghttp2 calls: what they allocate is libcsf's
OURS = {"on_begin_headers", "on_header", "on_frame_recv", "dispatch", "csf__call_init", "on_data_chunk",
        "csf__call_add_metadata", "submit_headers", "stream_start", "csf__call_start"}


def load_maps(path):
    ranges = []
    for line in open(path):
        parts = line.split()
        if len(parts) >= 6:
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            ranges.append((lo, hi, parts[5].rsplit("/", 1)[-1]))
    return ranges


def resolve(frame, ranges):
    """A bare address becomes "lib:NAME" (the shared object it lies in)."""
    if not frame.startswith("0x"):
        return frame
    addr = int(frame, 16)
    for lo, hi, name in ranges:
        if lo <= addr < hi:
            return "lib:" + name
    return frame


def category(frames):
    s = set(frames)
    leaf = frames[-1] if frames else ""
    if any(f.startswith("nghttp2_session_") and f.endswith(("_new3", "_new2", "_new")) for f in frames):
        if "csf__realloc" in frames[-2:]:
            return "nghttp2: session output frame buffer (aob.framebufs, 16 KiB)"
        return "nghttp2: session struct, HPACK tables, stream map"
    if any(f.startswith("nghttp2_") for f in frames):
        if s & OURS:
            return "libcsf: call state (h2_stream, metadata, method)"
        return "nghttp2: streams and frames in flight"
    if "SSL_new" in s:
        return "OpenSSL: SSL object (SSL_new)"
    if "BIO_new_socket" in s:
        return "OpenSSL: socket BIO"
    if "EVP_CipherInit_ex" in s:
        return "OpenSSL: record-layer cipher contexts"
    if s & {"X509_new_ex", "d2i_X509", "ASN1_item_d2i_ex", "d2i_EC_PUBKEY", "X509_chain_up_ref", "d2i_PUBKEY"}:
        return "OpenSSL: peer certificate (parsed X509, its key) and chain"
    if s & {"EVP_PKEY_generate", "EVP_PKEY_derive", "EVP_PKEY_derive_init", "EVP_PKEY_keygen"}:
        return "OpenSSL: key-exchange keys kept after the handshake"
    if any(f.startswith(("SSL_", "CRYPTO_", "EVP_", "BN_", "OPENSSL_", "EC_", "ossl_", "tls", "ASN1", "X509"))
           for f in frames):
        return "OpenSSL: other (session, transcript hash, ...)"
    if leaf.startswith(("lib:libssl", "lib:libcrypto")):
        return "OpenSSL: other (session, transcript hash, ...)"
    if leaf.startswith("lib:libevent"):
        return "libevent: bufferevent_openssl, evbuffers, events"
    if "take_peer_cert" in s or (leaf == "csf__strdup" and any(f.startswith("on_event") for f in frames)):
        return "libcsf: peer certificate strings"
    if "csf__conn_accept" in s and leaf == "csf__calloc":
        return "libcsf: connection (csf__conn)"
    if "csf__conn_accept" in s or any(f.startswith(("event", "evbuffer", "bufferevent", "evmap")) for f in frames):
        return "libevent: bufferevent_openssl, evbuffers, events"
    if any(f.startswith("csf") for f in frames):
        return "libcsf: server setup"
    return "other (libc, start-up)"


def main():
    n = int(sys.argv[2])
    ranges = load_maps(sys.argv[3]) if len(sys.argv) > 3 else []
    total = collections.Counter()
    for line in open(sys.argv[1]):
        stack, _, size = line.rstrip("\n").rpartition(" ")
        if not size.isdigit() or int(size) == 0:
            continue
        frames = [resolve(re.sub(r" \(.*\)$", "", f), ranges) for f in stack.split(";") if f]
        total[category(frames)] += int(size)
    all_bytes = sum(total.values())
    print("| where | bytes / connection | share |")
    print("|---|---|---|")
    for k, v in sorted(total.items(), key=lambda kv: -kv[1]):
        print("| %s | %.0f | %.1f %% |" % (k, v / n, 100.0 * v / all_bytes))
    print("| **all** | **%.0f** | |" % (all_bytes / n))


if __name__ == "__main__":
    main()
