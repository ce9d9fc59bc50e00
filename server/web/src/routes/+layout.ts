// A single-page app: everything renders in the browser, nothing at build time.
export const ssr = false;
export const prerender = false;
