// A real HTTP server on loopback that records every request and answers from a script: the
// stand-in for Slack, webhook and PagerDuty endpoints in the alert channel tests.
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';

/** One request as the receiver read it (the body as raw text, exactly as sent). */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** `Date.now()` when the body had been read. */
  readonly at: number;
}

/** How to answer one request; `hang` never answers (for timeouts). */
export interface ScriptedAnswer {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly hang?: boolean;
}

/** A running receiver. */
export interface HTTPReceiver {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: ReceivedRequest[];
  /** Answers for the next requests, in order; once used up every request gets `fallback`. */
  script(...answers: ScriptedAnswer[]): void;
  fallback: ScriptedAnswer;
  /** Resolves once `count` requests arrived (polls with a generous deadline). */
  waitFor(count: number, deadlineMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a receiver on a free loopback port. */
export async function startHTTPReceiver(): Promise<HTTPReceiver> {
  const requests: ReceivedRequest[] = [];
  const queue: ScriptedAnswer[] = [];
  const hanging = new Set<ServerResponse>();
  const receiver = {
    origin: '',
    requests,
    fallback: { status: 200, body: 'ok' } as ScriptedAnswer,
    script: (...answers: ScriptedAnswer[]) => void queue.push(...answers),
    async waitFor(count: number, deadlineMs = 30_000) {
      const deadline = Date.now() + deadlineMs;
      while (requests.length < count) {
        if (Date.now() > deadline)
          throw new Error(`expected ${count} requests, got ${requests.length}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const answer = queue.shift() ?? receiver.fallback;
      if (answer.hang === true) {
        hanging.add(response);
        return;
      }
      response.writeHead(answer.status ?? 200, answer.headers ?? {});
      response.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  receiver.origin = `http://127.0.0.1:${port}`;
  return receiver;
}
