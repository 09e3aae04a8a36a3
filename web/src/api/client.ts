// A tiny GraphQL client: POST /graphql with the bearer token, typed by the caller; and
// subscriptions over graphql-transport-ws at /graphql/ws with the token in connection_init.
import { createClient, type Client } from 'graphql-ws';
import { saveBlob } from '../lib/format';

/** Marks a GraphQL document; scripts/codegen.mjs validates every one against the schema. */
export function gql(strings: TemplateStringsArray): string {
  return strings.join('');
}

/** A GraphQL error as the API reports it (`extensions.code`, `extensions.field`, and the rest of `extensions`). */
export class ApiError extends Error {
  constructor(
    message: string,
    public code: string,
    public field?: string,
    public extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type Listener = (token: string) => void;
const unauthenticated = new Set<Listener>();
/**
 * Called with the refused token when the server refuses it (expired or revoked): the app signs
 * out, unless that token was already replaced (a request still in flight after a password change).
 */
export function onUnauthenticated(l: Listener): () => void {
  unauthenticated.add(l);
  return () => unauthenticated.delete(l);
}

export async function request<T>(token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return readResult<T>(await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) }), token);
}

/** A GraphQL response's data, or its first error as an `ApiError` (signing out on UNAUTHENTICATED). */
async function readResult<T>(r: Response, token: string | null): Promise<T> {
  let body: { data?: T; errors?: { message: string; extensions?: { code?: string; field?: string; [k: string]: unknown } }[] };
  try {
    body = await r.json();
  } catch {
    throw new ApiError(`The server answered ${r.status}`, 'INTERNAL');
  }
  if (body.errors?.length) {
    const e = body.errors[0];
    const code = e.extensions?.code ?? 'INTERNAL';
    if (code === 'UNAUTHENTICATED' && token) unauthenticated.forEach((l) => l(token));
    throw new ApiError(e.message, code, e.extensions?.field, e.extensions ?? {});
  }
  return body.data as T;
}

/** Sends a multipart GraphQL request (the spec's `operations` + `map`) for uploads. */
export async function upload<T>(
  token: string,
  query: string,
  variables: Record<string, unknown>,
  files: File[],
  variable = 'attachments',
): Promise<T> {
  if (!files.length) return request<T>(token, query, variables);
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables: { ...variables, [variable]: files.map(() => null) } }));
  const map: Record<string, string[]> = {};
  files.forEach((_, i) => (map[String(i)] = [`variables.${variable}.${i}`]));
  form.append('map', JSON.stringify(map));
  files.forEach((f, i) => form.append(String(i), f, f.name));
  return readResult<T>(await fetch('/graphql', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form }), token);
}

let ws: { token: string; client: Client } | null = null;

/** Subscribes to a document; returns the unsubscribe function. One socket per token. */
export function subscribe<T>(token: string, query: string, onData: (data: T) => void): () => void {
  if (!ws || ws.token !== token) {
    ws?.client.dispose();
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql/ws`;
    ws = { token, client: createClient({ url, connectionParams: { token }, retryAttempts: Infinity, lazy: true }) };
  }
  return ws.client.subscribe<T>(
    { query },
    {
      next: (v) => v.data && onData(v.data as T),
      error: () => {},
      complete: () => {},
    },
  );
}

/** Downloads an attachment with the bearer token (a plain link cannot carry it). */
export async function downloadAttachment(token: string, url: string, fileName: string): Promise<void> {
  const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (!r.ok) throw new ApiError(`Download failed (${r.status})`, 'NOT_FOUND');
  saveBlob(fileName, await r.blob());
}
