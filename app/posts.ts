/** The blog's queries. Each function is one query, so the per-request counts mean something. */
import type { Database } from './db.js';

export const PAGE_SIZE = 20;

export interface Post {
  id: number;
  title: string;
  body: string;
  authorId: number;
  authorName: string;
  createdAt: number;
  updatedAt: number;
  commentCount: number;
}

export interface Comment {
  id: number;
  authorName: string;
  body: string;
  createdAt: number;
}

export interface PostPage {
  ids: number[];
  page: number;
  pages: number;
}

export interface RecentPost {
  id: number;
  title: string;
  createdAt: number;
}

const POST_COLUMNS = `p.id, p.title, p.body, p.author_id AS authorId, a.name AS authorName, p.created_at AS createdAt,
  p.updated_at AS updatedAt, (SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id) AS commentCount`;

/** The ids on one page of the home list, newest first, and how many pages there are. */
export async function postPage(db: Database, page: number): Promise<PostPage> {
  const rows = await db.all<{ id: number; total: number }>(
    `SELECT id, (SELECT COUNT(*) FROM posts) AS total FROM posts ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
    PAGE_SIZE,
    (page - 1) * PAGE_SIZE,
  );
  const total = rows[0]?.total ?? (await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM posts'))?.n ?? 0;
  return { ids: rows.map((row) => row.id), page, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)) };
}

export async function findPost(db: Database, id: number): Promise<Post | undefined> {
  return db.get<Post>(`SELECT ${POST_COLUMNS} FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.id = ?`, id);
}

export async function commentsOf(db: Database, postId: number): Promise<Comment[]> {
  return db.all<Comment>('SELECT id, author_name AS authorName, body, created_at AS createdAt FROM comments WHERE post_id = ? ORDER BY created_at, id', postId);
}

export async function recentPosts(db: Database, limit = 8): Promise<RecentPost[]> {
  return db.all<RecentPost>('SELECT id, title, created_at AS createdAt FROM posts ORDER BY created_at DESC, id DESC LIMIT ?', limit);
}

/** Save an edit. `updatedAt` always moves forward, so keys that vary on it change. */
export async function updatePost(db: Database, id: number, title: string, body: string, now = Date.now()): Promise<boolean> {
  const result = await db.run('UPDATE posts SET title = ?, body = ?, updated_at = MAX(?, updated_at + 1) WHERE id = ?', title, body, now, id);
  return result.changes === 1;
}

export async function addComment(db: Database, postId: number, authorName: string, body: string, now = Date.now()): Promise<number> {
  const result = await db.run('INSERT INTO comments (post_id, author_name, body, created_at) VALUES (?, ?, ?, ?)', postId, authorName, body, now);
  return result.lastId;
}
