/**
 * Must show (issue 2): fetchmail (Debian's) retrieves a message from Correo, once over STLS on
 * the plain port and once over implicit TLS, hands it to an MDA that appends to a file, and
 * deletes it from the server (no `keep`).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { deliver, python, run, simpleMessage } from './helpers.js';
import { needs } from '../helpers/peers.js';

let server: TestServer;

before(async () => {
  server = await startServer();
  await server.addUser('usr1@example.test', 'secret1');
});

after(async () => {
  await server?.stop();
});

/** Runs fetchmail once with an rc file in the test dir; HOME and FETCHMAILHOME point there too. */
async function fetch(name: string, port: number, tlsLine: string): Promise<{ out: string; log: string }> {
  const mbox = join(server.dir, `${name}.mbox`);
  const rc = join(server.dir, `${name}.fetchmailrc`);
  // `set invisible`: no Received header of fetchmail's own, so it needs no name for this host.
  writeFileSync(rc, [
    'set no bouncemail',
    'set no syslog',
    'set invisible',
    `poll 127.0.0.1 service ${port} proto pop3 timeout 20 :`,
    '  user "usr1@example.test" there with password "secret1" is "tester" here',
    `  ${tlsLine}`,
    `  mda "/bin/cat >> ${mbox}"`,
    '  fetchall nokeep',
    '',
  ].join('\n'));
  chmodSync(rc, 0o600); // fetchmail refuses an rc file others can read
  const r = await run('fetchmail', ['-f', rc, '--nodetach', '-d0', '-v', '--nosyslog'], {
    env: { ...process.env, HOME: server.dir, FETCHMAILHOME: server.dir },
    cwd: server.dir,
    timeoutMs: 40000,
  });
  const log = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.code, 0, `fetchmail exit status (0 = mail retrieved):\n${log}`);
  return { out: existsSync(mbox) ? readFileSync(mbox, 'utf8') : '', log };
}

async function remaining(): Promise<number> {
  const r = await python(server, `
p = login('tls')
n = p.stat()[0]
p.quit()
out({'n': n})
`);
  return r.n;
}

test('fetchmail over STLS (port 110 style) retrieves the message and deletes it', { timeout: 90000, ...needs('fetchmail', 'python3') }, async () => {
  await deliver(server, 'usr1@example.test', simpleMessage('via fetchmail stls', 'Grüße aus Zürich\r\n.a dot line\r\nlast line'));
  const { out, log } = await fetch('stls', server.ports.pop3, 'sslproto tls1.2+ no sslcertck');
  assert.match(log, /POP3> STLS/, 'fetchmail upgraded with STLS');
  assert.match(log, /upgrade to TLS succeeded/);
  assert.match(out, /^Subject: via fetchmail stls$/m);
  assert.ok(out.includes('Grüße aus Zürich\n.a dot line\nlast line\n'), out);
  assert.match(out, /^Received: from client\.example\.net/m);
  assert.equal(await remaining(), 0, 'no keep: deleted on the server at QUIT');
});

test('fetchmail over implicit TLS (port 995 style)', { timeout: 90000, ...needs('fetchmail', 'python3') }, async () => {
  await deliver(server, 'usr1@example.test', simpleMessage('via fetchmail ssl', 'over 995'));
  const { out } = await fetch('ssl', server.ports.pop3s, 'ssl sslproto tls1.2+ no sslcertck');
  assert.match(out, /^Subject: via fetchmail ssl$/m);
  assert.ok(out.includes('\nover 995\n'));
  assert.equal(await remaining(), 0);
});
