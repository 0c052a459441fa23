// No hot loop over CMP (RFC 9483 over HTTPS): the invariant in test/harness/no-hot-loop.ts.
import { test } from 'uvu';
import { noHotLoopTests } from '../harness/no-hot-loop.js';

noHotLoopTests(test, 'cmp');

test.run();
