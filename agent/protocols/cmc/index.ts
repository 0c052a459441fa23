// CMC (RFC 5272/5273/6402) over EST /fullcmc.
export * from './constants.js';
export * from './errors.js';
export * from './body-part-reference.js';
export * from './tagged-attribute.js';
export * from './tagged-request.js';
export * from './tagged-content-info.js';
export * from './other-msg.js';
export * from './pki-data.js';
export * from './pki-response.js';
export * from './cmc-status-info-v2.js';
export * from './controls.js';
export * from './signed-message.js';
export * from './request.js';
export * from './response.js';
export * from './enrollment.js';
