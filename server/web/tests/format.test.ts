import { describe, expect, it } from 'vitest';
import { ago, bytes, parseTags, percent, rate, tagText } from '../src/lib/format';
import { curlLine, installLine, shq } from '../src/lib/install';
import { appendLive, columns, fromBucket, type Point } from '../src/lib/series';

describe('format', () => {
	it('bytes, rates and percents', () => {
		expect(bytes(0)).toBe('0 B');
		expect(bytes(1536)).toBe('1.5 KiB');
		expect(bytes(8 * 2 ** 30)).toBe('8.0 GiB');
		expect(bytes(null)).toBe('–');
		expect(rate(2048)).toBe('2.0 KiB/s');
		expect(percent(12.345)).toBe('12%');
		expect(percent(3.21)).toBe('3.2%');
	});

	it('ago', () => {
		expect(ago(null)).toBe('never');
		expect(ago(10_000, 15_000)).toBe('5s ago');
		expect(ago(0 + 1, 7_200_001)).toBe('2h ago');
	});

	it('tags round-trip and bad ones are refused with a reason', () => {
		const t = parseTags(' env = prod , rack=4,');
		expect(t).toEqual({ env: 'prod', rack: '4' });
		expect(parseTags(tagText(t))).toEqual(t);
		expect(parseTags('')).toEqual({});
		expect(() => parseTags('novalue')).toThrow(/not key=value/);
		expect(() => parseTags('a=1,a=2')).toThrow(/twice/);
		expect(() => parseTags('k'.repeat(65) + '=1')).toThrow(/longer than 64/);
	});
});

describe('install lines', () => {
	const a = { serverUrl: 'https://csf.example:7443', token: 'csf1_abc_def', name: "bob's box", tags: 'env=prod, rack=4', scriptUrl: 'https://csf.example/install.sh' };

	it('quote for sh only when needed', () => {
		expect(shq('plain-1.2:3')).toBe('plain-1.2:3');
		expect(shq("it's")).toBe(`'it'\\''s'`);
		expect(shq('a b')).toBe(`'a b'`);
	});

	it('csf-agent install and curl | sh', () => {
		expect(installLine(a)).toBe(
			`sudo csf-agent install --server-url https://csf.example:7443 --api-key csf1_abc_def --name 'bob'\\''s box' --tags env=prod,rack=4`
		);
		expect(curlLine({ ...a, name: '', tags: '' })).toBe(
			'curl -fsSL https://csf.example/install.sh | sudo sh -s -- --server-url https://csf.example:7443 --api-key csf1_abc_def'
		);
	});
});

describe('series', () => {
	const p = (t: number): Point => ({ t, cpu: t, mem: null, memTotal: null, disk: null, diskTotal: null, rx: null, tx: null });

	it('live points stay ordered, unique and inside the window', () => {
		let pts = [p(100), p(200)];
		pts = appendLive(pts, p(150), 900);
		pts = appendLive(pts, p(200), 900);
		expect(pts.map((x) => x.t)).toEqual([100, 150, 200]);
		pts = appendLive(pts, p(1050), 900);
		expect(pts.map((x) => x.t)).toEqual([200, 1050]);
		expect(columns(pts, ['cpu'])).toEqual([[200, 1050], [200, 1050]]);
	});

	it('buckets become points in seconds', () => {
		const b = fromBucket({
			t: 60_000, samples: 3, cpu_avg: 5, cpu_max: 9, memory_used_avg: 10, memory_used_max: 12, memory_total: 20,
			disk_used_avg: 1, disk_used_max: 1, disk_total: 2, network_rx_bytes: 0, network_tx_bytes: 0,
			network_rx_rate: null, network_tx_rate: 4
		});
		expect(b).toMatchObject({ t: 60, cpu: 5, mem: 10, memTotal: 20, rx: null, tx: 4 });
	});
});
