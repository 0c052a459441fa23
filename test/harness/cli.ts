// Runs the compiled `enrolld` CLI as a child process. Asynchronous on purpose: a lab server in the test's own
// process must keep answering while the CLI talks to it.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ENROLLD_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/cli/main.js');

export function runCli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ENROLLD_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
