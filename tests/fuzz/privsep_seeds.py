#!/usr/bin/env python3
"""Seeds for fuzz_agent_privsep: one well-formed datagram of each message
type (agent/privsep.h), preceded by the byte that says how many fds it
claims to carry. Usage: privsep_seeds.py CORPUS_DIR"""
import os
import struct
import sys


def s(x):
    return struct.pack("<I", len(x)) + x


def sv(v):
    return struct.pack("<I", len(v)) + b"".join(s(x) for x in v)


def msg(nfds, mtype, payload):
    return bytes([nfds]) + struct.pack("<II", mtype, len(payload)) + payload


seeds = {
    "spawn": msg(0, 1, struct.pack("<Q", 7) + s(b"3f2a")
                 + sv([b"sh", b"-c", b"echo hi"]) + sv([b"TERM=xterm"])
                 + s(b"/srv") + s(b"app") + struct.pack("<IIIIi", 0x1D, 80, 24, 1, -5)),
    "spawn-bare": msg(0, 1, struct.pack("<Q", 8) + s(b"c") + sv([b"true"])
                      + sv([]) + s(b"") + s(b"") + struct.pack("<IIIIi", 0, 0, 0, 0, 0)),
    "signal": msg(0, 2, struct.pack("<QQiI", 1, 2, 15, 1)),
    "ping": msg(0, 3, struct.pack("<Q", 5)),
    "inventory": msg(0, 16, struct.pack("<II", 1, 13) + b'{"node":"n1"}'),
    "policy": msg(0, 17, struct.pack("<II", 0, 2) + b"{}"),
    "spawned": msg(3, 18, struct.pack("<QQiI", 1, 2, 1234, 0x13)),
    "spawn-failed": msg(0, 19, struct.pack("<Qi", 1, 2) + s(b"exec x: gone")),
    "exited": msg(0, 20, struct.pack("<Qi", 2, 7 << 8)),
    "signaled": msg(0, 21, struct.pack("<QQiiI", 1, 2, 0, 1234, 1)),
    "tls": msg(0, 22, struct.pack("<II", 1, 8) + struct.pack("<II", 0, 0)),
    "logfile": msg(1, 23, struct.pack("<I", 0)),
    "pong": msg(0, 24, struct.pack("<Q", 5)),
}
os.makedirs(sys.argv[1], exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(sys.argv[1], "seed-" + name), "wb") as f:
        f.write(data)
