import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { imapServer, loggedIn, msg } from './client.js';
import type { TestServer } from '../helpers/server.js';

/**
 * Issue 9 item 8 (IMAP part): names in another user's tree get one answer whether the user
 * is unknown, the mailbox is missing, or the caller may not see it (RFC 4314 6).
 * Issue 9 item 12 (IMAP part): APPEND, COPY and MOVE drop the flags the caller has no right
 * to set (RFC 4314 4).
 */
let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test', 'usr2@example.test']);
  const owner = await loggedIn(srv, 'usr2@example.test');
  try {
    for (const cmd of ['CREATE Secret', 'CREATE DropI', 'SETACL DropI usr1@example.test i', 'CREATE Drop', 'SETACL Drop usr1@example.test lri', 'CREATE DropS', 'SETACL DropS usr1@example.test lris']) {
      assert.match((await owner.cmd(cmd)).tagged, /OK/, cmd);
    }
  } finally {
    owner.close();
  }
});
after(async () => {
  await srv?.stop();
});

const GHOST = 'Other Users/ghost@example.test';
const REAL = 'Other Users/usr2@example.test';
/** Unknown user; real user, missing mailbox; real mailbox without any right; with "i" only. */
const HIDDEN = [`${GHOST}/INBOX`, `${GHOST}/Secret`, `${GHOST}`, `${REAL}/Nope`, `${REAL}/INBOX`, `${REAL}/Secret`, `${REAL}/DropI`];

/** The tagged answer without its tag. */
const answer = (tagged: string) => tagged.replace(/^\S+ /, '');

test('privacy: every command answers the same for unknown users, missing and hidden mailboxes', { timeout: 60000 }, async () => {
  const c = await loggedIn(srv);
  try {
    assert.match((await c.cmdLiteral('APPEND INBOX (\\Seen)', msg('one'))).tagged, /OK/);
    const commands: ((name: string) => Promise<string>)[] = [
      async (n) => (await c.cmd(`SELECT "${n}"`)).tagged,
      async (n) => (await c.cmd(`EXAMINE "${n}"`)).tagged,
      async (n) => (await c.cmd(`STATUS "${n}" (MESSAGES)`)).tagged,
      async (n) => (await c.cmd(`GETACL "${n}"`)).tagged,
      async (n) => (await c.cmd(`MYRIGHTS "${n}"`)).tagged,
      async (n) => (await c.cmd(`LISTRIGHTS "${n}" anyone`)).tagged,
      async (n) => (await c.cmd(`SETACL "${n}" usr1@example.test lr`)).tagged,
      async (n) => (await c.cmd(`GETQUOTAROOT "${n}"`)).tagged,
      async (n) => (await c.cmd(`SUBSCRIBE "${n}"`)).tagged,
      async (n) => (await c.cmd(`DELETE "${n}"`)).tagged,
      async (n) => (await c.cmd(`RENAME "${n}" "${n}2"`)).tagged,
      async (n) => (await c.cmd(`CREATE "${n}/Sub"`)).tagged,
      async (n) => (await c.cmdLiteral(`APPEND "${n}" (\\Seen)`, msg('probe'))).tagged,
      async (n) => {
        assert.match((await c.cmd('SELECT INBOX')).tagged, /OK/);
        const copy = (await c.cmd(`COPY 1 "${n}"`)).tagged;
        const move = (await c.cmd(`MOVE 1 "${n}"`)).tagged;
        assert.equal(answer(move), answer(copy).replace('COPY', 'MOVE'), 'MOVE answers like COPY');
        await c.cmd('UNSELECT');
        return copy;
      },
    ];
    for (const run of commands) {
      const answers = new Set<string>();
      const seen: string[] = [];
      for (const n of HIDDEN) {
        const a = answer(await run(n));
        answers.add(a);
        seen.push(`${n}: ${a}`);
      }
      assert.equal(answers.size, 1, `one answer for all:\n${seen.join('\n')}`);
      assert.match([...answers][0], /^(NO|BAD) /, seen[0]);
      assert.doesNotMatch([...answers][0], /user/i, seen[0]);
    }
    // LIST shows only what is shared with "l": nothing of the ghost, usr2's Drop and DropS.
    const visible = [`* LIST (\\HasNoChildren) "/" "${REAL}/Drop"`, `* LIST (\\HasNoChildren) "/" "${REAL}/DropS"`];
    for (const [n, want] of [[GHOST, []], [REAL, visible]] as const) {
      assert.deepEqual((await c.cmd(`LIST "" "${n}/*"`)).untagged, want, `LIST ${n}/*`);
      assert.deepEqual((await c.cmd(`LIST "${n}/" "%"`)).untagged, want, `LIST ${n}/ %`);
      assert.deepEqual((await c.cmd(`LSUB "" "${n}/*"`)).untagged, [], `LSUB ${n}/*`);
    }
    // A mailbox shared with "l" is visible: the answers there may differ (RFC 4314 6).
    assert.match((await c.cmd(`STATUS "${REAL}/Drop" (MESSAGES)`)).tagged, /OK/);
  } finally {
    c.close();
  }
});

async function flagsIn(box: string): Promise<string[]> {
  const owner = await loggedIn(srv, 'usr2@example.test');
  try {
    assert.match((await owner.cmd(`EXAMINE ${box}`)).tagged, /OK/);
    const r = await owner.cmd('FETCH 1:* (FLAGS)');
    return r.untagged.filter((l) => / FETCH /.test(l)).map((l) => /FLAGS \(([^)]*)\)/.exec(l)![1]);
  } finally {
    owner.close();
  }
}

test('flags: APPEND drops \\Seen without "s", \\Deleted without "t", the rest without "w" (RFC 4314 4)', { timeout: 60000 }, async () => {
  const c = await loggedIn(srv);
  try {
    const flags = '(\\Seen \\Deleted \\Flagged \\Answered $Label)';
    assert.match((await c.cmdLiteral(`APPEND "${REAL}/Drop" ${flags}`, msg('drop'))).tagged, /OK \[APPENDUID/);
    assert.match((await c.cmdLiteral(`APPEND "${REAL}/DropS" ${flags}`, msg('drops'))).tagged, /OK \[APPENDUID/);
    assert.deepEqual(await flagsIn('Drop'), ['']);
    assert.deepEqual(await flagsIn('DropS'), ['\\Seen']);
    // The user's own mailboxes keep every flag.
    assert.match((await c.cmdLiteral(`APPEND Archive ${flags}`, msg('own'))).tagged, /OK/);
    assert.match((await c.cmd('EXAMINE Archive')).tagged, /OK/);
    const own = (await c.cmd('FETCH 1 (FLAGS)')).untagged.join();
    for (const f of ['\\Seen', '\\Deleted', '\\Flagged', '\\Answered', '$Label']) assert.ok(own.includes(f), `${f} in ${own}`);
  } finally {
    c.close();
  }
});

test('flags: COPY and MOVE into a mailbox without "s"/"w"/"t" drop the flags too', { timeout: 60000 }, async () => {
  const c = await loggedIn(srv);
  try {
    assert.match((await c.cmdLiteral('APPEND Junk (\\Seen \\Flagged $Tag)', msg('copied'))).tagged, /OK/);
    assert.match((await c.cmdLiteral('APPEND Junk (\\Seen \\Flagged $Tag)', msg('moved'))).tagged, /OK/);
    assert.match((await c.cmd('SELECT Junk')).tagged, /OK/);
    const before = { drop: (await flagsIn('Drop')).length, dropS: (await flagsIn('DropS')).length };
    assert.match((await c.cmd(`COPY 1 "${REAL}/Drop"`)).tagged, /OK \[COPYUID/);
    assert.match((await c.cmd(`MOVE 2 "${REAL}/DropS"`)).tagged, /OK/);
    const drop = await flagsIn('Drop');
    const dropS = await flagsIn('DropS');
    assert.equal(drop.length, before.drop + 1);
    assert.equal(drop[drop.length - 1], '');
    assert.equal(dropS.length, before.dropS + 1);
    assert.equal(dropS[dropS.length - 1], '\\Seen');
    // The original keeps its flags.
    assert.match((await c.cmd('FETCH 1 (FLAGS)')).untagged.join(), /\\Seen \\Flagged \$Tag|\\Flagged \\Seen \$Tag/);
  } finally {
    c.close();
  }
});

