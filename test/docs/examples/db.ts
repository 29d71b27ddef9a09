/** A stand-in for the application's data layer: counts the queries the examples make. */
export interface Post {
  id: number;
  title: string;
  updatedAt: string;
}

const initial: Post[] = [
  { id: 3, title: 'Caching fragments', updatedAt: '2026-01-03' },
  { id: 2, title: 'Lazy data', updatedAt: '2026-01-02' },
  { id: 1, title: 'Hello', updatedAt: '2026-01-01' },
];

export const db = {
  queries: 0,
  posts: initial.map((p) => ({ ...p })),
  async recentPosts(limit = 3): Promise<Post[]> {
    this.queries += 1;
    return this.posts.slice(0, limit);
  },
  async post(id: number): Promise<Post | undefined> {
    this.queries += 1;
    return this.posts.find((p) => p.id === id);
  },
  async updatePost(id: number, title: string): Promise<Post> {
    this.queries += 1;
    const post = this.posts.find((p) => p.id === id);
    if (post === undefined) throw new Error(`no post ${id}`);
    post.title = title;
    post.updatedAt = '2026-02-01';
    return post;
  },
  reset(): void {
    this.queries = 0;
    this.posts = initial.map((p) => ({ ...p }));
  },
};
