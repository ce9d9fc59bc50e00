// Debian's chromium through playwright-core (from server/web's node_modules),
// shared by the e2e test and the dashboard benchmark.
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** Launch headless chromium with the flags PLATFORM-NOTES.md names. */
export async function launch(webSrc, executablePath) {
	const { chromium } = createRequire(join(webSrc, 'package.json'))('playwright-core');
	// without the background-networking flags chromium keeps dialing hosts
	// this machine's closed network refuses; playwright makes the fresh,
	// empty profile directory itself
	return chromium.launch({
		executablePath,
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync']
	});
}

/** Log in through the login page (from `base`, which redirects there). */
export async function login(page, base, user, password) {
	await page.goto(base + '/');
	await page.waitForURL('**/login');
	await page.getByLabel('Username').fill(user);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Log in' }).click();
}
