// RFC 8295 §2.3 processing order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KIND_RANK, PACKAGE_TYPES, orderByPrecedence, type PalEntry } from '../../agent/pal/index.js';

const e = (type: string, tag: number, date?: string): PalEntry =>
  date
    ? { type, size: tag, date: new Date(date), info: { kind: 'uri', uri: `https://e.example/${type}/${tag}` } }
    : { type, size: tag, info: { kind: 'uri', uri: `https://e.example/${type}/${tag}` } };

test('§2.3 groups: cacerts, crls, csrattrs, enrollment, products, then receipts/errors', () => {
  const input = [
    e('0027', 1), // firmware receipt (return)
    e('0026', 2), // firmware
    e('0003', 3), // eecerts
    e('0007', 4), // start DS enrollment
    e('0030', 5), // trust anchor update (/tamp)
    e('0006', 6), // csrattrs
    e('0005', 7), // CRL
    e('0002', 8), // CA certs
    e('0024', 9), // symmetric key
    e('0021', 10), // asymmetric key (serverkeygen)
    e('0004', 11), // ARL
    e('0031', 12), // TA update confirm (return)
  ];
  const { ordered, setAside } = orderByPrecedence(input);
  assert.equal(setAside, []);
  assert.equal(ordered.map((o) => o.entry.type), ['0002', '0005', '0004', '0006', '0007', '0021', '0026', '0003', '0030', '0024', '0027', '0031']);
  assert.equal(ordered.map((o) => o.index), [7, 6, 10, 5, 3, 9, 1, 2, 4, 8, 0, 11]);
});

test('stable within a kind: the server order is kept', () => {
  const input = [e('0010', 1), e('0007', 2), e('0014', 3), e('0017', 4), e('0002', 5), e('0002', 6), e('0005', 7), e('0004', 8)];
  const { ordered } = orderByPrecedence(input);
  assert.equal(ordered.map((o) => o.entry.size), [5, 6, 7, 8, 1, 2, 3, 4]);
});

test('last group: packages not yet downloaded (no date) go first (§2.3 SHOULD)', () => {
  const input = [e('0026', 1, '2020-01-01T00:00:00Z'), e('0024', 2), e('0028', 3, '2021-01-01T00:00:00Z'), e('0003', 4)];
  const { ordered } = orderByPrecedence(input);
  assert.equal(ordered.map((o) => o.entry.size), [2, 4, 1, 3]);
  // Dates do not reorder the other groups.
  const certs = orderByPrecedence([e('0002', 1, '2020-01-01T00:00:00Z'), e('0002', 2)]).ordered;
  assert.equal(certs.map((o) => o.entry.size), [1, 2]);
});

test('unknown, reserved and chain-pointer types are set aside, not fatal', () => {
  const input = [e('0042', 1), e('0002', 2), e('0000', 3), e('9999', 4), e('0001', 5)];
  const { ordered, setAside } = orderByPrecedence(input);
  assert.equal(ordered.map((o) => o.index), [1]);
  assert.equal(
    setAside.map((s) => [s.index, s.reason]),
    [
      [0, 'unknown-type'],
      [2, 'reserved-type'],
      [3, 'unknown-type'],
      [4, 'chain-pointer'],
    ],
  );
});

test('every defined type except 0000/0001 has a rank; receipts rank after all retrievals', () => {
  for (const info of Object.values(PACKAGE_TYPES)) {
    if (info.kind === 'reserved' || info.kind === 'pal') continue;
    assert.type(KIND_RANK[info.kind], 'number');
  }
  const maxRetrieval = Math.max(...Object.entries(KIND_RANK).filter(([k]) => k !== 'return').map(([, v]) => v));
  assert.ok(KIND_RANK.return > maxRetrieval);
});

test.run();
