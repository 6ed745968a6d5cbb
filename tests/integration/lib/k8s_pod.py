# The agent's pod from examples/kubernetes/, as a kubelet would run it on
# this machine: read the DaemonSet's agent container and write what the test
# needs to run it exactly so.
#   python3 k8s_pod.py MANIFEST_DIR NODE_NAME HOST_IP OUT_DIR
# writes into OUT_DIR:
#   argv          the command and args, $(VAR) expanded as Kubernetes does,
#                 NUL-separated
#   env           NAME=VALUE lines, NUL-separated (downward API resolved:
#                 spec.nodeName, status.hostIP, status.podIP, metadata.*)
#   mounts        one line per volume mount: KIND SOURCE MOUNTPATH RO
#                 KIND hostPath (SOURCE: the node's path) or files (SOURCE: a
#                 directory written here: a Secret or a ConfigMap)
#   probes        one line per probe: KIND PATH PORT HOST (the port resolved;
#                 HOST the probe's host, else the pod's IP: HOST_IP)
#   server_name   the first DNS name of the agents' certificate
#   client/       tls.crt tls.key ca.crt of the first client certificate
#   facts         KEY=VALUE lines about the pod spec (hostPID, ...)
# Secrets that cert-manager issues (a Certificate's secretName) are made with
# openssl in its shape: tls.crt (the leaf), tls.key (the key, SEC1 PEM as
# cert-manager writes ECDSA keys), ca.crt (the issuing CA), subject CN and
# the SANs, key usages and extended key usages the Certificate asks for.
import glob
import os
import re
import subprocess
import sys

import yaml

mdir, node, host_ip, out = sys.argv[1:5]
docs = []
for f in sorted(glob.glob(os.path.join(mdir, "*.yaml"))):
    docs += [d for d in yaml.safe_load_all(open(f)) if d]


def one(kind, pred=lambda d: True):
    found = [d for d in docs if d["kind"] == kind and pred(d)]
    if len(found) != 1:
        sys.exit("k8s_pod: want one %s, found %d" % (kind, len(found)))
    return found[0]


ds = one("DaemonSet")
pod = ds["spec"]["template"]
spec = pod["spec"]
agent = [c for c in spec["containers"] if c["name"] == "agent"][0]
os.makedirs(out, exist_ok=True)

# ---- the environment: downward API fields resolved -------------------------
fields = {
    "spec.nodeName": node,
    "status.hostIP": host_ip,
    # hostNetwork: the pod's address is the node's.
    "status.podIP": host_ip if spec.get("hostNetwork") else None,
    "metadata.name": ds["metadata"]["name"] + "-test",
    "metadata.namespace": ds["metadata"]["namespace"],
}
env = {}
for e in agent.get("env", []):
    if "value" in e:
        env[e["name"]] = e["value"]
        continue
    ref = e["valueFrom"]["fieldRef"]["fieldPath"]
    if fields.get(ref) is None:
        sys.exit("k8s_pod: cannot resolve fieldRef %s here" % ref)
    env[e["name"]] = fields[ref]


def expand(s):
    # $(VAR) from the container's env; $$(VAR) stays literal; an unknown
    # $(VAR) stays as it is (Kubernetes' rules).
    def sub(m):
        if m.group(0).startswith("$$"):
            return m.group(0)[1:]
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$?\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, s)


argv = [expand(a) for a in agent.get("command", []) + agent.get("args", [])]
with open(os.path.join(out, "argv"), "wb") as f:
    f.write(b"\0".join(a.encode() for a in argv) + b"\0")
with open(os.path.join(out, "env"), "wb") as f:
    f.write(b"".join(("%s=%s" % kv).encode() + b"\0" for kv in env.items()))

# ---- certificates, as cert-manager issues them -----------------------------
certs = [d for d in docs if d["kind"] == "Certificate"]
issuers = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Issuer"}
made = {}  # secretName -> dir
EKU = {"server auth": "serverAuth", "client auth": "clientAuth"}
KU = {"digital signature": "digitalSignature", "key encipherment": "keyEncipherment",
      "cert sign": "keyCertSign", "crl sign": "cRLSign"}


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def issue(cert):
    name = cert["spec"]["secretName"]
    if name in made:
        return made[name]
    d = os.path.join(out, "secrets", name)
    os.makedirs(d, exist_ok=True)
    s = cert["spec"]
    if s.get("privateKey", {}).get("algorithm", "RSA") != "ECDSA":
        sys.exit("k8s_pod: only ECDSA keys here")
    key = os.path.join(d, "tls.key")
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    subj = "/CN=" + s["commonName"] if s.get("commonName") else "/"
    ext = ["basicConstraints=critical,CA:%s" % ("TRUE" if s.get("isCA") else "FALSE")]
    if s.get("isCA"):
        ext.append("keyUsage=critical,digitalSignature,keyCertSign,cRLSign")
    else:
        usages = s.get("usages", ["digital signature", "key encipherment"])
        ku = [KU[u] for u in usages if u in KU]
        eku = [EKU[u] for u in usages if u in EKU]
        if ku:
            ext.append("keyUsage=critical," + ",".join(ku))
        if eku:
            ext.append("extendedKeyUsage=" + ",".join(eku))
    san = (["DNS:" + n for n in s.get("dnsNames", [])] +
           ["IP:" + n for n in s.get("ipAddresses", [])] +
           ["URI:" + n for n in s.get("uris", [])])
    if san:
        ext.append("subjectAltName=" + ",".join(san))
    extfile = os.path.join(d, "ext.cnf")
    with open(extfile, "w") as f:
        f.write("\n".join(ext) + "\n")
    crt = os.path.join(d, "tls.crt")
    issuer = issuers[s["issuerRef"]["name"]]["spec"]
    if "selfSigned" in issuer:
        csr = os.path.join(d, "csr.pem")
        run("openssl", "req", "-new", "-key", key, "-subj", subj, "-out", csr)
        run("openssl", "x509", "-req", "-in", csr, "-signkey", key, "-days", "2",
            "-sha256", "-extfile", extfile, "-out", crt)
        ca = crt
    else:
        ca_cert = one("Certificate", lambda c: c["spec"]["secretName"] == issuer["ca"]["secretName"])
        cad = issue(ca_cert)
        csr = os.path.join(d, "csr.pem")
        run("openssl", "req", "-new", "-key", key, "-subj", subj, "-out", csr)
        run("openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(cad, "tls.crt"),
            "-CAkey", os.path.join(cad, "tls.key"), "-set_serial",
            str(int.from_bytes(os.urandom(8), "big")), "-days", "2", "-sha256",
            "-extfile", extfile, "-out", crt)
        ca = os.path.join(cad, "tls.crt")
    with open(ca) as f, open(os.path.join(d, "ca.crt"), "w") as g:
        g.write(f.read())
    for tmp in ("csr.pem", "ext.cnf"):
        if os.path.exists(os.path.join(d, tmp)):
            os.remove(os.path.join(d, tmp))
    made[name] = d
    return d


# ---- volumes -----------------------------------------------------------------
vols = {v["name"]: v for v in spec.get("volumes", [])}
lines = []
for m in agent.get("volumeMounts", []):
    v = vols[m["name"]]
    ro = "ro" if m.get("readOnly") else "rw"
    if "hostPath" in v:
        lines.append("hostPath %s %s %s" % (v["hostPath"]["path"], m["mountPath"], ro))
    elif "secret" in v:
        name = v["secret"]["secretName"]
        cert = one("Certificate", lambda c: c["spec"]["secretName"] == name)
        d = issue(cert)
        mode = v["secret"].get("defaultMode", 0o644)
        for f in os.listdir(d):
            os.chmod(os.path.join(d, f), mode)
        lines.append("files %s %s ro" % (d, m["mountPath"]))
    elif "configMap" in v:
        cm = one("ConfigMap", lambda c: c["metadata"]["name"] == v["configMap"]["name"])
        d = os.path.join(out, "configmaps", cm["metadata"]["name"])
        os.makedirs(d, exist_ok=True)
        for k, val in cm["data"].items():
            with open(os.path.join(d, k), "w") as f:
                f.write(val)
        lines.append("files %s %s ro" % (d, m["mountPath"]))
    else:
        sys.exit("k8s_pod: volume %s: unknown kind" % m["name"])
with open(os.path.join(out, "mounts"), "w") as f:
    f.write("\n".join(lines) + "\n")

# ---- probes, the client, the name clients check --------------------------------
ports = {p["name"]: p["containerPort"] for p in agent.get("ports", []) if "name" in p}
with open(os.path.join(out, "probes"), "w") as f:
    for kind in ("livenessProbe", "readinessProbe"):
        p = agent.get(kind, {}).get("httpGet")
        if p:
            port = ports.get(p["port"], p["port"])
            f.write("%s %s %s %s\n" % (kind, p["path"], port,
                                        p.get("host", host_ip)))
servers = [c for c in certs if "server auth" in c["spec"].get("usages", [])]
clients = [c for c in certs if "client auth" in c["spec"].get("usages", [])]
with open(os.path.join(out, "server_name"), "w") as f:
    f.write(servers[0]["spec"]["dnsNames"][0] + "\n")
cd = issue(clients[0])
os.makedirs(os.path.join(out, "client"), exist_ok=True)
for n in ("tls.crt", "tls.key", "ca.crt"):
    with open(os.path.join(cd, n)) as f, open(os.path.join(out, "client", n), "w") as g:
        g.write(f.read())
    os.chmod(os.path.join(out, "client", n), 0o600)

# ---- facts for the test's own checks -----------------------------------------------
svc = one("Service")
labels = pod["metadata"]["labels"]
facts = {
    "hostPID": spec.get("hostPID", False),
    "hostNetwork": spec.get("hostNetwork", False),
    "priorityClassName": spec.get("priorityClassName", ""),
    "tolerates_all": any(t.get("operator") == "Exists" and "key" not in t
                         for t in spec.get("tolerations", [])),
    "privileged": agent.get("securityContext", {}).get("privileged", False),
    "service_headless": svc["spec"].get("clusterIP") == "None",
    "service_selects_pods": all(labels.get(k) == v
                                for k, v in svc["spec"]["selector"].items()),
    "service_port": ports.get(svc["spec"]["ports"][0]["targetPort"],
                              svc["spec"]["ports"][0]["targetPort"]),
}
with open(os.path.join(out, "facts"), "w") as f:
    for k, v in facts.items():
        f.write("%s=%s\n" % (k, v))
