// One-shot firmware run in its own process: `node dist/agent/packages/firmware/standalone.js <job.json>`.
// Downloads/verifies/applies one package, returns the queued reports, and prints one JSON line with the outcome and
// memory figures (RSS after start-up = "idle", process.resourceUsage().maxRSS = peak). Used by the crash-resume
// integration test (kill -9 while paused mid-download) and by bench/firmware-apply.ts; handy for manual lab runs.
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { createHttpsTransport } from '../../protocols/http/transport.js';
import { certificatesFromPem, certificateToDer } from '../../pki/cert.js';
import { createStreamingHttpsClient } from './download.js';
import { FirmwareManager } from './manager.js';

export interface StandaloneJob {
  url: string;
  size: number;
  workDir: string;
  /** PEM trust anchors for the TLS server. */
  tlsTrustAnchorsPem: string;
  /** PEM firmware trust anchors. */
  firmwareTrustAnchorsPem: string;
  hwType: string;
  hwSerialHex: string;
  hookPath: string;
  hookEnv?: Record<string, string>;
  hookTimeoutMs?: number;
  returnUrl?: string;
  /** Test aid: once this many bytes are downloaded, print "PAUSED <n>" and stop making progress (to be killed). */
  pauseAfterBytes?: number;
}

/** Linux VmHWM (peak RSS since the last reset) in bytes, or undefined. */
async function vmHwm(): Promise<number | undefined> {
  const m = /VmHWM:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8').catch(() => ''));
  return m ? Number(m[1]) * 1024 : undefined;
}

export async function runJob(job: StandaloneJob): Promise<Record<string, unknown>> {
  // Reset the high-water mark so VmHWM covers this run only ("5" → clear_refs, Linux ≥ 4.0). maxRSS cannot be reset
  // and also carries the RSS of the process that spawned us when node used vfork: the benchmark spawns through sh.
  await writeFile('/proc/self/clear_refs', '5').catch(() => {});
  const idleRss = process.memoryUsage().rss;
  const fwTas = certificatesFromPem(job.firmwareTrustAnchorsPem).map(certificateToDer);
  let paused = false;
  const mgr = new FirmwareManager({
    workDir: job.workDir,
    device: { hwType: job.hwType, hwSerialNum: new Uint8Array(Buffer.from(job.hwSerialHex, 'hex')) },
    trustAnchors: async () => fwTas,
    hook: { path: job.hookPath, ...(job.hookEnv ? { env: job.hookEnv } : {}), ...(job.hookTimeoutMs ? { timeoutMs: job.hookTimeoutMs } : {}) },
    http: createStreamingHttpsClient({ trustAnchors: [job.tlsTrustAnchorsPem] }),
    transport: createHttpsTransport({ trustAnchors: [job.tlsTrustAnchorsPem] }),
    ...(job.returnUrl ? { returnUrl: job.returnUrl } : {}),
    ...(job.pauseAfterBytes !== undefined
      ? {
          onProgress: (n: number): void | Promise<void> => {
            if (paused || n < job.pauseAfterBytes!) return;
            paused = true;
            process.stdout.write(`PAUSED ${n}\n`);
            return new Promise<void>(() => {}); // never resumes: the test kills us
          },
        }
      : {}),
  });
  const t0 = Date.now();
  const outcome = await mgr.processPackage(job.url, job.size);
  const ret = await mgr.returnReports();
  const maxRssKb = process.resourceUsage().maxRSS;
  return {
    status: outcome.status,
    ...(outcome.status === 'applied'
      ? { name: outcome.name.toString(), bytes: outcome.download.bytes, resumedFrom: outcome.download.resumedFrom, imageSize: outcome.verified.imageSize }
      : { code: outcome.code, message: outcome.message }),
    returned: ret.sent.length,
    returnFailures: ret.failed.length,
    ms: Date.now() - t0,
    idleRssBytes: idleRss,
    peakRssBytes: maxRssKb * 1024,
    hwmRssBytes: await vmHwm(),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const job = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as StandaloneJob;
  runJob(job).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (e) => {
      process.stdout.write(JSON.stringify({ status: 'crashed', error: (e as Error).stack ?? String(e) }) + '\n');
      process.exit(1);
    },
  );
}
