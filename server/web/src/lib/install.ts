// The command lines the enrollment page shows. `csf-agent install` takes the
// options of DESIGN.md §3; values are single-quoted for sh so that a name or
// tag with spaces or quotes is passed through unchanged.
export interface InstallArgs {
	serverUrl: string;
	token: string;
	name: string;
	tags: string;
	scriptUrl: string;
}

export function shq(s: string): string {
	return /^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function flags(a: InstallArgs): string {
	let f = `--server-url ${shq(a.serverUrl)} --api-key ${shq(a.token)}`;
	if (a.name.trim()) f += ` --name ${shq(a.name.trim())}`;
	if (a.tags.trim()) f += ` --tags ${shq(a.tags.replace(/\s*,\s*/g, ',').trim())}`;
	return f;
}

export function installLine(a: InstallArgs): string {
	return `sudo csf-agent install ${flags(a)}`;
}

export function curlLine(a: InstallArgs): string {
	return `curl -fsSL ${shq(a.scriptUrl)} | sudo sh -s -- ${flags(a)}`;
}
