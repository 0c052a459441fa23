// Runs the lab server from the command line (demo / manual testing):
//   node dist/deploy/lab/main.js [--port 8443] [--host 127.0.0.1] [--ca-dir DIR] [--user name:password]…
//                                [--manual-approval SECONDS] [--approve-after N] [--validity-days N]
// Prints the URL and the root CA certificate (the TA to configure on devices); stops on SIGINT/SIGTERM.
import { createLabServer, type LabServerOptions } from './server.js';

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

const server = await createLabServer(parseArgs(process.argv.slice(2)));
process.stdout.write(`url=${server.url}\nest=${server.estUrl()}\n${server.trustAnchorPem}`);
const stop = (): void => void server.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
