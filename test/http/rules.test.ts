/**
 * The pure decisions under the middleware, over header records: storable? for how long? which key?
 * is a conditional request satisfied? how are headers patched?
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/testing.js';
import { notModified } from '../../src/http/conditional.js';
import { hostAllowed, normalizeHost, normalizeQuery, pageKey, requestAddress, type PageAddress } from '../../src/http/keys.js';
import { mergeCacheControl, mergeVary } from '../../src/http/patch.js';
import { decideStorable, type StoreDecision } from '../../src/http/policy.js';

const clock = new ManualClock(Date.UTC(2030, 0, 1));
const rules = { statuses: new Set([200]), defaultTtl: 300, clock };

function decide(response: Record<string, string | string[]>, request: Record<string, string> = {}, status = 200, method = 'GET'): StoreDecision {
  return decideStorable({ method, requestHeaders: request, status, responseHeaders: response }, rules);
}

describe('decideStorable', () => {
  it('stores a plain 200 for the configured ttl', () => {
    expect(decide({})).toEqual({ store: true, ttl: 300, explicit: false, vary: [], age: 0, mayServeStale: true });
  });

  it.each([
    ['POST', () => decide({}, {}, 200, 'POST'), 'method'],
    ['a 500', () => decide({}, {}, 500), 'status'],
    ['Set-Cookie, even public', () => decide({ 'set-cookie': ['a=b'], 'cache-control': 'public, max-age=60' }), 'set-cookie'],
    ['Vary: *', () => decide({ vary: 'Accept, *' }), 'vary-star'],
    ['no-store', () => decide({ 'cache-control': 'no-store' }), 'no-store'],
    ['private', () => decide({ 'cache-control': 'private, max-age=60' }), 'private'],
    // RFC 9111 §5.2: directive names are case-insensitive
    ['Private (any case)', () => decide({ 'cache-control': 'Private, max-age=60' }), 'private'],
    ['No-Store (any case)', () => decide({ 'cache-control': 'No-Store, max-age=60' }), 'no-store'],
    ['Max-Age=0 (any case)', () => decide({ 'cache-control': 'Max-Age=0' }), 'max-age=0'],
    ['S-Maxage=0 (any case)', () => decide({ 'cache-control': 'public, S-Maxage=0, max-age=60' }), 'max-age=0'],
    ['NO-CACHE (any case)', () => decide({ 'cache-control': 'NO-CACHE' }), 'no-cache'],
    ['no-cache', () => decide({ 'cache-control': 'no-cache' }), 'no-cache'],
    ['max-age=0', () => decide({ 'cache-control': 'max-age=0' }), 'max-age=0'],
    ['an Expires in the past', () => decide({ expires: new Date(clock.now() - 1000).toUTCString() }), 'max-age=0'],
    ['a request with no-store', () => decide({}, { 'cache-control': 'no-store' }), 'request-no-store'],
    ['Authorization without public (s-maxage is not enough)', () => decide({ 'cache-control': 's-maxage=60' }, { authorization: 'Basic x' }), 'authorization'],
    ['a request with cookies, without Vary: Cookie', () => decide({}, { cookie: 'a=b' }), 'cookie'],
  ])('refuses %s', (_label, run, reason) => {
    expect(run()).toEqual({ store: false, reason });
  });

  it('stores an authorized response that says public, and a cookie request whose page varies on Cookie', () => {
    expect(decide({ 'cache-control': 'public' }, { authorization: 'Basic x' })).toMatchObject({ store: true });
    expect(decide({ vary: 'Accept-Encoding, Cookie' }, { cookie: 'a=b' })).toMatchObject({ store: true, vary: ['accept-encoding', 'cookie'] });
  });

  it("takes the response's lifetime: s-maxage, then max-age, then Expires", () => {
    expect(decide({ 'cache-control': 'max-age=60, s-maxage=5' })).toMatchObject({ ttl: 5, explicit: true });
    expect(decide({ 'cache-control': 'max-age=60' })).toMatchObject({ ttl: 60, explicit: true });
    expect(decide({ expires: new Date(clock.now() + 90_000).toUTCString() })).toMatchObject({ ttl: 90, explicit: true });
    expect(decide({ 'cache-control': 'max-age=60', age: '20' })).toMatchObject({ ttl: 40 });
  });

  it('stores forever with a null ttl, and nothing with a 0 ttl', () => {
    expect(decideStorable({ method: 'GET', requestHeaders: {}, status: 200, responseHeaders: {} }, { ...rules, defaultTtl: null })).toMatchObject({ store: true, ttl: null });
    expect(decideStorable({ method: 'GET', requestHeaders: {}, status: 200, responseHeaders: {} }, { ...rules, defaultTtl: 0 })).toEqual({ store: false, reason: 'ttl' });
  });
});

describe('page keys', () => {
  const address: PageAddress = { scheme: 'https', host: 'example.com', path: '/list', query: '?a=1&b=2' };

  it('draw the URL, the method and the prefix, and a variant adds generation and a hash of the Vary values', () => {
    expect(pageKey({ keyPrefix: 'shop', method: 'GET', address })).toBe('page-vary:shop:GET:https://example.com/list?a=1&b=2');
    const a = pageKey({ keyPrefix: 'shop', method: 'GET', address, variant: { gen: 'g1', fields: ['cookie'], headers: { cookie: 'a' } } });
    const b = pageKey({ keyPrefix: 'shop', method: 'GET', address, variant: { gen: 'g1', fields: ['cookie'], headers: { cookie: 'b' } } });
    expect(a).toMatch(/^page:shop:GET:g1:[0-9a-f]{32}:https:\/\/example\.com\/list\?a=1&b=2$/);
    expect(a).not.toBe(b);
    expect(pageKey({ keyPrefix: 'shop', method: 'GET', address, variant: { gen: 'g1', fields: ['cookie'], headers: {} } })).toContain(':g1:-:');
    expect(pageKey({ keyPrefix: 'shop', method: 'GET', address, variant: { gen: 'g1', fields: ['cookie'], headers: { cookie: '' } } })).not.toContain(':g1:-:');
  });

  it('cannot be confused by a prefix containing a colon', () => {
    expect(pageKey({ keyPrefix: 'a:GET', method: 'GET', address })).toBe('page-vary:a%3AGET:GET:https://example.com/list?a=1&b=2');
  });

  it('sort query parameters by name, keeping values and repeated names as sent', () => {
    expect(normalizeQuery('b=2&a=1')).toBe('?a=1&b=2');
    expect(normalizeQuery('?a=2&b=1&a=1')).toBe('?a=2&a=1&b=1');
    expect(normalizeQuery('a=%20&&a=+')).toBe('?a=%20&a=+');
    expect(normalizeQuery('')).toBe('');
    expect(normalizeQuery('&')).toBe('');
  });

  it('normalise hosts and reject invalid ones', () => {
    expect(normalizeHost('Example.COM.', 'http')).toBe('example.com');
    expect(normalizeHost('example.com:80', 'http')).toBe('example.com');
    expect(normalizeHost('example.com:443', 'http')).toBe('example.com:443');
    expect(normalizeHost('example.com:443', 'https')).toBe('example.com');
    expect(normalizeHost('[::1]:8080', 'http')).toBe('[::1]:8080');
    for (const bad of ['', 'a b', 'evil.com/x', 'x:99999', 'user@host', '.']) expect(normalizeHost(bad, 'http')).toBeUndefined();
  });

  it("match allowed hosts as Django's ALLOWED_HOSTS does", () => {
    expect(hostAllowed('www.example.com:8080', ['.example.com'])).toBe(true);
    expect(hostAllowed('example.com', ['.example.com'])).toBe(true);
    expect(hostAllowed('badexample.com', ['.example.com'])).toBe(false);
    expect(hostAllowed('anything', ['*'])).toBe(true);
    expect(hostAllowed('other.com', ['example.com'])).toBe(false);
  });

  it('key only origin-form request targets', () => {
    const rules = { trustProxy: false, allowedHosts: undefined };
    expect(requestAddress({ target: 'http://evil/x', headers: { host: 'a.test' }, encrypted: false }, rules)).toBe('url');
    expect(requestAddress({ target: '/x?b=1&a=2', headers: { host: 'a.test' }, encrypted: true }, rules)).toEqual({ scheme: 'https', host: 'a.test', path: '/x', query: '?a=2&b=1' });
    expect(requestAddress({ target: '/x', headers: {}, encrypted: false }, rules)).toBe('host');
  });
});

describe('notModified', () => {
  const stored = { etag: '"abc"', 'last-modified': 'Sat, 01 Jun 2024 00:00:00 GMT' };
  it.each([
    [{ 'if-none-match': '"abc"' }, true],
    [{ 'if-none-match': 'W/"abc"' }, true],
    [{ 'if-none-match': '"x", "abc"' }, true],
    [{ 'if-none-match': '"a,bc"' }, false],
    [{ 'if-none-match': '*' }, true],
    [{ 'if-none-match': '"x"', 'if-modified-since': 'Sun, 02 Jun 2024 00:00:00 GMT' }, false],
    [{ 'if-modified-since': 'Sun, 02 Jun 2024 00:00:00 GMT' }, true],
    [{ 'if-modified-since': 'Sat, 01 Jun 2024 00:00:00 GMT' }, true],
    [{ 'if-modified-since': 'Fri, 31 May 2024 00:00:00 GMT' }, false],
    [{ 'if-modified-since': 'yesterday' }, false],
    [{}, false],
  ])('%j → %s', (request, expected) => {
    expect(notModified(request, stored, 0)).toBe(expected);
  });

  it('compares If-Modified-Since with the time the page was stored when it has no Last-Modified', () => {
    const at = Date.UTC(2024, 5, 1, 12, 0, 0, 500);
    expect(notModified({ 'if-modified-since': new Date(Date.UTC(2024, 5, 1, 12)).toUTCString() }, {}, at)).toBe(true);
    expect(notModified({ 'if-modified-since': new Date(Date.UTC(2024, 5, 1, 11)).toUTCString() }, {}, at)).toBe(false);
  });
});

describe('header patching (django.utils.cache)', () => {
  it('patch_cache_control: adds, removes, keeps the smaller max-age, swaps public and private', () => {
    expect(mergeCacheControl(undefined, { maxAge: 60, public: true })).toBe('max-age=60, public');
    expect(mergeCacheControl('max-age=30, public', { maxAge: 60, private: true })).toBe('max-age=30, private');
    expect(mergeCacheControl('no-cache="Set-Cookie, X", max-age=5', { noCache: false })).toBe('max-age=5');
  });

  it('patch_vary_headers: appends new fields once, case-insensitively; * absorbs the rest', () => {
    expect(mergeVary('Accept-Encoding', ['cookie', 'ACCEPT-ENCODING'])).toBe('Accept-Encoding, cookie');
    expect(mergeVary(undefined, ['Cookie'])).toBe('Cookie');
    expect(mergeVary('*', ['Cookie'])).toBe('*');
  });
});
