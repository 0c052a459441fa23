export * from '../../deploy/lab/environment.js';
