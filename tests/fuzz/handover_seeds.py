#!/usr/bin/env python3
"""Seeds for fuzz_agent_handover: the first byte picks the decoder (bit 7:
the monitor's state, else the worker's document and its fd count), the
rest is a document as agent/handover.c writes it (native byte order)."""
import struct
import sys


def s(b):
    return struct.pack("=I", len(b)) + b


def session(sid, state, flags, token, fds):
    fd_in, fd_tty, fd_report, out0, out1 = fds
    d = s(sid) + s(b"uri:spiffe://execfs.test/client") + s(b"ctr-1")
    d += struct.pack("=IIQii", state, flags, token, 4242, 0)
    d += struct.pack("=qqII", 100, 5, 80, 24)
    d += struct.pack("=iii", fd_in, fd_tty, fd_report)
    d += struct.pack("=Q", 20) + s(b"held stdout bytes") + struct.pack("=i", out0)
    d += struct.pack("=Q", 0) + s(b"") + struct.pack("=i", out1)
    d += struct.pack("=Q", 9) + s(b"stdin") + struct.pack("=QQ", 0, 4)
    return d


def worker_doc(nfds, sessions, listeners):
    d = struct.pack("=IIII", 0x31484658, 1, nfds, len(listeners))
    for addr, fd in listeners:
        d += s(addr) + struct.pack("=i", fd)
    d += struct.pack("=I", len(sessions)) + b"".join(sessions)
    return d


def monitor_state():
    d = struct.pack("=IIQI", 0x314D4658, 1, 9, 2)
    d += struct.pack("=QiiiIi", 3, 100, 10, 11, 0, 0)
    d += struct.pack("=QiiiIi", 9, 1, -1, -1, 1, 7 << 8)
    d += struct.pack("=I", 2) + struct.pack("=ii", 20, 21)
    return d + s(worker_doc(0, [], []))


def main():
    out = sys.argv[1]
    running = session(b"0123456789abcdef0123456789abcdef", 2, 0x14, 7,
                      (0, -1, -1, 1, 2))
    tty = session(b"fedcba9876543210fedcba9876543210", 2, 0x11, 8,
                  (3, 4, -1, 5, -1))
    ended = session(b"00000000000000000000000000000000", 3, 0x06, 0,
                    (-1, -1, -1, -1, -1))
    seeds = {
        "worker": bytes([7]) + worker_doc(7, [running, tty, ended],
                                          [(b"127.0.0.1:9000", 6)]),
        "empty": bytes([0]) + worker_doc(0, [], []),
        "monitor": bytes([0x80]) + monitor_state(),
    }
    for name, data in seeds.items():
        with open("%s/seed-%s" % (out, name), "wb") as f:
            f.write(data)


main()
