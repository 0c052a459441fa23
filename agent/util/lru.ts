// A bounded most-recently-used cache over a Map (insertion order = use order): what the shared certificate parses,
// the shared TLS contexts and sessions, and the remembered signature checks need.

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

/** Stores `value` under `key` as the most recently used entry; the least recently used one is dropped past `max`. */
export function lruSet<K, V>(cache: Map<K, V>, key: K, max: number, value: V): void {
  cache.delete(key);
  if (cache.size >= max) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}
