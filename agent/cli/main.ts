#!/usr/bin/env node
// enrolld — command line: run | once | status | provision | kek | enroll --now | pal | fleet | demo | help
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_PATH, loadConfig, ConfigError } from '../config.js';
import { composeAgent } from './compose.js';
import { readPalSummary } from '../status/pal-summary.js';
import { stateLayout } from '../store/layout.js';
import path from 'node:path';
import { renderStatus, statusView, wakeReason, type StatusExtras } from './status-view.js';
import { readFeatureStatus } from '../status/feature-status.js';
import { readDownloadProgress } from '../packages/firmware/progress.js';
import { readDecryptionKeyStatus } from '../features/cmc/decryption-key-state.js';
import { FileStateStore } from '../store/state-store.js';
import { STATE_SCHEMA, isAgentState, type AgentState } from '../lifecycle/state.js';
import { loadAddon } from '../keystore/addon.js';
import { EnrolldError } from '../util/errors.js';
import { loadCert } from '../pki/lazy-modules.js';
import { fetchPalPage } from '../protocols/est/pal.js';
import { parsePal, describePackageType } from '../pal/index.js';
import { readNextRun, writeNextRun } from './next-run.js';
import { commandUsage, configUsage, findCommand, mainUsage } from './help.js';


/** Files `enrolld status` shows besides the state: the last firmware download, the per-feature outcomes, the CMC decryption key. */
async function readExtras(stateDir: string): Promise<StatusExtras> {
  const [firmwareDownload, features, decryptionKey] = await Promise.all([readDownloadProgress(stateLayout(stateDir).firmwareDir), readFeatureStatus(stateDir), readDecryptionKeyStatus(stateDir)]);
  return { ...(firmwareDownload ? { firmwareDownload } : {}), features, ...(decryptionKey ? { decryptionKey } : {}) };
}

function notify(state: string): void {
  try {
    loadAddon().sdNotify?.(state);
  } catch {
    /* no addon or no socket: nothing to tell */
  }
}

/** `help`, `--help` and `-h` anywhere: answered before any command runs (and before its options are parsed). */
function help(argv: string[]): number | undefined {
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const first = argv.find((a, i) => !a.startsWith('-') && argv[i - 1] !== '--config');
  if (first === 'help') {
    const topic = argv.slice(argv.indexOf('help') + 1).find((a) => !a.startsWith('-'));
    if (topic === undefined) return (process.stdout.write(mainUsage() + '\n'), 0);
    if (topic === 'config') return (process.stdout.write(configUsage() + '\n'), 0);
    if (!findCommand(topic)) return (process.stderr.write(`enrolld: unknown command '${topic}'\n${mainUsage()}\n`), 2);
    return (process.stdout.write(commandUsage(topic) + '\n'), 0);
  }
  if (!wantsHelp) return undefined;
  if (first !== undefined && findCommand(first)) return (process.stdout.write(commandUsage(first) + '\n'), 0);
  if (first !== undefined) return (process.stderr.write(`enrolld: unknown command '${first}'\n${mainUsage()}\n`), 2);
  return (process.stdout.write(mainUsage() + '\n'), 0);
}

async function main(argv: string[]): Promise<number> {
  const answered = help(argv);
  if (answered !== undefined) return answered;
  // Loaded on demand: manufacture provisioning is not on `enrolld run`'s start-up path.
  if (argv[0] === 'provision') return (await import('./provision.js')).runProvisionCli(argv.slice(1));
  if (argv[0] === 'kek') return (await import('./kek.js')).runKekCli(argv.slice(1));
  if (argv[0] === 'fleet') return (await import('./fleet.js')).runFleetCli(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', default: DEFAULT_CONFIG_PATH },
      json: { type: 'boolean', default: false },
      now: { type: 'boolean', default: false },
      protocol: { type: 'string' },
      server: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'metrics-file': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command] = positionals;
  if (!command) {
    process.stderr.write(mainUsage() + '\n');
    return 2;
  }
  switch (command) {
    case 'demo': {
      // Loaded on demand; the demo finds the lab server (deploy/lab/) only in a development tree (the .deb ships neither).
      let runDemo: typeof import('./demo.js').runDemo;
      try {
        ({ runDemo } = await import('./demo.js'));
        // the demo prints the TA store's anchors (TrustAnchor.subject): their decoder is loaded with it
        await loadCert();
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw cause;
        throw new EnrolldError('cli.demo', 'the demo needs the lab server from the source tree (deploy/lab/); this build does not include it', { cause });
      }
      await runDemo({ ...(values.protocol ? { protocol: values.protocol } : {}), ...(values.server ? { server: values.server } : {}), verbose: values.verbose });
      return 0;
    }
    case 'status': {
      const config = loadConfig(values.config);
      const store = new FileStateStore<AgentState>({ dir: config.stateDir, version: STATE_SCHEMA, validate: isAgentState });
      const view = statusView(await store.load(), await readPalSummary(config.stateDir), await readNextRun(config.stateDir), await readExtras(config.stateDir));
      process.stdout.write((values.json ? JSON.stringify(view, null, 2) : renderStatus(view)) + '\n');
      return 0;
    }
    case 'once':
    case 'enroll': {
      if (command === 'enroll' && !values.now) throw new ConfigError('enroll', 'use `enrolld enroll --now`');
      const config = loadConfig(values.config);
      const agent = await composeAgent(config);
      let state: AgentState;
      try {
        state = await agent.enroller.loadState();
        const daemon = agent.daemon();
        if (command === 'once') state = await daemon.iterate(state, { pollNow: true });
        else state = (await agent.enroller.step({ force: true })).state;
        if (command === 'once') {
          const wake = daemon.nextWake(state);
          await writeNextRun(config.stateDir, wake, 'once', new Date(), wakeReason(state, agent.enroller.nextDue(state), wake)).catch((err) => agent.log.warn('status.next-run-write-failed', { err }));
        }
      } finally {
        await agent.close();
      }
      process.stdout.write(renderStatus(statusView(state, await readPalSummary(config.stateDir), await readNextRun(config.stateDir), await readExtras(config.stateDir))) + '\n');
      return state.retry?.kind === 'failed' ? 1 : 0;
    }
    case 'pal': {
      const agent = await composeAgent(loadConfig(values.config));
      try {
        const page = await fetchPalPage(agent.est.ctx);
        const entries = parsePal(page.body, page.contentType);
        for (const e of entries) {
          const info = Object.entries(e.info).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v)}`).join(' ');
          process.stdout.write(`${e.type} ${describePackageType(e.type).padEnd(40)} ${e.date ? e.date.toISOString() : '-'.padEnd(24)} size=${e.size} ${info}\n`);
        }
        if (entries.length === 0) process.stdout.write('(empty PAL)\n');
        return 0;
      } finally {
        await agent.close();
      }
    }
    case 'run': {
      // MQTT status connects after READY=1: mqtt.js and the node modules it requires are not on the start-up path
      const agent = await composeAgent(loadConfig(values.config), { deferStatusConnect: true });
      const metricsFile = values['metrics-file'];
      const ac = new AbortController();
      const stop = (sig: string): void => {
        agent.log.info('daemon.signal', { signal: sig });
        notify('STOPPING=1');
        ac.abort();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      // systemd watchdog (sd_watchdog_enabled(3)): ping at half of WATCHDOG_USEC while the event loop is alive,
      // since the daemon may sleep for hours between iterations.
      const usec = Number(process.env.WATCHDOG_USEC);
      const forUs = !process.env.WATCHDOG_PID || Number(process.env.WATCHDOG_PID) === process.pid;
      const watchdog = Number.isFinite(usec) && usec > 0 && forUs ? setInterval(() => notify('WATCHDOG=1'), Math.max(1, Math.floor(usec / 2000))) : undefined;
      watchdog?.unref();
      const daemon = agent.daemon({
        onReady: (s) => {
          notify(`READY=1\nSTATUS=${s.phase}`);
          agent.status.start?.();
        },
        onIdle: (s, next) => {
          notify(`WATCHDOG=1\nSTATUS=${s.phase}, next wake ${next.toISOString()}`);
          const dir = agent.config.stateDir;
          void writeNextRun(dir, next, 'run', new Date(), wakeReason(s, agent.enroller.nextDue(s), next)).catch((err) => agent.log.warn('status.next-run-write-failed', { err }));
          if (metricsFile) {
            void (async () => {
              const { writeMetricsFile } = await import('../status/metrics.js');
              const { features, firmwareDownload } = await readExtras(dir);
              await writeMetricsFile(metricsFile, { state: s, features: features ?? {}, ...(firmwareDownload ? { firmwareDownload } : {}), nextWake: next, now: new Date() });
            })().catch((err) => agent.log.warn('status.metrics-write-failed', { err, file: metricsFile }));
          }
        },
      });
      try {
        await daemon.run(ac.signal);
      } finally {
        if (watchdog) clearInterval(watchdog);
        await agent.close();
      }
      return 0;
    }
    default:
      process.stderr.write(`enrolld: unknown command '${command}'\n${mainUsage()}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = (err as { code?: unknown })?.code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      // node:util parseArgs: unknown option, missing value, unexpected argument.
      process.stderr.write(`enrolld: ${(err as Error).message}\n(see \`enrolld help\`)\n`);
      process.exitCode = 2;
    } else if (err instanceof ConfigError) {
      process.stderr.write(`enrolld: configuration error: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof EnrolldError) {
      process.stderr.write(`enrolld: ${err.code}: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`enrolld: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
