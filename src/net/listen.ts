import type { Server } from 'node:net';
import type { ListenAddress } from '../config/types.js';
import { takeInherited } from '../privileges/socket-activation.js';

/**
 * Binds a service's server to one configured address; rejects with the bind error (EACCES,
 * EADDRINUSE...) so that server.ts can say which port failed and why. A socket systemd passed
 * for that address (privileges/socket-activation.ts) is used instead of binding.
 */
export function listenOn(server: Server, listen: ListenAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    const handle = takeInherited(listen.host, listen.port);
    if (handle) server.listen(handle, done);
    else server.listen(listen.port, listen.host, done);
  });
}
