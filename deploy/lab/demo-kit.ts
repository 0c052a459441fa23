// What `enrolld demo` uses of the lab, in one module: the demo finds this file in a development tree
// (dist/deploy/lab/demo-kit.js next to deploy/lab/) and imports it at run time; installed packages carry no lab.
export { startLabEnv, startPlainLabEnv } from './environment.js';
export { createAttestationCa, labAkCertifier } from './attestation.js';
export { FirmwareLab } from './firmware.js';
export { labPal } from './pal.js';
export { registerAcmeHandlers } from './acme.js';
export { registerCmpHandlers } from './cmp.js';
export { registerCmcHandlers } from './cmc.js';
export { LabCa } from './ca.js';
export { certificatePem } from './pki/cert.js';
export { subjectAltName } from './pki/issue.js';
