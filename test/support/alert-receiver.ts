import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertChannel, AlertNotification } from '../../src/observe/alerts/notification.js';

/** One POST the receiver accepted: the group of notifications it carried. */
export type ReceivedGroup = readonly (AlertNotification & { startsAt: string })[];

/**
 * A real HTTP receiver on a loopback port (port 0), standing in for a webhook endpoint: it
 * records each accepted POST body, and answers 503 to the next `failNext` requests.
 */
export interface AlertReceiver {
  url: string;
  readonly received: ReceivedGroup[];
  /** Requests seen, accepted or not. */
  readonly requests: () => number;
  failNext: number;
  close: () => Promise<void>;
}

export async function startAlertReceiver(): Promise<AlertReceiver> {
  let requests = 0;
  const receiver: AlertReceiver = {
    url: '',
    received: [],
    requests: () => requests,
    failNext: 0,
    close: async () => undefined,
  };
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests++;
      if (receiver.failNext > 0) {
        receiver.failNext--;
        response.writeHead(503).end('try later');
        return;
      }
      receiver.received.push(JSON.parse(body) as ReceivedGroup);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}

/**
 * A minimal webhook channel that POSTs the group as JSON and throws on a non-2xx answer, with a
 * secret in its URL's query that must never reach a log.
 */
export function webhookChannel(name: string, receiver: AlertReceiver): AlertChannel {
  return {
    name,
    type: 'webhook',
    async send(group, signal) {
      const target = `${receiver.url}?token=s3cr3t-${name}`;
      const response = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(group),
        signal,
      });
      if (!response.ok) throw new Error(`POST ${target} answered ${response.status}`);
    },
  };
}
