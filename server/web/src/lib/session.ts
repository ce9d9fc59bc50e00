// The login session: a session token (csfs_...) and who it belongs to, kept
// in sessionStorage (one tab's life; never in a cookie or a URL) until logout
// or expiry.
import { writable, get } from 'svelte/store';
import type { Principal, Role } from './types';

export interface Session {
	token: string;
	expires_at: number;
	user: Principal;
}

const KEY = 'csf.session';

function load(): Session | null {
	try {
		const s = JSON.parse(globalThis.sessionStorage?.getItem(KEY) ?? 'null') as Session | null;
		return s && s.expires_at > Date.now() ? s : null;
	} catch {
		return null;
	}
}

function create() {
	const store = writable<Session | null>(load());
	return {
		subscribe: store.subscribe,
		set(s: Session) {
			globalThis.sessionStorage?.setItem(KEY, JSON.stringify(s));
			store.set(s);
		},
		clear() {
			globalThis.sessionStorage?.removeItem(KEY);
			store.set(null);
		},
		token(): string | null {
			const s = get(store);
			if (s && s.expires_at <= Date.now()) {
				this.clear();
				return null;
			}
			return s?.token ?? null;
		}
	};
}

export const session = create();

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `role` may do what needs `least` (viewer < operator < admin). */
export function allows(role: Role | undefined, least: Role): boolean {
	return role !== undefined && rank[role] >= rank[least];
}
