import { describe, expect, it } from 'vitest';
import { fsUsedPercent, uptime, usageLevel } from '../src/lib/snapshot';
import type { SnapshotFilesystem } from '../src/lib/types';

const fs = (used: number, available: number, total = used + available): SnapshotFilesystem => ({
	device: '/dev/sda1',
	mountpoint: '/',
	fstype: 'ext4',
	total_bytes: total,
	used_bytes: used,
	available_bytes: available,
	inodes_total: 0,
	inodes_used: 0
});

describe('snapshot', () => {
	it('filesystem use counts like df: reserved blocks are not room', () => {
		expect(fsUsedPercent(fs(40, 60))).toBe(40);
		// 100 total, 5 reserved for root: 95 used of 95 usable is full
		expect(fsUsedPercent(fs(95, 0, 100))).toBe(100);
		expect(fsUsedPercent(fs(0, 0, 0))).toBeNull();
	});

	it('usage levels', () => {
		expect(usageLevel(null)).toBe('ok');
		expect(usageLevel(74.9)).toBe('ok');
		expect(usageLevel(75)).toBe('warn');
		expect(usageLevel(90)).toBe('crit');
	});

	it('uptime', () => {
		expect(uptime(0)).toBe('–');
		expect(uptime(59)).toBe('0m');
		expect(uptime(3600 * 5 + 12 * 60)).toBe('5h 12m');
		expect(uptime(86400 * 3 + 3600 * 4 + 5)).toBe('3d 4h');
		expect(uptime(null)).toBe('–');
	});
});
