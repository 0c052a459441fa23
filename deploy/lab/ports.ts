import net from 'node:net';

/** True when nothing listens on 127.0.0.1:port and we can bind it. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Finds `count` consecutive free loopback ports (swtpm needs a server and a control port side by side).
 * Bounded: gives up after 200 attempts rather than looping.
 */
export async function freePorts(count = 1, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portIsFree(base + i, host);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found on ${host}`);
}
