// REST calls to csf-server (same origin). A 401 ends the session: the token
// expired or was revoked, so the layout sends the user back to the login page.
import { session } from './session';

export class ApiError extends Error {
	constructor(
		public status: number,
		public code: string,
		message: string
	) {
		super(message);
	}
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
	const headers: Record<string, string> = {};
	const token = session.token();
	if (token) headers['Authorization'] = 'Bearer ' + token;
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	let r: Response;
	try {
		r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	} catch {
		throw new ApiError(0, 'unavailable', 'The server cannot be reached.');
	}
	if (r.status === 204) return undefined as T;
	const text = await r.text();
	let data: unknown = null;
	try {
		data = text ? JSON.parse(text) : null;
	} catch {
		data = null;
	}
	if (!r.ok) {
		const e = (data as { error?: { code?: string; message?: string } } | null)?.error;
		if (r.status === 401 && token) session.clear();
		throw new ApiError(r.status, e?.code ?? 'internal', e?.message ?? `HTTP ${r.status}`);
	}
	return data as T;
}

/** Every page of a list endpoint, `limit` at a time. */
export async function listAll<T>(path: string, limit = 1000): Promise<T[]> {
	const out: T[] = [];
	let cursor: string | null = null;
	do {
		const sep = path.includes('?') ? '&' : '?';
		const q = `${sep}limit=${limit}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
		const page: { items: T[]; next_cursor: string | null } = await api('GET', path + q);
		out.push(...page.items);
		cursor = page.next_cursor;
	} while (cursor);
	return out;
}
