// Runs the lab server from the command line (demo / manual testing):
//   node dist/deploy/lab/main.js [--port 8443] [--host 127.0.0.1] [--ca-dir DIR] [--user name:password]…
//                                [--manual-approval SECONDS] [--approve-after N] [--validity-days N]
//   node dist/deploy/lab/main.js --profile plain [--port N] [--host H] [--user name:password]… [--retry-after S|none]
//                                [--csrattrs p384|p256|rsa3072|rsa2048|template|none] [--serverkeygen pkcs1|pkcs8]
//                                [--no-http-auth] [--validity-days N]
// Prints the URL and the root CA certificate (the TA to configure on devices); stops on SIGINT/SIGTERM.
import { createLabServer, type LabServerOptions } from './server.js';
import { createPlainLabServer, type PlainLabOptions } from './plain/server.js';

type Flags = Record<string, (value: () => string) => void>;

/** Walks argv: each flag's handler pulls its value with `value()`; unknown flags are errors. */
function parseFlags(argv: string[], flags: Flags): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const handler = flags[a];
    if (!handler) throw new Error(`unknown argument ${a}`);
    handler(() => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    });
  }
}

/** Flags both profiles take. */
function commonFlags(o: { port?: number; host?: string; users?: Record<string, string>; certValiditySeconds?: number }): Flags {
  return {
    '--port': (v) => (o.port = Number(v())),
    '--host': (v) => (o.host = v()),
    '--user': (v) => {
      const [name, ...pw] = v().split(':');
      o.users![name!] = pw.join(':');
    },
    '--validity-days': (v) => (o.certValiditySeconds = Number(v()) * 86_400),
  };
}

function parseArgs(argv: string[]): LabServerOptions {
  const o: LabServerOptions = { users: {}, log: (l) => console.error(l) };
  parseFlags(argv, {
    ...commonFlags(o),
    '--ca-dir': (v) => (o.caDir = v()),
    '--manual-approval': (v) => (o.manualApproval = { ...o.manualApproval, retryAfterSeconds: Number(v()) }),
    '--approve-after': (v) => (o.manualApproval = { ...o.manualApproval, approveAfterPolls: Number(v()) }),
  });
  return o;
}

function parsePlainArgs(argv: string[]): PlainLabOptions {
  const o: PlainLabOptions = { users: {}, log: (l) => console.error(l) };
  parseFlags(argv, {
    ...commonFlags(o),
    '--retry-after': (v) => {
      const x = v();
      o.retryAfterSeconds = x === 'none' ? null : Number(x);
    },
    '--csrattrs': (v) => {
      const x = v();
      if (x === 'none') o.csrAttrs = null;
      else if (x === 'template') o.csrAttrs = { form: 'template' };
      else if (['p384', 'p256', 'rsa3072', 'rsa2048'].includes(x)) o.csrAttrs = { key: x as 'p384' };
      else throw new Error(`--csrattrs ${x}: one of p384, p256, rsa3072, rsa2048, template, none`);
    },
    '--serverkeygen': (v) => {
      const x = v();
      if (x !== 'pkcs1' && x !== 'pkcs8') throw new Error('--serverkeygen pkcs1|pkcs8');
      o.serverKeygenFormat = x;
    },
    '--no-http-auth': () => (o.httpAuth = false),
  });
  return o;
}

const args = process.argv.slice(2);
const plain = args[0] === '--profile' && args[1] === 'plain';
if (args[0] === '--profile' && !plain && args[1] !== 'default') throw new Error(`--profile ${args[1]}: default or plain`);
const server = plain ? await createPlainLabServer(parsePlainArgs(args.slice(2))) : await createLabServer(parseArgs(args[0] === '--profile' ? args.slice(2) : args));
process.stdout.write(`url=${server.url}\nest=${server.estUrl()}\n${server.trustAnchorPem}`);
const stop = (): void => void server.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
