import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imapServer, loggedIn, msg, PASS } from './client.js';
import type { TestServer } from '../helpers/server.js';

// Issue 10 item 1 with a real client: offlineimap3 exited 1 on every run once a folder had been
// deleted or renamed (the old name stayed in LIST as \NonExistent and could not be selected).

const HAVE = spawnSync('sh', ['-c', 'command -v offlineimap'], { stdio: 'ignore' }).status === 0;
const SKIP = HAVE ? false : 'offlineimap missing: apt-get install offlineimap3';

let srv: TestServer;
let dir: string;
before(async () => {
  if (!HAVE) return;
  srv = await imapServer(['usr1@example.test']);
  dir = mkdtempSync(join(tmpdir(), 'correo-offlineimap-'));
});
after(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One offlineimap run (-o: once, -u basic: plain output); its exit code and output. */
function sync(conf: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('offlineimap', ['-c', conf, '-o', '-u', 'basic'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`offlineimap timed out:\n${out}`));
    }, 60_000);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

test('offlineimap3: two syncs in a row, a folder created, renamed and deleted between them, exit 0 both times', { timeout: 180_000, skip: SKIP }, async () => {
  const conf = join(dir, 'offlineimaprc');
  writeFileSync(conf, [
    '[general]', 'accounts = t', `metadata = ${join(dir, 'meta')}`, '',
    '[Account t]', 'localrepository = L', 'remoterepository = R', '',
    '[Repository L]', 'type = Maildir', `localfolders = ${join(dir, 'mail')}`, '',
    '[Repository R]', 'type = IMAP', 'remotehost = 127.0.0.1', `remoteport = ${srv.ports.imap}`,
    'remoteuser = usr1@example.test', `remotepass = ${PASS}`, 'ssl = no', 'starttls = no', '',
  ].join('\n'));
  const c = await loggedIn(srv);
  try {
    await c.cmdLiteral('APPEND INBOX', msg('first'));
    let r = await sync(conf);
    assert.equal(r.code, 0, r.out);
    assert.ok(existsSync(join(dir, 'mail', 'INBOX')), r.out);

    // Between the syncs: a folder made and renamed (kept), another made, renamed and deleted.
    assert.match((await c.cmd('CREATE Project')).tagged, /OK/);
    await c.cmdLiteral('APPEND Project', msg('plan'));
    assert.match((await c.cmd('RENAME Project Done')).tagged, /OK/);
    assert.match((await c.cmd('CREATE Tmp')).tagged, /OK/);
    assert.match((await c.cmd('RENAME Tmp Tmp2')).tagged, /OK/);
    assert.match((await c.cmd('DELETE Tmp2')).tagged, /OK/);
    r = await sync(conf);
    assert.equal(r.code, 0, r.out);
    const local = readdirSync(join(dir, 'mail')).sort();
    assert.ok(local.includes('Done'), local.join(' '));
    assert.ok(!local.includes('Tmp2') && !local.includes('Project') && !local.includes('Tmp'), local.join(' '));
    assert.equal(readdirSync(join(dir, 'mail', 'Done', 'cur')).length + readdirSync(join(dir, 'mail', 'Done', 'new')).length, 1);
  } finally {
    c.close();
  }
});
