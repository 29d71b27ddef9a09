/**
 * One place that makes a store URL fit to print: every message, log line and page that shows a
 * store URL (the library's errors, the CLI, the demo) goes through `redactUrl`.
 */

/** Query parameters that carry credentials (PostgreSQL's `password`, `sslpassword`, tokens, keys). */
const SECRET_PARAMS = /([?&;](?:password|passwd|pass|pwd|sslpassword|sslkey|secret|token|access_token|auth|authorization|api[_-]?key|key)=)[^&#;]*/gi;

/**
 * The URL with its credentials replaced by `***`: the password in the userinfo (`user:***@`; a
 * userinfo without `:` is a password on Redis, so all of it), and credential query parameters. Works
 * on malformed URLs too (a bad port, a cluster host list), because those are the ones errors quote.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_all, scheme: string, userinfo: string) => {
      if (userinfo === '') return `${scheme}@`;
      const colon = userinfo.indexOf(':');
      return colon === -1 ? `${scheme}***@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
    })
    .replace(SECRET_PARAMS, '$1***');
}
