// The live feed /api/v1/ws (subprotocol csf.feed.v1, docs/api/openapi.yaml):
// one socket per tab, authenticated by its first message, shared by the
// pages through reference-counted topics. It reconnects with capped
// exponential backoff and jitter, and re-subscribes on every reconnect.
import { writable } from 'svelte/store';
import type { FeedAgent, FeedSample } from './types';

export type FeedEvent = FeedAgent | FeedSample;
export type FeedState = 'idle' | 'connecting' | 'live' | 'down';

type Listener = (e: FeedEvent) => void;

export function feedUrl(loc: { protocol: string; host: string }): string {
	return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/api/v1/ws';
}

export function backoff(attempt: number, rand = Math.random): number {
	const base = Math.min(30000, 500 * 2 ** attempt);
	return base / 2 + rand() * (base / 2);
}

export class Feed {
	state = writable<FeedState>('idle');
	private ws: WebSocket | null = null;
	private token: string | null = null;
	private topics = new Map<string, number>();
	private listeners = new Set<Listener>();
	private attempt = 0;
	private timer: ReturnType<typeof setTimeout> | null = null;

	constructor(
		private url: () => string,
		private make: (url: string) => WebSocket = (u) => new WebSocket(u, ['csf.feed.v1'])
	) {}

	start(token: string) {
		if (this.token === token && this.ws) return;
		this.stop();
		this.token = token;
		this.open();
	}

	stop() {
		this.token = null;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		const ws = this.ws;
		this.ws = null;
		ws?.close(1000);
		this.state.set('idle');
	}

	/** Listen to `topics`; the returned function undoes it. */
	listen(topics: string[], fn: Listener): () => void {
		this.listeners.add(fn);
		const fresh = topics.filter((t) => {
			const n = this.topics.get(t) ?? 0;
			this.topics.set(t, n + 1);
			return n === 0;
		});
		if (fresh.length) this.send({ type: 'subscribe', topics: fresh });
		return () => {
			this.listeners.delete(fn);
			const gone = topics.filter((t) => {
				const n = (this.topics.get(t) ?? 1) - 1;
				if (n <= 0) this.topics.delete(t);
				else this.topics.set(t, n);
				return n <= 0;
			});
			if (gone.length) this.send({ type: 'unsubscribe', topics: gone });
		};
	}

	private live = false;

	private send(msg: object) {
		if (this.ws && this.live) this.ws.send(JSON.stringify(msg));
	}

	private open() {
		if (!this.token) return;
		this.state.set('connecting');
		this.live = false;
		const ws = this.make(this.url());
		this.ws = ws;
		ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: this.token }));
		ws.onmessage = (m) => {
			let e: { type?: string };
			try {
				e = JSON.parse(String(m.data));
			} catch {
				return;
			}
			if (e.type === 'hello') {
				this.live = true;
				this.attempt = 0;
				this.state.set('live');
				if (this.topics.size) this.send({ type: 'subscribe', topics: [...this.topics.keys()] });
			} else if (e.type === 'agent' || e.type === 'metrics') {
				for (const fn of this.listeners) fn(e as FeedEvent);
			}
		};
		ws.onclose = (c) => {
			if (this.ws !== ws) return;
			this.ws = null;
			this.live = false;
			this.state.set('down');
			// 4016: the token is no good any more; retrying cannot help
			if (c.code === 4016 || !this.token) return;
			this.timer = setTimeout(() => this.open(), backoff(this.attempt++));
		};
	}
}

export const feed = new Feed(() => feedUrl(location));
