// The browser half of dashboard_test.py: Debian's chromium, driven by
// playwright-core, against the csf-server that script started. Each step
// saves a screenshot of its page in CSF_ARTIFACTS; every page is checked for
// a title, labelled form fields and a clean console.
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { launch, login as loginAt } from './browser.mjs';

const env = process.env;
const base = env.CSF_URL;
const agentId = env.CSF_AGENT_ID;
const stdin = createInterface({ input: process.stdin });
const replies = stdin[Symbol.asyncIterator]();
const browser = await launch(env.CSF_WEB_SRC, env.CSF_CHROMIUM);
const problems = [];
let shot = 0;
let current = null; // the page a failing step leaves a screenshot of

function watch(page, who) {
	page.on('console', (m) => m.type() === 'error' && problems.push(`${who}: console error: ${m.text()} (${m.location().url})`));
	page.on('pageerror', (e) => problems.push(`${who}: page error: ${e.message}`));
}

async function step(name, fn) {
	const t0 = Date.now();
	try {
		await fn();
	} catch (e) {
		console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
		if (current) {
			await current.screenshot({ path: join(env.CSF_ARTIFACTS, 'FAILED.png'), fullPage: true }).catch(() => {});
			console.log(`page ${current.url()}:\n${await current.locator('body').innerText().catch(() => '')}`);
		}
		for (const p of problems) console.log(p);
		throw e;
	}
	console.log(`ok   ${name} (${Date.now() - t0} ms)`);
}

/** Screenshot, then the accessibility smoke: a title, every field labelled. */
async function check(page, label, wantTitle) {
	await page.screenshot({ path: join(env.CSF_ARTIFACTS, `${String(++shot).padStart(2, '0')}-${label}.png`), fullPage: true });
	const title = await page.title();
	if (!title.includes(wantTitle)) throw new Error(`${label}: title "${title}", wanted "${wantTitle}"`);
	const unlabelled = await page.evaluate(() =>
		[...document.querySelectorAll('input, select, textarea')]
			.filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
			.map((el) => el.outerHTML.slice(0, 80))
	);
	if (unlabelled.length) throw new Error(`${label}: fields without a label: ${unlabelled.join(' | ')}`);
}

function nav(page, name) {
	return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

function login(page, user, password) {
	return loginAt(page, base, user, password);
}

let failed = false;
try {
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const page = await ctx.newPage();
	current = page;
	watch(page, 'admin');

	await step('wrong password gets a clear message', async () => {
		await login(page, 'admin', 'not-the-password');
		await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor({ timeout: 5000 });
		await check(page, 'login-wrong-password', 'Log in');
		// the server's 401 for the wrong password is logged by chromium as a
		// failed resource load: expected here, so it is not a problem
		problems.length = 0;
	});

	await step('log in as admin: the overview counts the agent online', async () => {
		await page.getByLabel('Password').fill(env.CSF_PASSWORD);
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.waitForURL(base + '/');
		await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
		await page.locator('.tile.ok .n', { hasText: '1' }).waitFor({ timeout: 10000 });
		await page.locator('.feed.live').waitFor({ timeout: 10000 });
		await check(page, 'overview', 'Overview');
	});

	await step('agents table shows the agent online', async () => {
		await nav(page, 'Agents').click();
		const row = page.locator(`tr[data-agent="${agentId}"]`);
		await row.locator('[data-status="online"]').waitFor({ timeout: 10000 });
		const text = await row.innerText();
		for (const want of [env.CSF_AGENT_NAME, env.CSF_AGENT_HOSTNAME, 'env=e2e'])
			if (!text.includes(want)) throw new Error(`row "${text}" lacks "${want}"`);
		await page.getByLabel('Search name or hostname').fill('no-such-agent');
		await page.getByText('0 of 1 agents').waitFor();
		await page.getByLabel('Search name or hostname').fill('');
		await check(page, 'agents', 'Agents');
	});

	await step('agent detail: host facts and a CPU chart with live data', async () => {
		await page.getByRole('link', { name: env.CSF_AGENT_NAME }).click();
		await page.waitForURL(`**/agents/${agentId}`);
		await page.getByRole('heading', { name: env.CSF_AGENT_NAME }).waitFor();
		// at least 3 points: the stored samples plus live ones from the feed
		await page.waitForFunction(() => {
			const el = document.querySelector('[aria-label^="CPU chart"]');
			const n = el ? Number(/(\d+) points/.exec(el.getAttribute('aria-label'))?.[1]) : 0;
			return n >= 3 && el.querySelector('canvas');
		}, null, { timeout: 15000 });
		const fact = (dt) => page.locator(`dt:text-is("${dt}") + dd`).first().innerText();
		if ((await fact('Hostname')) !== env.CSF_AGENT_HOSTNAME) throw new Error('hostname: ' + (await fact('Hostname')));
		if (!/^\d+(\.\d)?%$/.test(await fact('CPU'))) throw new Error('latest CPU: ' + (await fact('CPU')));
		if (!/iB of [\d.]+ [MGT]iB/.test(await fact('Memory'))) throw new Error('memory: ' + (await fact('Memory')));
		await page.getByRole('button', { name: '1 hour' }).click();
		await page.getByText(/\d+ points from/).waitFor();
		await page.getByRole('button', { name: 'Last 15 min (live)' }).click();
		// the charts draw again in the other theme's colours (errors would show on the console)
		await page.getByLabel('Theme').selectOption('dark');
		await check(page, 'agent-detail-dark', env.CSF_AGENT_NAME);
		await page.getByLabel('Theme').selectOption('auto');
		await page.locator('[aria-label^="CPU chart"] canvas').waitFor();
		await check(page, 'agent-detail', env.CSF_AGENT_NAME);
	});

	await step('agent detail: the latest snapshot shows filesystems, interfaces and processes', async () => {
		// this host's root filesystem, as the test script measured it (statvfs)
		const root = JSON.parse(env.CSF_ROOT_FS);
		const table = page.getByRole('table', { name: 'Filesystems' });
		const row = table.locator('tbody tr').filter({ has: page.locator('td:first-child', { hasText: /^\/$/ }) });
		await row.waitFor({ timeout: 15000 });
		const cells = await row.locator('td').allInnerTexts();
		const pct = Number(/(\d+)%/.exec(cells[6] || '')?.[1]);
		if (cells[2] !== root.fstype || !(Math.abs(pct - root.used_pct) <= 3))
			throw new Error('root filesystem row: ' + JSON.stringify(cells) + ' vs ' + env.CSF_ROOT_FS);
		const meter = row.getByRole('meter');
		if (Math.abs(Number(await meter.getAttribute('aria-valuenow')) - pct) > 1)
			throw new Error('usage bar: ' + (await meter.getAttribute('aria-valuenow')));
		await page.getByRole('table', { name: 'Interfaces' }).locator('tbody tr').first().waitFor();
		// a real agent reports its top processes
		await page.getByRole('region', { name: 'Top processes' }).locator('tbody tr').first().waitFor();
	});

	await step('tags edit saves through the API', async () => {
		await page.getByLabel('Tags (key=value, comma-separated)').fill('env=e2e, rack=7, owner=web');
		await page.getByRole('button', { name: 'Save tags' }).click();
		await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
		const r = await page.evaluate(async (id) => {
			const s = JSON.parse(sessionStorage.getItem('csf.session'));
			const res = await fetch('/api/v1/agents/' + id, { headers: { Authorization: 'Bearer ' + s.token } });
			return (await res.json()).tags;
		}, agentId);
		if (r.owner !== 'web' || r.rack !== '7') throw new Error('tags on the server: ' + JSON.stringify(r));
	});

	await step('stop the agent: it turns offline live, without a reload', async () => {
		await nav(page, 'Agents').click();
		const row = page.locator(`tr[data-agent="${agentId}"]`);
		await row.locator('[data-status="online"]').waitFor();
		await page.evaluate(() => (window.__noReload = true));
		console.log('ctl stop-agent');
		const r = await replies.next();
		if (r.value !== 'ok') throw new Error('the test script did not stop the agent');
		const t0 = Date.now();
		await row.locator('[data-status="offline"]').waitFor({ timeout: 10000 });
		if (!(await page.evaluate(() => window.__noReload))) throw new Error('the page reloaded');
		console.log(`info offline shown ${Date.now() - t0} ms after the agent stopped`);
		await check(page, 'agents-offline', 'Agents');
	});

	await step('enrollment: create a token and show the install lines', async () => {
		await nav(page, 'Enroll').click();
		await page.getByRole('heading', { name: 'Enroll an agent' }).waitFor();
		await page.getByLabel('Description').fill('e2e rack');
		await page.getByRole('button', { name: 'Create token' }).click();
		const token = (await page.locator('#token').innerText()).trim();
		if (!/^csf1_[0-9a-f]{64}_/.test(token)) throw new Error('token: ' + token);
		await page.getByLabel('Agent name (optional)').fill('web-01');
		const install = await page.locator('#install-line').innerText();
		const curl = await page.locator('#curl-line').innerText();
		if (!install.startsWith('sudo csf-agent install --server-url https://127.0.0.1:7443 --api-key ' + token + ' --name web-01'))
			throw new Error('install line: ' + install);
		if (!curl.startsWith(`curl -fsSL ${base}/install.sh | sudo sh -s -- --server-url`)) throw new Error('curl line: ' + curl);
		await check(page, 'enroll', 'Enroll');
	});

	await step('settings: create an API key, list users', async () => {
		await nav(page, 'Settings').click();
		await page.getByRole('heading', { name: 'API keys' }).waitFor();
		await page.getByLabel('Name', { exact: true }).fill('e2e-ci');
		await page.getByRole('button', { name: 'Create key' }).click();
		const key = (await page.locator('#new-key').innerText()).trim();
		if (!key.startsWith('csfk_')) throw new Error('key: ' + key);
		await page.getByRole('cell', { name: 'e2e-ci', exact: true }).waitFor();
		await page.getByRole('cell', { name: 'watcher', exact: true }).waitFor();
		await check(page, 'settings', 'Settings');
	});

	await step('phone size and dark mode render the agents page', async () => {
		await page.setViewportSize({ width: 390, height: 844 });
		await page.getByLabel('Theme').selectOption('dark');
		await nav(page, 'Agents').click();
		await page.locator(`tr[data-agent="${agentId}"]`).waitFor();
		const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
		if (bg !== 'rgb(17, 19, 24)') throw new Error('dark background: ' + bg);
		await check(page, 'agents-phone-dark', 'Agents');
	});

	await step('keyboard: Tab reaches the navigation and the table links', async () => {
		await page.setViewportSize({ width: 1280, height: 800 });
		await page.keyboard.press('Tab');
		const seen = [];
		for (let i = 0; i < 40 && !seen.includes(env.CSF_AGENT_NAME); i++) {
			await page.keyboard.press('Tab');
			seen.push(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ''));
		}
		for (const want of ['Overview', 'Settings', 'Log out', env.CSF_AGENT_NAME])
			if (!seen.some((s) => s.startsWith(want))) throw new Error(`Tab never reached "${want}": ${seen.join(' | ')}`);
		await page.keyboard.press('Enter');
		await page.waitForURL(`**/agents/${agentId}`);
		await page.getByRole('heading', { name: env.CSF_AGENT_NAME }).waitFor();
		await page.getByText(/\d+ points from/).waitFor();
	});

	await step('log out ends the session', async () => {
		await page.getByRole('button', { name: 'Log out' }).click();
		await page.waitForURL('**/login');
		await page.goto(base + '/agents');
		await page.waitForURL('**/login');
	});

	await step('a viewer sees no buttons that would fail', async () => {
		const vctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
		const v = await vctx.newPage();
		current = v;
		watch(v, 'viewer');
		const [user, password] = env.CSF_VIEWER.split(':');
		await login(v, user, password);
		await v.waitForURL(base + '/');
		if (await nav(v, 'Enroll').count()) throw new Error('viewer sees Enroll');
		await v.goto(`${base}/agents/${agentId}`);
		await v.getByRole('heading', { name: env.CSF_AGENT_NAME }).waitFor();
		for (const name of ['Revoke agent…', 'Save tags'])
			if (await v.getByRole('button', { name }).count()) throw new Error(`viewer sees "${name}"`);
		await nav(v, 'Settings').click();
		await v.getByText('API keys and users are managed by admins.').waitFor();
		if (await v.getByRole('button', { name: 'Create key' }).count()) throw new Error('viewer sees Create key');
		await check(v, 'viewer-settings', 'Settings');
		await vctx.close();
		current = page;
	});

	await step('revoke with confirmation (admin)', async () => {
		await login(page, 'admin', env.CSF_PASSWORD);
		await page.waitForURL(base + '/');
		await page.goto(`${base}/agents/${agentId}`);
		await page.getByRole('button', { name: 'Revoke agent…' }).click();
		await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
		await page.getByRole('button', { name: 'Revoke agent…' }).click();
		await check(page, 'revoke-confirm', env.CSF_AGENT_NAME);
		await page.getByRole('dialog').getByRole('button', { name: 'Revoke', exact: true }).click();
		await page.waitForURL('**/agents');
		await page.getByText('0 of 0 agents').waitFor();
	});

	await step('no console errors on any page', async () => {
		if (problems.length) throw new Error(problems.join('\n'));
	});
} catch {
	failed = true;
} finally {
	await browser.close();
	stdin.close();
}
process.exit(failed ? 1 : 0);
