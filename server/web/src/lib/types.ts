// The shapes of docs/api/openapi.yaml that the dashboard reads.
export type Role = 'admin' | 'operator' | 'viewer';
export type Status = 'online' | 'offline' | 'error';

export interface Principal {
	id: string;
	username?: string;
	name?: string;
	role: Role;
	organization_id: string;
	kind: 'user' | 'api_key';
}

export interface Agent {
	id: string;
	name: string;
	hostname: string;
	ip_address: string;
	agent_version: string;
	os_type: string;
	os_version: string;
	architecture: string;
	status: Status;
	last_heartbeat: number | null;
	registered_at: number;
	updated_at: number;
	tags: Record<string, string>;
	capabilities: string[];
	outbox_depth: number;
	dropped_messages: number;
}

export interface Page<T> {
	items: T[];
	next_cursor: string | null;
}

export interface Bucket {
	t: number;
	samples: number;
	cpu_avg: number;
	cpu_max: number;
	memory_used_avg: number;
	memory_used_max: number;
	memory_total: number;
	disk_used_avg: number;
	disk_used_max: number;
	disk_total: number;
	network_rx_bytes: number;
	network_tx_bytes: number;
	network_rx_rate: number | null;
	network_tx_rate: number | null;
}

export interface Metrics {
	agent_id: string;
	from: number;
	to: number;
	step: number;
	source: 'raw' | '1m' | '1h';
	buckets: Bucket[];
}

export interface FleetSummary {
	agents: { total: number; online: number; offline: number; error: number };
	cpu_percent_avg: number | null;
	memory_percent_avg: number | null;
	attention: {
		id: string;
		name: string;
		status: Status;
		reason: 'offline' | 'cpu' | 'disk' | 'memory';
		cpu_percent: number;
		memory_percent: number;
		disk_percent: number;
	}[];
}

/** A `metrics` message of the live feed (csf.feed.v1). */
export interface FeedSample {
	type: 'metrics';
	id: string;
	t: number;
	cpu_percent: number;
	memory_used: number;
	memory_total: number;
	disk_used: number;
	disk_total: number;
	network_rx_rate: number | null;
	network_tx_rate: number | null;
	load1: number;
}

export interface FeedAgent {
	type: 'agent';
	id: string;
	status: Status | 'revoked';
	t: number;
}

export interface ApiKey {
	id: string;
	name: string;
	role: Role;
	created_by: string;
	created_at: number;
	last_used_at: number | null;
	revoked: boolean;
}

export interface User {
	id: string;
	username: string;
	role: Role;
	disabled: boolean;
	created_at: number;
}

export interface EnrollmentTokenCreated {
	id: string;
	token: string;
	expires_at: number;
	uses_left: number;
	uses: number;
	ca_sha256: string;
}
