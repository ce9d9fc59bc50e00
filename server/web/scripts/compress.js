// After `vite build`: (1) move SvelteKit's inline boot script out of each
// HTML page into a file, so csf-server's CSP (script-src 'self') allows it
// without 'unsafe-inline'; (2) write .gz and .br next to every compressible
// file, which csf-server sends when the request's Accept-Encoding allows.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = process.argv[2] ?? process.env.CSF_WEB_OUT ?? 'build';

function walk(dir) {
	return readdirSync(dir).flatMap((n) => {
		const p = join(dir, n);
		return statSync(p).isDirectory() ? walk(p) : [p];
	});
}

for (const file of walk(root).filter((f) => f.endsWith('.html'))) {
	const html = readFileSync(file, 'utf8');
	const out = html.replace(/<script>([\s\S]*?)<\/script>/g, (_m, code) => {
		const name = `boot.${createHash('sha256').update(code).digest('hex').slice(0, 12)}.js`;
		writeFileSync(join(root, '_app', 'immutable', name), code);
		return `<script src="/_app/immutable/${name}"></script>`;
	});
	if (/<script>/.test(out)) throw new Error(`${file}: an inline script is left`);
	writeFileSync(file, out);
}

let raw = 0;
let gz = 0;
for (const file of walk(root).filter((f) => /\.(html|js|mjs|css|json|svg|txt|map)$/.test(f))) {
	const data = readFileSync(file);
	const g = gzipSync(data, { level: 9 });
	const b = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
	if (g.length < data.length) writeFileSync(file + '.gz', g);
	if (b.length < data.length) writeFileSync(file + '.br', b);
	raw += data.length;
	gz += g.length;
}
console.log(`compress: ${relative('.', root)}: ${raw} bytes, ${gz} gzipped`);
