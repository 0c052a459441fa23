import { readFileSync } from 'node:fs';
import net from 'node:net';

/** True when nothing listens on 127.0.0.1:port and we can bind it. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** The kernel's ephemeral (outgoing) port range; a listener placed inside it can lose its port to any client socket. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12000 ? low : 32768;
  } catch {
    return 32768;
  }
}

/**
 * Finds `count` consecutive free loopback ports (swtpm needs a server and a control port side by side), below the
 * ephemeral range so that no outgoing connection takes one between this check and the server's bind.
 * Bounded: gives up after 200 attempts rather than looping.
 */
export async function freePorts(count = 1, host = '127.0.0.1'): Promise<number> {
  const low = 10000;
  const span = Math.max(1000, ephemeralLow() - low - count);
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = low + Math.floor(Math.random() * span);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portIsFree(base + i, host);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found on ${host}`);
}
