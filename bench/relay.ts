// A TCP relay in front of the lab server that counts the bytes of every connection in both directions: TLS records
// included (handshake, tickets, alerts), TCP/IP headers excluded. Lets the benchmarks measure "bytes on the wire"
// of an agent running in another process without touching it.
import net from 'node:net';

export interface RelayCounters {
  connections: number;
  /** client → server */
  up: number;
  /** server → client */
  down: number;
}

export interface Relay {
  port: number;
  url: string;
  snapshot(): RelayCounters;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number, host = '127.0.0.1'): Promise<Relay> {
  const c: RelayCounters = { connections: 0, up: 0, down: 0 };
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    c.connections++;
    const upstream = net.connect(targetPort, host);
    open.add(client).add(upstream);
    client.on('data', (d: Buffer) => (c.up += d.byteLength));
    upstream.on('data', (d: Buffer) => (c.down += d.byteLength));
    client.pipe(upstream);
    upstream.pipe(client);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `https://${host}:${port}`,
    snapshot: () => ({ ...c }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
