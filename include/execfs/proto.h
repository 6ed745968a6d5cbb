/*
 * The wire protocol between execfs (client) and execfs-agent (server):
 * paths, header names, stream types and JSON field names, shared by both
 * sides so they cannot drift apart. docs/PROTOCOL.md explains each of them.
 */
#ifndef EXECFS_PROTO_H
#define EXECFS_PROTO_H

#define EXECFS_ALPN "h2"

/* Where `execfs MOUNTPOINT` looks for (and starts) the local agent. */
#define EXECFS_DEFAULT_SOCKET "/run/execfs/agent.sock"
#define EXECFS_DEFAULT_PORT "7443"

/*
 * GET  /v1/containers            one JSON snapshot of the node's containers
 * GET  /v1/containers?watch=1    a snapshot now and one more on every change,
 *                                each a single line ending in "\n"
 * POST /v1/sessions/<sid>        a session's streams; the `streamtype` header
 * GET  /v1/sessions/<sid>        says which one (see EXECFS_ST_*)
 */
#define EXECFS_PATH_CONTAINERS "/v1/containers"
#define EXECFS_PATH_WATCH "/v1/containers?watch=1"
#define EXECFS_PATH_SESSIONS "/v1/sessions/"

/* A session id is chosen by the client: 32 lower-case hex digits. */
#define EXECFS_SID_LEN 32

#define EXECFS_HDR_STREAMTYPE "streamtype"
/* Output streams: the byte offset to resume from (decimal, default 0). */
#define EXECFS_HDR_OFFSET "x-execfs-offset"

/*
 * Stream types. `status` must be the first stream a client opens for a
 * session: its request body is the exec request, its response says whether
 * the process started and its body ends with the exit status.
 */
#define EXECFS_ST_STATUS "status"
#define EXECFS_ST_STDIN "stdin"
#define EXECFS_ST_STDOUT "stdout"
#define EXECFS_ST_STDERR "stderr"
#define EXECFS_ST_RESIZE "resize"
#define EXECFS_ST_SIGNAL "signal"

/* Upper bounds for request bodies and names a peer may send. */
#define EXECFS_MAX_REQUEST_BYTES (64 * 1024)
#define EXECFS_MAX_NAME_LEN 253
#define EXECFS_MAX_ARGS 4096

/* The node itself (execfs-agent --host-exec): its id in the container list
 * and its directory, /exec/<node>/.host. A dot name: no Kubernetes
 * namespace and no runtime's container id can take it. */
#define EXECFS_HOST_ID ".host"

/* JSON fields: the container list. */
#define EXECFS_J_NODE "node"
#define EXECFS_J_CONTAINERS "containers"
#define EXECFS_J_ID "id"
#define EXECFS_J_RUNTIME_ID "runtime_id"
#define EXECFS_J_NAMING "naming"
#define EXECFS_J_NAME_SOURCES "name_sources"
#define EXECFS_J_NAMESPACE "namespace"
#define EXECFS_J_POD "pod"
#define EXECFS_J_NAME "name"
#define EXECFS_J_PID "pid"
#define EXECFS_J_STATE "state"
#define EXECFS_J_RUNTIME "runtime"
#define EXECFS_J_ROOT "root"
#define EXECFS_J_BUNDLE "bundle"
#define EXECFS_J_IMAGE "image"
#define EXECFS_J_CREATED "created"
#define EXECFS_J_PRIVILEGED "privileged"
#define EXECFS_J_LABELS "labels"
#define EXECFS_J_PRIVILEGED_REASON "privileged_reason" /* when privileged */
#define EXECFS_J_HOST "host" /* true: the node itself (EXECFS_HOST_ID) */

/* JSON fields: the exec request (body of the status stream). */
#define EXECFS_J_CONTAINER "container"
#define EXECFS_J_ARGV "argv"
#define EXECFS_J_TTY "tty"
#define EXECFS_J_COLS "cols"
#define EXECFS_J_ROWS "rows"
#define EXECFS_J_NICE "nice"
/* The nice values a request may ask for (setpriority(2)). */
#define EXECFS_NICE_MIN (-20)
#define EXECFS_NICE_MAX 19
#define EXECFS_J_ENV "env"
#define EXECFS_J_CWD "cwd"
#define EXECFS_J_USER "user"
#define EXECFS_J_MERGE_STDERR "merge_stderr"

/* JSON fields: the status document (status stream response body). */
/* EXECFS_J_STATE: "running", "exited", "killed" or "failed" */
#define EXECFS_J_CODE "code"
#define EXECFS_J_SIGNAL "signal"
#define EXECFS_J_SIGNAME "signame"
#define EXECFS_J_ERRNO "errno"
#define EXECFS_J_MESSAGE "message"
#define EXECFS_J_PROCESS_PID "process_pid"

#endif
