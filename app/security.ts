/**
 * Cookies, CSRF tokens and the loopback check. Small on purpose: the demo has no sessions.
 *
 * CSRF uses the double-submit pattern: a random token in an HttpOnly, SameSite=Strict cookie and
 * the same token in a hidden form field; a POST is accepted only when both are present and equal.
 * Another site can make the browser send the cookie (SameSite aside) but cannot read it to fill in
 * the field.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export const CSRF_COOKIE = 'njkc_csrf';
export const CSRF_FIELD = '_csrf';

export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, Math.max(0, eq)).trim();
    if (name === '') continue;
    const raw = part.slice(eq + 1).trim();
    if (name in cookies) continue; // the first (most specific path) wins, as browsers send them
    try {
      cookies[name] = decodeURIComponent(raw);
    } catch {
      cookies[name] = raw;
    }
  }
  return cookies;
}

export function cookie(req: Request, name: string): string | undefined {
  return parseCookies(req.headers.cookie)[name];
}

export interface CookieOptions {
  maxAgeSeconds?: number;
  sameSite?: 'Strict' | 'Lax';
  path?: string;
}

export function setCookie(res: Response, name: string, value: string, options: CookieOptions = {}): void {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${options.path ?? '/'}`, 'HttpOnly', `SameSite=${options.sameSite ?? 'Lax'}`];
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  res.append('Set-Cookie', parts.join('; '));
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** This browser's CSRF token, creating (and setting) one when it has none. */
export function csrfToken(req: Request, res: Response): string {
  const existing = cookie(req, CSRF_COOKIE);
  if (existing !== undefined && TOKEN_SHAPE.test(existing)) return existing;
  const token = randomBytes(32).toString('base64url');
  setCookie(res, CSRF_COOKIE, token, { sameSite: 'Strict' });
  return token;
}

export function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export function validCsrf(req: Request): boolean {
  const fromCookie = cookie(req, CSRF_COOKIE);
  const body = req.body as Record<string, unknown> | undefined;
  const fromForm = body?.[CSRF_FIELD] ?? req.get('x-csrf-token');
  return typeof fromCookie === 'string' && typeof fromForm === 'string' && TOKEN_SHAPE.test(fromCookie) && sameSecret(fromCookie, fromForm);
}

/** Refuses a state-changing request whose CSRF token is missing or wrong (403). */
export function requireCsrf(req: Request, res: Response, next: NextFunction): void {
  if (validCsrf(req)) return next();
  res.status(403).type('text/plain').set('Cache-Control', 'no-store').send('Forbidden: missing or invalid CSRF token. Reload the page and submit the form again.');
}

/**
 * Whether the request's `Host` names this machine (localhost, *.localhost, 127.x.y.z, [::1]).
 * A loopback client is not enough: by DNS rebinding, any web page can make the visitor's browser
 * send requests to 127.0.0.1 under the page's own host name, and read the answers.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.toLowerCase().replace(/:\d+$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const ip = address.startsWith('::ffff:') ? address.slice(7) : address;
  return ip === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);
}

/**
 * A request that came through a proxy carries its headers; behind a proxy on the same machine
 * every client would otherwise look like loopback.
 */
export function isProxied(req: Request): boolean {
  return req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined || req.headers['x-real-ip'] !== undefined;
}
