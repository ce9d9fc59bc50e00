// What the agent detail page shows of GET /api/v1/agents/{id}/snapshot.
import type { SnapshotFilesystem } from './types';

/**
 * A filesystem's use in percent, as df(1) counts it: used over what users
 * can have (used + available), so blocks reserved for root do not hide a
 * full disk. null when the filesystem reports no size (pseudo filesystems).
 */
export function fsUsedPercent(f: SnapshotFilesystem): number | null {
	const room = f.used_bytes + f.available_bytes;
	if (room <= 0) return null;
	return Math.min(100, (f.used_bytes / room) * 100);
}

/** How a usage bar is coloured: from 90% critical, from 75% a warning. */
export function usageLevel(pct: number | null): 'ok' | 'warn' | 'crit' {
	if (pct === null) return 'ok';
	return pct >= 90 ? 'crit' : pct >= 75 ? 'warn' : 'ok';
}

/** Uptime as "3d 4h", "5h 12m" or "42m". */
export function uptime(seconds: number | null | undefined): string {
	if (seconds === null || seconds === undefined || !isFinite(seconds) || seconds <= 0) return '–';
	const m = Math.floor(seconds / 60);
	const h = Math.floor(m / 60);
	const d = Math.floor(h / 24);
	if (d) return `${d}d ${h % 24}h`;
	if (h) return `${h}h ${m % 60}m`;
	return `${m}m`;
}
