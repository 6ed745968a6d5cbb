#!/usr/bin/env python3
"""The cases of the execfs benchmark.

Run by tests/bench/run.sh, which sets up the container, the agent, both mounts
and the sshd, and hands this script their paths in a JSON file. Each case runs
its contenders several times, interleaved (round r runs every contender once,
in an order rotated each round), and reports medians and ratios against the
baselines of the same run. Timings are never asserted: a target is MET or
NOT MET, and the run still succeeds; it fails only when a contender fails.

    bench.py CONFIG.json            the cases, the table, DIR/results.md
    bench.py --profile CONFIG.json  perf record/stat of agent and client
                                    during throughput runs, into DIR/profile/
"""
import json
import os
import platform
import re
import select
import shlex
import signal
import statistics
import subprocess
import sys
import time
import tty

import fleet_case

MiB = 1024 * 1024


def md(text):
    """A markdown table cell."""
    return text.replace("|", "\\|")


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)



def keystroke_round_trip(rfd, wfd, what):
    """A function that writes one 'x' to wfd and reads rfd until it comes back."""
    def rt():
        os.write(wfd, b"x")
        while True:
            r, _, _ = select.select([rfd], [], [], 10)
            if not r:
                raise RuntimeError("no echo in 10 s")
            b = os.read(rfd, 64)
            if not b:
                raise RuntimeError(what)
            if b"x" in b:
                return
    return rt

class Bench:
    def __init__(self, cfg):
        self.cfg = cfg
        self.quick = cfg["quick"]
        self.reps = cfg["reps"] or (2 if self.quick else 5)
        self.mib = 256 if self.quick else 1024
        self.sessions = 200 if self.quick else 1000
        self.lat_rounds, self.lat_per_round = (4, 10) if self.quick else (10, 20)
        self.echo_rounds, self.echo_per_round = (4, 25) if self.quick else (10, 50)
        self.tls_c = os.path.join(cfg["tls_mount"], cfg["container_path"])
        self.unix_c = os.path.join(cfg["unix_mount"], cfg["container_path"])
        self.failures = []
        self.results = {}  # case -> {contender: [values]}
        self.notes = {}    # case -> {contender: note}
        # Variables the printed commands use; their values are printed too.
        self.vars = {
            "TLS": self.tls_c,
            "UNIX": self.unix_c,
            "ID": cfg["container_id"],
            "PID": str(cfg["container_pid"]),
            "ROOT": cfg["runc_root"],
            "SSH": "ssh -F %s" % cfg["ssh_config"],
            "N": str(self.mib),
        }

    # --- helpers -----------------------------------------------------------

    def env(self):
        e = dict(os.environ)
        e.update(self.vars)
        return e

    def sh(self, cmd, timeout=300, check=True):
        """Run cmd with bash, the variables above in its environment;
        return (seconds, stdout)."""
        t0 = time.perf_counter()
        p = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd],
                           env=self.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        if check and p.returncode != 0:
            raise RuntimeError("%s: status %d: %s" % (
                cmd, p.returncode, p.stderr.decode(errors="replace").strip()[-500:]))
        return dt, p.stdout.decode(errors="replace")

    def record(self, case, name, value):
        self.results.setdefault(case, {}).setdefault(name, []).append(value)

    def note(self, case, name, text):
        self.notes.setdefault(case, {})[name] = text

    def interleave(self, case, contenders, rounds, run):
        """run(name, cmd) for every contender, rounds times, rotating order."""
        names = list(contenders)
        for r in range(rounds):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                if name in self.notes.get(case, {}):
                    continue  # failed before: not again
                try:
                    run(name, contenders[name])
                except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                    msg = str(e).splitlines()[0][:300] if str(e) else repr(e)
                    log("%s / %s failed: %s" % (case, name, msg))
                    self.note(case, name, "failed: " + msg)
                    self.failures.append("%s / %s: %s" % (case, name, msg))

    # --- throughput ----------------------------------------------------------

    def throughput_contenders(self, direction):
        dd = "dd if=/dev/zero bs=1M count=$N"
        if direction == "out":
            ex = ('echo "%s" > $%%s/ctl && cat $%%s/stdout > /dev/null' % dd)
            return {
                "execfs TLS": ex % ("TLS", "TLS"),
                "execfs unix": ex % ("UNIX", "UNIX"),
                "ssh (default cipher)":
                    "$SSH -S none bench \"%s 2>/dev/null\" > /dev/null" % dd,
                "ssh -c aes128-gcm":
                    "$SSH -S none -c aes128-gcm@openssh.com bench \"%s 2>/dev/null\" > /dev/null" % dd,
                "runc exec":
                    "runc --root $ROOT exec $ID %s > /dev/null 2>&1" % dd,
                "nsenter | cat":
                    "nsenter -t $PID -a %s 2>/dev/null | cat > /dev/null" % dd,
            }
        ex = ("echo \"sh -c 'cat > /dev/null'\" > $%s/ctl && "
              "%s 2>/dev/null > $%s/stdin && cat $%s/wait")
        return {
            "execfs TLS": ex % ("TLS", dd, "TLS", "TLS"),
            "execfs unix": ex % ("UNIX", dd, "UNIX", "UNIX"),
            "ssh (default cipher)":
                "%s 2>/dev/null | $SSH -S none bench 'cat > /dev/null'" % dd,
            "ssh -c aes128-gcm":
                "%s 2>/dev/null | $SSH -S none -c aes128-gcm@openssh.com bench 'cat > /dev/null'" % dd,
            "runc exec":
                "%s 2>/dev/null | runc --root $ROOT exec $ID sh -c 'cat > /dev/null'" % dd,
            "nsenter":
                "%s 2>/dev/null | nsenter -t $PID -a sh -c 'cat > /dev/null'" % dd,
        }

    def case_throughput(self, direction):
        case = "throughput " + direction
        contenders = self.throughput_contenders(direction)
        self.commands[case] = contenders
        size = self.mib * MiB

        def run(name, cmd):
            dt, out = self.sh(cmd, timeout=600)
            if name.startswith("execfs"):
                c = self.tls_c if "TLS" in name else self.unix_c
                status = open(os.path.join(c, "wait")).read().strip()
                if status != "exited 0":
                    raise RuntimeError("session ended: " + status)
                if direction == "out":
                    got = os.stat(os.path.join(c, "stdout")).st_size
                    if got != size:
                        raise RuntimeError("stdout has %d bytes, not %d" % (got, size))
            self.record(case, name, size / dt / 1e6)
            log("%s / %s: %.0f MB/s" % (case, name, size / dt / 1e6))

        self.interleave(case, contenders, self.reps, run)

    # --- session latency -----------------------------------------------------

    # A pause between ops in the paced case, outside the timed part: a
    # person's commands, not a loop's. Some costs are paid only by a start
    # that follows a quiet spell (the kernel's cgroup migration lock, cold
    # caches), which back-to-back ops hide.
    PACE_S = 0.05

    def case_latency(self, paced=False):
        case = "session latency, paced" if paced else "session latency"
        contenders = {
            "execfs TLS": "echo true > $TLS/ctl; cat $TLS/wait > /dev/null",
            "execfs unix": "echo true > $UNIX/ctl; cat $UNIX/wait > /dev/null",
            "ssh ControlMaster": "$SSH bench true",
            "runc exec": "runc --root $ROOT exec $ID true",
            "nsenter -a": "nsenter -t $PID -a true",
            "fork+exec true (floor)": "/bin/true",
        }
        self.commands[case] = contenders
        n = self.lat_per_round // 2 if paced else self.lat_per_round
        pause = "sleep %s; " % self.PACE_S if paced else ""

        def run(name, cmd):
            # One bash loop per round; each op timed with $EPOCHREALTIME, so
            # the loop costs no fork of its own.
            loop = ("for ((i = 0; i < %d; i++)); do %st0=$EPOCHREALTIME; %s; "
                    "t1=$EPOCHREALTIME; echo $t0 $t1; done" % (n, pause, cmd))
            _, out = self.sh(loop, timeout=300)
            vals = out.split()
            for a, b in zip(vals[0::2], vals[1::2]):
                self.record(case, name, (float(b) - float(a)) * 1e3)
            if name.startswith("execfs"):
                c = self.tls_c if "TLS" in name else self.unix_c
                status = open(os.path.join(c, "status")).read().strip()
                if status != "exited 0":
                    raise RuntimeError("last session: " + status)

        self.interleave(case, contenders, self.lat_rounds, run)
        if paced:
            return
        # Informational: the same two file operations from this process,
        # without cat's fork+exec (what a program using the files pays).
        name = "execfs TLS, no fork (python)"
        for _ in range(self.lat_rounds * n):
            t0 = time.perf_counter()
            with open(os.path.join(self.tls_c, "ctl"), "w") as f:
                f.write("true\n")
            with open(os.path.join(self.tls_c, "wait")) as f:
                f.read()
            self.record(case, name, (time.perf_counter() - t0) * 1e3)
        self.commands[case][name] = "open(ctl).write('true\\n'); open(wait).read()"

    # --- concurrency -----------------------------------------------------------

    def rss_kib(self, pids):
        total = 0
        for pid in pids:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total

    def agent_pids(self):
        """The agent and any helper processes it runs (same executable),
        not the container processes it started."""
        exe = os.path.realpath(os.path.join(self.cfg["build"], "execfs-agent"))
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/exe" % d) == exe:
                    pids.append(int(d))
            except OSError:
                pass
        return pids

    def container_sleep_pids(self):
        """Pids (host view) of the `sleep 86400` processes in the container's
        pid namespace."""
        want = os.readlink("/proc/%d/ns/pid" % self.cfg["container_pid"])
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if f.read() != b"sleep\x0086400\x00":
                        continue
                if os.readlink("/proc/%s/ns/pid" % d) == want:
                    pids.append(int(d))
            except OSError:
                pass
        return pids

    def container_sleeps(self):
        return len(self.container_sleep_pids())

    def kill_container_sleeps(self):
        """SIGKILL them from the host: the container's busybox has no
        pkill, and its init is a `sleep` too, so no killall."""
        for pid in self.container_sleep_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def case_concurrency(self):
        case = "concurrency"
        n = self.sessions
        c = self.tls_c
        # The sessions live until the case kills them, however long the
        # starts take.
        cmd = "for ((i = 0; i < %d; i++)); do echo 'sleep 86400' > $TLS/ctl || exit 1; done" % n
        self.commands[case] = {"start": cmd,
                               "clean up": "kill -9 each `sleep 86400` of the container's pid namespace (from the host)"}
        # One session first, so one-time allocations are not counted.
        self.sh("echo true > $TLS/ctl && cat $TLS/wait > /dev/null")
        before_ls = set(os.listdir(c))
        time.sleep(1)
        fs_pid = self.cfg["tls_pid"]
        agents = self.agent_pids()
        fs0, ag0 = self.rss_kib([fs_pid]), self.rss_kib(agents)
        res = {"n": n}
        try:
            dt, _ = self.sh(cmd, timeout=600)
            res["rate"] = n / dt
            res["seconds"] = dt
            time.sleep(2)
            fs1, ag1 = self.rss_kib([fs_pid]), self.rss_kib(self.agent_pids())
            listing = os.listdir(c)
            new = [d for d in listing if d.isdigit() and d not in before_ls]
            log("concurrency: %d entries listed, %d new session directories"
                % (len(listing), len(new)))
            running = 0
            for d in new:
                with open(os.path.join(c, d, "status")) as f:
                    if f.read().strip() == "running":
                        running += 1
            procs = self.container_sleeps()
            res.update(running=running, sessions=len(new), procs=procs,
                       fs_before=fs0, fs_after=fs1, agent_before=ag0,
                       agent_after=ag1,
                       fs_per=(fs1 - fs0) / n, agent_per=(ag1 - ag0) / n)
            log("concurrency: %d started in %.2f s, %d running; execfs %d -> %d KiB, agent %d -> %d KiB"
                % (n, dt, running, fs0, fs1, ag0, ag1))
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            msg = str(e).splitlines()[0][:300]
            res["error"] = msg
            self.failures.append("concurrency: " + msg)
            log("concurrency failed: " + msg)
        finally:
            self.kill_container_sleeps()
            deadline = time.time() + 30
            while self.container_sleeps() and time.time() < deadline:
                time.sleep(0.2)
            # Let the mount see them end before the next case.
            time.sleep(1)
        self.concurrency = res

    # --- interactive echo --------------------------------------------------------

    def echo_execfs(self, c, rounds_out):
        """Yield a function doing n keystroke round trips through a tty session."""
        try:
            with open(os.path.join(c, "ctl"), "w") as f:
                f.write("tty 80 24\nexec cat\n")
        except OSError as e:
            return None, "n/a (printf 'tty 80 24\\nexec cat\\n' > ctl: %s)" % e.strerror
        rfd = os.open(os.path.join(c, "stdout"), os.O_RDONLY)
        wfd = os.open(os.path.join(c, "stdin"), os.O_WRONLY)
        state = {"rfd": rfd, "wfd": wfd}

        rt = keystroke_round_trip(rfd, wfd, "stdout ended")

        def close():
            try:
                with open(os.path.join(c, "ctl"), "w") as f:
                    f.write("kill\n")
            except OSError:
                pass
            os.close(state["wfd"])
            os.close(state["rfd"])
        return (rt, close), None

    def echo_ssh(self):
        p = subprocess.Popen(["ssh", "-F", self.cfg["ssh_config"], "-tt", "bench", "cat"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        rfd, wfd = p.stdout.fileno(), p.stdin.fileno()

        rt = keystroke_round_trip(rfd, wfd, "ssh ended")

        def close():
            p.kill()
            p.wait()
        return rt, close

    def echo_exec_cli(self, c):
        """execfs's own client: `execfs exec -t DIR -- cat` on pipes, as
        ssh -tt is driven."""
        exe = os.path.join(self.cfg["build"], "execfs")
        p = subprocess.Popen([exe, "exec", "-t", c, "--", "cat"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        rt = keystroke_round_trip(p.stdout.fileno(), p.stdin.fileno(),
                                  "execfs exec ended")

        def close():
            p.kill()
            p.wait()
        return rt, close

    def echo_runc(self):
        """runc exec -t (what kubectl exec -t runs) on a local pty."""
        master, slave = os.openpty()
        # Raw, so the local line discipline neither echoes nor buffers: the
        # 'x' that comes back is cat's, through the container's pty.
        tty.setraw(slave)
        p = subprocess.Popen(["runc", "--root", self.cfg["runc_root"], "exec", "-t",
                              self.cfg["container_id"], "cat"],
                             stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)

        rt = keystroke_round_trip(master, master, "runc exec ended")

        def close():
            p.kill()
            p.wait()
            os.close(master)
        return rt, close

    def case_echo(self):
        case = "interactive echo"
        self.commands[case] = {
            "execfs TLS": "printf 'tty 80 24\\nexec cat\\n' > $TLS/ctl; then per keystroke: "
                          "write 'x' to $TLS/stdin, read $TLS/stdout until 'x' comes back",
            "execfs unix": "likewise on $UNIX",
            "execfs exec -t (TLS)": "execfs exec -t $TLS -- cat; per keystroke: write 'x' "
                                    "to its stdin, read its stdout until 'x' comes back",
            "ssh -tt ControlMaster": "$SSH -tt bench cat; likewise",
            "runc exec -t": "runc --root $ROOT exec -t $ID cat on a local pty; likewise",
        }
        sides = {}
        for name, c in (("execfs TLS", self.tls_c), ("execfs unix", self.unix_c)):
            fns, why = self.echo_execfs(c, None)
            if fns is None:
                self.note(case, name, why)
                log("%s / %s: %s" % (case, name, why))
            else:
                sides[name] = fns
        if "execfs TLS" in sides:
            sides["execfs exec -t (TLS)"] = self.echo_exec_cli(self.tls_c)
        sides["ssh -tt ControlMaster"] = self.echo_ssh()
        sides["runc exec -t"] = self.echo_runc()
        try:
            for rt, _ in sides.values():  # warm up: the first echo
                for _ in range(3):
                    rt()
            names = list(sides)
            for r in range(self.echo_rounds):
                k = r % len(names)
                for name in names[k:] + names[:k]:
                    rt = sides[name][0]
                    for _ in range(self.echo_per_round):
                        t0 = time.perf_counter()
                        rt()
                        self.record(case, name, (time.perf_counter() - t0) * 1e3)
        except (RuntimeError, OSError) as e:
            self.failures.append("interactive echo: %s" % e)
            log("interactive echo failed: %s" % e)
        finally:
            for _, close in sides.values():
                close()

    # --- the fleet (tests/bench/fleet_case.py) ----------------------------------------

    def case_fleet(self):
        if not self.cfg.get("fleet"):
            self.failures.append("fleet: no fleet set up (run.sh --cases fleet)")
            return
        self.fleet = fleet_case.Fleet(self, log)
        try:
            self.fleet.run()
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
            msg = str(e).splitlines()[0][:300] if str(e) else repr(e)
            log("fleet failed: " + msg)
            self.failures.append("fleet: " + msg)
        finally:
            self.fleet.unmount()

    # --- report ------------------------------------------------------------------

    def med(self, case, name):
        v = self.results.get(case, {}).get(name)
        return statistics.median(v) if v else None

    def machine(self):
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        mem = "?"
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
        def ver(cmd):
            try:
                return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      timeout=10).stdout.decode().splitlines()[0].strip()
            except Exception:
                return "?"
        rev = ver(["git", "-C", self.cfg["src"], "describe", "--always", "--dirty"])
        return [
            ("nproc", str(os.cpu_count())),
            ("CPU", cpu),
            ("memory", mem),
            ("kernel", platform.release()),
            ("OS", ver(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"])),
            ("OpenSSH", ver(["ssh", "-V"])),
            ("runc", ver(["runc", "--version"])),
            ("execfs", "git %s, Release build" % rev),
            ("load average at the end", open("/proc/loadavg").read().split()[0:3].__str__()),
        ]

    @staticmethod
    def latency_targets(target, ratio, case):
        target("%s <= 0.25x runc exec" % case,
               ratio(case, "execfs TLS", "runc exec"), lambda v: v <= 0.25)
        target("%s <= 0.5x ssh ControlMaster" % case,
               ratio(case, "execfs TLS", "ssh ControlMaster"), lambda v: v <= 0.5)
        target("%s <= 1.0x nsenter -a (stretch)" % case,
               ratio(case, "execfs TLS", "nsenter -a"), lambda v: v <= 1.0)

    def report(self):
        L = []
        w = L.append
        mode = "--quick" if self.quick else "full"
        w("## Results (%s run: %d repetitions, %d MiB transfers, %d latency ops, "
          "%d sessions, %d keystrokes per contender)" % (
              mode, self.reps, self.mib, self.lat_rounds * self.lat_per_round,
              self.sessions, self.echo_rounds * self.echo_per_round))
        w("")
        w("Machine:")
        w("")
        for k, v in self.machine():
            w("- %s: %s" % (k, v))
        w("")

        def table(case, unit, fmt, baselines, higher_better):
            w("### %s (median %s)" % (case, unit))
            w("")
            head = "| contender | median | " + " | ".join("vs %s" % md(b) for b in baselines) + " |"
            w(head)
            w("|" + " --- |" * (2 + len(baselines)))
            for name in self.commands[case]:
                m = self.med(case, name)
                note = self.notes.get(case, {}).get(name)
                if m is None:
                    if note or name in self.results.get(case, {}) or True:
                        w("| %s | %s |%s" % (md(name), md(note or "n/a"), " |" * len(baselines)))
                    continue
                cells = []
                for b in baselines:
                    bm = self.med(case, b)
                    if bm is None or b == name:
                        cells.append("")
                    else:
                        cells.append("%.2fx" % (m / bm))
                w("| %s | %s | %s |" % (md(name), fmt % m, " | ".join(cells)))
            w("")

        for d in ("out", "in"):
            case = "throughput " + d
            if case in self.commands:
                ns = "nsenter | cat" if d == "out" else "nsenter"
                table(case, "MB/s, higher is better", "%.0f",
                      ["ssh (default cipher)", "ssh -c aes128-gcm", ns], True)
        for case in ("session latency", "session latency, paced"):
            if case in self.commands:
                table(case, "ms per op, lower is better", "%.2f",
                      ["runc exec", "ssh ControlMaster", "nsenter -a"], False)
        if hasattr(self, "concurrency"):
            r = self.concurrency
            w("### concurrency (%d sessions of `sleep 86400` through the TLS mount)" % r["n"])
            w("")
            if "error" in r:
                w("- failed: %s" % r["error"])
            else:
                w("- started: %d in %.2f s (%.0f sessions/s); afterwards %d `sleep 86400` processes "
                  "in the container, %d new session directories of which %d say `running`"
                  % (r["n"], r["seconds"], r["rate"], r["procs"], r["sessions"], r["running"]))
                w("- execfs RSS: %d -> %d KiB: %.1f KiB per idle session"
                  % (r["fs_before"], r["fs_after"], r["fs_per"]))
                w("- execfs-agent RSS: %d -> %d KiB: %.1f KiB per idle session"
                  % (r["agent_before"], r["agent_after"], r["agent_per"]))
            w("")
        if "interactive echo" in self.commands:
            table("interactive echo", "ms per keystroke round trip, lower is better",
                  "%.3f", ["ssh -tt ControlMaster", "runc exec -t"], False)

        if hasattr(self, "fleet"):
            self.fleet.report(w)

        # Targets: (text, value or None, limit, kind)
        w("### Targets (over TLS unless stated)")
        w("")
        w("| target | measured | verdict |")
        w("| --- | --- | --- |")

        def ratio(case, a, b):
            x, y = self.med(case, a), self.med(case, b)
            return None if x is None or y is None else x / y

        def target(text, value, ok, why=None):
            if value is None:
                verdict = "n/a" if (why or "").startswith("n/a") else "NOT MET"
                w("| %s | %s | %s |" % (md(text), md(why or "no measurement"), verdict))
            else:
                w("| %s | %.2fx | %s |" % (md(text), value, "MET" if ok(value) else "NOT MET"))

        for d in ("out", "in"):
            case = "throughput " + d
            if case not in self.commands:
                continue  # not among --cases
            ns = "nsenter | cat" if d == "out" else "nsenter"
            target("%s >= 1.5x ssh (default cipher)" % case,
                   ratio(case, "execfs TLS", "ssh (default cipher)"), lambda v: v >= 1.5)
            target("%s >= 0.5x %s" % (case, ns),
                   ratio(case, "execfs TLS", ns), lambda v: v >= 0.5)
            target("%s over the Unix socket >= 0.75x %s" % (case, ns),
                   ratio(case, "execfs unix", ns), lambda v: v >= 0.75)
        for case in ("session latency", "session latency, paced"):
            if case in self.commands:
                self.latency_targets(target, ratio, case)
        r = getattr(self, "concurrency", None)
        if r is None:
            pass  # not among --cases
        elif "fs_per" in r:
            ok = r["procs"] == r["n"] and r["running"] == r["n"] and r["fs_per"] <= 64
            w("| %d concurrent sessions, <= 64 KiB execfs memory per idle session | %d running, %.1f KiB | %s |"
              % (r["n"], min(r["procs"], r["running"]), r["fs_per"], "MET" if ok else "NOT MET"))
        else:
            w("| %d concurrent sessions, <= 64 KiB execfs memory per idle session | %s | NOT MET |"
              % (self.sessions, r.get("error", "not run")))
        case = "interactive echo"
        v = ratio(case, "execfs TLS", "ssh -tt ControlMaster")
        if case in self.commands:
            target("interactive echo <= 1.0x ssh -tt over ControlMaster", v,
                   lambda v: v <= 1.0, self.notes.get(case, {}).get("execfs TLS"))
            target("interactive echo, `execfs exec -t` <= 1.0x ssh -tt over ControlMaster",
                   ratio(case, "execfs exec -t (TLS)", "ssh -tt ControlMaster"),
                   lambda v: v <= 1.0, self.notes.get(case, {}).get("execfs TLS"))
        if hasattr(self, "fleet"):
            self.fleet.targets(w)
        w("")

        w("### Commands")
        w("")
        w("Each contender's command, run by `bash -c` (`set -o pipefail`) with:")
        w("")
        w("```")
        for k in ("TLS", "UNIX", "ID", "PID", "ROOT", "SSH", "N"):
            w("%s=%s" % (k, shlex.quote(self.vars[k])))
        w("```")
        w("")
        w("(`TLS` and `UNIX` are the container's directory in the `execfs --config` and "
          "`execfs --agent unix:PATH` mounts; `PID` is the container's init; the ssh "
          "config names host `bench` = the throwaway sshd, ControlPath set, so `-S none` "
          "makes a fresh connection.) Session latency times each op with `$EPOCHREALTIME` "
          "inside a bash loop, so the loop itself forks nothing; the paced case "
          "runs `sleep %s` before each op (untimed), as a person's commands come." % self.PACE_S)
        w("")
        if hasattr(self, "fleet"):
            w("The fleet case's commands run with:")
            w("")
            w("```")
            for line in self.fleet.vars_text():
                w(line)
            w("```")
            w("")
            self.commands.update(self.fleet.commands)
        for case, cmds in self.commands.items():
            w("%s:" % case)
            w("")
            w("```")
            for name, cmd in cmds.items():
                w("%-24s %s" % (name + ":", cmd))
            w("```")
            w("")
        if self.failures:
            w("### Failures")
            w("")
            for f in self.failures:
                w("- %s" % f)
            w("")
        return "\n".join(L)

    def run(self):
        self.commands = {}
        t0 = time.time()
        # Concurrency first: its memory figures need processes whose heaps
        # the 1 GiB transfers have not grown yet (freed memory stays
        # resident in malloc's arenas and would hide the sessions' cost).
        steps = {"concurrency": self.case_concurrency,
                 "out": lambda: self.case_throughput("out"),
                 "in": lambda: self.case_throughput("in"),
                 "latency": lambda: (self.case_latency(),
                                     self.case_latency(paced=True)),
                 "echo": self.case_echo,
                 "fleet": self.case_fleet}
        wanted = self.cfg.get("cases") or list(steps)
        unknown = [c for c in wanted if c not in steps]
        if unknown:
            log("unknown case(s) %s; known: %s" % (", ".join(unknown), ", ".join(steps)))
            return 2
        for name, step in steps.items():
            if name in wanted:
                step()
        text = self.report()
        text += "\nWall time of the cases: %.0f s\n" % (time.time() - t0)
        path = os.path.join(self.cfg["out"], "results.md")
        with open(path, "w") as f:
            f.write(text)
        print(text, flush=True)
        log("written to %s" % path)
        return 1 if self.failures else 0

    # --- profile ---------------------------------------------------------------

    def profile(self):
        """perf stat, perf trace -s (syscall counts) and perf record (DWARF
        call graphs; the Release build keeps no frame pointers) on the agent
        and the client, during one throughput run each way and mount, and
        during a loop of session starts."""
        outdir = os.path.join(self.cfg["out"], "profile")
        os.makedirs(outdir, exist_ok=True)
        self.commands = {}
        agent = self.cfg["agent_pid"]
        runs = []
        for d in ("out", "in"):
            cons = self.throughput_contenders(d)
            runs.append(("%s-tls" % d, self.cfg["tls_pid"], cons["execfs TLS"], True))
            runs.append(("%s-unix" % d, self.cfg["unix_pid"], cons["execfs unix"], True))
        runs.append(("latency-tls", self.cfg["tls_pid"],
                     "for ((i = 0; i < 200; i++)); do echo true > $TLS/ctl; "
                     "cat $TLS/wait > /dev/null; done", False))
        summary = []

        def under(tool_argv, cmd, settle=0.5):
            p = subprocess.Popen(tool_argv, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(settle)
            try:
                dt, _ = self.sh(cmd, timeout=600)
            finally:
                p.send_signal(2)
                p.wait()
            return dt

        for tag, fs_pid, cmd, is_bytes in runs:
            pids = "%d,%d" % (agent, fs_pid)
            what = lambda dt: ("%.0f MB/s" % (self.mib * MiB / dt / 1e6) if is_bytes
                               else "%.2f ms per op" % (dt / 200 * 1e3))
            dt = self.sh(cmd, timeout=600)[0]
            line = "%s: %s without perf" % (tag, what(dt))
            stat = os.path.join(outdir, "stat-%s.txt" % tag)
            dt = under(["perf", "stat", "--per-thread", "-e",
                        "task-clock,context-switches,page-faults,raw_syscalls:sys_enter",
                        "-p", pids, "-o", stat], cmd)
            line += ", %s under perf stat" % what(dt)
            trace = os.path.join(outdir, "syscalls-%s.txt" % tag)
            under(["perf", "trace", "-s", "-p", pids, "-o", trace], cmd)
            data = os.path.join(outdir, "perf-%s.data" % tag)
            under(["perf", "record", "-q", "-F", "499", "-e", "cpu-clock",
                   "--call-graph", "dwarf,16384", "-p", pids, "-o", data], cmd, 1)
            with open(os.path.join(outdir, "report-%s.txt" % tag), "w") as f:
                subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                                "--sort", "comm,dso,sym", "-g", "none",
                                "--percent-limit", "0.7"],
                               stdout=f, stderr=subprocess.DEVNULL)
            with open(os.path.join(outdir, "report-%s-children.txt" % tag), "w") as f:
                subprocess.run(["perf", "report", "-i", data, "--stdio", "--children",
                                "--sort", "comm,sym", "-g", "none",
                                "--percent-limit", "2"],
                               stdout=f, stderr=subprocess.DEVNULL)
            summary.append(line)
            log("profiled " + line)
        with open(os.path.join(outdir, "summary.txt"), "w") as f:
            f.write("\n".join(summary) + "\n")
        print("\n".join(summary))
        log("profiles in %s (perf report -i perf-*.data for more)" % outdir)
        return 0


def main():
    args = sys.argv[1:]
    prof = False
    if args and args[0] == "--profile":
        prof = True
        args = args[1:]
    with open(args[0]) as f:
        cfg = json.load(f)
    b = Bench(cfg)
    sys.exit(b.profile() if prof else b.run())


if __name__ == "__main__":
    main()
