"""The fleet case of the execfs benchmark (`tests/bench/run.sh --cases fleet`).

On the 50-agent fleet tests/bench/fleet.sh sets up (200 busybox containers,
one TLS listener per agent, one DNS name with every agent's address),
against 50 loopback sshd in the same run:

- mount to first complete listing: `execfs --config` (the agents found
  through the DNS name) started, then `ls -d MNT/*/*/*/*` polled until it
  shows all 200 containers (each round mounts afresh and unmounts); the
  same with a static list of the 50 nodes;
- DNS changes: an agent's address taken out of the name (dnsmasq's hosts
  file rewritten, SIGHUP), the time until its node is gone from the mount;
  put back, until its 4 containers are listed again (the records' TTL is
  5 s: the mount re-resolves that often);
- warm listing: `ls -d MNT/*/*/*/*` on the mounted fleet;
- fan-out of `true` and of `uname -n` to the 200 containers with
  `execfs exec --all`, against `pdsh -R ssh` running the same on the 50
  sshd (fresh connections, as pdsh makes them) and a parallel `ssh` loop
  over warm ControlMaster connections;
- client and agent RSS after the fan-outs;
- with one agent frozen (SIGSTOP of its processes): the listing, and the
  fan-out over the other 49 nodes' 196 containers, against the same two
  with every agent healthy, in the same rounds.

Timings are medians of interleaved rounds, reported with same-run ratios
and the targets as MET / NOT MET; nothing is asserted.
"""
import json
import os
import resource
import shlex
import signal
import statistics
import subprocess
import time


def agent_tree(pid):
    """The agent's monitor and its children (the worker, sessions)."""
    out = [pid]
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Fleet:
    def __init__(self, bench, log):
        self.b = bench
        self.log = log
        with open(bench.cfg["fleet"]) as f:
            self.cfg = json.load(f)
        self.mnt = self.cfg["mount"]
        self.nodes = self.cfg["nodes"]
        self.n_containers = len(self.nodes) * 4
        self.execfs = os.path.join(bench.cfg["build"], "execfs")
        self.proc = None
        self.values = {}  # figure -> [seconds]
        self.commands = {}
        self.rss = {}
        self.cpu = {}  # fan-out label -> part -> [CPU seconds per fan-out]
        self.notes = []
        self.scale = None
        self.frozen = self.nodes[9] if len(self.nodes) > 9 else self.nodes[-1]
        hosts = " ".join(self.cfg["ssh_hosts"])
        healthy = [n for n in self.nodes if n != self.frozen]
        self.vars = {
            "MNT": self.mnt,
            "EXECFS": self.execfs,
            "HOSTS": ",".join(self.cfg["ssh_hosts"]),
            "HOSTLIST": hosts,
            "SSHCFG": self.cfg["ssh_config"],
            "GLOBS49": " ".join(shlex.quote("%s/%s/*/*/*" % (self.mnt, n))
                                for n in healthy),
            "FROZEN": self.frozen,
            # pdsh's ssh: our config, and fresh connections (the
            # ControlMasters are the other contender's).
            "PDSH_SSH_ARGS_APPEND": "-F %s -o ControlPath=none" % self.cfg["ssh_config"],
            "PDSH_RCMD_TYPE": "ssh",
        }

    # --- helpers -------------------------------------------------------------

    def sh(self, cmd, timeout=300):
        env = dict(os.environ)
        env.update(self.vars)
        t0 = time.perf_counter()
        p = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError("%s: status %d: %s" % (
                cmd[:200], p.returncode,
                p.stderr.decode(errors="replace").strip()[-400:]))
        return dt, p.stdout.decode(errors="replace")

    def record(self, name, value):
        self.values.setdefault(name, []).append(value)

    def med(self, name):
        v = self.values.get(name)
        return statistics.median(v) if v else None

    @staticmethod
    def names(d):
        """A directory's entries but `.status`."""
        return [e for e in os.listdir(d) if not e.startswith(".")]

    def listed(self):
        try:
            return len([1 for n in self.names(self.mnt)
                        for ns in self.names(os.path.join(self.mnt, n))
                        for pod in os.listdir(os.path.join(self.mnt, n, ns))
                        for c in os.listdir(os.path.join(self.mnt, n, ns, pod))])
        except OSError:
            return -1

    def mount(self, config=None, want=None):
        os.makedirs(self.mnt, exist_ok=True)
        want = want or self.n_containers
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [self.execfs, "-f", "--config", config or self.cfg["config"], self.mnt],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.b.cfg["testdir"], "fleet-mount.log"), "a"))
        deadline = t0 + 60
        while True:
            # `ls -d MNT/*/*/*/*`, the figure's command, once the mount is up.
            if os.path.ismount(self.mnt):
                env = dict(os.environ, MNT=self.mnt)
                p = subprocess.run(["bash", "-c", "ls -d $MNT/*/*/*/* 2>/dev/null | wc -l"],
                                   env=env, stdout=subprocess.PIPE)
                if int(p.stdout or 0) == want:
                    return time.perf_counter() - t0
            if self.proc.poll() is not None:
                raise RuntimeError("execfs exited (status %d)" % self.proc.returncode)
            if time.perf_counter() > deadline:
                raise RuntimeError("%d of %d containers listed after 60 s"
                                   % (self.listed(), self.n_containers))
            time.sleep(0.005)

    def unmount(self):
        if self.proc is None:
            return
        subprocess.run(["fusermount3", "-u", "-z", self.mnt],
                       stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def cpu_s(self, pid, children=False):
        """utime + stime of pid (with children: cutime + cstime, what it
        reaped), seconds."""
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        k = 13 if children else 11
        return (int(fields[k]) + int(fields[k + 1])) / os.sysconf("SC_CLK_TCK")

    def cpu_split(self):
        """CPU seconds so far, by part: the commands this script ran (bash
        and `execfs exec --all`), the mount, the agents' monitors, what
        the monitors reaped (helper A, process B and the command of each
        start), the agents' workers."""
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = {"client": ch.ru_utime + ch.ru_stime,
               "mount": self.cpu_s(self.proc.pid),
               "monitors": 0.0, "starts": 0.0, "workers": 0.0}
        for pid in self.cfg["agent_pids"]:
            try:
                out["monitors"] += self.cpu_s(pid)
                out["starts"] += self.cpu_s(pid, children=True)
                for w in agent_tree(pid)[1:]:
                    out["workers"] += self.cpu_s(w)
            except OSError:
                pass
        return out

    def scale_inputs(self):
        """What docs/SCALE.md scales from: the mount's fds, RSS and CPU at
        1 node and at all of them, and the watch snapshot's bytes per
        container (each container's `info`, compact: the object the
        watch stream sends for it)."""
        one = os.path.join(self.b.cfg["testdir"], "fleet-one.json")
        with open(self.cfg["static_config"]) as f:
            c = json.load(f)
        c["nodes"] = c["nodes"][:1]
        with open(one, "w") as f:
            json.dump(c, f)
        res = {}
        for label, config, want in (("1 node", one, 4),
                                    ("%d nodes" % len(self.nodes), None, None)):
            dt = self.mount(config, want)
            time.sleep(1)
            pid = self.proc.pid
            res[label] = {"listing_s": dt, "cpu_s": self.cpu_s(pid),
                          "rss_kib": rss_kib(pid),
                          "fds": len(os.listdir("/proc/%d/fd" % pid))}
            if config is None:
                sizes = []
                for n in self.nodes[:5]:
                    for ns in self.names(os.path.join(self.mnt, n)):
                        for pod in os.listdir(os.path.join(self.mnt, n, ns)):
                            for ct in os.listdir(os.path.join(self.mnt, n, ns, pod)):
                                with open(os.path.join(self.mnt, n, ns, pod, ct, "info")) as f:
                                    sizes.append(len(json.dumps(json.load(f),
                                                                separators=(",", ":"))))
                res["snapshot_bytes_per_container"] = statistics.mean(sizes)
            self.unmount()
        self.scale = res
        self.log("fleet: scale inputs %s" % json.dumps(res))

    def signal_agent(self, node, sig):
        pid = self.cfg["agent_pids"][self.nodes.index(node)]
        for p in agent_tree(pid):
            try:
                os.kill(p, sig)
            except OSError:
                pass

    # --- the figures ------------------------------------------------------------

    def fanout_contenders(self, cmd):
        allx = "$EXECFS exec --all \"$MNT/*/*/*/*\" -- %s > /dev/null" % cmd
        return {
            "execfs exec --all (200 containers)": allx,
            "pdsh -R ssh (50 hosts)": "pdsh -f 64 -w \"$HOSTS\" %s > /dev/null" % cmd,
            "ssh ControlMaster loop (50 hosts)":
                "for h in $HOSTLIST; do ssh -F $SSHCFG $h %s > /dev/null & done; wait" % cmd,
        }

    def fanout(self, label, cmd, rounds):
        cons = self.fanout_contenders(cmd)
        self.commands["fan-out of `%s`" % cmd] = cons
        names = list(cons)
        for r in range(rounds):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                before = self.cpu_split() if name.startswith("execfs") else None
                dt, _ = self.sh(cons[name])
                self.record("%s: %s" % (label, name), dt)
                if before:
                    after = self.cpu_split()
                    for part in after:
                        self.cpu.setdefault(label, {}).setdefault(part, []).append(
                            after[part] - before[part])

    def check_uname(self):
        """One fan-out of uname -n whose output is checked line by line."""
        _, out = self.sh("$EXECFS exec --all \"$MNT/*/*/*/*\" -- uname -n")
        got = sorted(out.splitlines())
        with open(self.cfg["hostnames"]) as f:
            want_hosts = sorted(f.read().split())
        hosts = sorted(line.split(": ", 1)[1] for line in got)
        if hosts != want_hosts:
            raise RuntimeError("uname -n fan-out: %d lines, not the %d expected hosts"
                               % (len(got), len(want_hosts)))

    def run(self):
        reps = self.b.reps
        log = self.log
        self.scale_inputs()
        # Mount to first complete listing, through DNS and from a static
        # list, interleaved, reps times each; then the DNS mount stays.
        for r in range(reps):
            dt = self.mount()
            self.record("mount to first complete listing", dt)
            log("fleet: mount to a complete listing of %d: %.3f s" % (self.n_containers, dt))
            self.unmount()
            dt = self.mount(self.cfg["static_config"])
            self.record("mount to first complete listing, static list", dt)
            self.unmount()
        self.mount()
        self.commands["listing"] = {
            "mount to first complete listing":
                "execfs -f --config FILE $MNT &, then `ls -d $MNT/*/*/*/* | wc -l` until 200"
                " (FILE: {\"discover\": [{\"dns\": NAME, \"port\": P, \"server_name\":"
                " \"{node}\"}], \"dns_server\": DNSMASQ, ...}; static list: {\"nodes\": [...]})",
            "warm listing": "ls -d $MNT/*/*/*/* > /dev/null",
        }
        self.dns_rounds(reps)
        for _ in range(reps * 4):
            dt, _ = self.sh("ls -d $MNT/*/*/*/* > /dev/null")
            self.record("warm listing", dt)
        self.check_uname()
        self.fanout("true", "true", reps)
        self.fanout("uname -n", "uname -n", reps)
        fs = rss_kib(self.proc.pid)
        agents = [sum(rss_kib(p) for p in agent_tree(pid))
                  for pid in self.cfg["agent_pids"]]
        self.rss = {"client": fs, "agent_mean": statistics.mean(agents),
                    "agent_max": max(agents), "agents_total": sum(agents)}
        log("fleet: RSS client %d KiB, agents %d KiB each (max %d)"
            % (fs, self.rss["agent_mean"], self.rss["agent_max"]))

        self.frozen_rounds(reps)
        self.unmount()

    def dns_set(self, addrs):
        """dnsmasq's hosts file, rewritten whole, then SIGHUP (as
        tests/integration/lib/fleet.sh's fleet_dns_set does)."""
        tmp = self.cfg["dns_hosts"] + ".new"
        with open(tmp, "w") as f:
            for a in addrs:
                f.write("%s %s\n" % (a, self.cfg["dns_name"]))
        os.rename(tmp, self.cfg["dns_hosts"])
        os.kill(self.cfg["dns_pid"], signal.SIGHUP)

    def wait_for(self, what, cond, timeout=90):
        t0 = time.perf_counter()
        while not cond():
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError("%s: not after %d s" % (what, timeout))
            time.sleep(0.02)
        return time.perf_counter() - t0

    def dns_rounds(self, reps):
        """A node's address out of the DNS name and back: seconds until
        the mount shows the change (bounded by the records' TTL, 5 s)."""
        node, addrs = self.nodes[-1], self.cfg["addresses"]
        d = os.path.join(self.mnt, node)

        def count():
            try:
                return sum(len(os.listdir(os.path.join(d, ns, pod)))
                           for ns in self.names(d)
                           for pod in os.listdir(os.path.join(d, ns)))
            except OSError:
                return 0
        self.commands["DNS changes (dnsmasq, TTL 5 s)"] = {
            "an address removed": "hosts file without it, kill -HUP dnsmasq; "
                                  "until MNT/NODE is gone",
            "an address added back": "hosts file with it, kill -HUP dnsmasq; "
                                     "until MNT/NODE/*/*/* lists 4",
        }
        for _ in range(reps):
            self.dns_set(addrs[:-1])
            self.record("DNS: an address removed, its node gone after",
                        self.wait_for("%s gone" % node, lambda: not os.path.exists(d)))
            self.dns_set(addrs)
            self.record("DNS: an address added back, its node listed after",
                        self.wait_for("%s back" % node, lambda: count() == 4))

    def status(self, node):
        with open(os.path.join(self.mnt, node, ".status")) as f:
            return f.read().strip()

    def wait_status(self, node, prefix, timeout=90):
        deadline = time.time() + timeout
        while not self.status(node).startswith(prefix):
            if time.time() > deadline:
                raise RuntimeError("%s/.status: %s, not %s after %d s"
                                   % (node, self.status(node), prefix, timeout))
            time.sleep(0.1)

    def frozen_rounds(self, reps):
        """One agent frozen, against the same commands with it healthy, in
        the same round each time (the machine's load drifts between
        rounds): the warm listing (4 times) and the fan-out of `true` over
        the other 49 nodes, healthy; just after the SIGSTOP (the mount
        still holds the node's connection); once the mount gave the node
        up (.status says error, after 3 silent heartbeats); then SIGCONT
        and a wait for the node to be connected again."""
        ls = "ls -d $MNT/*/*/*/* > /dev/null"
        f49 = "eval \"$EXECFS exec --all $GLOBS49 -- true\" > /dev/null"
        self.commands["one agent frozen (SIGSTOP of $FROZEN's processes)"] = {
            "warm listing": ls,
            "fan-out over the other 49": f49,
        }

        def measure(state):
            for _ in range(4):
                self.record("warm listing, %s" % state, self.sh(ls)[0])
            self.record("fan-out of true over 49 nodes, %s" % state, self.sh(f49)[0])

        for _ in range(reps):
            measure("all healthy")
            self.signal_agent(self.frozen, signal.SIGSTOP)
            try:
                measure("one frozen, still connected")
                self.wait_status(self.frozen, "error")
                measure("one frozen, given up")
                note = "%s/.status once given up: %s" % (self.frozen, self.status(self.frozen))
            finally:
                self.signal_agent(self.frozen, signal.SIGCONT)
            self.wait_status(self.frozen, "connected")
        self.notes.append(note)

    # --- report ---------------------------------------------------------------

    def report(self, w):
        n = self.n_containers
        w("### fleet (%d agents, %d containers, one TLS mount; median seconds, lower is better)"
          % (len(self.nodes), n))
        w("")
        w("| figure | median s | vs pdsh -R ssh | vs ssh ControlMaster loop |")
        w("| --- | --- | --- | --- |")
        for name in self.values:
            m = self.med(name)
            cells = ["", ""]
            if name.startswith(("true: ", "uname -n: ")):
                label = name.split(": ", 1)[0]
                for i, b in enumerate(("pdsh -R ssh (50 hosts)",
                                       "ssh ControlMaster loop (50 hosts)")):
                    bm = self.med("%s: %s" % (label, b))
                    if bm and not name.endswith(b):
                        cells[i] = "%.2fx" % (m / bm)
            w("| %s | %.3f | %s | %s |" % (name.replace("|", "\\|"), m, cells[0], cells[1]))
        w("")
        if self.rss:
            w("- RSS after the fan-outs: execfs %.1f MiB; execfs-agent (monitor + worker) "
              "%.1f MiB each on average, %.1f MiB the largest, %.0f MiB for all %d"
              % (self.rss["client"] / 1024, self.rss["agent_mean"] / 1024,
                 self.rss["agent_max"] / 1024, self.rss["agents_total"] / 1024,
                 len(self.nodes)))
        for label, parts in self.cpu.items():
            med = {k: statistics.median(v) for k, v in parts.items()}
            w("- CPU of one `execfs exec --all` of `%s` to %d (median of %d; s, and ms per "
              "target): %s; all %.2f s" % (
                  label, n, len(parts["client"]),
                  ", ".join("%s %.2f (%.2f)" % (k, v, v * 1000 / n) for k, v in med.items()),
                  sum(med.values())))
        for note in self.notes:
            w("- " + note)
        sc = getattr(self, "scale", None)
        if sc:
            for label in [k for k in sc if k.endswith(("node", "nodes"))]:
                v = sc[label]
                w("- mount of %s (docs/SCALE.md's inputs): complete listing after %.3f s; "
                  "then %d fds, %.1f MiB RSS, %.2f s CPU since start"
                  % (label, v["listing_s"], v["fds"], v["rss_kib"] / 1024, v["cpu_s"]))
            w("- watch snapshot: %.0f bytes per container (compact JSON of `info`)"
              % sc["snapshot_bytes_per_container"])
        w("")

    def targets(self, w):
        """Rows of the targets table: | target | measured | verdict |."""
        def ratio(a, b):
            x, y = self.med(a), self.med(b)
            return None if x is None or y is None else x / y

        def row(text, value, unit, ok):
            if value is None:
                w("| %s | no measurement | NOT MET |" % text)
            else:
                w("| %s | %s | %s |" % (text, unit % value, "MET" if ok(value) else "NOT MET"))

        ex = "true: execfs exec --all (200 containers)"
        row("fleet: warm listing of %d containers <= 0.5 s" % self.n_containers,
            self.med("warm listing"), "%.3f s", lambda v: v <= 0.5)
        row("fleet: mount to first complete listing <= 2 s",
            self.med("mount to first complete listing"), "%.3f s", lambda v: v <= 2.0)
        row("fleet: fan-out of true to %d containers <= 1 s" % self.n_containers,
            self.med(ex), "%.3f s", lambda v: v <= 1.0)
        row("fleet: fan-out of true >= 5x faster than pdsh -R ssh to 50 hosts",
            ratio("true: pdsh -R ssh (50 hosts)", ex), "%.2fx", lambda v: v >= 5.0)
        for state in ("still connected", "given up"):
            row("fleet: one agent frozen (%s): listing <= 1.2x all healthy" % state,
                ratio("warm listing, one frozen, %s" % state, "warm listing, all healthy"),
                "%.2fx", lambda v: v <= 1.2)
            row("fleet: one agent frozen (%s): fan-out over the other 49 <= 1.2x all healthy"
                % state,
                ratio("fan-out of true over 49 nodes, one frozen, %s" % state,
                      "fan-out of true over 49 nodes, all healthy"),
                "%.2fx", lambda v: v <= 1.2)
        row("fleet: client RSS <= 64 MiB at 50 nodes / 200 containers",
            self.rss["client"] / 1024 if self.rss else None, "%.1f MiB", lambda v: v <= 64)

    def vars_text(self):
        return ["%s=%s" % (k, shlex.quote(v)) for k, v in self.vars.items()
                if k != "GLOBS49"] + ["GLOBS49='MNT/NODE/*/*/* for each of the 49 other nodes'"]
