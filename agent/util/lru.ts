// A bounded most-recently-used cache over a Map (insertion order = use order): what the shared certificate parses
// and the shared TLS contexts both need.

/** The value for `key`, made by `make()` on a miss; the least recently used entry is dropped past `max`. */
export function lruGet<K, V>(cache: Map<K, V>, key: K, max: number, make: () => V): V {
  let value = cache.get(key);
  if (value !== undefined) {
    cache.delete(key); // most recently used last
  } else {
    value = make();
    if (cache.size >= max) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, value);
  return value;
}
