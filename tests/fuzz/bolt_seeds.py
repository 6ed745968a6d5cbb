#!/usr/bin/env python3
"""Seeds for fuzz_agent_boltdb: small BoltDB files shaped like Podman's
database (two metas, a branch page, leaves, a nested bucket on its own page
and inline buckets), written page by page as bbolt lays them out.
Usage: bolt_seeds.py CORPUS_DIR"""
import os
import struct
import sys

PS = 4096


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def meta(pgid, root, hwm, txid):
    m = struct.pack("<IIII", 0xED0CDAED, 2, PS, 0) + struct.pack("<QQQQQ", root, 0, 0, hwm, txid)
    m += struct.pack("<Q", fnv1a64(m))
    return (struct.pack("<QHHI", pgid, 0x04, 0, 0) + m).ljust(PS, b"\0")


def leaf(pgid, kvs):
    n = len(kvs)
    head = struct.pack("<QHHI", pgid, 0x02, n, 0)
    elems, body, data = b"", b"", 16 + 16 * n
    for i, (k, v, flags) in enumerate(kvs):
        elems += struct.pack("<IIII", flags, data - (16 + 16 * i), len(k), len(v))
        body += k + v
        data += len(k) + len(v)
    return head + elems + body


def bucket(root, kvs=()):
    value = struct.pack("<QQ", root, 0)
    return value + (leaf(0, list(kvs)) if root == 0 else b"")


def branch(pgid, children):
    n = len(children)
    head = struct.pack("<QHHI", pgid, 0x01, n, 0)
    elems, body, data = b"", b"", 16 + 16 * n
    for i, (k, child) in enumerate(children):
        elems += struct.pack("<IIQ", data - (16 + 16 * i), len(k), child)
        body += k
        data += len(k)
    return head + elems + body


def podman_db():
    pages = [meta(0, 2, 6, 1), meta(1, 5, 6, 2)]
    pages.append(leaf(2, [(b"allPods", bucket(0, [(b"p", b"shop", 0)]), 1)]).ljust(PS, b"\0"))
    pages.append(leaf(3, [(b"ctr", bucket(4), 1)]).ljust(PS, b"\0"))
    config = b'{"pod": "p", "pause": false, "name": "shop-api"}'
    inline = bucket(0, [(b"config", config, 0), (b"pod-id", b"p", 0)])
    pages.append(leaf(4, [(b"a", inline, 1)]).ljust(PS, b"\0"))
    pages.append(branch(5, [(b"allPods", 2), (b"ctr", 3)]).ljust(PS, b"\0"))
    return b"".join(pages)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    db = podman_db()
    with open(os.path.join(out, "seed-podman"), "wb") as f:
        f.write(db)
    # Only the older meta valid.
    broken = bytearray(db)
    broken[PS + 16 + 60] ^= 1
    with open(os.path.join(out, "seed-old-meta"), "wb") as f:
        f.write(bytes(broken))


if __name__ == "__main__":
    main()
