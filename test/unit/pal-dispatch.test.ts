// Dispatcher: §2.3 order, one entry at a time, failures recorded and survived, fatal failures stop the run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PackageHandlerRegistry,
  PalUsageError,
  dispatchPal,
  type HandlerResult,
  type PackageHandler,
  type PalEntry,
} from '../../agent/pal/index.js';
import { EnrolldError } from '../../agent/util/errors.js';
import { memoryLogger } from '../../agent/util/log.js';

const e = (type: string, tag: number): PalEntry => ({ type, size: tag, info: { kind: 'uri', uri: `https://e.example/${type}/${tag}` } });

interface Ctx {
  trace: string[];
}

function recorder(types: string[], behave: (entry: PalEntry) => Promise<HandlerResult> | HandlerResult = () => ({ status: 'ok' })): PackageHandler<Ctx> {
  let running = 0;
  return {
    types,
    async handle(entry, ctx) {
      running++;
      if (running > 1) throw new Error('handlers overlapped');
      ctx.shared.trace.push(`${entry.type}#${entry.size}@${ctx.position}`);
      await new Promise((r) => setTimeout(r, 1));
      try {
        return await behave(entry);
      } finally {
        running--;
      }
    },
  };
}

test('runs in precedence order, sequentially, with per-entry results', async () => {
  const reg = new PackageHandlerRegistry<Ctx>()
    .register(recorder(['0002', '0004', '0005']))
    .register(recorder(['0007', '0010']))
    .register(recorder(['0026', '0027']));
  const ctx: Ctx = { trace: [] };
  const report = await dispatchPal([e('0027', 1), e('0026', 2), e('0007', 3), e('0005', 4), e('0002', 5)], reg, { context: ctx });
  assert.equal(ctx.trace, ['0002#5@0', '0005#4@1', '0007#3@2', '0026#2@3', '0027#1@4']);
  assert.equal(report.results.map((r) => [r.index, r.status]), [
    [4, 'ok'],
    [3, 'ok'],
    [2, 'ok'],
    [1, 'ok'],
    [0, 'ok'],
  ]);
  assert.is(report.counts.ok, 5);
  assert.is(report.stopped, false);
});

test('a failing handler (returned or thrown) is recorded and the run continues', async () => {
  const reg = new PackageHandlerRegistry<Ctx>()
    .register(recorder(['0002']))
    .register(recorder(['0005'], () => ({ status: 'failed', code: 'crls.bad_signature', message: 'CRL signature invalid' })))
    .register(
      recorder(['0026'], () => {
        throw new EnrolldError('firmware.stale_version', 'older than installed');
      }),
    )
    .register(
      recorder(['0024'], () => {
        throw new TypeError('boom');
      }),
    )
    .register(recorder(['0003'], () => 'nonsense' as never));
  const log = memoryLogger();
  const lines = log.lines;
  const ctx: Ctx = { trace: [] };
  const report = await dispatchPal([e('0026', 1), e('0005', 2), e('0002', 3), e('0024', 4), e('0003', 5)], reg, { context: ctx, log });
  assert.equal(ctx.trace.length, 5);
  const byIndex = new Map(report.results.map((r) => [r.index, r]));
  assert.is(byIndex.get(2)!.status, 'ok');
  assert.equal([byIndex.get(1)!.status, byIndex.get(1)!.code], ['failed', 'crls.bad_signature']);
  assert.equal([byIndex.get(0)!.status, byIndex.get(0)!.code, byIndex.get(0)!.fatal], ['failed', 'firmware.stale_version', false]);
  assert.equal([byIndex.get(3)!.code, byIndex.get(3)!.message], ['pal.handler.exception', 'boom']);
  assert.is(byIndex.get(4)!.code, 'pal.handler.bad_result');
  assert.equal(report.counts, { ok: 1, failed: 4, 'skipped-unknown': 0, 'skipped-unhandled': 0, 'not-run': 0 });
  assert.ok(lines.some((l) => l.includes('pal.entry.failed') && l.includes('code=crls.bad_signature')));
});

test('a fatal failure stops the run; the rest is reported not-run', async () => {
  const fatalErr = Object.assign(new EnrolldError('tamp.apex_invalid', 'apex TA update rejected'), { fatal: true });
  const reg = new PackageHandlerRegistry<Ctx>()
    .register(recorder(['0002'], () => ({ status: 'failed', code: 'cacerts.untrusted', fatal: true })))
    .register(recorder(['0007']))
    .register(
      recorder(['0032'], () => {
        throw fatalErr;
      }),
    );
  const ctx: Ctx = { trace: [] };
  const r1 = await dispatchPal([e('0007', 1), e('0002', 2)], reg, { context: ctx });
  assert.equal(ctx.trace, ['0002#2@0']);
  assert.equal(r1.results.map((r) => [r.index, r.status]), [
    [1, 'failed'],
    [0, 'not-run'],
  ]);
  assert.is(r1.stopped, true);
  const r2 = await dispatchPal([e('0032', 1), e('0030', 2)], reg, { context: { trace: [] } });
  assert.equal(r2.results.map((r) => [r.status, r.fatal ?? null]), [
    ['failed', true],
    ['not-run', null],
  ]);
});

test('unknown, reserved and unhandled types are skipped and logged; 0001 is left to the chain', async () => {
  const reg = new PackageHandlerRegistry<Ctx>().register(recorder(['0002']));
  const log = memoryLogger();
  const lines = log.lines;
  const report = await dispatchPal([e('0042', 1), e('0002', 2), e('0000', 3), e('0026', 4), e('0001', 5)], reg, { context: { trace: [] }, log });
  assert.equal(report.results.map((r) => [r.index, r.status, r.code]), [
    [0, 'skipped-unknown', 'pal.dispatch.unknown_type'],
    [2, 'skipped-unknown', 'pal.dispatch.reserved_type'],
    [4, 'skipped-unhandled', 'pal.dispatch.chain_pointer'],
    [1, 'ok', undefined],
    [3, 'skipped-unhandled', 'pal.dispatch.no_handler'],
  ]);
  assert.ok(lines.some((l) => l.includes('pal.entry.skipped') && l.includes('type=0042')));
});

test('abort signal: the entries after the abort are not run', async () => {
  const ac = new AbortController();
  const reg = new PackageHandlerRegistry<Ctx>().register(
    recorder(['0002', '0005'], (entry) => {
      if (entry.type === '0002') ac.abort();
      return { status: 'ok' };
    }),
  );
  const report = await dispatchPal([e('0005', 1), e('0002', 2)], reg, { signal: ac.signal, context: { trace: [] } });
  assert.equal(report.results.map((r) => r.status), ['ok', 'not-run']);
  assert.is(report.stopped, true);
});

test('registry refuses bad registrations', () => {
  const reg = new PackageHandlerRegistry();
  reg.register({ types: ['0002'], handle: async () => ({ status: 'ok' }) });
  assert.throws(() => reg.register({ types: ['0002'], handle: async () => ({ status: 'ok' }) }), (err: unknown) => err instanceof PalUsageError);
  assert.throws(() => reg.register({ types: ['12'], handle: async () => ({ status: 'ok' }) }), (err: unknown) => err instanceof PalUsageError);
  assert.throws(() => reg.register({ types: ['0001'], handle: async () => ({ status: 'ok' }) }), (err: unknown) => err instanceof PalUsageError);
  assert.throws(() => reg.register({ types: [], handle: async () => ({ status: 'ok' }) }), (err: unknown) => err instanceof PalUsageError);
  assert.equal(reg.types(), ['0002']);
});

test.run();
