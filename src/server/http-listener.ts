import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { UsageError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { APIAuth } from './api-auth.js';

/** Where and how {@link listenHTTP} listens. */
export interface ListenOptions {
  readonly hostname: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The command-line option that chose the address, named in errors (`--http`). */
  readonly flag: string;
  /** What listens, for the warning (`the HTTP API`). */
  readonly subject: string;
  /** What anyone who reaches an open listener could do, for the refusal and the warning. */
  readonly exposes: string;
  /** Listen beyond loopback although no token exists. */
  readonly insecure?: boolean;
  readonly logger: Logger;
}

/** A listening server: its URL and how to stop it. */
export interface HTTPListener {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `app` on an address: refuses an address beyond loopback while no API token exists
 * (unless `insecure`, then warns), turns listen failures into UsageErrors naming the option to
 * change, bounds slow clients, and closes giving requests in flight a few seconds.
 *
 * @example
 * ```ts
 * const listener = await listenHTTP(app, auth, { hostname: '127.0.0.1', port: 0, flag: '--metrics-port', subject: 'the metrics endpoint', exposes: 'read the metrics', logger });
 * await listener.close();
 * ```
 */
export async function listenHTTP(
  app: Hono,
  auth: APIAuth,
  options: ListenOptions,
): Promise<HTTPListener> {
  const { hostname, logger } = options;
  if (!isLoopback(hostname) && !(await auth.required())) {
    if (options.insecure !== true)
      throw new UsageError(
        `refusing to listen on ${hostname}:${options.port} without authentication: anyone who can reach it could ${options.exposes}`,
        {
          hint: 'create a token first (sluice tokens create <name> --role admin) or set SLUICE_API_TOKEN; listen on 127.0.0.1; or pass --insecure to accept the risk',
        },
      );
    logger.warn(
      { address: `${hostname}:${options.port}` },
      `INSECURE: ${options.subject} listens beyond loopback with no token; anyone who can reach it can ${options.exposes} (create a token: sluice tokens create <name> --role admin)`,
    );
  }
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  // A client that sends headers or a body slowly does not hold a connection for long.
  server.headersTimeout = 20_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void =>
      reject(listenError(error, hostname, options.port, options.flag));
    server.once('error', failed);
    server.listen(options.port, hostname, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error }, 'the HTTP server failed'));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`,
    // Requests in flight get a few seconds to be answered; then their connections are cut.
    close: () =>
      new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), 5_000);
        cut.unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/** Whether `hostname` only accepts connections from this machine. */
function isLoopback(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '::1') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

/** A listen failure as an error that says what to do (exit code 2). */
function listenError(
  error: NodeJS.ErrnoException,
  hostname: string,
  port: number,
  flag: string,
): Error {
  const where = `${hostname}:${port}`;
  if (error.code === 'EADDRINUSE')
    return new UsageError(`cannot listen on ${where}: the port is in use by another process`, {
      hint: `stop the other process (e.g. ss -ltnp 'sport = :${port}'), or choose another port with ${flag}`,
      cause: error,
    });
  if (error.code === 'EACCES')
    return new UsageError(`cannot listen on ${where}: permission denied`, {
      hint: `ports below 1024 need privileges; choose a port above 1024 with ${flag}`,
      cause: error,
    });
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
    return new UsageError(`cannot listen on ${where}: no such address on this machine`, {
      hint: 'use an address of one of its interfaces, 0.0.0.0 for all, or 127.0.0.1',
      cause: error,
    });
  return new UsageError(`cannot listen on ${where}: ${error.message}`, { cause: error });
}
