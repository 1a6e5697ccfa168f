import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { QuotaExceededError } from '../../src/store/types.js';
import { backends, blobGone, deliver, eventually, userWithInbox, withStore } from './backends.js';

const DEFAULTS = [['Archive', '\\Archive'], ['Drafts', '\\Drafts'], ['INBOX', null], ['Junk', '\\Junk'], ['Sent', '\\Sent'], ['Trash', '\\Trash']];

/**
 * Store conformance: accounts, mailboxes (RFC 9051 6.3), subscriptions (6.3.7), ACLs
 * (RFC 4314) and quotas (RFC 9208).
 */
for (const backend of backends) {
  describe(`store conformance (${backend.name}): accounts and mailboxes`, { timeout: 30_000, skip: backend.skip ?? false }, () => {
    test('users: created lower-cased with the default folders, found by address and id, passwords kept, deleted with their mail', () => withStore(backend, async (h) => {
      const s = h.store;
      const u = await s.createUser('Usr1@Example.TEST', 'hash1');
      assert.equal(u.address, 'usr1@example.test');
      await assert.rejects(s.createUser('usr1@example.test', 'x'), 'one account per address');
      const boxes = await s.listMailboxes(u.id);
      assert.deepEqual(boxes.map((b) => [b.name, b.specialUse]), DEFAULTS);
      assert.ok(boxes.every((b) => b.uidNext === 1 && b.uidValidity > 0 && b.userId === u.id));
      assert.deepEqual(await s.listSubscriptions(u.id), DEFAULTS.map(([n]) => n), 'new folders are subscribed');

      assert.deepEqual(await s.getUser('USR1@example.test'), u);
      assert.deepEqual(await s.getUserById(u.id), u);
      assert.equal(await s.getUser('nobody@example.test'), null);
      assert.equal(await s.getUserById(u.id + 1000), null);
      const v = await s.createUser('a@example.test', 'hash2');
      assert.deepEqual((await s.listUsers()).map((x) => x.address), ['a@example.test', 'usr1@example.test']);

      assert.equal(await s.getPasswordHash('usr1@example.test'), 'hash1');
      assert.equal(await s.setPasswordHash('USR1@example.test', 'hash3'), true);
      assert.equal(await s.setPasswordHash('nobody@example.test', 'x'), false);
      await h.reopen();
      assert.equal(await h.store.getPasswordHash('usr1@example.test'), 'hash3');
      assert.equal(await h.store.getPasswordHash('nobody@example.test'), null);

      const inbox = (await h.store.getMailbox(u.id, 'INBOX'))!;
      const m = await deliver(h, inbox.id, 'mine');
      const vInbox = (await h.store.getMailbox(v.id, 'INBOX'))!;
      const kept = await deliver(h, vInbox.id, 'theirs');
      assert.equal(await h.store.deleteUser('usr1@example.test'), true);
      assert.equal(await h.store.deleteUser('usr1@example.test'), false);
      assert.equal(await h.store.getUser('usr1@example.test'), null);
      assert.equal(await h.store.getMailboxById(inbox.id), null);
      assert.deepEqual(await h.store.listMailboxes(u.id), []);
      await eventually('the deleted user\'s bodies collected', () => blobGone(h, m.blobId));
      assert.match((await h.readBlob(kept.blobId)).toString(), /theirs/, 'other users keep theirs');
    }));

    test('mailboxes: create, find, list in name order, refuse a duplicate; a recreated name gets a new UIDVALIDITY', () => withStore(backend, async (h) => {
      const { user } = await userWithInbox(h);
      const a = await h.store.createMailbox(user.id, 'Work', null);
      const b = await h.store.createMailbox(user.id, 'Work/2026', '\\Archive');
      assert.equal(b.specialUse, '\\Archive');
      assert.equal(a.uidNext, 1);
      await assert.rejects(h.store.createMailbox(user.id, 'Work'));
      assert.deepEqual(await h.store.getMailbox(user.id, 'Work'), a);
      assert.deepEqual(await h.store.getMailboxById(b.id), b);
      assert.equal(await h.store.getMailbox(user.id, 'work'), null, 'names other than INBOX are case-sensitive');
      assert.deepEqual((await h.store.listMailboxes(user.id)).map((m) => m.name).filter((n) => n.startsWith('Work')), ['Work', 'Work/2026']);

      await deliver(h, a.id, 'x');
      await h.store.deleteMailbox(a.id);
      assert.equal(await h.store.getMailbox(user.id, 'Work'), null);
      assert.ok(await h.store.getMailbox(user.id, 'Work/2026'), 'DELETE leaves the children (RFC 9051 6.3.5)');
      const again = await h.store.createMailbox(user.id, 'Work');
      assert.notEqual(again.uidValidity, a.uidValidity, 'RFC 9051 2.3.1.1: a new mailbox of the same name, a new UIDVALIDITY');
      assert.equal(again.uidNext, 1);
      assert.deepEqual(await h.store.listMessages(again.id), []);
    }));

    test('rename moves the children along and keeps UIDVALIDITY and messages', () => withStore(backend, async (h) => {
      const { user } = await userWithInbox(h);
      const p = await h.store.createMailbox(user.id, 'Old');
      const c = await h.store.createMailbox(user.id, 'Old/Child');
      const other = await h.store.createMailbox(user.id, 'Older');
      const m = await deliver(h, c.id, 'in child');
      await h.store.renameMailbox(user.id, 'Old', 'New/Place');
      const np = (await h.store.getMailbox(user.id, 'New/Place'))!;
      const nc = (await h.store.getMailbox(user.id, 'New/Place/Child'))!;
      assert.equal(np.id, p.id);
      assert.equal(np.uidValidity, p.uidValidity);
      assert.equal(nc.id, c.id);
      assert.deepEqual((await h.store.listMessages(nc.id)).map((x) => x.uid), [m.uid]);
      assert.equal(await h.store.getMailbox(user.id, 'Old'), null);
      assert.equal((await h.store.getMailbox(user.id, 'Older'))?.id, other.id, '"Older" is not under "Old/"');
    }));

    test('subscriptions are names: on, off, for names that do not exist; CREATE adds none, DELETE removes the mailbox\'s, RENAME moves them', () => withStore(backend, async (h) => {
      const { user } = await userWithInbox(h);
      const box = await h.store.createMailbox(user.id, 'Lists');
      assert.ok(!(await h.store.listSubscriptions(user.id)).includes('Lists'), 'issue 10.1: CREATE does not subscribe');
      assert.equal((await h.store.getMailbox(user.id, 'Lists'))!.subscribed, false);
      await h.store.setSubscribed(user.id, 'Lists', true);
      await h.store.setSubscribed(user.id, 'Not/There', true);
      await h.store.setSubscribed(user.id, 'Junk', false);
      await h.store.setSubscribed(user.id, 'Junk', false);
      await h.reopen();
      let subs = await h.store.listSubscriptions(user.id);
      assert.ok(subs.includes('Lists') && subs.includes('Not/There'));
      assert.ok(!subs.includes('Junk'));
      assert.deepEqual(subs, [...subs].sort(), 'in name order');
      const other = await h.store.createUser('b@example.test', 'h');
      assert.ok(!(await h.store.listSubscriptions(other.id)).includes('Lists'), 'per user');

      // Issue 10.1: RENAME takes the subscriptions of the mailbox and its children along.
      await h.store.createMailbox(user.id, 'Lists/Sub');
      await h.store.createMailbox(user.id, 'Listsx');
      await h.store.setSubscribed(user.id, 'Lists/Sub', true);
      await h.store.setSubscribed(user.id, 'Listsx', true);
      await h.store.setSubscribed(user.id, 'Mail', true);
      await h.store.renameMailbox(user.id, 'Lists', 'Mail');
      subs = await h.store.listSubscriptions(user.id);
      assert.ok(subs.includes('Mail') && subs.includes('Mail/Sub') && subs.includes('Listsx'), subs.join(' '));
      assert.ok(!subs.includes('Lists') && !subs.includes('Lists/Sub'), subs.join(' '));
      // Names with characters outside the BMP are cut where they should be.
      await h.store.createMailbox(user.id, '\u{1F4EC}/Kid');
      await h.store.setSubscribed(user.id, '\u{1F4EC}/Kid', true);
      await h.store.renameMailbox(user.id, '\u{1F4EC}', 'Post');
      assert.ok(await h.store.getMailbox(user.id, 'Post/Kid'));
      assert.ok((await h.store.listSubscriptions(user.id)).includes('Post/Kid'));
      // DELETE takes the owner's subscription of that name, not the children's.
      await h.store.deleteMailbox((await h.store.getMailbox(user.id, 'Mail'))!.id);
      subs = await h.store.listSubscriptions(user.id);
      assert.ok(!subs.includes('Mail') && subs.includes('Mail/Sub') && subs.includes('Not/There'), subs.join(' '));
      void box;
    }));

    test('ACL: set, replace, remove; shared mailboxes are found by identifier and by "anyone", never one\'s own', () => withStore(backend, async (h) => {
      const { user: owner } = await userWithInbox(h, 'owner@example.test');
      await h.store.createUser('reader@example.test', 'h');
      const box = await h.store.createMailbox(owner.id, 'Shared');
      const pub = await h.store.createMailbox(owner.id, 'Public');
      await h.store.setAcl(box.id, 'reader@example.test', 'lr');
      await h.store.setAcl(box.id, 'reader@example.test', 'lrsw');
      await h.store.setAcl(box.id, 'owner@example.test', 'lrswipkxtecda');
      await h.store.setAcl(pub.id, 'anyone', 'lr');
      assert.deepEqual(await h.store.getAcl(box.id), [
        { identifier: 'owner@example.test', rights: 'lrswipkxtecda' },
        { identifier: 'reader@example.test', rights: 'lrsw' },
      ]);
      const shared = await h.store.sharedWith('reader@example.test');
      assert.deepEqual(shared.map((s) => [s.owner, s.mailbox.name, s.rights]), [['owner@example.test', 'Public', 'lr'], ['owner@example.test', 'Shared', 'lrsw']]);
      assert.deepEqual((await h.store.sharedWith('owner@example.test')).map((s) => s.mailbox.name), [], 'not one\'s own mailboxes');

      await h.store.setAcl(box.id, 'reader@example.test', null);
      await h.reopen();
      assert.deepEqual((await h.store.getAcl(box.id)).map((e) => e.identifier), ['owner@example.test']);
      assert.deepEqual((await h.store.sharedWith('reader@example.test')).map((s) => s.mailbox.name), ['Public']);
      await h.store.deleteMailbox(pub.id);
      assert.deepEqual(await h.store.sharedWith('reader@example.test'), [], 'a deleted mailbox takes its ACL along');
    }));

    test('quota: usage counts every mailbox of the user, limits are set, kept, removed, and enforced on append and copy', () => withStore(backend, async (h) => {
      const { user, inbox } = await userWithInbox(h);
      const other = await h.store.createMailbox(user.id, 'Other');
      assert.deepEqual(await h.store.getQuota(user.id), { storageLimit: null, messageLimit: null, bytes: 0, messages: 0 });
      const a = await deliver(h, inbox.id, 'a');
      const b = await deliver(h, other.id, 'b');
      assert.deepEqual(await h.store.getQuota(user.id), { storageLimit: null, messageLimit: null, bytes: a.size + b.size, messages: 2 });

      await h.store.setQuota(user.id, 1, undefined);
      await h.store.setQuota(user.id, undefined, 10);
      assert.deepEqual(await h.store.getQuota(user.id), { storageLimit: 1, messageLimit: 10, bytes: a.size + b.size, messages: 2 }, 'undefined keeps a limit');

      // STORAGE is in units of 1024 octets: a 1 KiB limit and a body that does not fit.
      await assert.rejects(deliver(h, inbox.id, 'big', { body: 'x'.repeat(1024) }), (e: unknown) => e instanceof QuotaExceededError && e.resource === 'STORAGE' && e.limit === 1);
      await h.store.setQuota(user.id, undefined, 2);
      await assert.rejects(h.store.copyMessages(inbox.id, [a.uid], other.id, false), (e: unknown) => e instanceof QuotaExceededError && e.resource === 'MESSAGE');
      await h.store.setQuota(user.id, undefined, 10);
      assert.equal((await h.store.listMessages(other.id)).length, 1, 'a copy over quota copies nothing');
      assert.equal((await h.store.getQuota(user.id)).messages, 2);

      await h.store.setQuota(user.id, null, undefined);
      await h.reopen();
      assert.deepEqual(await h.store.getQuota(user.id), { storageLimit: null, messageLimit: 10, bytes: a.size + b.size, messages: 2 });
      await h.store.expungeUids(inbox.id, [a.uid]);
      assert.deepEqual(await h.store.getQuota(user.id), { storageLimit: null, messageLimit: 10, bytes: b.size, messages: 1 }, 'expunge frees its share');
      await h.store.deleteMailbox(other.id);
      assert.equal((await h.store.getQuota(user.id)).messages, 0, 'so does deleting a mailbox');
      await h.store.setQuota(user.id, undefined, null);
      assert.deepEqual(await h.store.getQuota(user.id), { storageLimit: null, messageLimit: null, bytes: 0, messages: 0 });
    }));
  });
}
