// Runs the lab server from the command line (demo / manual testing):
//   node dist/deploy/lab/main.js [--port 8443] [--host 127.0.0.1] [--ca-dir DIR] [--user name:password]…
//                                [--manual-approval SECONDS] [--approve-after N] [--validity-days N]
//   node dist/deploy/lab/main.js --profile plain [--port N] [--host H] [--user name:password]… [--retry-after S|none]
//                                [--csrattrs p384|p256|rsa3072|rsa2048|template|none] [--serverkeygen pkcs1|pkcs8]
//                                [--no-http-auth] [--validity-days N]
// Prints the URL and the root CA certificate (the TA to configure on devices); stops on SIGINT/SIGTERM.
import { createLabServer, type LabServerOptions } from './server.js';
import { createPlainLabServer, type PlainLabOptions } from './plain/server.js';

function parseArgs(argv: string[]): LabServerOptions {
  const o: LabServerOptions = { users: {}, log: (l) => console.error(l) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    switch (a) {
      case '--port': o.port = Number(v()); break;
      case '--host': o.host = v(); break;
      case '--ca-dir': o.caDir = v(); break;
      case '--user': {
        const [name, ...pw] = v().split(':');
        o.users![name!] = pw.join(':');
        break;
      }
      case '--manual-approval': o.manualApproval = { ...o.manualApproval, retryAfterSeconds: Number(v()) }; break;
      case '--approve-after': o.manualApproval = { ...o.manualApproval, approveAfterPolls: Number(v()) }; break;
      case '--validity-days': o.certValiditySeconds = Number(v()) * 86_400; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  return o;
}

function parsePlainArgs(argv: string[]): PlainLabOptions {
  const o: PlainLabOptions = { users: {}, log: (l) => console.error(l) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    switch (a) {
      case '--port': o.port = Number(v()); break;
      case '--host': o.host = v(); break;
      case '--user': {
        const [name, ...pw] = v().split(':');
        o.users![name!] = pw.join(':');
        break;
      }
      case '--retry-after': { const x = v(); o.retryAfterSeconds = x === 'none' ? null : Number(x); break; }
      case '--csrattrs': {
        const x = v();
        if (x === 'none') o.csrAttrs = null;
        else if (x === 'template') o.csrAttrs = { form: 'template' };
        else if (['p384', 'p256', 'rsa3072', 'rsa2048'].includes(x)) o.csrAttrs = { key: x as 'p384' };
        else throw new Error(`--csrattrs ${x}: one of p384, p256, rsa3072, rsa2048, template, none`);
        break;
      }
      case '--serverkeygen': { const x = v(); if (x !== 'pkcs1' && x !== 'pkcs8') throw new Error('--serverkeygen pkcs1|pkcs8'); o.serverKeygenFormat = x; break; }
      case '--no-http-auth': o.httpAuth = false; break;
      case '--validity-days': o.certValiditySeconds = Number(v()) * 86_400; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
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
