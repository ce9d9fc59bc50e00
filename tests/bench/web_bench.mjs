// The browser half of web_bench.py: prints one JSON object on stdout.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { launch, login } from '../e2e/browser.mjs';

const env = process.env;
const base = env.CSF_URL;
const rounds = Number(env.CSF_ROUNDS);
const browser = await launch(env.CSF_WEB_SRC, env.CSF_CHROMIUM);
const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();

// 1. first load: every script the login page fetches
const js = [];
page.on('response', async (r) => {
	const path = new URL(r.url()).pathname;
	if (!path.endsWith('.js')) return;
	const file = join(env.CSF_WEB_ROOT, path);
	const body = await r.body();
	const sizes = await r.request().sizes();
	js.push({
		path,
		raw: body.length,
		gzip: existsSync(file + '.gz') ? statSync(file + '.gz').size : body.length,
		sent: sizes.responseBodySize,
		encoding: r.headers()['content-encoding'] ?? null
	});
});
await login(page, base, 'admin', env.CSF_PASSWORD);
await page.waitForURL(base + '/');
page.removeAllListeners('response');

// 2. the agents page: client-side navigation from the overview, timed in the
// page from the click to the frame after the first page of rows is in
const dashboard = [];
const sort = [];
for (let i = 0; i < rounds; i++) {
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview', exact: true }).click();
	await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
	dashboard.push(
		await page.evaluate(async (n) => {
			const t0 = performance.now();
			document.querySelector('nav a[href="/agents"]').click();
			await new Promise((done) => {
				const check = () => {
					const rows = document.querySelectorAll('#agents-table tbody tr').length;
					const p = document.querySelector('main p[aria-live]');
					if (rows > 0 && p && p.textContent.includes(`${n} of ${n} agents`)) requestAnimationFrame(() => done());
					else requestAnimationFrame(check);
				};
				check();
			});
			return performance.now() - t0;
		}, Number(env.CSF_AGENTS))
	);
	sort.push(
		await page.evaluate(async () => {
			const first = () => document.querySelector('#agents-table tbody tr td')?.textContent;
			const before = first();
			const t0 = performance.now();
			[...document.querySelectorAll('#agents-table th button')].find((b) => b.textContent.includes('Name')).click();
			await new Promise((done) => {
				const check = () => (first() !== before ? requestAnimationFrame(() => done()) : requestAnimationFrame(check));
				check();
			});
			return performance.now() - t0;
		})
	);
}

// the baseline: the same request, the same rows as one plain table
const baseline = [];
for (let i = 0; i < rounds; i++) {
	baseline.push(
		await page.evaluate(async () => {
			const t0 = performance.now();
			const token = JSON.parse(sessionStorage.getItem('csf.session')).token;
			const r = await fetch('/api/v1/agents?limit=1000', { headers: { Authorization: 'Bearer ' + token } });
			const { items } = await r.json();
			const table = document.createElement('table');
			const body = table.createTBody();
			for (const a of items) {
				const tr = body.insertRow();
				for (const v of [a.name, a.hostname, `${a.os_type} ${a.os_version}`, a.agent_version, a.status,
					String(a.last_heartbeat ?? ''), Object.entries(a.tags).map(([k, x]) => `${k}=${x}`).join(', ')])
					tr.insertCell().textContent = v;
			}
			document.body.append(table);
			await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
			const ms = performance.now() - t0;
			table.remove();
			return ms;
		})
	);
}

console.log(JSON.stringify({
	js, agents: Number(env.CSF_AGENTS), rounds, chromium: browser.version(),
	dashboard_ms: dashboard, sort_ms: sort, baseline_ms: baseline
}));
await browser.close();
