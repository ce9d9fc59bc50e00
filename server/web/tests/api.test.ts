// The REST client against a real csf-server on loopback (the binary from
// CSF_SERVER_BIN, which ctest sets; default: the gcc build's).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { api, ApiError, listAll } from '../src/lib/api';
import { session, type Session } from '../src/lib/session';

const bin = process.env.CSF_SERVER_BIN ?? resolve(__dirname, '../../../build/bin/csf-server');
const PASSWORD = 'vitest-admin-password';
let server: ChildProcess;
let dir: string;
let base: string;
const realFetch = globalThis.fetch;

// the pages call relative URLs; here they go to the test's server
function serveFrom(base: string) {
	vi.stubGlobal('fetch', (path: string, init?: RequestInit) => realFetch(base + path, init));
}

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'csf-vitest-'));
	server = spawn(bin, ['serve', '--data-dir', dir, '--http-listen', '127.0.0.1:0', '--agent-listen', '127.0.0.1:0'], {
		env: { ...process.env, CSF_ADMIN_PASSWORD: PASSWORD },
		stdio: ['ignore', 'ignore', 'pipe']
	});
	const port = await new Promise<number>((done, fail) => {
		let log = '';
		server.stderr!.on('data', (b) => {
			log += b;
			const m = /serving: http on port (\d+)/.exec(log);
			if (m) done(Number(m[1]));
		});
		server.on('exit', (code) => fail(new Error(`csf-server exited ${code}: ${log}`)));
	});
	base = `http://127.0.0.1:${port}`;
	serveFrom(base);
}, 30000);

afterAll(async () => {
	vi.unstubAllGlobals();
	session.clear();
	if (server && server.exitCode === null) {
		const exited = new Promise((done) => server.on('exit', done));
		server.kill('SIGTERM');
		await exited;
	}
	rmSync(dir, { recursive: true, force: true });
});

async function login(username: string, password: string) {
	session.set(await api<Session>('POST', '/api/v1/auth/login', { username, password }));
}

describe('api against csf-server', () => {
	it('a wrong password is a 401 with the server message, and no session', async () => {
		const err = (await api('POST', '/api/v1/auth/login', { username: 'admin', password: 'nope' }).catch((e) => e)) as ApiError;
		expect(err).toBeInstanceOf(ApiError);
		expect([err.status, err.code]).toEqual([401, 'unauthenticated']);
		expect(session.token()).toBeNull();
	});

	it('logs in, sends the bearer token, lists every page', async () => {
		await login('admin', PASSWORD);
		expect(session.token()).toMatch(/^csfs_/);
		const me = await api<{ username: string; role: string }>('GET', '/api/v1/auth/me');
		expect([me.username, me.role]).toEqual(['admin', 'admin']);
		expect(await listAll('/api/v1/agents?status=online')).toEqual([]);
	});

	it('a 403 keeps the session; a 401 ends it', async () => {
		await login('admin', PASSWORD);
		await api('POST', '/api/v1/users', { username: 'vitest-viewer', password: 'viewer-password', role: 'viewer' });
		await login('vitest-viewer', 'viewer-password');
		const err = (await api('POST', '/api/v1/api-keys', { name: 'x', role: 'viewer' }).catch((e) => e)) as ApiError;
		expect([err.status, err.code]).toEqual([403, 'forbidden']);
		expect(session.token()).not.toBeNull();
		await api('POST', '/api/v1/auth/logout');
		// the same token again: the server deleted it
		await expect(api('GET', '/api/v1/auth/me')).rejects.toMatchObject({ status: 401 });
		expect(session.token()).toBeNull();
	});

	it('refused bodies come back as the server explains them', async () => {
		await login('admin', PASSWORD);
		const err = (await api('POST', '/api/v1/enrollment-tokens', { uses: 0 }).catch((e) => e)) as ApiError;
		expect([err.status, err.code]).toEqual([400, 'invalid_argument']);
		expect(err.message).toMatch(/uses/);
	});

	it('an unreachable server is a clear error', async () => {
		serveFrom('http://127.0.0.1:1');
		try {
			await expect(api('GET', '/api/v1/agents')).rejects.toThrow('The server cannot be reached.');
		} finally {
			serveFrom(base);
		}
	});
});
