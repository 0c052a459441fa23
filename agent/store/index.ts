export {
  writeFileAtomic,
  readFileIfExists,
  removeIfExists,
  removeStaleTemps,
  ensurePrivateDir,
  fsyncDir,
  FILE_MODE,
  DIR_MODE,
  type WriteOptions,
} from './atomic-file.js';
export { encodeEnvelope, decodeEnvelope, sha256Hex, type Envelope, type FileProblem, type Decoded } from './envelope.js';
export { DocumentStore, documentAt, type DocumentStoreOptions, type StateStore, type LoadResult, type LoadSource, type SaveResult } from './document-store.js';
export { FileStateStore, type StateStoreOptions } from './state-store.js';
export * as layout from './layout.js';
export { BlobStore, type BlobParts, type BlobStoreOptions } from './blob-store.js';
export { StateCorruptError, BlobCorruptError, StoreUsageError, type FileReport } from './errors.js';
