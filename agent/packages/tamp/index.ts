export { TampManager, type TampConfig, type TampOutcome, DEFAULT_ADDED_USES, DEFAULT_TAMP_MAX_BYTES, TAMP_TYPES } from './manager.js';
export { TampStateFile, type TampStateDoc } from './state.js';
export { TampFailure } from './failure.js';
export { verifyTampMessage } from './verify.js';
