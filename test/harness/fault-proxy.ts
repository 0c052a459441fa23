// A loopback TCP proxy in front of a server (the lab), for network-fault tests: it forwards bytes untouched (TLS
// passes through end to end) unless a fault is set, and counts connections. Faults act on the server→client stream:
//   reset-after N   forward N bytes, then RST both sides (socket.resetAndDestroy)
//   truncate-after N forward N bytes, then FIN both sides (a clean but short close)
//   stall           accept and read, never forward or answer (the client must time out)
//   slow            forward server bytes one at a time every `slowMs` (slowloris-style drip)
//   close           accept, then close at once
//   answer          read one HTTP/1.1 request (headers + Content-Length body), reply with a canned status, headers and
//                   body, then close; the server never sees the request (an HTTP 503/429 in front of a real server)
// stop() closes the listener and every socket it holds.
import net from 'node:net';

export type Fault = { kind: 'pass' } | { kind: 'reset-after'; bytes: number } | { kind: 'truncate-after'; bytes: number } | { kind: 'stall' } | { kind: 'slow'; slowMs: number } | { kind: 'close' }
  | { kind: 'answer'; status: number; headers?: Record<string, string>; body?: string };

export interface FaultProxy {
  port: number;
  fault: Fault;
  readonly connections: number;
  /** Server→client bytes of the most recent connection (to aim a fault inside a response body). */
  readonly lastServerBytes: number;
  stop(): Promise<void>;
}

const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };

/** Reads one request (bounded to 1 MiB), then writes the canned response and closes. */
function answer(client: net.Socket, fault: Extract<Fault, { kind: 'answer' }>): void {
  let buf = Buffer.alloc(0);
  const onData = (d: Buffer): void => {
    buf = Buffer.concat([buf, d]);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0 && buf.length < 1 << 20) return;
    const length = /^content-length:\s*(\d+)/im.exec(buf.subarray(0, Math.max(0, end)).toString('latin1'));
    if (end >= 0 && length && buf.length - end - 4 < Number(length[1]) && buf.length < 1 << 20) return;
    client.off('data', onData);
    const body = Buffer.from(fault.body ?? '', 'utf8');
    const headers = { 'content-length': String(body.length), connection: 'close', ...fault.headers };
    const head = [`HTTP/1.1 ${fault.status} ${REASONS[fault.status] ?? 'Status'}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
    client.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body]));
  };
  client.on('data', onData);
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): net.Socket => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    return s;
  };
  const state = { connections: 0, lastServerBytes: 0, fault: { kind: 'pass' } as Fault };
  const server = net.createServer((client) => {
    track(client);
    state.connections++;
    const fault = state.fault;
    if (fault.kind === 'close') return void client.destroy();
    if (fault.kind === 'stall') return void client.resume();
    if (fault.kind === 'answer') return answer(client, fault);
    const upstream = track(net.connect(target.port, target.host));
    client.pipe(upstream);
    let sent = 0;
    state.lastServerBytes = 0;
    const timers: NodeJS.Timeout[] = [];
    upstream.on('data', (chunk: Buffer) => {
      state.lastServerBytes += chunk.length;
      if (fault.kind === 'pass') return void client.write(chunk);
      if (fault.kind === 'slow') {
        upstream.pause();
        let i = 0;
        const drip = (): void => {
          if (client.destroyed) return;
          if (i >= chunk.length) return void upstream.resume();
          client.write(chunk.subarray(i, ++i));
          timers.push(setTimeout(drip, fault.slowMs));
        };
        return drip();
      }
      const room = fault.bytes - sent;
      if (room > 0) client.write(chunk.subarray(0, room));
      sent += chunk.length;
      if (sent >= fault.bytes) {
        if (fault.kind === 'reset-after') {
          client.resetAndDestroy();
          upstream.resetAndDestroy();
        } else {
          client.end();
          upstream.destroy();
        }
      }
    });
    upstream.on('end', () => client.end());
    client.on('close', () => {
      timers.forEach(clearTimeout);
      upstream.destroy();
    });
    upstream.on('close', () => {
      if (fault.kind === 'pass') client.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get fault() {
      return state.fault;
    },
    set fault(f: Fault) {
      state.fault = f;
    },
    get connections() {
      return state.connections;
    },
    get lastServerBytes() {
      return state.lastServerBytes;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
