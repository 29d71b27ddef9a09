/**
 * Conditional requests answered from the cache: pure functions over header records.
 */
import type { EpochMs } from '../contracts/clock.js';
import { single, type HeaderRecord, type RequestHeaders } from './headers.js';

const ENTITY_TAG = /(?:W\/)?"[^"]*"/g;

/** Whether a GET or HEAD request is satisfied by the stored page, so a 304 can be sent. */
export function notModified(request: RequestHeaders, stored: HeaderRecord, storedAt: EpochMs): boolean {
  const ifNoneMatch = single(request['if-none-match']);
  // RFC 9110 §13.2.2: If-None-Match is evaluated first, and If-Modified-Since is then ignored.
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') return true; // RFC 9110 §13.1.2: "*" matches any current representation
    const etag = single(stored.etag);
    if (etag === undefined) return false;
    // RFC 9110 §13.1.2: If-None-Match uses the weak comparison function (§8.8.3.2).
    const mine = opaque(etag);
    return (ifNoneMatch.match(ENTITY_TAG) ?? []).some((tag) => opaque(tag) === mine);
  }
  const ifModifiedSince = single(request['if-modified-since']);
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  if (Number.isNaN(since)) return false; // RFC 9110 §13.1.3: an invalid date is ignored
  // RFC 9111 §4.3.2: compare with Last-Modified, else the stored Date, else the time it was stored.
  const lastModified = parseDate(single(stored['last-modified'])) ?? parseDate(single(stored.date)) ?? storedAt;
  return Math.floor(lastModified / 1000) * 1000 <= since;
}

/** The fields a 304 carries (RFC 9110 §15.4.5), taken from the stored 200. */
export function notModifiedHeaders(stored: HeaderRecord): HeaderRecord {
  const kept: HeaderRecord = {};
  for (const name of ['cache-control', 'content-location', 'etag', 'expires', 'vary']) {
    const value = stored[name];
    if (value !== undefined) kept[name] = value;
  }
  // "...unless said metadata exists for the purpose of guiding cache updates (e.g., Last-Modified
  // might be useful if the response does not have an ETag field)."
  if (kept.etag === undefined && stored['last-modified'] !== undefined) kept['last-modified'] = stored['last-modified'];
  return kept;
}

function opaque(tag: string): string {
  return tag.trim().replace(/^W\//, '');
}

function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}
