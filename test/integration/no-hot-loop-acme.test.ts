// No hot loop over ACME (RFC 8555, remote-attest-01): the invariant in test/harness/no-hot-loop.ts.
import { test } from 'uvu';
import { noHotLoopTests } from '../harness/no-hot-loop.js';

noHotLoopTests(test, 'acme');

test.run();
