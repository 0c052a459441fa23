// Public surface of the EST client (RFC 7030).
export * from './constants.js';
export * from './errors.js';
export * from './base64-body.js';
export * from './context.js';
export * from './response.js';
export * from './certs-only-response.js';
export * from './cacerts.js';
export * from './csrattrs.js';
export * from './enroll-response.js';
export * from './simpleenroll.js';
export * from './simplereenroll.js';
export { EstClient } from './client.js';
export * from './package-uri.js';
export * from './pal.js';
export * from './eecerts.js';
export * from './crls.js';
