#!/usr/bin/env node
// cri.js: a small client of a CRI runtime (containerd's CRI plugin) for the
// execfs integration tests, on the messages of cri.proto. One call per run:
//
//   node cri.js SOCKET run-pod SANDBOX_JSON            prints the sandbox id
//   node cri.js SOCKET create POD_ID CONTAINER_JSON SANDBOX_JSON
//                                                      prints the container id
//   node cri.js SOCKET start|stop|rm CONTAINER_ID
//   node cri.js SOCKET stop-pod|rm-pod POD_ID
//   node cri.js SOCKET list                            the containers, as JSON
//   node cri.js SOCKET exec CONTAINER_ID CMD [ARG...]  ExecSync: its stdout and
//                                                      stderr, its exit code
//
// The JSON documents are the CRI messages with the proto's field names
// (PodSandboxConfig, ContainerConfig; envs values as plain strings).
// Errors: a line on stderr and exit status 125. Every call has a deadline.
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const CALL_DEADLINE_MS = 120 * 1000;
const EXEC_TIMEOUT_S = 60;

const definition = loader.loadSync(path.join(__dirname, 'cri.proto'), {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
});
const runtime = grpc.loadPackageDefinition(definition).runtime.v1;

const [socket, verb, ...args] = process.argv.slice(2);
if (!socket || !verb) {
  console.error('usage: cri.js SOCKET VERB [ARGS...] (see the top of cri.js)');
  process.exit(125);
}
const client = new runtime.RuntimeService('unix://' + socket,
                                          grpc.credentials.createInsecure());

function call(method, request) {
  const deadline = new Date(Date.now() + CALL_DEADLINE_MS);
  return new Promise((resolve, reject) => {
    client[method](request, {deadline}, (err, reply) =>
      err ? reject(err) : resolve(reply));
  });
}

// KeyValue.value is bytes on the wire.
function withEnvBytes(config) {
  if (config.envs) {
    config.envs = config.envs.map((e) => ({key: e.key, value: Buffer.from(e.value)}));
  }
  return config;
}

function need(n) {
  if (args.length < n) {
    throw new Error(`${verb} wants ${n} argument(s)`);
  }
}

async function main() {
  switch (verb) {
    case 'run-pod': {
      need(1);
      const reply = await call('RunPodSandbox', {config: JSON.parse(args[0])});
      console.log(reply.pod_sandbox_id);
      break;
    }
    case 'create': {
      need(3);
      const reply = await call('CreateContainer', {
        pod_sandbox_id: args[0],
        config: withEnvBytes(JSON.parse(args[1])),
        sandbox_config: JSON.parse(args[2]),
      });
      console.log(reply.container_id);
      break;
    }
    case 'start':
      need(1);
      await call('StartContainer', {container_id: args[0]});
      break;
    case 'stop':
      need(1);
      await call('StopContainer', {container_id: args[0], timeout: 0});
      break;
    case 'rm':
      need(1);
      await call('RemoveContainer', {container_id: args[0]});
      break;
    case 'stop-pod':
      need(1);
      await call('StopPodSandbox', {pod_sandbox_id: args[0]});
      break;
    case 'rm-pod':
      need(1);
      await call('RemovePodSandbox', {pod_sandbox_id: args[0]});
      break;
    case 'list': {
      const reply = await call('ListContainers', {});
      console.log(JSON.stringify(reply.containers));
      break;
    }
    case 'exec': {
      need(2);
      const reply = await call('ExecSync', {
        container_id: args[0],
        cmd: args.slice(1),
        timeout: EXEC_TIMEOUT_S,
      });
      process.stdout.write(reply.stdout);
      process.stderr.write(reply.stderr);
      process.exitCode = reply.exit_code;
      break;
    }
    default:
      throw new Error(`unknown verb ${verb}`);
  }
}

main()
  .catch((err) => {
    console.error(`cri.js: ${verb}: ${err.message}`);
    process.exitCode = 125;
  })
  .finally(() => client.close());
