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

/** GET /api/v1/agents/{id}/snapshot: the agent's newest full metrics message. */
export interface NetCounters {
	bytes: number;
	packets: number;
	errors: number;
	drops: number;
	bytes_per_sec: number;
	packets_per_sec: number;
}

export interface SnapshotFilesystem {
	device: string;
	mountpoint: string;
	fstype: string;
	total_bytes: number;
	used_bytes: number;
	available_bytes: number;
	inodes_total: number;
	inodes_used: number;
}

export interface SnapshotDisk {
	name: string;
	reads: number;
	writes: number;
	read_bytes: number;
	write_bytes: number;
	reads_per_sec: number;
	writes_per_sec: number;
	read_bytes_per_sec: number;
	write_bytes_per_sec: number;
	busy_percent: number;
}

export interface SnapshotInterface {
	name: string;
	rx: NetCounters | null;
	tx: NetCounters | null;
}

export interface SnapshotProcess {
	pid: number;
	name: string;
	user: string;
	cpu_percent: number;
	rss_bytes: number;
}

export interface Snapshot {
	agent_id: string;
	timestamp: number;
	interval_seconds: number;
	uptime_seconds: number;
	cpu: { usage_percent: number; cores: number; load1: number; load5: number; load15: number } | null;
	memory: {
		total_bytes: number;
		used_bytes: number;
		available_bytes: number;
		swap_total_bytes: number;
		swap_used_bytes: number;
	} | null;
	filesystems: SnapshotFilesystem[];
	disks: SnapshotDisk[];
	interfaces: SnapshotInterface[];
	processes: {
		count: number;
		threads: number;
		top_cpu: SnapshotProcess[];
		top_memory: SnapshotProcess[];
	} | null;
}
