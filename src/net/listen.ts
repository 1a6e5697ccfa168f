import type { Server } from 'node:net';
import type { ListenAddress } from '../config/types.js';

/**
 * Binds a service's server to one configured address; rejects with the bind error (EACCES,
 * EADDRINUSE...) so that server.ts can say which port failed and why.
 */
export function listenOn(server: Server, listen: ListenAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
