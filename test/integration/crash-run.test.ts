// kill -9 of `enrolld run` at random points of its own progress during enrollment and re-enrollment, against the
// default lab profile: after every kill the next start loads a valid state and no credential still within its
// validity is lost; at the end the device holds a usable credential (valid now, its key signs in the TPM, the
// certificate certifies that key) with no TPM object left behind. `--profile lab,plain --iterations N` for the long form.
import { test } from 'uvu';
import { registerCrashTests } from '../harness/crash-run.js';

registerCrashTests(['lab']);
test.run();
