import { describe, expect, it } from 'vitest';
import { applyEvents, defaultQuery, select } from '../src/lib/agents';
import type { Agent } from '../src/lib/types';

function agent(i: number, over: Partial<Agent> = {}): Agent {
	return {
		id: i.toString(16).padStart(32, '0'),
		name: `node-${String(i).padStart(4, '0')}`,
		hostname: `host-${i}`,
		ip_address: '10.0.0.1',
		agent_version: i % 2 ? '1.0.0' : '1.1.0',
		os_type: 'linux',
		os_version: 'Debian 12',
		architecture: 'x86_64',
		status: i % 10 === 0 ? 'offline' : 'online',
		last_heartbeat: 1_000_000 + i,
		registered_at: 1,
		updated_at: 1,
		tags: { env: i % 3 === 0 ? 'prod' : 'dev', rack: String(i % 7) },
		capabilities: ['metrics'],
		outbox_depth: 0,
		dropped_messages: 0,
		...over
	};
}

const fleet = Array.from({ length: 1000 }, (_, i) => agent(i + 1));

describe('select', () => {
	it('pages 1,000 agents 50 at a time', () => {
		const v = select(fleet, defaultQuery);
		expect(v.total).toBe(1000);
		expect(v.pages).toBe(20);
		expect(v.rows.map((a) => a.name).slice(0, 2)).toEqual(['node-0001', 'node-0002']);
		const last = select(fleet, { ...defaultQuery, page: 19 });
		expect(last.rows.at(-1)!.name).toBe('node-1000');
		// a page past the end shows the last one
		expect(select(fleet, { ...defaultQuery, page: 99 }).page).toBe(19);
	});

	it('filters by status, text and tag together', () => {
		const v = select(fleet, { ...defaultQuery, status: 'offline', tag: 'env=prod', text: 'node-00' });
		// offline: multiples of 10; prod: multiples of 3; name node-00xx: 1..99
		expect(v.rows.map((a) => a.name)).toEqual(['node-0030', 'node-0060', 'node-0090']);
		expect(select(fleet, { ...defaultQuery, tag: 'rack' }).total).toBe(1000);
		expect(select(fleet, { ...defaultQuery, tag: 'env=nope' }).total).toBe(0);
		expect(select(fleet, { ...defaultQuery, text: 'HOST-999' }).rows.map((a) => a.id)).toEqual([fleet[998].id]);
	});

	it('sorts both ways, ties broken by id', () => {
		const v = select(fleet, { ...defaultQuery, sort: 'last_heartbeat', desc: true });
		expect(v.rows[0].name).toBe('node-1000');
		const byVersion = select(fleet, { ...defaultQuery, sort: 'agent_version', size: 1000 });
		expect(byVersion.rows[0].agent_version).toBe('1.0.0');
		expect(byVersion.rows[999].agent_version).toBe('1.1.0');
		expect(byVersion.rows[0].id < byVersion.rows[1].id).toBe(true);
	});
});

describe('applyEvents', () => {
	const list = [agent(1), agent(2)];
	const sample = (id: string, t: number) => ({
		type: 'metrics' as const, id, t, cpu_percent: 1, memory_used: 1, memory_total: 2,
		disk_used: 1, disk_total: 2, network_rx_rate: 0, network_tx_rate: 0, load1: 0
	});

	it('turns an agent offline and keeps the newest heartbeat', () => {
		const r = applyEvents(list, [{ type: 'agent', id: list[0].id, status: 'offline', t: 5 }]);
		expect(r.list[0].status).toBe('offline');
		expect(r.list[0].last_heartbeat).toBe(list[0].last_heartbeat);
		expect(list[0].status).toBe('online'); // the old array is left as it was
	});

	it('applies a batch in order: offline, then a sample means online again', () => {
		const id = list[1].id;
		const r = applyEvents(list, [{ type: 'agent', id, status: 'offline', t: 5 }, sample(id, 9_000_000)]);
		expect(r.list[1]).toMatchObject({ status: 'online', last_heartbeat: 9_000_000 });
		const back = applyEvents(list, [sample(id, 9_000_000), { type: 'agent', id, status: 'offline', t: 9_000_001 }]);
		expect(back.list[1].status).toBe('offline');
	});

	it('drops revoked agents and reports unknown ones once', () => {
		expect(applyEvents(list, [{ type: 'agent', id: list[0].id, status: 'revoked', t: 1 }]).list).toHaveLength(1);
		const f = 'f'.repeat(32);
		const r = applyEvents(list, [
			{ type: 'agent', id: f, status: 'online', t: 1 },
			{ type: 'agent', id: f, status: 'offline', t: 2 },
			sample('e'.repeat(32), 3)
		]);
		expect(r.unknown).toEqual([f]);
		expect(r.list).toBe(list); // nothing it holds changed: same array, no re-render
		const gone = applyEvents(list, [{ type: 'agent', id: f, status: 'online', t: 1 }, { type: 'agent', id: f, status: 'revoked', t: 2 }]);
		expect(gone.unknown).toEqual([]);
	});

	it('a batch of 1,000 samples over 1,000 agents', () => {
		const r = applyEvents(fleet, fleet.map((a, i) => sample(a.id, 2_000_000 + i)));
		expect(r.list.every((a) => a.status === 'online')).toBe(true);
		expect(r.list[999].last_heartbeat).toBe(2_000_999);
	});
});
