#!/usr/bin/env python3
"""Seeds for fuzz_agent_seccomp and fuzz_agent_confine: what runc 1.1.5
writes in state.json's config and what an OCI config.json says, for the
settings the agent reads; and a /proc/PID/limits file.
Usage: confine_seeds.py seccomp|confine CORPUS_DIR"""
import json
import os
import sys

RUNC_SECCOMP = {
    "default_action": 2, "default_errno_ret": 1,
    "architectures": ["amd64", "x86", "x32"],
    "flags": ["SECCOMP_FILTER_FLAG_LOG"],
    "syscalls": [
        {"name": "unshare", "action": 2, "errnoRet": 1, "args": []},
        {"name": "read", "action": 4, "errnoRet": None, "args": []},
        {"name": "personality", "action": 4, "errnoRet": None, "args": [
            {"index": 0, "value": 8, "value_two": 0, "op": 1},
            {"index": 0, "value": 4294967295, "value_two": 0, "op": 1}]},
        {"name": "clone", "action": 4, "errnoRet": None, "args": [
            {"index": 0, "value": 2114060288, "value_two": 0, "op": 7}]},
        {"name": "kcmp", "action": 9, "errnoRet": None, "args": []},
    ],
}
OCI_SECCOMP = {
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [
        {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 2114060288, "valueTwo": 0,
             "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
         "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]},
    ],
}
RUNC_CONFIG = {
    "oom_score_adj": 500, "umask": 23, "apparmor_profile": "docker-default",
    "process_label": "system_u:system_r:container_t:s0:c1,c2",
    "rlimits": [{"type": 7, "hard": 512, "soft": 256}],
    "personality": {"domain": 8},
    "namespaces": [{"type": "NEWPID", "path": ""}, {"type": "NEWNET", "path": ""},
                   {"type": "NEWIPC", "path": ""}, {"type": "NEWUTS", "path": ""},
                   {"type": "NEWNS", "path": ""}],
    "capabilities": {"Bounding": ["CAP_KILL"], "Effective": ["CAP_KILL"],
                     "Inheritable": [], "Permitted": ["CAP_KILL"], "Ambient": []},
    "cgroups": {"devices": [{"type": 97, "major": -1, "minor": -1,
                             "permissions": "rwm", "allow": False}]},
    "mounts": [{"source": "/", "destination": "/host", "device": "bind",
                "flags": 20480}],
}
OCI_CONFIG = {
    "process": {"user": {"uid": 1000, "gid": 1000, "umask": 18},
                "oomScoreAdj": -500, "apparmorProfile": "p",
                "rlimits": [{"type": "RLIMIT_NPROC", "hard": 77, "soft": 77}],
                "capabilities": {"bounding": ["CAP_SYS_ADMIN"]}},
    "linux": {"personality": {"domain": "LINUX32"},
              "namespaces": [{"type": "pid"}, {"type": "network"}],
              "resources": {"devices": [{"allow": True, "access": "rwm"}]}},
    "mounts": [{"destination": "/h", "type": "bind", "source": "/",
                "options": ["rbind"]}],
}
LIMITS = """Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max data size             unlimited            unlimited            bytes     
Max stack size            8388608              unlimited            bytes     
Max core file size        0                    unlimited            bytes     
Max resident set          unlimited            unlimited            bytes     
Max processes             77                   77                   processes 
Max open files            256                  512                  files     
Max locked memory         8388608              8388608              bytes     
Max address space         unlimited            unlimited            bytes     
Max file locks            unlimited            unlimited            locks     
Max pending signals       96367                96367                signals   
Max msgqueue size         819200               819200               bytes     
Max nice priority         0                    0                    
Max realtime priority     0                    0                    
Max realtime timeout      unlimited            unlimited            us        
"""


def write(corpus, name, first, body):
    with open(os.path.join(corpus, name), "wb") as f:
        f.write(bytes([first]) + body)


def main():
    which, corpus = sys.argv[1], sys.argv[2]
    os.makedirs(corpus, exist_ok=True)
    if which == "seccomp":
        write(corpus, "seed-runc", 0, json.dumps(RUNC_SECCOMP).encode())
        write(corpus, "seed-oci", 1, json.dumps(OCI_SECCOMP).encode())
        notify = dict(RUNC_SECCOMP, syscalls=[{"name": "connect", "action": 7}])
        write(corpus, "seed-notify", 0, json.dumps(notify).encode())
    else:
        write(corpus, "seed-runc", 0, json.dumps(RUNC_CONFIG).encode())
        write(corpus, "seed-oci", 1, json.dumps(OCI_CONFIG).encode())
        write(corpus, "seed-limits", 2, LIMITS.encode())


if __name__ == "__main__":
    main()
