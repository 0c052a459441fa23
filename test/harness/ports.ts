export * from '../../deploy/lab/ports.js';
