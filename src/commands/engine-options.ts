import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_ENGINE_CONNECT_TIMEOUT, DEFAULT_ENGINE_TIMEOUT, MAX_ENGINE_TIMEOUT } from '../engine/engine-timeouts.js';

export interface EngineTimeoutFlags {
  engineTimeout?: number;
  engineConnectTimeout?: number;
}

function seconds(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || number > MAX_ENGINE_TIMEOUT) throw new InvalidArgumentError(`seconds, more than 0 and at most ${MAX_ENGINE_TIMEOUT}`);
  return number;
}

/** --engine-timeout, the same for every command that talks to the engine. */
export function engineTimeoutOption(): Option {
  return new Option(
    '--engine-timeout <seconds>',
    `limit of each engine call (default ${DEFAULT_ENGINE_TIMEOUT}): an image load or a copy may take longer while it makes progress, ` +
      'a wait for a container as long as the engine answers; past it: exit 4',
  ).argParser(seconds);
}

export function engineConnectTimeoutOption(): Option {
  return new Option('--engine-connect-timeout <seconds>', `limit to connect to the engine (default: the smaller of ${DEFAULT_ENGINE_CONNECT_TIMEOUT} and --engine-timeout)`).argParser(seconds);
}
