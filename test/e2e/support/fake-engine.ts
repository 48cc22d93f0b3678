import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Answers a request, or returns false to leave it to the empty engine. Not answering at all is allowed. */
export type FakeRoute = (req: IncomingMessage, res: ServerResponse) => boolean | void;

export interface FakeEngine {
  /** DOCKER_HOST of the fake: unix:///tmp/…/engine.sock */
  dockerHost: string;
  /** "GET /_ping", "POST /v1.41/images/load?quiet=false", … in arrival order. */
  requests: string[];
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}

/** An engine with nothing in it: lists are empty, inspects answer 404, anything else 404 too. */
export function emptyEngine(req: IncomingMessage, res: ServerResponse): true {
  const path = (req.url ?? '').replace(/^\/v[\d.]+/, '').replace(/\?.*$/, '');
  if (path === '/_ping') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Api-Version': '1.41' });
    res.end('OK');
    return true;
  }
  if (req.method === 'GET' && (path === '/containers/json' || path === '/images/json')) return json(res, 200, []);
  if (req.method === 'GET' && path === '/volumes') return json(res, 200, { Volumes: [], Warnings: [] });
  return json(res, 404, { message: `no such object: ${path}` });
}

export const pingOnly: FakeRoute = (req, res) => (/\/_ping$/.test(req.url ?? '') ? emptyEngine(req, res) : false);

/**
 * A container engine API on a local unix socket that answers as `route` says; what `route` leaves
 * (returns false for) the empty engine answers. Requests left unanswered stay open until close().
 */
export async function startFakeEngine(route: FakeRoute): Promise<FakeEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'nix-runner-fake-engine-'));
  const socket = join(dir, 'engine.sock');
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (route(req, res) === false) emptyEngine(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });
  return {
    dockerHost: `unix://${socket}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Never answers anything, ping included: an engine that accepts connections and hangs. */
export const silentEngine: FakeRoute = () => true;

/** Answers ping; every other call gets HTTP 500 with the engine's message. */
export const failingEngine: FakeRoute = (req, res) => pingOnly(req, res) || json(res, 500, { message: 'boom: the fake engine fails every call' });

/** Answers ping; never answers any other call. */
export const stuckEngine: FakeRoute = (req, res) => pingOnly(req, res) || true;

/**
 * An empty engine whose image load takes `stallAfter` bytes of the archive, then stops reading and never
 * answers: an engine stuck in the middle of a load.
 */
export function stallingLoad(stallAfter: number): FakeRoute {
  return (req) => {
    if (!/\/images\/load/.test(req.url ?? '')) return false;
    let taken = 0;
    req.on('data', (chunk: Buffer) => {
      taken += chunk.length;
      if (taken >= stallAfter) req.pause();
    });
    return true;
  };
}
