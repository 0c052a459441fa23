// The swtpm launcher lives with the lab environment (the demo uses it too).
export * from '../../deploy/lab/swtpm.js';
