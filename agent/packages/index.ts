// Public surface of the package handlers (RFC 8295 package kinds) and the PAL poller.
export * from './context.js';
export * from './common.js';
export * from './cacerts.js';
export * from './crls.js';
export * from './eecerts.js';
export * from './enrollment.js';
export * from './registry.js';
export * from './pal-poller.js';
