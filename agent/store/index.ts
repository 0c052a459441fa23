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
export { FileStateStore, type StateStore, type StateStoreOptions, type LoadResult, type LoadSource, type SaveResult } from './state-store.js';
export { BlobStore, type BlobParts, type BlobStoreOptions } from './blob-store.js';
export { StateCorruptError, BlobCorruptError, StoreUsageError, type FileReport } from './errors.js';
