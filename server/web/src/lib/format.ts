// How numbers and times read on the pages.
const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n: number | null | undefined): string {
	if (n === null || n === undefined || !isFinite(n)) return '–';
	let i = 0;
	let v = Math.abs(n);
	while (v >= 1024 && i < units.length - 1) {
		v /= 1024;
		i++;
	}
	return (n < 0 ? '-' : '') + (i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 1 : 0)) + ' ' + units[i];
}

export function rate(n: number | null | undefined): string {
	return n === null || n === undefined ? '–' : bytes(n) + '/s';
}

export function percent(n: number | null | undefined): string {
	return n === null || n === undefined || !isFinite(n) ? '–' : n.toFixed(n < 10 ? 1 : 0) + '%';
}

export function ago(ms: number | null | undefined, now = Date.now()): string {
	if (!ms) return 'never';
	const s = Math.max(0, Math.round((now - ms) / 1000));
	if (s < 60) return `${s}s ago`;
	if (s < 3600) return `${Math.floor(s / 60)}m ago`;
	if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
	return `${Math.floor(s / 86400)}d ago`;
}

export function datetime(ms: number | null | undefined): string {
	return ms ? new Date(ms).toLocaleString() : '–';
}

export function tagText(tags: Record<string, string>): string {
	return Object.entries(tags)
		.map(([k, v]) => `${k}=${v}`)
		.join(', ');
}

/** `k=v, k2=v2` → tags; a clear error for what does not parse. */
export function parseTags(text: string): Record<string, string> {
	const out: Record<string, string> = {};
	for (const part of text.split(',')) {
		const p = part.trim();
		if (!p) continue;
		const eq = p.indexOf('=');
		if (eq <= 0) throw new Error(`"${p}" is not key=value`);
		const k = p.slice(0, eq).trim();
		if (k.length > 64) throw new Error(`tag key "${k.slice(0, 20)}…" is longer than 64`);
		if (k in out) throw new Error(`tag "${k}" is given twice`);
		out[k] = p.slice(eq + 1).trim();
	}
	if (Object.keys(out).length > 64) throw new Error('at most 64 tags');
	return out;
}
