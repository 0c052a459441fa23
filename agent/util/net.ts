// node:net is not in node's start-up snapshot (compiling it costs ≈ 2 ms) and the start-up path needs only its isIP:
// loaded on the first call.
export const isIP = (host: string): number => process.getBuiltinModule('node:net').isIP(host);
