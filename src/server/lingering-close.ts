import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { MiddlewareHandler } from 'hono';

/** How long a refused upload's connection keeps being read (and discarded) after the answer. */
export const LINGER_MS = 2_000;

/**
 * Answers a request whose body was not read (refused before or while reading it: 401, 403, 413,
 * 429, 503) with `Connection: close`, then closes the connection the way nginx's lingering close
 * does: the answer and a FIN go out, and whatever the client still sends is read and discarded
 * for up to {@link LINGER_MS} (or until the client closes), so the client reads the answer
 * instead of a connection reset. Closing at once with unread bytes makes the kernel reset the
 * connection, which a client still writing its upload sees as `EPIPE`/`ECONNRESET` before it
 * could read the status.
 *
 * @example
 * ```ts
 * const app = new Hono();
 * app.use(lingeringClose());
 * ```
 */
export function lingeringClose(lingerMs: number = LINGER_MS): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (incoming === undefined || incoming.complete || incoming.method === 'GET') return;
    c.header('Connection', 'close');
    lingerBeforeClose(incoming.socket, lingerMs);
  };
}

function lingerBeforeClose(socket: Socket, lingerMs: number): void {
  // Node closes a `Connection: close` socket with destroySoon() once the answer is written.
  socket.destroySoon = function lingeringDestroySoon(this: Socket): void {
    if (this.destroyed) return;
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), lingerMs);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.once('end', () => this.destroy());
    // Discards what still arrives (the request's parser stops reading once the answer is out).
    this.resume();
  };
}
