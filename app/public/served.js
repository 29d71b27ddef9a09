// The footer line "served from the cache or not", from the page's own Server-Timing header: the very
// numbers the developer tools show (Network → the request → Timing), so the two cannot disagree.
const [navigation] = performance.getEntriesByType('navigation');
const timing = Object.fromEntries((navigation?.serverTiming ?? []).map((entry) => [entry.name, entry]));
const footer = document.querySelector('[data-served]');
const lookups = /(\d+) hits?, (\d+) miss(?:es)?, (\d+) stale/.exec(timing.cache?.description ?? '');
const queries = /(\d+) quer/.exec(timing.db?.description ?? '');
if (footer && lookups && queries) {
  const [hits, misses, stale] = lookups.slice(1).map(Number);
  const count = Number(queries[1]);
  const ms = (timing.total?.duration ?? 0).toFixed(1);
  const cached = misses === 0 && count === 0 && hits + stale > 0;
  footer.dataset.served = cached ? 'cache' : 'render';
  footer.textContent = cached
    ? `This view was served from the cache: ${hits} hits, ${stale} stale, 0 database queries, ${ms} ms.`
    : `This view was rendered now: ${misses} ${misses === 1 ? 'miss' : 'misses'}, ${hits} hits, ${count} database ${count === 1 ? 'query' : 'queries'}, ${ms} ms.`;
}
