#!/bin/bash
# A key's echo on a tty session through the files (fs/echo_wait.h), over
# mutual TLS with a real container: a poll(2) of stdout right after a key
# written to stdin waits for the echo instead of answering "not ready".
#   1  300 keystrokes each through select, poll and epoll, and 300 with a
#      signal every 0.3 ms interrupting the waits: every echo arrives.
#   2  on a second mount with -o echo_wait=10000000 (10 s, the longest it
#      takes, so each state can be seen from outside however slow the
#      machine: a held POLL is a FUSE request in flight, in
#      /sys/fs/fuse/connections/N/waiting); the
#      container answers a key only when the test says so (a FIFO in its
#      /tmp that another session writes):
#      a  a key the test answers once it has seen the POLL held: select
#         returns with the answer, long before the hold would end;
#      b  a key left unanswered: the hold ends by itself with "not ready",
#         and select still wakes for the answer the test sends afterwards
#         (the notification path); the next key is not held (keys are not
#         echoed in time);
#      c  a signal during a hold answers the POLL at once;
#      d  -o echo_wait=0 never holds, nor does a session without a tty
#         (a tty session's stderr ends at once: nothing to hold there).
#   The write calls of the first mount per keystroke are logged (4 when
#   every POLL is held; notifications and second POLLs add to it).
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/tlsnode.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/tlsnode.sh"

# Held requests are counted in the fusectl file system.
fusectl_ensure || fail "cannot mount fusectl on /sys/fs/fuse/connections"
tls_node_start
mnt1_pid=$MOUNT_PID
mnt2=$TESTDIR/mnt2
mount_start "$mnt2" --config "$TESTDIR/execfs.json" -o echo_wait=10000000
web2=$mnt2/n1/default/web-1/nginx
wait_for "[ -d '$web2' ]" 60 || fail "the container did not appear on $mnt2"
mnt3=$TESTDIR/mnt3
mount_start "$mnt3" --config "$TESTDIR/execfs.json" -o echo_wait=0
web3=$mnt3/n1/default/web-1/nginx
wait_for "[ -d '$web3' ]" 60 || fail "the container did not appear on $mnt3"

cat >"$TESTDIR/echo.py" <<'PY'
import os, select, signal, sys, threading, time

# Every wait below is bounded generously: it only ends a test that failed.
LONG = 60
HOLD = 10  # the second mount's echo_wait, in seconds

def session(c, cmd, tty=True):
    n = open(c + "/clone").read().strip()
    d = "%s/%s" % (c, n)
    with open(d + "/ctl", "w") as f:
        f.write("%sexec %s\n" % ("tty 80 24\n" if tty else "", cmd))
    return d, os.open(d + "/stdout", os.O_RDONLY), os.open(d + "/stdin", os.O_WRONLY)

def end(d):
    with open(d + "/ctl", "w") as f:
        f.write("kill\n")

def waiting(mnt):
    # fusectl names a connection by its device's kernel number, which
    # for FUSE's major 0 is the minor (st_dev encodes minors over 255
    # differently: a busy machine has those).
    dev = os.stat(mnt).st_dev
    assert os.major(dev) == 0, dev
    with open("/sys/fs/fuse/connections/%d/waiting" % os.minor(dev)) as f:
        return int(f.read())

def until(cond, secs=LONG):
    t = time.monotonic() + secs
    while time.monotonic() < t:
        if cond():
            return True
        time.sleep(0.002)
    return cond()

def read_until(rfd, want, secs=LONG):
    """Read rfd (blocking, polled) until want was seen; the bytes read."""
    got = b""
    t = time.monotonic() + secs
    while want not in got:
        left = t - time.monotonic()
        if left <= 0 or not select.select([rfd], [], [], left)[0]:
            sys.exit("no %r on stdout in %d s (got %r)" % (want, secs, got))
        b = os.read(rfd, 256)
        if not b:
            sys.exit("stdout ended before %r (got %r)" % (want, got))
        got += b
    return got

# A shell that answers each line of stdin with "got LINE", but only once
# the test writes the FIFO /tmp/NAME (from another session): the answer's
# moment is the test's, not a guess of how long the machine takes.
def answerer(c, name):
    d, rfd, wfd = session(c, "sh -c 'stty -echo; f=/tmp/%s; rm -f $f; mkfifo $f; "
                          "echo ready; while read -r l; do read -r g <$f; echo \"got $l\"; done'" % name)
    read_until(rfd, b"ready")
    return d, rfd, wfd

def answer(c, name):
    n = open(c + "/clone").read().strip()
    with open("%s/%s/ctl" % (c, n), "w") as f:
        f.write("exec sh -c 'echo go >/tmp/%s'\n" % name)
    with open("%s/%s/wait" % (c, n)) as f:
        status = f.read().strip()
    if status != "exited 0":
        sys.exit("answer %s: %s" % (name, status))

def key_then_select(rfd, wfd, key, timeout=LONG):
    """Write key, then select() on rfd in a thread: (thread, result, start)."""
    res = {}
    t = threading.Thread(target=lambda: res.update(r=select.select([rfd], [], [], timeout)[0]))
    t0 = time.monotonic()
    os.write(wfd, key)
    t.start()
    return t, res, t0

def keystrokes(c, n):
    d, rfd, wfd = session(c, "cat")
    ep = select.epoll()
    ep.register(rfd, select.EPOLLIN)
    po = select.poll()
    po.register(rfd, select.POLLIN)
    waits = {
        "select": lambda: select.select([rfd], [], [], LONG)[0],
        "poll": lambda: po.poll(LONG * 1000),
        "epoll": lambda: ep.poll(LONG),
    }
    for name in ("select", "poll", "epoll", "select+signals"):
        w = waits[name.split("+")[0]]
        if name.endswith("signals"):
            signal.signal(signal.SIGALRM, lambda s, f: None)
            signal.setitimer(signal.ITIMER_REAL, 0.0003, 0.0003)
        for i in range(n):
            os.write(wfd, b"x")
            while True:
                if not w():
                    sys.exit("%s: keystroke %d: no echo in %d s" % (name, i, LONG))
                b = os.read(rfd, 64)
                if not b:
                    sys.exit("%s: stdout ended" % name)
                if b"x" in b:
                    break
        signal.setitimer(signal.ITIMER_REAL, 0)
        print("%s: %d keystrokes echoed" % (name, n))
    end(d)

def held(c, mnt):
    # a: the test answers once it saw the POLL held; the answer ends it.
    d, rfd, wfd = answerer(c, "go-a")
    t, res, t0 = key_then_select(rfd, wfd, b"a\n")
    if not until(lambda: waiting(mnt) >= 1 or not t.is_alive()):
        sys.exit("a: no POLL held after the key")
    if not t.is_alive():
        sys.exit("a: select returned before the answer: %r" % res)
    answer(c, "go-a")
    t.join()
    took = time.monotonic() - t0
    # The answer, not the end of the hold (after HOLD s), answered it.
    if took >= HOLD:
        sys.exit("a: select returned after %.1f s: the answer did not end the hold" % took)
    if not res["r"] or b"got a" not in read_until(rfd, b"got a"):
        sys.exit("a: select did not return the answer: %r" % res)
    if not until(lambda: waiting(mnt) == 0):
        sys.exit("a: a request still waits after the answer")
    print("a: POLL held until the answer (%.1f s)" % took)
    # Polls that must not wait after a key: timeout 0, and for writing
    # only. A hold would last HOLD s; nothing answers meanwhile.
    for name, args in (("timeout 0", ([rfd], [], [], 0)),
                       ("writing only", ([], [rfd], [], 0.1))):
        os.write(wfd, b"x\n")
        t0 = time.monotonic()
        select.select(*args)
        if time.monotonic() - t0 >= HOLD / 2:
            sys.exit("a: a poll for %s waited %.1f s" % (name, time.monotonic() - t0))
        answer(c, "go-a")
        read_until(rfd, b"got x")
    print("a: polls with timeout 0 and for writing only did not wait")
    end(d)

    # b: no answer: the hold ends by itself with "not ready"; the answer,
    # sent afterwards, still wakes select.
    d, rfd, wfd = answerer(c, "go-b")
    t, res, t0 = key_then_select(rfd, wfd, b"b\n", HOLD + LONG)
    if not until(lambda: waiting(mnt) >= 1 or not t.is_alive()):
        sys.exit("b: no POLL held after the key")
    if not until(lambda: waiting(mnt) == 0, HOLD + LONG):
        sys.exit("b: the hold did not end")
    if not t.is_alive():
        sys.exit("b: select returned before the answer: %r" % res)
    answer(c, "go-b")
    t.join()
    if not res["r"] or b"got b" not in read_until(rfd, b"got b"):
        sys.exit("b: select did not wake for the answer: %r" % res)
    print("b: the hold ended (not ready); the answer woke select after %.1f s" % (time.monotonic() - t0))
    # The key was not echoed in time: the next POLL is answered at once
    # (not ready), and select waits for the answer without a held POLL.
    t, res, _ = key_then_select(rfd, wfd, b"c\n")
    time.sleep(0.5)
    if not t.is_alive() or waiting(mnt) != 0:
        sys.exit("b: POLL held after a key that got no echo (waiting %d)" % waiting(mnt))
    answer(c, "go-b")
    t.join()
    if not res["r"] or b"got c" not in read_until(rfd, b"got c"):
        sys.exit("b: no answer to the second key: %r" % res)
    print("b: the next key's POLL was not held")
    end(d)

    # c: a signal answers a held POLL at once (no answer ever comes).
    d, rfd, wfd = answerer(c, "go-c")
    class Stop(Exception):
        pass
    def stop(s, f):
        raise Stop()
    signal.signal(signal.SIGUSR1, stop)
    main = threading.get_ident()
    def interrupter():
        if until(lambda: waiting(mnt) >= 1):
            signal.pthread_kill(main, signal.SIGUSR1)
    t = threading.Thread(target=interrupter)
    os.write(wfd, b"d\n")
    t.start()
    try:
        select.select([rfd], [], [], HOLD + LONG)
        sys.exit("c: select returned (no POLL held, or no signal)")
    except Stop:
        pass
    t.join()
    if not until(lambda: waiting(mnt) == 0, HOLD / 2):
        sys.exit("c: the interrupted POLL is still held")
    print("c: a signal ended the hold")
    end(d)

def never_held(c, mnt, what):
    # A key nobody answers: a hold would show in `waiting` while select
    # still waits.
    cmd = "sh -c 'stty -echo 2>/dev/null; echo ready; while read -r l; do :; done'"
    d, rfd, wfd = session(c, cmd, tty=what != "no tty")
    read_until(rfd, b"ready")
    t, _, _ = key_then_select(rfd, wfd, b"e", 1.5)
    time.sleep(0.5)
    if not t.is_alive():
        sys.exit("%s: select returned: stdout is readable" % what)
    if waiting(mnt) != 0:
        sys.exit("%s: POLL held (waiting %d)" % (what, waiting(mnt)))
    t.join()
    print("%s: POLL not held" % what)
    end(d)

if sys.argv[1] == "keys":
    keystrokes(sys.argv[2], int(sys.argv[3]))
elif sys.argv[1] == "held":
    held(sys.argv[2], sys.argv[3])
else:
    never_held(sys.argv[2], sys.argv[3], sys.argv[4])
PY

# 1: keystrokes on the default mount, the mount's writes counted (a held
# POLL spares two: the notification and the second POLL's answer).
syscw() { awk '/^syscw/ {print $2}' "/proc/$mnt1_pid/io"; }
w0=$(syscw)
timeout 400 python3 "$TESTDIR/echo.py" keys "$web" 300 >"$TESTDIR/keys.out" 2>&1 ||
	fail "keystrokes: $(cat "$TESTDIR/keys.out")"
log "$(tr '\n' ';' <"$TESTDIR/keys.out") mount write calls for 1200 keystrokes: $(($(syscw) - w0))"

# 2: what is held and what is not, seen from outside.
timeout 400 python3 "$TESTDIR/echo.py" held "$web2" "$mnt2" >"$TESTDIR/held.out" 2>&1 ||
	fail "held POLLs: $(cat "$TESTDIR/held.out")"
log "$(tr '\n' ';' <"$TESTDIR/held.out")"
timeout 200 python3 "$TESTDIR/echo.py" never "$web2" "$mnt2" "no tty" >"$TESTDIR/never.out" 2>&1 ||
	fail "no tty: $(cat "$TESTDIR/never.out")"
log "$(cat "$TESTDIR/never.out")"
timeout 200 python3 "$TESTDIR/echo.py" never "$web3" "$mnt3" "echo_wait=0" >"$TESTDIR/never.out" 2>&1 ||
	fail "echo_wait=0: $(cat "$TESTDIR/never.out")"
log "$(cat "$TESTDIR/never.out")"
# Bad values are refused at mount time.
mkdir -p "$TESTDIR/nomnt"
out=$("$EXECFS_BUILD_DIR/execfs" -f -o echo_wait=10000001 "$TESTDIR/nomnt" 2>&1) &&
	fail "echo_wait=10000001 accepted"
assert_match "bad echo_wait" "$out" "echo_wait above the maximum"
log "test_fs_echo: ok"
