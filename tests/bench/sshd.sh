# shellcheck shell=bash
# The benchmark's throwaway sshd (run.sh's one, and fleet.sh's fifty).
#
#   bench_sshd_config ADDRESS PORT DIR PIDFILE
#       print an sshd_config listening on ADDRESS:PORT with DIR/host_key,
#       DIR/authorized_keys (root may log in with a key only), no PAM, no
#       motd, lastlog or user rc, PIDFILE (or `none`), errors only.

bench_sshd_config() {
	cat <<EOF2
ListenAddress $1
Port $2
HostKey $3/host_key
PidFile $4
AuthorizedKeysFile $3/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitUserRC no
PermitUserEnvironment no
PrintMotd no
PrintLastLog no
UseDNS no
X11Forwarding no
MaxSessions 1000
MaxStartups 200
LogLevel ERROR
EOF2
}
