// bdSeq ("birth/death sequence") persistence: one number per device, incremented for every MQTT connection so a
// consumer can tell which connection a state (and the Last Will's st=lost) belongs to, across restarts.
// The default store is a small file in the state dir (one decimal number: not a DocumentStore, it is written
// synchronously and a damaged file has its own never-backwards fallback below), written crash-safely with the
// store's writeFileAtomicSync. Loading never throws; saving never throws into the publisher (failures are logged).
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../store/atomic-file.js';
import { BDSEQ_FILE, bdseqPath } from '../store/layout.js';
import type { Logger } from '../util/log.js';

export interface BdSeqStore {
  /** The last persisted bdSeq (0 when none was ever saved). */
  load(): number;
  save(n: number): void;
}

export { BDSEQ_FILE };
/** bdSeq stays a CBOR uint32 (5 bytes at most on the wire). */
export const BDSEQ_MAX = 0xffffffff;

export class MemoryBdSeqStore implements BdSeqStore {
  saves = 0;
  constructor(private n = 0) {}
  load(): number {
    return this.n;
  }
  save(n: number): void {
    this.n = n;
    this.saves++;
  }
}

export class FileBdSeqStore implements BdSeqStore {
  readonly file: string;
  constructor(stateDirOrFile: string, private readonly log?: Logger, private readonly now: () => Date = () => new Date()) {
    this.file = bdseqPath(stateDirOrFile);
  }

  load(): number {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log?.warn('status.bdseq.unreadable', { file: this.file, err });
      return 0;
    }
    const m = /^\s*(\d{1,10})\s*$/.exec(text);
    const n = m ? Number(m[1]) : NaN;
    if (Number.isSafeInteger(n) && n <= BDSEQ_MAX) return n;
    // A corrupt file must not make bdSeq go backwards (consumers drop states with an older bd): continue from the
    // current time in seconds, which is larger than any realistic count of connections.
    const fallback = Math.floor(this.now().getTime() / 1000) % BDSEQ_MAX;
    this.log?.warn('status.bdseq.corrupt', { file: this.file, continueAt: fallback });
    return fallback;
  }

  save(n: number): void {
    try {
      writeFileAtomicSync(this.file, `${n}\n`);
    } catch (err) {
      this.log?.warn('status.bdseq.save-failed', { file: this.file, err });
    }
  }
}

export function nextBdSeq(n: number): number {
  return n >= BDSEQ_MAX ? 1 : n + 1;
}
