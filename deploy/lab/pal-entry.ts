// RFC 8295 §2.1 a PAL entry as the lab's package services hand it to the tests (pal.setPal): the package type, the
// size (0 = "begin a transaction / return a receipt or error") and where to fetch or post it. RFC 7030 §3.2.2: every
// EST-style path lives under /.well-known/est.
export interface LabPalEntry {
  readonly type: string;
  readonly size: number;
  readonly info: { readonly kind: 'uri'; readonly uri: string };
}

export const EST_PATH = '/.well-known/est';
