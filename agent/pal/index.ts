// Public surface of the PAL layer (RFC 8295 §2).
export * from './constants.js';
export * from './errors.js';
export * from './model.js';
export { decodeBody, type PalParseOptions } from './body.js';
export { parsePalXml, serializePalXml, type PalXmlSerializeOptions } from './xml.js';
export { parsePalJson, serializePalJson, type PalJsonSerializeOptions } from './json.js';
export { parsePal, serializePal, palFormatOf, sniffPalFormat } from './parse.js';
export * from './chain.js';
export * from './precedence.js';
export * from './dispatch.js';
