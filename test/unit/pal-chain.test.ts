// Following type 0001 "Additional PAL value present" (RFC 8295 §2, §2.1.1) through an injected fetch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PalChainError,
  followPalChain,
  loadPalChain,
  serializePalJson,
  serializePalXml,
  type PalEntry,
  type PalFetch,
} from '../../agent/pal/index.js';
import { EnrolldError } from '../../agent/util/errors.js';

const BASE = 'https://est.example.com/.well-known/est/pal';
const entry = (type: string, n: number): PalEntry => ({ type, size: n, info: { kind: 'uri', uri: `https://est.example.com/p/${type}/${n}` } });
const next = (uri: string): PalEntry => ({ type: '0001', size: 0, info: { kind: 'uri', uri } });

/** A fake server: uri → entries; pages alternate XML and JSON to cover both parsers. */
function server(pages: Record<string, PalEntry[]>): { fetch: PalFetch; calls: string[] } {
  const calls: string[] = [];
  let n = 0;
  const fetch: PalFetch = async (uri) => {
    calls.push(uri);
    const e = pages[uri];
    if (!e) throw new Error(`404 ${uri}`);
    return n++ % 2 === 0 ? { body: Buffer.from(serializePalXml(e)), contentType: 'application/xml' } : { body: serializePalJson(e), contentType: 'application/json' };
  };
  return { fetch, calls };
}

async function expectChainError(p: Promise<unknown>, code: string, path?: string): Promise<EnrolldError & { path?: string; uri?: string }> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, EnrolldError);
    const e = err as EnrolldError & { path?: string; uri?: string };
    assert.is(e.code, code, e.message);
    if (path !== undefined) assert.is(e.path, path, e.message);
    return e;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

test('three pages are flattened in order without the 0001 pointers', async () => {
  const s = server({
    [BASE]: [entry('0002', 1), entry('0005', 2), next(`${BASE}?p=2`)],
    [`${BASE}?p=2`]: [entry('0007', 3), next(`${BASE}?p=3`)],
    [`${BASE}?p=3`]: [entry('0026', 4), entry('0027', 5)],
  });
  const r = await loadPalChain(BASE, { fetch: s.fetch });
  assert.equal(r.entries.map((e) => e.size), [1, 2, 3, 4, 5]);
  assert.equal(r.sources, [
    { page: 0, index: 0 },
    { page: 0, index: 1 },
    { page: 1, index: 0 },
    { page: 2, index: 0 },
    { page: 2, index: 1 },
  ]);
  assert.equal(r.pages, [
    { uri: BASE, entries: 3 },
    { uri: `${BASE}?p=2`, entries: 2 },
    { uri: `${BASE}?p=3`, entries: 2 },
  ]);
  assert.equal(s.calls, [BASE, `${BASE}?p=2`, `${BASE}?p=3`]);
});

test('a first page already in hand (bare body, sniffed) and a single-page PAL', async () => {
  const s = server({ [`${BASE}/2`]: [entry('0003', 9)] });
  const r = await followPalChain(serializePalJson([entry('0002', 1), next(`${BASE}/2`)]), { fetch: s.fetch, firstUri: BASE });
  assert.equal(r.entries.map((e) => e.type), ['0002', '0003']);
  const single = await followPalChain(serializePalXml([entry('0002', 1)]), { fetch: s.fetch });
  assert.is(single.entries.length, 1);
  assert.equal(single.pages, [{ uri: undefined, entries: 1 }]);
  const empty = await followPalChain('[]', { fetch: s.fetch });
  assert.equal(empty.entries, []);
});

test('loop: a page pointing back to an earlier page is refused', async () => {
  const s = server({
    [BASE]: [entry('0002', 1), next(`${BASE}?p=2`)],
    [`${BASE}?p=2`]: [entry('0005', 2), next(`HTTPS://EST.example.com:443/.well-known/est/pal#again`)], // same URI, other spelling
  });
  const e = await expectChainError(loadPalChain(BASE, { fetch: s.fetch }), 'pal.chain.loop', 'pal.page[2]');
  assert.instance(e, PalChainError);
  assert.is(s.calls.length, 2);
  const self = server({ [BASE]: [entry('0002', 1), next(BASE)] });
  await expectChainError(loadPalChain(BASE, { fetch: self.fetch }), 'pal.chain.loop', 'pal.page[1]');
});

test('depth cap: an endless chain of distinct pages stops at maxDepth further pages', async () => {
  let fetched = 0;
  const fetch: PalFetch = async (uri) => {
    fetched++;
    const n = Number(new URL(uri).searchParams.get('p') ?? '0');
    return serializePalJson([entry('0002', n), next(`${BASE}?p=${n + 1}`)]);
  };
  await expectChainError(loadPalChain(BASE, { fetch, maxDepth: 3 }), 'pal.chain.depth', 'pal.page[3].entry[1]');
  assert.is(fetched, 4); // the first page + 3 further pages
  fetched = 0;
  await expectChainError(loadPalChain(BASE, { fetch }), 'pal.chain.depth');
  assert.is(fetched, 9); // default maxDepth 8
  // maxDepth 0: a 0001 on the first page is already too deep.
  await expectChainError(followPalChain(serializePalJson([entry('0002', 1), next(`${BASE}?p=1`)]), { fetch, maxDepth: 0 }), 'pal.chain.depth', 'pal.page[0].entry[1]');
});

test('total entries cap over all pages', async () => {
  const page = (n: number): PalEntry[] => [...Array.from({ length: 40 }, (_, i) => entry('0002', i)), next(`${BASE}?p=${n + 1}`)];
  const fetch: PalFetch = async (uri) => serializePalJson(page(Number(new URL(uri).searchParams.get('p') ?? '0')));
  await expectChainError(loadPalChain(BASE, { fetch, maxTotalEntries: 100 }), 'pal.chain.entries', 'pal.page[2]');
});

test('page errors carry the page in their path; fetch failures are wrapped', async () => {
  const bad = `[{"type":"0002","size":1,"info":{"uri":"https://e.example/x"}},{"type":"0002","size":-4,"info":{"uri":"https://e.example/y"}}]`;
  const fetch: PalFetch = async (uri) => (uri.endsWith('2') ? bad : serializePalJson([entry('0002', 1), next(`${BASE}/2`)]));
  const e = await expectChainError(loadPalChain(BASE, { fetch }), 'pal.format.size', 'pal.page[1].entry[1].size');
  assert.ok(e.message.includes(`${BASE}/2`));
  // A middle page whose 0001 is not last, or a page that is only a 0001.
  const notLast: PalFetch = async (uri) =>
    uri.endsWith('2') ? serializePalJson([entry('0002', 1)]).replace('[', `[{"type":"0001","size":0,"info":{"uri":"${BASE}/3"}},`) : serializePalJson([entry('0002', 1), next(`${BASE}/2`)]);
  await expectChainError(loadPalChain(BASE, { fetch: notLast }), 'pal.format.chain_not_last', 'pal.page[1].entry[0]');
  const alone: PalFetch = async (uri) => (uri.endsWith('2') ? `[{"type":"0001","size":0,"info":{"uri":"${BASE}/3"}}]` : serializePalJson([entry('0002', 1), next(`${BASE}/2`)]));
  await expectChainError(loadPalChain(BASE, { fetch: alone }), 'pal.format.chain_alone', 'pal.page[1].entry[0]');
  const failing: PalFetch = async () => {
    throw new Error('HTTP 503');
  };
  const f = await expectChainError(loadPalChain(BASE, { fetch: failing }), 'pal.chain.fetch', 'pal.page[0]');
  assert.ok(f.message.includes('HTTP 503'));
  // Oversized page: the byte cap applies to every page.
  const huge: PalFetch = async () => `[${' '.repeat(5000)}]`;
  await expectChainError(loadPalChain(BASE, { fetch: huge, maxBytes: 1000 }), 'pal.limit.bytes', 'pal.page[0]');
});

test('only http(s) next-page URIs are followed; abort is honoured', async () => {
  const fetch: PalFetch = async () => serializePalJson([entry('0002', 1), next('file:///etc/passwd')]);
  await expectChainError(loadPalChain(BASE, { fetch }), 'pal.chain.uri', 'pal.page[0].entry[1].info.uri');
  const ac = new AbortController();
  const slow: PalFetch = async () => {
    ac.abort();
    return serializePalJson([entry('0002', 1), next(`${BASE}/2`)]);
  };
  await expectChainError(loadPalChain(BASE, { fetch: slow, signal: ac.signal }), 'pal.chain.aborted', 'pal.page[1]');
  await expectChainError(followPalChain('[]', {} as never), 'pal.usage');
});

test.run();
