import { describe, expect, it, vi } from 'vitest';
import { get } from 'svelte/store';
import { Feed, backoff, feedUrl } from '../src/lib/feed';

// A WebSocket double that records what the client sends; the real server
// side of the protocol is exercised by the e2e test against csf-server.
class FakeSocket {
	sent: unknown[] = [];
	onopen: (() => void) | null = null;
	onmessage: ((m: { data: string }) => void) | null = null;
	onclose: ((c: { code: number }) => void) | null = null;
	closed = false;
	send(s: string) {
		this.sent.push(JSON.parse(s));
	}
	close() {
		this.closed = true;
	}
	recv(o: object) {
		this.onmessage?.({ data: JSON.stringify(o) });
	}
}

function setup() {
	const sockets: FakeSocket[] = [];
	const f = new Feed(
		() => 'ws://x/api/v1/ws',
		() => {
			const s = new FakeSocket();
			sockets.push(s);
			return s as unknown as WebSocket;
		}
	);
	return { f, sockets };
}

describe('feed', () => {
	it('authenticates first, subscribes after hello, dispatches events', () => {
		const { f, sockets } = setup();
		const got: unknown[] = [];
		f.listen(['agents'], (e) => got.push(e));
		f.start('csfs_tok');
		const s = sockets[0];
		s.onopen!();
		expect(s.sent).toEqual([{ type: 'auth', token: 'csfs_tok' }]);
		expect(get(f.state)).toBe('connecting');
		s.recv({ type: 'hello', user: 'admin', role: 'admin', organization_id: 'o' });
		expect(get(f.state)).toBe('live');
		expect(s.sent[1]).toEqual({ type: 'subscribe', topics: ['agents'] });
		s.recv({ type: 'agent', id: 'a', status: 'offline', t: 1 });
		s.recv({ type: 'pong' });
		expect(got).toEqual([{ type: 'agent', id: 'a', status: 'offline', t: 1 }]);
	});

	it('counts topic references and unsubscribes the last', () => {
		const { f, sockets } = setup();
		f.start('t');
		sockets[0].onopen!();
		sockets[0].recv({ type: 'hello' });
		const off1 = f.listen(['agents', 'metrics:x'], () => {});
		const off2 = f.listen(['agents'], () => {});
		off1();
		off2();
		expect(sockets[0].sent.slice(1)).toEqual([
			{ type: 'subscribe', topics: ['agents', 'metrics:x'] },
			{ type: 'unsubscribe', topics: ['metrics:x'] },
			{ type: 'unsubscribe', topics: ['agents'] }
		]);
	});

	it('reconnects after a drop but not after 4016 (bad token)', () => {
		vi.useFakeTimers();
		const { f, sockets } = setup();
		f.listen(['agents'], () => {});
		f.start('t');
		sockets[0].onclose!({ code: 1006 });
		expect(get(f.state)).toBe('down');
		vi.advanceTimersByTime(30000);
		expect(sockets).toHaveLength(2);
		sockets[1].onopen!();
		sockets[1].recv({ type: 'hello' });
		expect(sockets[1].sent[1]).toEqual({ type: 'subscribe', topics: ['agents'] });
		sockets[1].onclose!({ code: 4016 });
		vi.advanceTimersByTime(60000);
		expect(sockets).toHaveLength(2);
		vi.useRealTimers();
	});

	it('backoff grows, is capped, and jitters', () => {
		expect(backoff(0, () => 0)).toBe(250);
		expect(backoff(3, () => 1)).toBe(4000);
		expect(backoff(20, () => 1)).toBe(30000);
		expect(feedUrl({ protocol: 'https:', host: 'h:1' })).toBe('wss://h:1/api/v1/ws');
	});
});
