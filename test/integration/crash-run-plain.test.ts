// The crash proof of crash-run.test.ts against the plain RFC 7030 profile (no PAL, Basic demanded after TLS client
// auth, a CA that rewrites the subject, 202 + Retry-After on some iterations), with the key in swtpm.
import { test } from 'uvu';
import { registerCrashTests } from '../harness/crash-run.js';

registerCrashTests(['plain']);
test.run();
