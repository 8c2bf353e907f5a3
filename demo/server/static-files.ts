/**
 * The files of the built page (dist/demo/), found from a request URL without ever leaving the folder:
 *
 * - the path is taken from the URL (dot segments, also written `%2e%2e`, are resolved there, never above the
 *   root) and then percent-decoded;
 * - a decoded segment that is empty, starts with a dot (`..`, hidden files) or holds `/`, `\` or NUL is
 *   refused, so no decoded `%2f` or `%5c` can make a new `..` segment;
 * - the file found must lie inside the root once symbolic links are resolved, and be a regular file.
 *
 * A path ending in `/` means its index.html.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { hasErrorCode } from '../../core/node/errno.js';

/** Content types by file extension; anything else is `application/octet-stream`. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.eml': 'message/rfc822',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** The errors of a lookup that mean no file is there. */
const NOT_FOUND = ['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP'];

/** A file to send, or why not: 400 for a path that may not name a file of the page, 404 for none there. */
export type StaticFile = { readonly status: 200; readonly type: string; readonly body: Buffer } | { readonly status: 400 | 404 };

/** The content type for a file name. */
export function contentType(name: string): string {
  return CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** Looks up the file that the request target `url` (as in the request line) names under `root`. */
export async function readStaticFile(root: string, url: string): Promise<StaticFile> {
  let decoded: string[];
  try {
    decoded = new URL(url, 'http://page.invalid').pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return { status: 400 }; // malformed percent-encoding
  }
  if (decoded.at(-1) === '') decoded[decoded.length - 1] = 'index.html';
  if (decoded.some((segment) => segment === '' || segment.startsWith('.') || /[/\\\0]/.test(segment))) return { status: 400 };
  try {
    const base = await realpath(root);
    const file = await realpath(path.join(base, ...decoded));
    if (!file.startsWith(base + path.sep) || !(await stat(file)).isFile()) return { status: 404 };
    return { status: 200, type: contentType(decoded.at(-1)!), body: await readFile(file) };
  } catch (error) {
    // Also a name too long to look up, and a loop of symbolic links: no file there, not a server failure.
    if (NOT_FOUND.some((code) => hasErrorCode(error, code))) return { status: 404 };
    throw error;
  }
}
