// The colour theme: the system's (auto) unless the user picks one; kept in
// localStorage and applied as <html data-theme>.
import { writable } from 'svelte/store';

export type Theme = 'auto' | 'light' | 'dark';

function initial(): Theme {
	const t = globalThis.localStorage?.getItem('csf.theme');
	return t === 'light' || t === 'dark' ? t : 'auto';
}

export const theme = writable<Theme>(initial());

theme.subscribe((t) => {
	const el = globalThis.document?.documentElement;
	if (!el) return;
	if (t === 'auto') el.removeAttribute('data-theme');
	else el.setAttribute('data-theme', t);
});

export function setTheme(t: Theme) {
	if (t === 'auto') globalThis.localStorage?.removeItem('csf.theme');
	else globalThis.localStorage?.setItem('csf.theme', t);
	theme.set(t);
}
