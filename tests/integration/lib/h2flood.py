#!/usr/bin/env python3
"""A hostile HTTP/2 client for the flood test: connects to an agent's Unix
socket (h2c, prior knowledge) and sends one kind of abuse as fast as it can,
without reading what the agent answers (which is what makes a PING or
SETTINGS flood dangerous: the acknowledgements pile up). It stops after
COUNT frames, or when the agent drops the connection, which is the
expected defence.

Usage: h2flood.py SOCKET KIND COUNT
KIND: ping | settings | reset | headers | continuation | streams
Prints one line: KIND sent=N dropped=yes|no
"""
import socket
import struct
import sys


def frame(ftype, flags, sid, payload):
    return (struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) +
            struct.pack(">I", sid) + payload)


def lit(name, value):
    """HPACK literal without indexing, new name, no Huffman."""
    def s(b):
        if len(b) < 127:
            return bytes([len(b)]) + b
        n, out = len(b) - 127, bytearray([127])
        while n >= 128:
            out.append((n & 127) | 128)
            n >>= 7
        out.append(n)
        return bytes(out) + b
    return b"\x00" + s(name.encode()) + s(value.encode())


def request_block(path, extra=()):
    return b"".join(lit(n, v) for n, v in
                    [(":method", "GET"), (":scheme", "http"),
                     (":authority", "localhost"), (":path", path)] +
                    list(extra))


def frames(kind, count):
    sid = 1
    for i in range(count):
        if kind == "ping":
            yield frame(6, 0, 0, struct.pack(">Q", i))
        elif kind == "settings":
            yield frame(4, 0, 0, struct.pack(">HI", 3, 100 + i % 7))
        elif kind == "reset":
            yield (frame(1, 0x5, sid, request_block("/v1/containers")) +
                   frame(3, 0, sid, struct.pack(">I", 8)))
            sid += 2
        elif kind == "headers":
            big = request_block("/v1/containers", [("x-big", "a" * 70000)])
            yield frame(1, 0x5, sid, big[:16384]) if len(big) <= 16384 else \
                frame(1, 0x1, sid, big[:16384]) + b"".join(
                    frame(9, 0x4 if off + 16384 >= len(big) else 0, sid,
                          big[off:off + 16384])
                    for off in range(16384, len(big), 16384))
            sid += 2
        elif kind == "continuation":
            # Endless CONTINUATION frames of one header block.
            if i == 0:
                yield frame(1, 0x1, sid, request_block("/v1/containers"))
            else:
                yield frame(9, 0, sid, lit("x-c%d" % i, "v"))
        elif kind == "streams":
            yield frame(1, 0x5, sid, request_block("/v1/containers?watch=1"))
            sid += 2
        if sid > 2**31 - 2:
            return


def main():
    path, kind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(20)
    sent, dropped = 0, False
    try:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b""))
        batch = []
        for f in frames(kind, count):
            batch.append(f)
            if len(batch) == 256:
                s.sendall(b"".join(batch))
                sent += len(batch)
                batch = []
        if batch:
            s.sendall(b"".join(batch))
            sent += len(batch)
    except (BrokenPipeError, ConnectionResetError):
        dropped = True
    except socket.timeout:
        # The agent stopped reading us: flow control, also a defence.
        dropped = True
    s.close()
    print("%s sent=%d dropped=%s" % (kind, sent, "yes" if dropped else "no"))


if __name__ == "__main__":
    main()
