// Chart points of one agent: from the REST buckets of a range, and from the
// live feed's samples, which are appended and trimmed to the live window.
import type { Bucket, FeedSample } from './types';

export interface Point {
	t: number; // Unix seconds
	cpu: number | null;
	mem: number | null;
	memTotal: number | null;
	disk: number | null;
	diskTotal: number | null;
	rx: number | null;
	tx: number | null;
}

export function fromBucket(b: Bucket): Point {
	return {
		t: b.t / 1000,
		cpu: b.cpu_avg,
		mem: b.memory_used_avg,
		memTotal: b.memory_total,
		disk: b.disk_used_avg,
		diskTotal: b.disk_total,
		rx: b.network_rx_rate,
		tx: b.network_tx_rate
	};
}

export function fromSample(s: FeedSample): Point {
	return {
		t: s.t / 1000,
		cpu: s.cpu_percent,
		mem: s.memory_used,
		memTotal: s.memory_total,
		disk: s.disk_used,
		diskTotal: s.disk_total,
		rx: s.network_rx_rate,
		tx: s.network_tx_rate
	};
}

/** Add a live point in time order (a replayed sample replaces its twin), keep `windowS` seconds. */
export function appendLive(points: Point[], p: Point, windowS: number): Point[] {
	const out = points.filter((x) => x.t !== p.t && x.t > p.t - windowS);
	let i = out.length;
	while (i > 0 && out[i - 1].t > p.t) i--;
	out.splice(i, 0, p);
	return out;
}

/** uPlot's aligned columns: [t, ...fields]. */
export function columns(points: Point[], fields: (keyof Point)[]): (number | null)[][] {
	return [points.map((p) => p.t), ...fields.map((f) => points.map((p) => p[f]))];
}
