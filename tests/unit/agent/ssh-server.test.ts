/**
 * The agent's embedded SSH server, in-process with ssh2's client over a loopback socket (as the
 * link's stream would carry it): public keys only, the pushed keys and nothing else, a config
 * swap taking effect for the next login, exec with exit status, forwarding to loopback only.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import pino from 'pino';
import { Client, utils } from 'ssh2';
import { deriveSshHostKey, encodeOpenSshEd25519 } from '../../../core/ssh-host-key';
import { SshServer } from '../../../agent/ssh-server';
import { isLoopbackDestination } from '../../../agent/ssh-sessions';
import { loginShell } from '../../../agent/shells';

function parse(key: string) {
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) throw parsed;
  return parsed;
}

/** A user's ed25519 key pair, in the OpenSSH form ssh2 reads. */
function userKey(): { privateKey: string; publicKey: string } {
  const privateKey = encodeOpenSshEd25519(randomBytes(32));
  return { privateKey, publicKey: `ssh-ed25519 ${parse(privateKey).getPublicSSH().toString('base64')}` };
}

describe('the embedded SSH server', () => {
  const host = deriveSshHostKey(Buffer.alloc(32, 3).toString('base64'), 'space-1');
  const alice = userKey();
  const mallory = userKey();
  let sessions = 0;
  const options: ConstructorParameters<typeof SshServer>[0] = {
    pty: null,
    shell: '/bin/sh',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    cwd: os.tmpdir(),
    sftpServer: null,
    user: 'dev',
    logger: pino({ level: 'silent' }),
    onActivity: () => {},
    onCountChange: (n) => (sessions = n),
    onConfigured: () => {},
  };
  const ssh = new SshServer(options);
  // each TCP connection stands for one link stream
  const listener = net.createServer((socket) => ssh.inject(socket));
  let port = 0;

  beforeAll(async () => {
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
    port = (listener.address() as net.AddressInfo).port;
  });
  afterAll(() => listener.close());

  const connect = (privateKey: string) =>
    new Promise<Client>((resolve, reject) => {
      const c = new Client();
      c.once('ready', () => resolve(c));
      c.once('error', reject);
      c.connect({ host: '127.0.0.1', port, username: 'whoever', privateKey, hostVerifier: (key: Buffer) => key.equals(parse(host.publicKey).getPublicSSH()) });
    });
  const exec = (c: Client, command: string) =>
    new Promise<{ out: string; code: number | null }>((resolve, reject) => {
      c.exec(command, (err, ch) => {
        if (err) return reject(err);
        let out = '';
        let code: number | null = null;
        ch.on('data', (d: Buffer) => (out += d.toString()));
        ch.on('exit', (c2: number | null) => (code = c2));
        ch.on('close', () => resolve({ out, code }));
      });
    });

  it('is not there until configured', () => {
    const bare = new SshServer(options);
    expect(bare.configured).toBe(false);
    expect(bare.inject(new net.Socket())).toBe(false);
    expect(() => bare.configure({ hostKey: 'not a key', authorizedKeys: [] })).toThrow(/host key/);
  });

  it('lets in a pushed key (any user name), runs commands with their exit status, and counts the session', async () => {
    ssh.configure({ hostKey: host.privateKey, authorizedKeys: ['garbage line', alice.publicKey] });
    expect(ssh.configured).toBe(true);
    const c = await connect(alice.privateKey);
    expect(sessions).toBe(1);
    expect(await exec(c, 'echo hi; exit 7')).toEqual({ out: 'hi\n', code: 7 });
    c.end();
    await new Promise<void>((r) => c.once('close', () => r()));
    const until = Date.now() + 2000;
    while (sessions !== 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(sessions).toBe(0);
  });

  it('refuses a key that was not pushed, and takes it after the next push', async () => {
    await expect(connect(mallory.privateKey)).rejects.toThrow(/authentication methods failed/);
    ssh.configure({ hostKey: host.privateKey, authorizedKeys: [alice.publicKey, mallory.publicKey] });
    const c = await connect(mallory.privateKey);
    c.end();
    ssh.configure({ hostKey: host.privateKey, authorizedKeys: [alice.publicKey] });
    await expect(connect(mallory.privateKey)).rejects.toThrow(/authentication methods failed/);
  });

  it('forwards to loopback ports only', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const echoPort = (echo.address() as net.AddressInfo).port;
    const c = await connect(alice.privateKey);
    try {
      const reply = await new Promise<string>((resolve, reject) =>
        c.forwardOut('127.0.0.1', 1, '127.0.0.1', echoPort, (err, ch) => {
          if (err) return reject(err);
          ch.once('data', (d: Buffer) => resolve(d.toString()));
          ch.write('ping');
        }),
      );
      expect(reply).toBe('ping');
      await expect(new Promise((resolve, reject) => c.forwardOut('127.0.0.1', 1, '10.1.2.3', 80, (err) => (err ? reject(err) : resolve(null))))).rejects.toThrow();
    } finally {
      c.end();
      echo.close();
    }
  });
});

test('loopback destinations', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackDestination(h)).toBe(true);
  for (const h of ['10.0.0.1', '0.0.0.0', 'example.com', '::', '128.0.0.1']) expect(isLoopbackDestination(h)).toBe(false);
});

test("the login shell: the account's when it exists, else bash, else sh", () => {
  const exists = (files: string[]) => (f: string) => files.includes(f);
  expect(loginShell(['/bin'], () => '/usr/bin/zsh', exists(['/usr/bin/zsh', '/bin/bash']))).toBe('/usr/bin/zsh');
  expect(loginShell(['/bin'], () => '/usr/sbin/nologin', exists(['/usr/sbin/nologin', '/bin/bash']))).toBe('/bin/bash');
  expect(loginShell(['/bin'], () => null, exists(['/bin/sh']))).toBe('/bin/sh');
});
