import { request, type ClientRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type Docker from 'dockerode';

export interface RawRequest {
  path: string;
  method: 'GET' | 'HEAD' | 'POST';
  headers?: OutgoingHttpHeaders;
  signal: AbortSignal;
}

/**
 * A request to the engine outside dockerode, for what dockerode does not give: the headers of an answer, a
 * hijacked connection without a body. Its own connection (no agent): nothing is left open for node to wait on.
 */
export function engineRequest(options: Docker.DockerOptions, { path, method, headers = {}, signal }: RawRequest): ClientRequest {
  const target = options.socketPath ? { socketPath: options.socketPath } : { host: options.host, port: options.port };
  const send = options.protocol === 'https' ? httpsRequest : request;
  return send({ ...target, path, method, headers, agent: false, signal });
}

/** An answer's status as dockerode words it, so engine errors read the same whichever way they came. */
export function statusError(statusCode: number, body: string): Error & { statusCode: number } {
  return Object.assign(new Error(`(HTTP code ${statusCode}) ${body.trim() || 'unexpected status'}`), { statusCode });
}

/** GET /_ping: the headers of a 200 answer (they name the engine), else a status error. */
export function pingHeaders(options: Docker.DockerOptions, signal: AbortSignal): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const req = engineRequest(options, { path: '/_ping', method: 'GET', signal });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        res.socket?.destroy();
        if (res.statusCode === 200) resolve(res.headers);
        else reject(statusError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
      });
    });
    req.on('error', reject);
    req.end();
  });
}
