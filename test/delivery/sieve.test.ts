import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSink, type Sink } from '../helpers/sink.js';
import { startWorld, until, PASSWORD, type World } from '../outbound/world.js';
import { folderMessages, waitForBounce } from '../policy/mailbox.js';
import { swaks } from '../policy/smtp.js';

/**
 * Sieve at final delivery, through real clients: scripts uploaded with sieve-connect and
 * Cyrus's sieveshell over ManageSieve (STARTTLS, AUTHENTICATE), mail sent with swaks, folders
 * read with Python's imaplib, the remote world a capturing SMTP sink behind a dnsmasq MX.
 */
const SIEVE_CONNECT = '/usr/bin/sieve-connect';
const ANA = 'ana@example.test';
const VAC = 'vac@example.test';
const SENDER = 'sender@example.test';
let w: World;
let sink: Sink;
const dir = mkdtempSync(join(tmpdir(), 'correo-sieve-'));

const ANA_SCRIPT = `require ["fileinto", "subaddress", "envelope", "imap4flags", "mailbox", "include", "reject", "editheader"];
if header :contains "subject" "edit me" { addheader "X-Filtered" "yes"; deleteheader "X-Remove"; fileinto :create "Edited"; stop; }
if envelope :detail "to" "lists" { fileinto :create "Lists"; stop; }
if header :contains "subject" "report" { fileinto :create :flags ["\\\\Flagged", "$Report"] "Reports"; }
if header :contains "subject" "broken" { include :personal "missing"; }
if header :contains "subject" "redirect" { redirect "fwd@remote.test"; }
if header :contains "subject" "self" { redirect "ana@example.test"; }
if header :contains "subject" "reject me" { reject "I do not take mail about that."; }
if header :contains "subject" "drop" { discard; }
`;

const VACATION = `require ["vacation"];
vacation :days 1 :subject "Out of office" "I am away until Monday.";
`;

test.before(async () => {
  sink = await startSink();
  chmodSync(dir, 0o755);
  const before = join(dir, 'before.sieve');
  writeFileSync(before, 'require "fileinto";\nif header :is "X-Spam-Flag" "YES" { fileinto "Junk"; stop; }\n', { mode: 0o644 });
  w = await startWorld({
    dns: ['--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${sink.host}`],
    toml: `[outbound]\nport = ${sink.port}\n[sieve]\nvacation_min_period = 1\nbefore = "${before}"\n`,
    users: [ANA, VAC, SENDER],
    aliases: 'sender+special: ana\n',
  });
});
test.after(async () => {
  await w?.stop();
  await sink?.close();
  rmSync(dir, { recursive: true, force: true });
});

const raw = (from: string, to: string, subject: string, extra = '') => `From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}.${Date.now()}@remote.test>\r\n${extra}\r\nbody of ${subject}\r\n`;

function run(cmd: string, args: string[], stdin: string, timeoutMs = 30_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
    child.stdin.end(stdin);
  });
}

/** The flags of the first message of a folder, read with Python's imaplib. */
function flags(port: number, user: string, folder: string): Promise<string[]> {
  const script = `
import imaplib, ssl, sys, re
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL('127.0.0.1', int(sys.argv[1]), ssl_context=ctx, timeout=20)
m.login(sys.argv[2], sys.argv[3])
m.select(sys.argv[4], readonly=True)
typ, data = m.fetch('1', '(FLAGS)')
print(' '.join(sorted(re.search(rb'FLAGS \\(([^)]*)\\)', data[0]).group(1).decode().split())))
m.logout()
`;
  return new Promise((resolve, reject) => execFile('python3', ['-c', script, String(port), user, PASSWORD, folder], { timeout: 30_000 }, (err, out, stderr) => {
    if (err) return reject(new Error(stderr));
    resolve(out.trim().split(' ').filter(Boolean));
  }));
}

function have(program: string): Promise<boolean> {
  return new Promise((r) => execFile(program, ['--help'], () => r(true)).on('error', () => r(false)));
}

test('sieve-connect uploads and activates a vacation script; the reply reaches the remote sender once, with the RFC 5230 headers', { timeout: 120_000 }, async (t) => {
  if (!(await have(SIEVE_CONNECT))) return t.skip('sieve-connect is missing: apt-get install -y sieve-connect');
  const file = join(dir, 'vacation.sieve');
  writeFileSync(file, VACATION, { mode: 0o644 });
  const common = ['--server', '127.0.0.1', '--port', String(w.server.ports.managesieve), '--user', VAC, '--passwordfd', '0', '--notlsverify', '--authmech', 'PLAIN'];
  // --debug prints the client's side of the dialogue: the transcript of the upload and the activation.
  const up = await run(SIEVE_CONNECT, [...common, '--debug', '--upload', '--localsieve', file, '--remotesieve', 'vacation'], PASSWORD + '\n');
  assert.equal(up.code, 0, up.out);
  assert.match(up.out, /STARTTLS/, up.out);
  assert.match(up.out, /AUTHENTICATE "PLAIN"/, up.out);
  assert.match(up.out, /PUTSCRIPT "vacation"/, up.out);
  const act = await run(SIEVE_CONNECT, [...common, '--debug', '--activate', '--remotesieve', 'vacation'], PASSWORD + '\n');
  assert.equal(act.code, 0, act.out);
  assert.match(act.out, /SETACTIVE "vacation"/, act.out);
  const list = await run(SIEVE_CONNECT, [...common, '--list'], PASSWORD + '\n');
  assert.match(list.out, /"vacation" ACTIVE/, list.out);
  const cli = await w.server.cli(['sieve', 'get', VAC, 'vacation']);
  assert.equal(cli.stdout, VACATION, 'what sieve-connect uploaded is what is stored');

  await w.send({ from: 'friend@remote.test', to: [VAC], raw: raw('friend@remote.test', VAC, 'are you there') });
  const [reply] = await sink.waitFor(1, 30_000);
  assert.equal(reply.from, '', 'RFC 5230 5.6: the null envelope sender');
  assert.deepEqual(reply.rcpts.map((r) => r.address), ['friend@remote.test']);
  const text = reply.data.toString();
  assert.match(text, /^Auto-Submitted: auto-replied/m);
  assert.match(text, /^Subject: Out of office\r$/m);
  assert.match(text, /^To: <friend@remote\.test>\r$/m);
  assert.match(text, /^From: <vac@example\.test>\r$/m);
  assert.match(text, /^In-Reply-To: <areyouthere\.\d+@remote\.test>\r$/m);
  assert.match(text, /I am away until Monday\./);
  // The message itself was kept (vacation does not cancel the implicit keep).
  assert.equal((await folderMessages(w.server.ports.imaps, VAC, PASSWORD)).length, 1);

  // Once per sender within :days; never to lists, machines or the null sender.
  await w.send({ from: 'friend@remote.test', to: [VAC], raw: raw('friend@remote.test', VAC, 'again') });
  await w.waitForLog(/to=<vac@example\.test>: sieve: vacation reply to <friend@remote\.test> not sent: already answered/);
  await w.send({ from: 'list@remote.test', to: [VAC], raw: raw('list@remote.test', VAC, 'digest', 'List-Id: <news.remote.test>\r\n') });
  await w.waitForLog(/vacation reply to <list@remote\.test> not sent: .*list-id/i);
  await w.send({ from: 'bot@remote.test', to: [VAC], raw: raw('bot@remote.test', VAC, 'notice', 'Auto-Submitted: auto-generated\r\n') });
  await w.waitForLog(/vacation reply to <bot@remote\.test> not sent: .*auto-submitted/i);
  await w.send({ from: '', to: [VAC], raw: raw('mailer-daemon@remote.test', VAC, 'bounce') });
  await w.waitForLog(/vacation reply to <> not sent: /);
  await until('five messages kept', async () => (await folderMessages(w.server.ports.imaps, VAC, PASSWORD)).length === 5);
  assert.equal(sink.messages.length, 1, 'exactly one reply');
});

test('sieveshell (Cyrus) lists, and fileinto, plus addressing, the before script, discard, reject, redirect work on delivered mail', { timeout: 180_000 }, async (t) => {
  if (!(await have('sieveshell'))) return t.skip('sieveshell is missing: apt-get install -y cyrus-clients');
  const put = await w.server.cli(['sieve', 'put', ANA, '-', 'filters'], ANA_SCRIPT);
  assert.equal(put.code, 0, put.stderr);
  const sh = await run('sieveshell', ['-u', ANA, '-a', ANA, '-p', PASSWORD, '-e', 'activate filters\nlist\n', `127.0.0.1:${w.server.ports.managesieve}`], '');
  assert.match(sh.out, /filters\s+<- active script/, sh.out);

  const imap = (folder: string) => folderMessages(w.server.ports.imaps, ANA, PASSWORD, folder);
  const send = (to: string, subject: string, extra = '', from = 'friend@remote.test') => w.send({ from, to: [to], raw: raw(from, to, subject, extra) });
  await send('ana+lists@example.test', 'weekly digest');
  await send(ANA, 'monthly report');
  await send(ANA, 'broken thing');
  await send(ANA, 'please drop');
  await send(ANA, 'redirect this');
  await send(ANA, 'self loop');
  await send(ANA, 'cheap pills', 'X-Spam-Flag: YES\r\n');
  await send(ANA, 'edit me', 'X-Remove: secret\r\n');
  await w.send({ from: SENDER, to: [ANA], raw: raw(SENDER, ANA, 'reject me please') });

  const lists = await until('Lists', async () => ((await imap('Lists')).length ? imap('Lists') : false));
  assert.match(lists[0], /weekly digest/, 'fileinto :create on the :detail of ana+lists');
  const reports = await until('Reports', async () => ((await imap('Reports')).length ? imap('Reports') : false));
  assert.match(reports[0], /monthly report/);
  assert.deepEqual(await flags(w.server.ports.imaps, ANA, 'Reports'), ['$Report', '\\Flagged'], 'imap4flags :flags on fileinto');
  const edited = await until('Edited', async () => ((await imap('Edited')).length ? imap('Edited') : false));
  assert.match(edited[0], /^X-Filtered: yes\r$/m, 'editheader: the stored copy is the edited message');
  assert.doesNotMatch(edited[0], /X-Remove/);
  assert.match(edited[0], /body of edit me/);
  const junk = await until('Junk', async () => ((await imap('Junk')).length ? imap('Junk') : false));
  assert.match(junk[0], /cheap pills/, '[sieve] before filed it');
  const redirected = await until('the redirect at the sink', () => sink.messages.find((x) => x.rcpts.some((r) => r.address === 'fwd@remote.test')), 30_000);
  assert.ok(redirected, 'redirect reached the remote sink');
  assert.equal(redirected.from, 'friend@remote.test', 'the original envelope sender');
  assert.match(redirected.data.toString(), /^X-Sieve-Redirected-From: ana@example\.test\r$/m);
  const bounce = await waitForBounce(w.server.ports.imaps, SENDER, PASSWORD, 'reject me please', 30_000);
  assert.match(bounce, /I do not take mail about that\./);
  await w.waitForLog(/to=<ana@example\.test>: sieve: script "filters" line 5.*missing.*message kept/);
  await w.waitForLog(/sieve: redirect to <ana@example\.test> not done: the redirect leads back to the user; message kept/);
  const inbox = await until('INBOX', async () => {
    const m = await imap('INBOX');
    return m.length >= 2 ? m : false;
  });
  const subjects = inbox.map((m) => /^Subject: (.*)\r$/m.exec(m)?.[1]).sort();
  assert.deepEqual(subjects, ['broken thing', 'self loop'], 'errors and refused redirects keep; the rest went elsewhere or nowhere');
});

test('plus addressing: user+detail reaches user, an alias with the full address wins, an unknown base is refused', { timeout: 60_000 }, async () => {
  const r = await swaks(['--server', `127.0.0.1:${w.server.ports.smtp}`, '--to', 'sender+anything@example.test', '--from', 'friend@remote.test', '--body', 'plus']);
  assert.equal(r.code, 0, r.out);
  await until('delivered to sender', async () => (await folderMessages(w.server.ports.imaps, SENDER, PASSWORD)).some((m) => m.includes('plus')));
  const alias = await swaks(['--server', `127.0.0.1:${w.server.ports.smtp}`, '--to', 'sender+special@example.test', '--from', 'friend@remote.test', '--header', 'Subject: via the alias']);
  assert.equal(alias.code, 0, alias.out);
  await until('the alias a+b won', async () => (await folderMessages(w.server.ports.imaps, ANA, PASSWORD)).some((m) => m.includes('via the alias')));
  const no = await swaks(['--server', `127.0.0.1:${w.server.ports.smtp}`, '--to', 'nobody+x@example.test', '--from', 'friend@remote.test', '--quit-after', 'RCPT']);
  assert.match(no.out, /550 5\.1\.1/);
});
