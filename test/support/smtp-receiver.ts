// A real SMTP server on loopback (Debian's python3-aiosmtpd, run by smtp-receiver.py) that
// writes each message it accepts, parsed by Python's email package, for the test to read back.
import { spawn, spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePort } from './nats.js';

/** The Python that has Debian's aiosmtpd (not a pyenv shim without it). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = resolve(import.meta.dirname, 'smtp-receiver.py');

/**
 * Why the SMTP tests cannot run here (undefined when they can). Under `CI=true` a missing
 * aiosmtpd is an error, not a skip.
 */
export function smtpUnavailable(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import aiosmtpd'], { encoding: 'utf8' });
  const opensslProbe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  const reason =
    probe.status !== 0
      ? `${PYTHON} cannot import aiosmtpd (apt-get install python3-aiosmtpd)`
      : opensslProbe.status !== 0
        ? 'openssl is not installed (it makes the test certificate)'
        : undefined;
  if (reason !== undefined && process.env['CI'] === 'true')
    throw new Error(`${reason}; CI needs it for the email channel tests`);
  return reason;
}

/** A message as the server parsed it. */
export interface ReceivedMail {
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType: string;
  readonly text: string | null;
  readonly html: string | null;
  readonly mailFrom: string;
  readonly rcptTos: readonly string[];
  readonly tls: boolean;
  readonly authenticated: boolean;
}

/** A running SMTP server. */
export interface SMTPReceiver {
  readonly port: number;
  /** The messages accepted so far, in order. */
  messages(): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

/** A self-signed certificate for `localhost` and 127.0.0.1, written to `dir`. */
export function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  return { cert, key };
}

/** Starts the server writing into `dir` and resolves once it listens. */
export async function startSMTPReceiver(
  dir: string,
  options: {
    readonly mode?: 'plain' | 'starttls' | 'implicit';
    readonly user?: string;
    readonly password?: string;
    readonly certificate?: { cert: string; key: string };
  } = {},
): Promise<SMTPReceiver> {
  const port = await freePort();
  const args = [SCRIPT, '--port', String(port), '--dir', dir, '--mode', options.mode ?? 'plain'];
  if (options.user !== undefined)
    args.push('--user', options.user, '--password', options.password ?? '');
  if (options.certificate !== undefined)
    args.push('--cert', options.certificate.cert, '--key', options.certificate.key);
  const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`the SMTP server did not start: ${stderr}`)),
      30_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        ready();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the SMTP server exited with ${code}: ${stderr}`));
    });
  });
  return {
    port,
    async messages() {
      const names = (await readdir(dir)).filter((n) => /^\d+\.json$/.test(n));
      names.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
      return Promise.all(
        names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as ReceivedMail),
      );
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
