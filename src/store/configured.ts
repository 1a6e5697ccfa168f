import type { Config } from '../config/types.js';
import { openStore, type OpenStoreOptions, type Stores } from './open.js';
import { openPostgresStore } from './postgres/open.js';

/**
 * The store [store] names: SQLite on data_dir (the embedded default), or PostgreSQL at `url`
 * for several nodes. `o` applies to SQLite; PostgreSQL has no writer thread (the database
 * server is the writer) and sweeps orphan bodies when `sweepOrphans` is set.
 */
export async function openConfiguredStore(cfg: Config, o: Omit<OpenStoreOptions, 'dataDir'>): Promise<Stores> {
  const st = cfg.store;
  if (st.backend === 'postgresql') {
    return openPostgresStore({
      url: st.url!, passwordFile: st.password_file, poolSize: st.pool_size,
      nodeId: st.node_id, blobDir: st.blob_dir, sweepOrphans: o.sweepOrphans,
    });
  }
  return openStore({ dataDir: cfg.data_dir, ...o });
}
