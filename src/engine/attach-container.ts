import type { Socket } from 'node:net';
import type Docker from 'dockerode';
import { engineRequest, statusError } from './engine-request.js';

const QUERY = 'stream=1&stdout=1&stderr=1';

/**
 * Attaches to a created container before it starts: its output (multiplexed), and its stdin when
 * `withInput`. Not dockerode's attach: that sends its options as a JSON body, which Podman (4.3 measured)
 * writes to the container's stdin ahead of the real input; Docker ignores it. Here the request has no body,
 * on both engines.
 */
export function attachContainer(docker: Docker, options: Docker.DockerOptions, id: string, withInput: boolean, signal: AbortSignal): Promise<NodeJS.ReadWriteStream> {
  return withInput ? attachWithStdin(options, id, signal) : attachOutput(docker, id, signal);
}

// stdin needs the hijacked connection: the socket of the upgrade, with what came past the headers put back.
function attachWithStdin(options: Docker.DockerOptions, id: string, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = engineRequest(options, {
      path: `/containers/${encodeURIComponent(id)}/attach?${QUERY}&stdin=1`,
      method: 'POST',
      headers: { Connection: 'Upgrade', Upgrade: 'tcp', 'Content-Length': 0 },
      signal,
    });
    req.on('upgrade', (_res, socket, head) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    // an answer without an upgrade is a refusal (404 no such container, 409 not running …)
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => reject(statusError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
    });
    req.on('error', reject);
    req.end();
  });
}

// Output only: a plain streamed answer; `_body: {}` keeps dockerode from sending its options as a body.
function attachOutput(docker: Docker, id: string, signal: AbortSignal): Promise<NodeJS.ReadWriteStream> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: `/containers/${id}/attach?`,
        method: 'POST',
        isStream: true,
        abortSignal: signal,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        options: { _query: { stream: true, stdout: true, stderr: true }, _body: {} },
      },
      (error: unknown, stream: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(stream as NodeJS.ReadWriteStream)),
    );
  });
}
