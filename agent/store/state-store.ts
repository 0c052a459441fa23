// The lifecycle's state document (state.json): a DocumentStore with the agent-state kind; every transition of the
// lifecycle is one save (see document-store.ts for the files and the crash guarantees).
import { DocumentStore, type DocumentStoreOptions } from './document-store.js';
import { STATE_FILE } from './layout.js';

export type StateStoreOptions<T> = Omit<DocumentStoreOptions<T>, 'name' | 'kind'> & {
  /** File name (default "state.json"); the previous copy is `<name>.prev`. */
  name?: string;
  /** Document kind recorded in the file (default "enrolld-state"). */
  kind?: string;
};

export class FileStateStore<T> extends DocumentStore<T> {
  constructor(options: StateStoreOptions<T>) {
    super({ ...options, name: options.name ?? STATE_FILE, kind: options.kind ?? 'enrolld-state' });
  }
}

export { DocumentStore, type StateStore, type LoadResult, type LoadSource, type SaveResult } from './document-store.js';
