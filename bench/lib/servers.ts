/** The HTTP servers of the HTTP rows (see procs/server.ts). */
export const VARIANTS = ['node', 'express', 'ours-node', 'ours-express', 'apicache-express'] as const;
export type Variant = (typeof VARIANTS)[number];
