import type { Config } from '../config/types.js';
import { UsageError } from './args.js';
import { checkNewDir, migrateStore, openSide } from '../store/migrate.js';

/**
 * `correo store migrate --to postgres://USER@HOST/DB` (or `--to sqlite:DIR`, the way back):
 * copies the configured store into a new one and verifies it (store/migrate.ts). The server
 * must be stopped. The target's password comes from PGPASSWORD, never from the command line.
 * Afterwards, point [store] at the target and start the server.
 */
export async function storeCommand(cfg: Config, args: string[], opts: Record<string, string | true>): Promise<number> {
  const [sub] = args;
  if (sub !== 'migrate') throw new UsageError('use: correo store migrate --to postgres://USER@HOST:PORT/DB | sqlite:DIR');
  const to = opts.to;
  if (typeof to !== 'string' || !to) throw new UsageError('store migrate needs --to postgres://USER@HOST:PORT/DB or --to sqlite:DIR');
  if (/^postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(to)) throw new UsageError('--to must not hold the password: set PGPASSWORD instead');
  const toPg = /^postgres(ql)?:\/\//.test(to);
  if (!toPg && !to.startsWith('sqlite:')) throw new UsageError(`--to ${to}: expected postgres://... or sqlite:DIR`);
  if (toPg === (cfg.store.backend === 'postgresql')) throw new UsageError(`the configured store is already ${cfg.store.backend}; migrate copies to the other backend`);
  if (!toPg) checkNewDir(to.slice('sqlite:'.length));
  const source = cfg.store.backend === 'postgresql' ? cfg.store.url! : `sqlite:${cfg.data_dir}`;
  const from = await openSide(source, { passwordFile: cfg.store.password_file });
  try {
    const target = await openSide(to);
    try {
      console.log(`copying ${from.describe} to ${target.describe}`);
      const r = await migrateStore(from, target, (line) => console.log(line));
      console.log(`verified: ${r.tables.reduce((n, [, k]) => n + k, 0)} rows in ${r.tables.length} tables and ${r.bodies} bodies, the same on both sides`);
      console.log(toPg
        ? `now set [store] backend = "postgresql" and url = "${to}" in ${cfg.file}, then start the server`
        : `now set [store] backend = "sqlite" and data_dir = "${to.slice('sqlite:'.length)}" in ${cfg.file}, then start the server`);
      return 0;
    } finally {
      await target.close();
    }
  } finally {
    await from.close();
  }
}
