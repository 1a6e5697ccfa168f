import type { CommandSpec, Session } from '../session.js';
import { bad, no } from '../errors.js';
import { decodeName, need, permittedFlags, resolve } from '../names.js';
import { parseDateTime } from '../args.js';
import { newQueueId } from '../../queue/ids.js';
import { QuotaExceededError, type AppendRequest } from '../../store/types.js';
import { parseMessage } from '../../mime/parse.js';
import { indexText } from '../../mime/search-text.js';
import { toCrlf } from '../../mime/crlf.js';

/** Writes a message body, on disk (fsync) before the database row points at it. */
export async function writeBlob(s: Session, body: Buffer): Promise<string> {
  const w = await s.ctx.blobs.create(newQueueId());
  try {
    await w.write([body]);
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
  return w.id;
}

/**
 * What is recorded with a new body in the append's own transaction: its MIME tree (DESIGN.md:
 * parsed once) and its full-text index entry (src/store/search.ts).
 */
function bodyIndex(body: Buffer): NonNullable<AppendRequest['newBlob']> {
  const tree = parseMessage(body);
  return { mime: JSON.stringify(tree), text: indexText(tree, body) };
}

/** RFC 9051 6.3.12, RFC 3502 MULTIAPPEND, RFC 4315 APPENDUID, RFC 6855 UTF8, RFC 3516 literal8. */
export const appendCommands: Record<string, CommandSpec> = {
  APPEND: {
    states: ['authenticated', 'selected'],
    async run(s, c) {
      const name = decodeName(s, c.args.astringBytes('mailbox name'));
      const msgs: { flags: string[]; date: number; body: Buffer }[] = [];
      while (!c.args.done) {
        let flags: string[] = [];
        let date = Date.now();
        if (c.args.peek()?.kind === 'list') flags = c.args.flagList();
        const t = c.args.peek();
        if (t?.kind === 'string' && !t.literal) {
          const d = parseDateTime(c.args.string('date-time').toString('latin1'));
          if (d === null) throw bad('invalid date-time (dd-Mon-yyyy hh:mm:ss +zzzz)');
          date = d;
        }
        let body: Buffer;
        let binary = false;
        if (c.args.peekAtom('UTF8')) {
          c.args.atom();
          const l = c.args.list('UTF8 data');
          const tok = l.take('message literal');
          if (tok.kind !== 'string' || !tok.literal) throw bad('UTF8 needs a literal');
          l.end();
          body = tok.value;
          binary = tok.binary;
        } else {
          const tok = c.args.take('message literal');
          if (tok.kind !== 'string' || !tok.literal) throw bad('the message must be a literal');
          body = tok.value;
          binary = tok.binary;
        }
        msgs.push({ flags: flags.filter((f) => f !== '\\Recent'), date, body: binary ? body : toCrlf(body) });
      }
      if (!msgs.length) throw bad('APPEND needs a message');
      const r = await resolve(s, name);
      if (!r.mailbox) throw no(`no such mailbox ${name}`, 'TRYCREATE');
      need(r, 'i', 'APPEND');
      const mb = r.mailbox;
      const reqs: AppendRequest[] = [];
      const blobIds: string[] = [];
      try {
        for (const m of msgs) {
          if (!m.body.length) throw no('empty message', 'CANNOT');
          const blobId = await writeBlob(s, m.body);
          blobIds.push(blobId);
          reqs.push({ mailboxId: mb.id, blobId, size: m.body.length, internalDate: m.date, flags: permittedFlags(r.rights, m.flags), newBlob: bodyIndex(m.body) });
        }
        const recs = await s.ctx.store.appendAtomic(reqs);
        s.shared.notifier.changed(mb.id);
        const uids = recs.map((x) => x.uid);
        const uidSet = uids.length === 1 ? `${uids[0]}` : `${uids[0]}:${uids[uids.length - 1]}`;
        const fresh = await s.ctx.store.getMailboxById(mb.id);
        return { code: `APPENDUID ${fresh?.uidValidity ?? mb.uidValidity} ${uidSet}`, text: 'APPEND completed' };
      } catch (e) {
        // Nothing refers to them: the append was all or nothing.
        for (const id of blobIds) await s.ctx.blobs.remove(id).catch(() => undefined);
        if (e instanceof QuotaExceededError) throw no(`over quota: ${e.message}`, 'OVERQUOTA');
        throw e;
      }
    },
  },
};

