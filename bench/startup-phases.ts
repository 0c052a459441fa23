// Where the time to READY=1 goes: `node dist/bench/startup-phases.js <config.json>` replays what `enrolld run` does
// before READY (import the composition root, compose the agent: TPM open + SRK + stale-transient flush, TA/CRL
// stores, state; the daemon's bootstrap = state load) and prints one JSON line of phase times in ms, measured from
// process start (performance.timeOrigin), so node's own boot is the first phase.
const t = (): number => performance.now();
const tImportStart = t();
const { composeAgent } = await import('../agent/cli/compose.js');
const { loadConfig } = await import('../agent/config.js');
const tImported = t();
const config = loadConfig(process.argv[2]!);
const agent = await composeAgent(config);
const tComposed = t();
await agent.enroller.bootstrap();
const tReady = t();
await agent.close();
process.stdout.write(
  JSON.stringify({ nodeBoot: tImportStart, importModules: tImported - tImportStart, compose: tComposed - tImported, bootstrap: tReady - tComposed, total: tReady }) + '\n',
);
