#!/usr/bin/env python3
"""Write seed inputs for fuzz_agent_h2: HTTP/2 frames (after the preface)
of the requests a real client sends, so the fuzzer starts deep in the
agent's routing and session code instead of at the frame header.

Usage: h2_seeds.py DIR
"""
import os
import struct
import sys


def frame(ftype, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def hpack_literal(name, value):
    # Literal header field without indexing, new name, no Huffman.
    def s(b):
        assert len(b) < 127
        return bytes([len(b)]) + b
    return b"\x00" + s(name.encode()) + s(value.encode())


def headers(sid, pairs, end_stream):
    block = b"".join(hpack_literal(n, v) for n, v in pairs)
    return frame(1, 0x4 | (0x1 if end_stream else 0), sid, block)


def data(sid, payload, end_stream):
    return frame(0, 0x1 if end_stream else 0, sid, payload)


SETTINGS = frame(4, 0, 0, b"")
SID = "0123456789abcdef0123456789abcdef"


def request(sid, method, path, extra=(), end=False):
    return headers(sid, [(":method", method), (":scheme", "http"),
                         (":authority", "localhost"), (":path", path)] +
                   list(extra), end)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    body = b'{"container":"c1","argv":["sh","-c","echo hi"],"tty":false}'
    seeds = {
        "containers": SETTINGS + request(1, "GET", "/v1/containers",
                                         end=True),
        "watch": SETTINGS + request(1, "GET", "/v1/containers?watch=1",
                                    end=True),
        "session": SETTINGS +
        request(1, "POST", "/v1/sessions/" + SID,
                [("streamtype", "status")]) + data(1, body, True) +
        request(3, "GET", "/v1/sessions/" + SID,
                [("streamtype", "stdout"), ("x-execfs-offset", "0")],
                True) +
        request(5, "POST", "/v1/sessions/" + SID,
                [("streamtype", "stdin")]) + data(5, b"hello\n", True),
        # A resume: the status by GET, output and stdin at offsets,
        # then the same streams again (they replace nothing on one
        # connection), and a reset carrying H2_LOST's code.
        "resume": SETTINGS +
        request(1, "POST", "/v1/sessions/" + SID,
                [("streamtype", "status")]) + data(1, body, True) +
        request(3, "GET", "/v1/sessions/" + SID,
                [("streamtype", "status")], True) +
        request(5, "GET", "/v1/sessions/" + SID,
                [("streamtype", "stdout"), ("x-execfs-offset", "7")],
                True) +
        request(7, "POST", "/v1/sessions/" + SID,
                [("streamtype", "stdin"), ("x-execfs-offset", "3")]) +
        data(7, b"lo\n", True) +
        request(9, "GET", "/v1/sessions/" + SID,
                [("streamtype", "stderr"),
                 ("x-execfs-offset", "18446744073709551615")], True) +
        frame(3, 0, 5, struct.pack(">I", 0x100)),
        "signal": SETTINGS +
        request(1, "POST", "/v1/sessions/" + SID,
                [("streamtype", "signal")]) + data(1, b"TERM", True),
        "reset": SETTINGS + request(1, "GET", "/v1/containers") +
        frame(3, 0, 1, struct.pack(">I", 8)) + frame(6, 0, 0, b"12345678"),
    }
    for name, blob in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
