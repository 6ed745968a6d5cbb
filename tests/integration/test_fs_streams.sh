#!/bin/bash
# Output streams as Unix files: every reader gets everything,
# re-reads work, O_NONBLOCK gives EAGAIN, poll wakes when output comes,
# Ctrl-C ends a blocked reader at once, tail -f follows, and stdin opened
# O_NONBLOCK never parks a writer.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/fsenv.sh
. "$EXECFS_LIB_DIR/fsenv.sh"

fsenv_start

# 1000 lines, read twice after the end.
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "seq 1 1000" || fail "seq 1000"
assert_eq "exited 0" "$(read_file "$C/$n/wait")" "seq 1000"
assert_eq 1000 "$(read_file "$C/$n/stdout" | wc -l)" "first read of 1000 lines"
assert_eq 1000 "$(read_file "$C/$n/stdout" | wc -l)" "second read of 1000 lines"

# 100,000 lines (588,895 bytes) to two readers reading at the same time,
# one late and reading in small pieces: neither steals from the other.
n=$(read_file "$C/clone")
exec 5<"$C/$n/stdout" 6<"$C/$n/stdout"
ctl_write "$C/$n/ctl" "seq 1 100000" || fail "seq 100000"
timeout 300 md5sum <&5 >"$TESTDIR/r1" &
r1=$!
# (The second reader starts a little later; how much later does not matter.)
timeout 300 sh -c 'sleep 0.5; dd bs=4096 status=none | wc -l' <&6 >"$TESTDIR/r2" &
r2=$!
exec 5<&- 6<&-
wait $r1 || fail "reader 1 failed"
wait $r2 || fail "reader 2 failed"
assert_eq "$(seq 1 100000 | md5sum)" "$(cat "$TESTDIR/r1")" "reader 1 got all 100000 lines"
assert_eq 100000 "$(cat "$TESTDIR/r2")" "reader 2 got all 100000 lines"
assert_eq 100000 "$(read_file "$C/$n/stdout" | wc -l)" "a third reader after the end"
log "two concurrent readers of 100,000 lines ok"

# O_NONBLOCK at the tail: EAGAIN; poll wakes when output comes. The output
# comes when the test writes a line to stdin (from a thread, while the main
# one waits in poll).
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "sh -c 'read x; echo ready'" || fail "exec"
timeout 300 python3 - "$C/$n/stdout" "$C/$n/stdin" <<'PY' || fail "nonblocking read / poll"
import errno, os, select, sys, threading, time
path, stdin = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
try:
    os.read(fd, 100)
    sys.exit("read at the tail did not fail")
except BlockingIOError as e:
    assert e.errno == errno.EAGAIN, e
p = select.poll()
p.register(fd, select.POLLIN)
if p.poll(0):
    sys.exit("poll reported output before there was any")
trigger = {}
def go():
    time.sleep(0.5)  # most likely the main thread waits in poll by now
    trigger["t"] = time.monotonic()
    with open(stdin, "w") as f:
        f.write("go\n")
threading.Thread(target=go).start()
ev = p.poll(60000)
woke = time.monotonic()
if not ev or not ev[0][1] & select.POLLIN:
    sys.exit("poll did not report POLLIN in 60 s: %r" % ev)
if "t" not in trigger or woke < trigger["t"]:
    sys.exit("poll returned before the output existed")
data = os.read(fd, 100)
if data != b"ready\n":
    sys.exit("read after poll: %r" % data)
# select() agrees once the stream ended.
r, _, _ = select.select([fd], [], [], 60)
if not r or os.read(fd, 100) != b"":
    sys.exit("no EOF after the end")
print("poll woke %.3f s after the output was asked for" % (woke - trigger["t"]))
PY

# Ctrl-C on a reader blocked at the tail ends it (a reader the mount could
# not interrupt would wait as long as the process lives, here for ever).
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "sleep 1000" || fail "sleep"
timeout 300 python3 - "$C/$n/stdout" <<'PY' || fail "SIGINT on a blocked cat"
import signal, subprocess, sys, time
p = subprocess.Popen(["cat", sys.argv[1]],
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
def blocked():
    try:
        with open("/proc/%d/wchan" % p.pid) as f:
            return f.read() == "request_wait_answer"
    except OSError:
        return False
t = time.monotonic() + 60
while not blocked():
    if p.poll() is not None:
        sys.exit("cat ended before the signal: %r" % p.returncode)
    if time.monotonic() > t:
        sys.exit("cat never blocked at the tail")
    time.sleep(0.01)
t0 = time.monotonic()
p.send_signal(signal.SIGINT)
try:
    rc = p.wait(timeout=60)
except subprocess.TimeoutExpired:
    p.kill()
    sys.exit("cat survived SIGINT for 60 s")
print("cat ended %.3f s after SIGINT, status %d" % (time.monotonic() - t0, rc))
PY
# The session itself keeps running: only the reader was interrupted.
assert_eq running "$(read_file "$C/$n/status" 60)" "sleep after the reader's SIGINT"
ctl_write "$C/$n/ctl" kill || fail "kill"

# tail -f follows output as it grows.
n=$(read_file "$C/clone")
# The second line comes when the test writes to stdin.
ctl_write "$C/$n/ctl" "sh -c 'echo one; read x; echo two; read x'" || fail "exec"
timeout 300 tail -f "$C/$n/stdout" >"$TESTDIR/tail.out" 2>&1 &
tp=$!
wait_for "grep -q one '$TESTDIR/tail.out'" 60 || fail "tail -f did not show the first line"
grep -q two "$TESTDIR/tail.out" && fail "tail -f showed a line before it existed"
exec 7>"$C/$n/stdin"
echo go >&7
wait_for "grep -q two '$TESTDIR/tail.out'" 60 || fail "tail -f did not follow: $(cat "$TESTDIR/tail.out")"
kill $tp 2>/dev/null || true
wait $tp 2>/dev/null || true
exec 7>&-
log "tail -f followed"

# stdin opened O_NONBLOCK: writes never park; EAGAIN once the stream is full.
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "sleep 1000" || fail "sleep"
timeout 300 python3 - "$C/$n/stdin" <<'PY' || fail "nonblocking stdin"
import errno, os, select, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
p = select.poll()
p.register(fd, select.POLLOUT)
assert p.poll(60000), "stdin not writable at first"
total, chunk = 0, b"x" * 65536
while True:
    try:
        k = os.write(fd, chunk)
    except BlockingIOError as e:
        assert e.errno == errno.EAGAIN
        break
    total += k
    if total > 64 << 20:
        sys.exit("64 MiB accepted by a stdin nobody reads: not bounded")
print("stdin took %d bytes before EAGAIN" % total)
os.close(fd)
PY
ctl_write "$C/$n/ctl" kill || fail "kill"

# Writes after the process ended fail with EPIPE, for a writer that opens
# stdin afterwards and for one that held it open across the end (they were
# taken, and dropped by the agent, without end).
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "head -c 5" || fail "head -c 5"
timeout 300 python3 - "$C/$n/stdin" "$C/$n/wait" <<'PY' || fail "stdin after the end"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, b"hello")
with open(sys.argv[2]) as f:
    assert f.read().strip() == "exited 0", "head did not end"
for who, f in (("held open", fd), ("opened after", os.open(sys.argv[1], os.O_WRONLY))):
    try:
        os.write(f, b"x" * 65536)
        sys.exit("a write to the stdin of an ended process (%s) was taken" % who)
    except OSError as e:
        assert e.errno == errno.EPIPE, "%s: %s" % (who, e)
PY
log "stdin after the end: EPIPE"

# A reader that read to the end and reads earlier bytes again (pread at 0)
# gets them at once, not when more output comes (none ever comes here: a
# pread that waited would wait until the test gave up).
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "sh -c 'echo hello; read x'" || fail "echo hello; read"
timeout 300 python3 - "$C/$n/stdout" <<'PY' || fail "a pread of earlier bytes waited"
import os, signal, sys
signal.alarm(60)
fd = os.open(sys.argv[1], os.O_RDONLY)
got = b""
while not got.endswith(b"\n"):
    got += os.read(fd, 1 << 20)
assert got == b"hello\n", got
assert os.pread(fd, 1 << 20, 0) == b"hello\n"
PY
ctl_write "$C/$n/ctl" kill || fail "kill"
log "pread of earlier bytes: at once"

# Reads are batched while output flows, never held once it stops: a 1 MiB
# read gets a prompt that is not followed by more output at once, not
# when the process ends. Stream files advertise 1 MiB blocks (cat, cp
# and stdio size their reads by st_blksize).
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "sh -c 'printf prompt; read x'" || fail "prompt"
assert_eq 1048576 "$(stat -c %o "$C/$n/stdout")" "st_blksize of stdout"
timeout 60 python3 - "$C/$n/stdout" <<'PY' || fail "a prompt waited for more output"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
got = os.read(fd, 1 << 20)
assert got == b"prompt", got
PY
ctl_write "$C/$n/ctl" "kill" || fail "kill"
# And a bulk reader gets big blocks: 64 MiB in 1 MiB reads, of which only
# the ones that catch up with the producer come short (unbatched, one
# reply per network read, this took thousands of reads).
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "dd if=/dev/zero bs=1M count=64" || fail "dd"
timeout 300 python3 - "$C/$n/stdout" <<'PY' || fail "bulk reads"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
total = reads = 0
while True:
    b = os.read(fd, 1 << 20)
    if not b:
        break
    total += len(b)
    reads += 1
assert total == 64 << 20, total
print("64 MiB in %d reads of up to 1 MiB" % reads)
assert reads < 64 * 16, "%d reads: replies are not batched" % reads
PY
log "a prompt is answered at once; bulk output comes in big reads"
