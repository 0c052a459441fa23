// A NOTIFY_SOCKET receiver for tests and benchmarks: Node has no AF_UNIX datagram sockets, so a small python3 child
// binds the socket (a path, or "@name" for the abstract namespace) and prints every datagram with the time it
// arrived on CLOCK_MONOTONIC (the clock behind process.hrtime on Linux), so callers can time "spawn → READY=1".
import { spawn, type ChildProcess } from 'node:child_process';

const RECEIVER = `
import socket, sys, time
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(('\\0' + addr[1:]) if addr.startswith('@') else addr)
print('ready', flush=True)
s.settimeout(float(sys.argv[2]))
try:
    while True:
        d = s.recv(4096)
        print('%d %s' % (time.clock_gettime_ns(time.CLOCK_MONOTONIC), d.decode().replace('\\n', '|')), flush=True)
except socket.timeout:
    pass
`;

export interface NotifyDatagram {
  /** Arrival time, CLOCK_MONOTONIC nanoseconds (comparable with process.hrtime.bigint()). */
  at: bigint;
  /** The datagram with newlines shown as "|". */
  text: string;
}

export interface NotifyReceiver {
  datagrams: NotifyDatagram[];
  /** Resolves with the first datagram (from index `from`) matching `re`; rejects after `ms`. */
  waitFor(re: RegExp, ms?: number, from?: number): Promise<NotifyDatagram>;
  close(): void;
}

/** Binds `addr` and resolves once it is listening. The receiver exits by itself after `idleSeconds` of silence. */
export function notifyReceiver(addr: string, idleSeconds = 60): Promise<NotifyReceiver> {
  const child: ChildProcess = spawn('python3', ['-c', RECEIVER, addr, String(idleSeconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const datagrams: NotifyDatagram[] = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`notify receiver exited (${code}) before binding ${addr}`)));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (l === 'ready') {
          resolve({
            datagrams,
            async waitFor(re, ms = 10_000, from = 0) {
              const end = Date.now() + ms;
              for (;;) {
                const hit = datagrams.slice(from).find((g) => re.test(g.text));
                if (hit) return hit;
                if (Date.now() > end) throw new Error(`no datagram matching ${re} within ${ms} ms: ${JSON.stringify(datagrams.map((g) => g.text))}`);
                await new Promise((r) => setTimeout(r, 5));
              }
            },
            close: () => {
              child.kill();
            },
          });
          continue;
        }
        const sp = l.indexOf(' ');
        if (sp > 0) datagrams.push({ at: BigInt(l.slice(0, sp)), text: l.slice(sp + 1) });
      }
    });
  });
}
