import { beforeEach, describe, expect, it, vi } from 'vitest';
import { get } from 'svelte/store';
import { session } from '../src/lib/session';
import { setTheme, theme } from '../src/lib/theme';

const user = { id: 'u', username: 'admin', role: 'admin' as const, organization_id: 'o', kind: 'user' as const };

describe('session store', () => {
	beforeEach(() => session.clear());

	it('keeps the token in sessionStorage until cleared', () => {
		session.set({ token: 'csfs_a', expires_at: Date.now() + 60000, user });
		expect(session.token()).toBe('csfs_a');
		expect(JSON.parse(sessionStorage.getItem('csf.session')!).token).toBe('csfs_a');
		expect(localStorage.getItem('csf.session')).toBeNull();
		session.clear();
		expect(session.token()).toBeNull();
		expect(sessionStorage.getItem('csf.session')).toBeNull();
	});

	it('an expired session is gone', () => {
		vi.useFakeTimers();
		session.set({ token: 'csfs_b', expires_at: Date.now() + 1000, user });
		vi.advanceTimersByTime(1001);
		expect(session.token()).toBeNull();
		expect(get(session)).toBeNull();
		vi.useRealTimers();
	});
});

describe('theme', () => {
	it('sets and forgets <html data-theme>', () => {
		setTheme('dark');
		expect(document.documentElement.dataset.theme).toBe('dark');
		expect(localStorage.getItem('csf.theme')).toBe('dark');
		setTheme('auto');
		expect(document.documentElement.hasAttribute('data-theme')).toBe(false);
		expect(localStorage.getItem('csf.theme')).toBeNull();
		expect(get(theme)).toBe('auto');
	});
});
