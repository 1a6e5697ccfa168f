import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { loggedIn, PASS } from './client.js';
import { startServer, type TestServer } from '../helpers/server.js';

// Issue 10 items 10 and 11: the seed's cyradm commands on a server with several domains (bare
// Cyrus names mean the first one), and QUOTA for users without a limit.

let srv: TestServer;
before(async () => {
  srv = await startServer({ toml: 'domains = ["example.test", "second.test"]\n[auth]\nplaintext_without_tls = true\n' });
  for (const u of ['admin@example.test', 'otro@example.test', 'usr1@example.test']) await srv.addUser(u, PASS);
});
after(async () => {
  await srv?.stop();
});

const CYRADM = spawn('sh', ['-c', 'command -v cyradm'], { stdio: 'ignore' });
const haveCyradm = new Promise<boolean>((resolve) => CYRADM.on('exit', (code) => resolve(code === 0)));

/** Runs cyradm as the admin with `commands`, one per line, sent once it prompts; its output. */
function cyradm(commands: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('cyradm', ['--user', 'admin@example.test', '--auth', 'PLAIN', '--port', String(srv.ports.imap), '127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    const onOutput = (d: Buffer) => {
      out += d;
      if (!sent && /> $/.test(out)) {
        sent = true;
        p.stdin.end(commands.join('\n') + '\n');
      }
    };
    p.stdout.on('data', onOutput);
    p.stderr.on('data', onOutput);
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`cyradm timed out:\n${out}`));
    }, 45000);
    p.on('exit', () => {
      clearTimeout(t);
      resolve(out);
    });
    p.stdin.on('error', () => undefined);
    p.stdin.write(`${PASS}\n`);
  });
}

test('issue 10.10: cyradm with the seed\'s exact commands: cm user.juan, lam user.juan, sam user.juan otro lrs, sq user.juan 10000, dm user.juan', { timeout: 60000 }, async (t) => {
  if (!(await haveCyradm)) return t.skip('cyradm missing: apt-get install cyrus-admin');
  const out = await cyradm(['cm user.juan', 'lam user.juan', 'sam user.juan otro lrs', 'lam user.juan', 'sq user.juan 10000', 'lq user.juan', 'lm user.juan*', 'dm user.juan', 'lm user.juan*']);
  assert.doesNotMatch(out, /cannot|error|failed|not an address/i, out);
  // user.juan is juan@example.test, the first domain.
  assert.match(out, /^juan@example\.test lrswipkxtecda\s*$/m, out);
  assert.match(out, /^otro@example\.test lrs\s*$/m, out);
  assert.match(out, /STORAGE \d+\/10000/, out);
  assert.equal((out.match(/user\.juan@example\.test \(/g) ?? []).length, 1, out);
  const list = await srv.cli(['user', 'list']);
  assert.doesNotMatch(list.stdout, /juan/);
});

test('issue 10.10: bare Cyrus names mean the first domain for every admin command; CREATE user.x@foreign is refused', { timeout: 30000 }, async () => {
  const a = await loggedIn(srv, 'admin@example.test');
  try {
    let r = await a.cmd('CREATE user.pedro');
    assert.match(r.tagged, /^A\d+ OK/);
    r = await a.cmd('GETACL user.pedro');
    assert.equal(r.untagged[0], '* ACL user.pedro pedro@example.test lrswipkxtecda');
    r = await a.cmd('SETACL user.pedro otro lr');
    assert.match(r.tagged, /^A\d+ OK/);
    r = await a.cmd('GETACL user.pedro');
    assert.equal(r.untagged[0], '* ACL user.pedro pedro@example.test lrswipkxtecda otro@example.test lr');
    r = await a.cmd('SETQUOTA user.pedro (STORAGE 50)');
    assert.match(r.tagged, /^A\d+ OK/);
    r = await a.cmd('GETQUOTA user.pedro');
    assert.equal(r.untagged[0], '* QUOTA user.pedro (STORAGE 0 50)');
    r = await a.cmd('CREATE user.maria@second.test');
    assert.match(r.tagged, /^A\d+ OK/);
    r = await a.cmd('CREATE user.x@other.test');
    assert.match(r.tagged, /^A\d+ NO \[CANNOT\] other\.test is not one of this server's domains/);
    r = await a.cmd('DELETE user.pedro');
    assert.match(r.tagged, /^A\d+ OK/);
    r = await a.cmd('DELETE user.maria@second.test');
    assert.match(r.tagged, /^A\d+ OK/);
    const list = await srv.cli(['user', 'list']);
    assert.doesNotMatch(list.stdout, /pedro|maria|other\.test/, list.stdout);
  } finally {
    a.close();
  }
});

test('issue 10.11: without a limit there is no quota root; with one, QUOTAROOT and QUOTA name it', { timeout: 30000 }, async () => {
  const u = await loggedIn(srv, 'usr1@example.test');
  const a = await loggedIn(srv, 'admin@example.test');
  try {
    let r = await u.cmd('GETQUOTAROOT INBOX');
    assert.deepEqual(r.untagged, ['* QUOTAROOT INBOX']);
    assert.match(r.tagged, /^A\d+ OK/);
    r = await u.cmd('GETQUOTA user.usr1@example.test');
    assert.deepEqual(r.untagged, []);
    assert.match(r.tagged, /^A\d+ NO \[NONEXISTENT\]/);
    await a.cmd('SETQUOTA user.usr1@example.test (MESSAGE 5)');
    r = await u.cmd('GETQUOTAROOT INBOX');
    assert.deepEqual(r.untagged, ['* QUOTAROOT INBOX user.usr1@example.test', '* QUOTA user.usr1@example.test (MESSAGE 0 5)']);
    await a.cmd('SETQUOTA user.usr1@example.test ()');
    r = await u.cmd('GETQUOTAROOT INBOX');
    assert.deepEqual(r.untagged, ['* QUOTAROOT INBOX']);
  } finally {
    u.close();
    a.close();
  }
});
