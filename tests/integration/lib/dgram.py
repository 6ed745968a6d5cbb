# Receive Unix datagrams and write each one, as one line (its own newlines
# shown as '|'), to a file: a stand-in for systemd's $NOTIFY_SOCKET and for
# syslog's /dev/log in the tests. Runs until killed.
#   python3 dgram.py PATH OUT     PATH: a socket path (made writable by
#                                 everyone: the agent's worker runs as
#                                 nobody), or @NAME for an abstract socket
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if path.startswith("@"):
    s.bind("\0" + path[1:])
else:
    s.bind(path)
    os.chmod(path, 0o777)
with open(out, "a", buffering=1) as f:
    while True:
        data = s.recv(65536)
        f.write(data.decode(errors="replace").replace("\n", "|") + "\n")
