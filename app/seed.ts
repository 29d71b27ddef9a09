/**
 * Schema and seed data for the demo blog. The database is created and filled on first start;
 * the content is generated from a fixed seed, so every fresh clone sees the same blog.
 */
import type { Database } from './db.js';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS authors (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  bio TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS posts (
  id INTEGER PRIMARY KEY,
  author_id INTEGER NOT NULL REFERENCES authors(id),
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS posts_by_date ON posts(created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS comments (
  id INTEGER PRIMARY KEY,
  post_id INTEGER NOT NULL REFERENCES posts(id),
  author_name TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS comments_by_post ON comments(post_id, created_at);
`;

export interface SeedOptions {
  /** Default 300. */
  posts?: number;
  /** Default 12. */
  authors?: number;
  /** Most comments on one post (each post gets 0..max). Default 12. */
  maxComments?: number;
}

/** The newest seeded post is dated here; older ones are spaced seven hours apart. */
const NEWEST = Date.UTC(2025, 5, 1, 9, 0, 0);

const FIRST = ['Ada', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Frances', 'Edsger', 'Radia', 'Tim', 'Sophie', 'Alan', 'Katherine', 'Guido', 'Hedy'];
const LAST = ['Lovelace', 'Hopper', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie', 'Allen', 'Dijkstra', 'Perlman', 'Berners-Lee', 'Wilson', 'Kay', 'Johnson', 'van Rossum', 'Lamarr'];
const OPENERS = ['Notes on', 'A field guide to', 'What I learned about', 'Rethinking', 'The quiet cost of', 'Measuring', 'Ten minutes with', 'Against', 'In praise of', 'Debugging', 'A second look at', 'Shipping'];
const TOPICS = [
  'fragment caching', 'cache invalidation', 'template inheritance', 'SQLite in production', 'server-side rendering', 'Redis eviction',
  'stale-while-revalidate', 'N+1 queries', 'HTTP caching headers', 'lazy loading', 'tag-based invalidation', 'cold starts',
  'connection pools', 'write-ahead logging', 'Russian-doll caching', 'single-flight requests', 'cache stampedes', 'key design',
];
const WORDS = (
  'cache fragment template render query database latency request response header store key value tag version hit miss ' +
  'expire invalidate warm cold page sidebar card comment author server process memory redis sqlite loader async index row ' +
  'measure budget trade-off simple honest fast slow reliable nested layout user session token clock second minute'
).split(' ');
const COMMENTERS = ['Sam', 'Priya', 'Jonas', 'Mei', 'Olu', 'Ines', 'Ravi', 'Noor', 'Tomás', 'Yuki', 'Lena', 'Kofi'];

/** A small deterministic PRNG (mulberry32), so the seed data is the same on every machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function ensureSchema(db: Database): Promise<void> {
  await db.exec(SCHEMA);
}

/** Fill an empty database; does nothing when posts already exist. Returns whether it seeded. */
export async function seedIfEmpty(db: Database, options: SeedOptions = {}): Promise<boolean> {
  await ensureSchema(db);
  const row = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM posts');
  if ((row?.n ?? 0) > 0) return false;
  const rand = random(20250601);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const sentence = (min: number, max: number): string => {
    const n = min + Math.floor(rand() * (max - min + 1));
    const words = Array.from({ length: n }, () => pick(WORDS));
    const text = words.join(' ');
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
  };
  const paragraph = (): string => Array.from({ length: 3 + Math.floor(rand() * 4) }, () => sentence(6, 16)).join(' ');

  const authors = options.authors ?? 12;
  const posts = options.posts ?? 300;
  const maxComments = options.maxComments ?? 12;
  const statements: string[] = ['BEGIN'];
  const q = (value: string | number): string => (typeof value === 'number' ? String(value) : `'${value.replace(/'/g, "''")}'`);
  for (let id = 1; id <= authors; id += 1) {
    const name = `${FIRST[(id - 1) % FIRST.length]} ${LAST[(id * 7) % LAST.length]}`;
    statements.push(`INSERT INTO authors (id, name, bio) VALUES (${id}, ${q(name)}, ${q(sentence(8, 14))})`);
  }
  let commentId = 0;
  for (let id = 1; id <= posts; id += 1) {
    // Ids grow with time: post `posts` is the newest.
    const created = NEWEST - (posts - id) * 7 * 3_600_000;
    const title = `${pick(OPENERS)} ${pick(TOPICS)}`;
    const body = Array.from({ length: 3 + Math.floor(rand() * 4) }, paragraph).join('\n\n');
    statements.push(`INSERT INTO posts (id, author_id, title, body, created_at, updated_at) VALUES (${id}, ${1 + Math.floor(rand() * authors)}, ${q(title)}, ${q(body)}, ${created}, ${created})`);
    const comments = Math.floor(rand() * (maxComments + 1));
    for (let c = 0; c < comments; c += 1) {
      commentId += 1;
      statements.push(`INSERT INTO comments (id, post_id, author_name, body, created_at) VALUES (${commentId}, ${id}, ${q(pick(COMMENTERS))}, ${q(sentence(5, 20))}, ${created + (c + 1) * 600_000})`);
    }
  }
  statements.push('COMMIT');
  await db.exec(statements.join(';\n'));
  return true;
}
