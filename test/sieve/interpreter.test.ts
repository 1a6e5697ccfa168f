import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScript, runScript, type RunInput, type Script, type VacationAction } from '../../src/sieve/index.js';

/** What the differential test cannot compare: callbacks, vacation checks, edited bytes, limits. */

function msg(head: string[], body = 'text'): Buffer {
  return Buffer.from([...head, '', body, ''].join('\r\n'));
}
const MSG = msg(['From: alice@example.org', 'To: me@example.com', 'Subject: hi', 'Message-ID: <m1@example.org>']);
const ENV = { from: 'alice@example.org', to: 'me@example.com' };

function parsed(text: string): Script {
  const r = parseScript(text);
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.script!;
}

async function run(text: string, input: Partial<RunInput> = {}) {
  return runScript(parsed(text), { message: MSG, envelope: ENV, ...input });
}

test('duplicate (RFC 7352): asks the callback, reports ids to remember after delivery', { timeout: 30000 }, async () => {
  const asked: string[] = [];
  const s = 'require ["duplicate", "fileinto"]; if duplicate { fileinto "Dups"; }';
  const fresh = await run(s, { duplicate: (id, handle) => { asked.push(`${handle}|${id}`); return false; } });
  assert.deepEqual(asked, ['|<m1@example.org>']);
  assert.equal(fresh.actions[0].type, 'keep');
  assert.deepEqual(fresh.duplicates, [{ handle: '', id: '<m1@example.org>', seconds: 43200 }]);
  const seen = await run(s, { duplicate: () => true });
  assert.deepEqual(seen.actions.map((a) => a.type === 'fileinto' && a.mailbox), ['Dups']);
  assert.deepEqual(seen.duplicates, []);
  const own = await run('require ["duplicate"]; if duplicate :handle "h" :uniqueid "x" :seconds 60 { discard; }', { duplicate: async () => false });
  assert.deepEqual(own.duplicates, [{ handle: 'h', id: 'x', seconds: 60 }]);
  // a message without Message-ID is never a duplicate (RFC 7352 3.1)
  const none = await runScript(parsed(s), { message: msg(['Subject: x']), envelope: ENV, duplicate: () => true });
  assert.equal(none.actions[0].type, 'keep');
});

test('ereject (RFC 5429) is a reject marked for the SMTP/LMTP time answer', { timeout: 30000 }, async () => {
  const r = await run('require "ereject"; ereject "not here";');
  assert.deepEqual(r.actions, [{ type: 'reject', text: 'not here', extended: true }]);
  const both = await run('require ["ereject", "fileinto"]; fileinto "x"; ereject "no";');
  assert.match(both.error!.message, /conflicts/);
  assert.deepEqual(both.actions, [{ type: 'keep', flags: [], implicit: true }]);
});

test('vacation: parameters, and the reasons not to answer (RFC 5230 4.5, 4.6; RFC 3834)', { timeout: 30000 }, async () => {
  const s = 'require "vacation"; vacation :days 2 :subject "Away" :from "me@example.com" "Back soon.";';
  const ok = (await run(s)).actions.find((a) => a.type === 'vacation') as VacationAction;
  assert.equal(ok.to, 'alice@example.org');
  assert.equal(ok.seconds, 2 * 86400);
  assert.equal(ok.subject, 'Away');
  assert.equal(ok.inReplyTo, '<m1@example.org>');
  assert.equal(ok.suppress, undefined);
  const vac = async (m: Buffer, from = 'alice@example.org'): Promise<string | undefined> => {
    const r = await runScript(parsed('require "vacation"; vacation "x";'), { message: m, envelope: { from, to: 'me@example.com' } });
    return (r.actions.find((a) => a.type === 'vacation') as VacationAction).suppress;
  };
  assert.match((await vac(MSG, ''))!, /null envelope sender/);
  assert.match((await vac(MSG, 'MAILER-DAEMON@example.org'))!, /automatic address/);
  assert.match((await vac(MSG, 'me@example.com'))!, /is the user/);
  assert.match((await vac(msg(['From: a@x.org', 'To: me@example.com', 'Auto-Submitted: auto-replied'])))!, /Auto-Submitted/);
  assert.match((await vac(msg(['From: a@x.org', 'To: me@example.com', 'Precedence: bulk'])))!, /Precedence/);
  assert.match((await vac(msg(['From: a@x.org', 'To: me@example.com', 'List-Id: <l.x.org>'])))!, /List-Id/);
  assert.match((await vac(msg(['From: a@x.org', 'To: someone@example.com'])))!, /not in To/);
  assert.equal(await vac(msg(['From: a@x.org', 'Cc: "Me" <ME@example.com>'])), undefined);
  const two = await run('require "vacation"; vacation "a"; vacation "b";');
  assert.match(two.error!.message, /only one vacation/);
});

test('editheader: actions after an edit carry the edited message; protected fields stay', { timeout: 30000 }, async () => {
  const r = await run('require ["editheader", "fileinto"]; fileinto "before"; addheader "X-Spam" "yes"; '
    + 'deleteheader "subject"; deleteheader "received"; fileinto "after";');
  const [before, after] = r.actions;
  assert.equal(before.type === 'fileinto' && before.message, undefined);
  assert.ok(after.type === 'fileinto' && after.message !== undefined);
  const text = (after as { message: Buffer }).message.toString();
  assert.match(text, /^X-Spam: yes\r\nFrom: alice@example.org\r\n/);
  assert.doesNotMatch(text, /Subject:/);
  assert.match(text, /\r\n\r\ntext\r\n$/);
  const prot = await runScript(parsed('require "editheader"; deleteheader "Received";'), {
    message: msg(['Received: by x', 'Subject: y']), envelope: ENV,
  });
  assert.equal(prot.actions[0].type === 'keep' && prot.actions[0].message, undefined);
  assert.match(prot.log[0].message, /protected/);
  const utf = await run('require "editheader"; addheader :last "X-Note" "caf\u00e9"; keep;');
  assert.match((utf.actions[0] as { message: Buffer }).message.toString(), /X-Note: =\?UTF-8\?B\?Y2Fmw6k=\?=\r\n\r\n/);
});

test('include: loops and missing scripts fail the run into implicit keep with the reason', { timeout: 30000 }, async () => {
  const scripts: Record<string, string> = {
    a: 'require "include"; include "b";',
    b: 'require "include"; include "a";',
    self: 'require "include"; include "self";',
  };
  const include = (name: string) => scripts[name] ?? null;
  const loop = await run('require "include"; include "a";', { include });
  assert.match(loop.error!.message, /include: loop/);
  assert.deepEqual(loop.actions, [{ type: 'keep', flags: [], implicit: true }]);
  const main = await run('require "include"; include "self";', { include, scriptName: 'main' });
  assert.match(main.error!.message, /loop/);
  const missing = await run('require "include"; include "nope";', { include });
  assert.match(missing.error!.message, /not found/);
  // a never-ending chain of distinct names ends at the depth limit
  let n = 0;
  const chain = await run('require "include"; include "s0";', { include: () => `require "include"; include "s${++n}";` });
  assert.match(chain.error!.message, /nested more than 10 deep/);
});

test('limits: actions, redirects and steps end in implicit keep with the reason', { timeout: 30000 }, async () => {
  const many = await run(`require "fileinto"; ${Array.from({ length: 40 }, (_, i) => `fileinto "f${i}";`).join(' ')}`);
  assert.match(many.error!.message, /too many actions/);
  const redirects = await run(Array.from({ length: 6 }, (_, i) => `redirect "r${i}@example.net";`).join(' '));
  assert.match(redirects.error!.message, /too many redirects/);
  const steps = await runScript(parsed('if header :contains "subject" "x" { keep; }'), { message: MSG, envelope: ENV }, { maxSteps: 2 });
  assert.match(steps.error!.message, /step limit/);
  assert.deepEqual(steps.actions, [{ type: 'keep', flags: [], implicit: true }]);
});

test('imap4flags: the internal variable reaches the implicit keep', { timeout: 30000 }, async () => {
  const r = await run('require "imap4flags"; addflag ["\\\\Seen", "$Work"]; removeflag "$work"; addflag "\\\\seen \\\\Flagged";');
  assert.deepEqual(r.actions, [{ type: 'keep', flags: ['\\Seen', '\\Flagged'], implicit: true }]);
});

test('subaddress with another delimiter, and envelope auth', { timeout: 30000 }, async () => {
  const r = await run('require ["envelope", "subaddress", "fileinto", "variables"]; '
    + 'if envelope :detail :matches "to" "*" { fileinto "d-${1}"; } if envelope :is "auth" "me@example.com" { discard; }',
  { envelope: { from: 'a@x.org', to: 'me-tag@example.com', auth: 'me@example.com' }, recipientDelimiter: '-' });
  assert.deepEqual(r.actions.map((a) => a.type === 'fileinto' ? a.mailbox : a.type), ['d-tag']);
});

test('regex: a pattern that starts with an assertion still searches every position (fuzz find)', { timeout: 30000 }, async () => {
  const r = await run('require ["regex", "fileinto"]; if header :regex "subject" "$" { fileinto "end"; } '
    + 'if header :regex "subject" "^i" { fileinto "never"; } if header :regex "subject" "i$" { fileinto "i-end"; }');
  assert.deepEqual(r.actions.map((a) => a.type === 'fileinto' ? a.mailbox : a.type), ['end', 'i-end']);
});
