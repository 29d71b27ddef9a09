/**
 * The blog's pages. Handlers do no queries for what a page shows: they hand the templates lazy
 * loaders, which run only inside fragments that miss. A warm page therefore runs no query at all.
 *
 * Tags, and what carries them:
 *   post:ID       the post's card on the home page, and its page
 *   comments:ID   the post's card (comment count), its page, its comments fragment
 *   post-titles   the sidebar of recent posts
 *   post-list     which posts are on each home page (cached data, not a fragment)
 */
import express, { type Request, type Response, type Router } from 'express';
import type nunjucks from 'nunjucks';
import type { Cache } from '../src/index.js';
import { render } from '../src/nunjucks.js';
import { cachePage } from '../src/http.js';
import type { Database } from './db.js';
import { addComment, commentsOf, findPost, postPage, recentPosts, updatePost, type Post, type PostPage } from './posts.js';
import { CSRF_FIELD, cookie, csrfToken, requireCsrf, setCookie } from './security.js';

export const USER_COOKIE = 'demo_user';

/** A page or record that does not exist; turned into a 404 by the route. */
export class NotFoundError extends Error {
  constructor(what: string) {
    super(`${what} not found`);
    this.name = 'NotFoundError';
  }
}

/** What a render found out that the route needs (Nunjucks does not keep an error's cause). */
interface RenderState {
  notFound: boolean;
}

export interface BlogOptions {
  db: Database;
  cache: Cache;
  env: nunjucks.Environment;
}

export function blogRouter({ db, cache, env }: BlogOptions): Router {
  const router = express.Router();

  /** Lazy data for templates: each loader runs only where a template asks for it. */
  const loaders = (state: RenderState) => {
    const post = async (id: number): Promise<Post> => {
      const found = await findPost(db, id);
      if (found === undefined) {
        state.notFound = true;
        throw new NotFoundError(`Post ${id}`);
      }
      return found;
    };
    return {
      // Which posts a home page lists: cached data (cache.getOrSet), so a warm page needs no query.
      loadPage: async (page: number): Promise<PostPage> => {
        const result = await cache.getOrSet(`post-list:${page}`, () => postPage(db, page), 600, { tags: ['post-list'], label: 'data:post-list' });
        if (result.ids.length === 0 && page > 1) state.notFound = true;
        return result;
      },
      loadCard: post,
      loadPost: post,
      loadComments: (id: number) => commentsOf(db, id),
      loadRecent: () => recentPosts(db),
    };
  };

  const page = async (req: Request, res: Response, template: string, context: object = {}, status = 200): Promise<void> => {
    const state: RenderState = { notFound: false };
    let html: string;
    try {
      html = await render(env, template, { ...common(req), ...loaders(state), ...context });
    } catch (error) {
      if (!state.notFound) throw error;
      return notFound(req, res);
    }
    if (state.notFound) return notFound(req, res);
    res.status(status).type('html').send(html);
  };

  const notFound = async (req: Request, res: Response): Promise<void> => {
    const html = await render(env, '404.njk', { ...common(req), path: req.path });
    res.status(404).type('html').send(html);
  };

  router.get('/', async (req, res) => {
    const n = req.query.page === undefined ? 1 : wholeNumber(req.query.page);
    if (n === undefined || n < 1) return notFound(req, res);
    await page(req, res, 'home.njk', { page: n });
  });

  router.get('/posts/:id', async (req, res) => {
    const id = wholeNumber(req.params.id);
    if (id === undefined) return notFound(req, res);
    await page(req, res, 'post.njk', {
      id,
      csrf: csrfToken(req, res),
      csrfField: CSRF_FIELD,
      saved: typeof req.query.saved === 'string' ? req.query.saved.split(',').filter(Boolean) : undefined,
      commented: req.query.commented === '1',
    });
  });

  router.get('/posts/:id/edit', async (req, res) => {
    const id = wholeNumber(req.params.id);
    // The edit form always reads the database: it must show what is stored, not what is cached.
    const post = id === undefined ? undefined : await findPost(db, id);
    if (post === undefined) return notFound(req, res);
    await page(req, res, 'edit.njk', { post, form: { title: post.title, body: post.body }, csrf: csrfToken(req, res), csrfField: CSRF_FIELD });
  });

  router.post('/posts/:id/edit', requireCsrf, async (req, res) => {
    const id = wholeNumber(req.params.id);
    const before = id === undefined ? undefined : await findPost(db, id);
    if (id === undefined || before === undefined) return notFound(req, res);
    const title = text(req, 'title');
    const body = text(req, 'body').replace(/\r\n/g, '\n');
    const errors: string[] = [];
    if (title.length === 0 || title.length > 200) errors.push('The title must be 1 to 200 characters long.');
    if (body.length === 0 || body.length > 20_000) errors.push('The text must be 1 to 20 000 characters long.');
    if (errors.length > 0) {
      await page(req, res, 'edit.njk', { post: before, form: { title, body }, errors, csrf: csrfToken(req, res), csrfField: CSRF_FIELD }, 422);
      return;
    }
    await updatePost(db, id, title, body);
    // Exactly what shows this post: its card and its page; the sidebar only when the title changed.
    const tags = [`post:${id}`];
    if (title !== before.title) tags.push('post-titles');
    await cache.invalidateTags(tags);
    res.redirect(303, `/posts/${id}?saved=${encodeURIComponent(tags.join(','))}`);
  });

  router.post('/posts/:id/comments', requireCsrf, async (req, res) => {
    const id = wholeNumber(req.params.id);
    if (id === undefined || (await findPost(db, id)) === undefined) return notFound(req, res);
    const name = text(req, 'name') || common(req).user || '';
    const body = text(req, 'body');
    if (name.length === 0 || name.length > 40 || body.length === 0 || body.length > 2_000) {
      res.status(422).type('text/plain').send('A comment needs a name (up to 40 characters) and a text (up to 2 000 characters). Go back and try again.');
      return;
    }
    await addComment(db, id, name, body);
    await cache.invalidateTags([`comments:${id}`]);
    res.redirect(303, `/posts/${id}?commented=1#comments`);
  });

  router.get('/login', async (req, res) => {
    await page(req, res, 'login.njk', { csrf: csrfToken(req, res), csrfField: CSRF_FIELD });
  });

  router.post('/login', requireCsrf, (req, res) => {
    const name = text(req, 'name');
    if (name.length === 0 || name.length > 40) {
      res.status(422).type('text/plain').send('A name is 1 to 40 characters long. Go back and try again.');
      return;
    }
    setCookie(res, USER_COOKIE, name, { maxAgeSeconds: 30 * 24 * 3600 });
    res.redirect(303, '/');
  });

  router.post('/logout', requireCsrf, (_req, res) => {
    setCookie(res, USER_COOKIE, '', { maxAgeSeconds: 0 });
    res.redirect(303, '/');
  });

  // Cached whole (Django's cache_page): the page is the same for everyone, so it carries no
  // greeting and no form, and sets no cookie (a response with Set-Cookie would not be stored).
  // Behind Varnish (scripts/behind-varnish.sh) the page carries its tag in `xkey`, so
  // `njk-cache invalidate-tag page:about` or cache.invalidateTags(['page:about']) purges it there too.
  router.get('/about', cachePage(cache, { ttl: 3600, label: 'page:about', tags: ['page:about'], edge: { proxy: 'varnish' } }), async (_req, res) => {
    // `public` says the page does not depend on the request's cookies, so it may be shared even
    // when it was rendered for a signed-in visitor.
    res.set('Cache-Control', 'public, max-age=3600').type('html').send(await render(env, 'about.njk', {}));
  });

  router.use((req, res) => notFound(req, res));

  return router;
}

/** What every page's layout needs; per user, so it is never inside a fragment. */
function common(req: Request): { user: string | undefined } {
  const user = cookie(req, USER_COOKIE);
  return { user: user !== undefined && user.length > 0 && user.length <= 40 ? user : undefined };
}

function wholeNumber(value: unknown): number | undefined {
  return typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

function text(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim() : '';
}
