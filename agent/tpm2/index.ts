// TPM 2.0 structures in TypeScript (the native addon only moves marshalled bytes).
export * from './constants.js';
export * from './errors.js';
export * from './marshal.js';
export * from './public.js';
export * from './signature.js';
export * from './attest.js';
export * from './pcr.js';
export * from './capability.js';
export * from './nv.js';
export * from './sensitive.js';
export * from './handles.js';
export * as TPM2 from './commands.js';
export type { Marshalled, MarshalledOut, TpmCommand } from './commands.js';
export * from './ecc-point.js';
