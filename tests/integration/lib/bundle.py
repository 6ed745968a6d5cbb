#!/usr/bin/env python3
"""OCI bundles for the test containers, from a `runc spec` default.

    bundle.py SPEC ROOTFS DIR HOSTNAME [KEY=VALUE...]
    bundle.py SPEC ROOTFS --list FILE

Writes DIR/config.json: SPEC with a read-only ROOTFS, a tmpfs on /tmp,
hostname HOSTNAME, process `sleep infinity` without a terminal, and the
given annotations. With --list, one bundle per line of FILE, its fields
separated by tabs: DIR, HOSTNAME, then KEY=VALUE annotations (the fleet's
200 containers in one process). SPEC may be DIR/config.json itself.

Environment (lib/containers.sh): CONTAINER_HOST_NET=1 shares the host's
network namespace (a "privileged" container in execfs's policy terms);
CONTAINER_NO_NEW_PRIVS=0 lets its processes gain privileges (runc's spec
sets noNewPrivileges, Kubernetes' default is the opposite);
CONTAINER_NEW_NS="cgroup user" adds namespaces (a user namespace maps the
container's ids 0-65535 to 100000-165535); CONTAINER_SPEC_PATCH, a JSON
merge patch (RFC 7386), is applied last, for any other setting (seccomp,
rlimits, oomScoreAdj, user, capabilities, ...).
"""
import copy
import json
import os
import sys


def merge(target, patch):
    """RFC 7386: objects merge key by key, null deletes, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge(target.get(key), value)
    return target


def bundle(base, rootfs, path, hostname, annotations):
    spec = copy.deepcopy(base)
    spec["root"] = {"path": rootfs, "readonly": True}
    spec["hostname"] = hostname
    proc = spec["process"]
    proc["terminal"] = False
    proc["args"] = ["/bin/sleep", "infinity"]
    proc["cwd"] = "/"
    spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "mode=1777", "size=65536k"]})
    if os.environ.get("CONTAINER_NO_NEW_PRIVS") == "0":
        proc["noNewPrivileges"] = False
    if os.environ.get("CONTAINER_HOST_NET") == "1":
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"]
                                       if n["type"] != "network"]
    for ns in os.environ.get("CONTAINER_NEW_NS", "").split():
        spec["linux"]["namespaces"].append({"type": ns})
        if ns == "user":
            m = [{"containerID": 0, "hostID": 100000, "size": 65536}]
            spec["linux"]["uidMappings"] = m
            spec["linux"]["gidMappings"] = m
    ann = spec.setdefault("annotations", {})
    for a in annotations:
        key, sep, value = a.partition("=")
        if not sep:
            sys.exit("bundle.py: annotation %r is not KEY=VALUE" % a)
        ann[key] = value
    if os.environ.get("CONTAINER_SPEC_PATCH"):
        spec = merge(spec, json.loads(os.environ["CONTAINER_SPEC_PATCH"]))
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(spec, f, indent=2)


def main():
    spec_path, rootfs = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        base = json.load(f)
    if sys.argv[3] == "--list":
        with open(sys.argv[4]) as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                bundle(base, rootfs, fields[0], fields[1], fields[2:])
    else:
        bundle(base, rootfs, sys.argv[3], sys.argv[4], sys.argv[5:])


if __name__ == "__main__":
    main()
