import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
	preprocess: vitePreprocess(),
	kit: {
		// A single-page app: csf-server answers every client-side route with
		// index.html (its SPA fallback), so nothing is prerendered per page.
		adapter: adapter({
			pages: process.env.CSF_WEB_OUT ?? 'build',
			assets: process.env.CSF_WEB_OUT ?? 'build',
			fallback: 'index.html',
			precompress: false,
			strict: true
		}),
		// Absolute /_app/ URLs: the fallback page is served at any depth.
		paths: { relative: false },
		// SvelteKit's boot script is inline; scripts/compress.js moves it to a file so
		// csf-server's CSP (script-src 'self', no 'unsafe-inline') allows it.
		output: { bundleStrategy: 'single' }
	}
};
