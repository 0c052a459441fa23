// No hot loop over CMC (RFC 5272 over EST /fullcmc): the invariant in test/harness/no-hot-loop.ts.
import { test } from 'uvu';
import { noHotLoopTests } from '../harness/no-hot-loop.js';

noHotLoopTests(test, 'cmc');

test.run();
