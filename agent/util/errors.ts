/** Base of every typed error enrolld raises. `code` is a stable, machine-readable identifier (used in logs and MQTT status). */
export class EnrolldError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
