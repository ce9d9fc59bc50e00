import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig(({ mode }) => ({
	plugins: [sveltekit()],
	// `npm run dev`: the API and the live feed of a running csf-server
	server: {
		proxy: { '/api': { target: process.env.CSF_API ?? 'http://127.0.0.1:8080', ws: true } }
	},
	// component tests mount Svelte's browser build in jsdom
	resolve: mode === 'test' ? { conditions: ['browser'] } : undefined,
	test: {
		environment: 'jsdom',
		include: ['tests/**/*.test.ts']
	}
}));
