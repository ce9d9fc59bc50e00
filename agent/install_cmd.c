/*
 * csf-agent install / uninstall (docs/csf-agent.md, "Install as a
 * service"). install: system user, enrollment (this same binary's `enroll`,
 * run as a child so the two stay decoupled), the state dir handed to the
 * user, /etc/csf/agent.conf, the service (systemd unit, or a launchd plist
 * on macOS), enabled and started. A failure undoes what this run made, so a
 * wrong token leaves nothing behind; a second run with the same server keeps
 * the identity it has. uninstall reverses it; --purge also removes the
 * identity and the user.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "install.h"

typedef struct install_opts {
	const char *server_url, *token, *name, *tags;
	const char *root;        /* NULL: the running system */
	const char *state_dir;   /* as the service sees it (without root) */
	const char *config_path; /* likewise */
	int no_start, docker, purge;
} install_opts;

/* What this run made, to undo on failure. */
typedef struct install_undo {
	int user, state_dir, config, unit, dropin_install, dropin_docker;
	/* the topmost directories made for each ("": none) */
	char state_parent[4096], config_dir[4096], dropin_dir[4096];
} install_undo;

/* Everything under the root, resolved once. */
typedef struct install_paths {
	char state[4096], identity[4096], config[4096], config_dir[4096];
	char unit[4096], dropin_dir[4096], dropin_install[4096], dropin_docker[4096];
	char exe[4096]; /* this binary as the service will see it */
} install_paths;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: csf-agent install --server-url URL --api-key TOKEN [--name N] [--tags k=v,...]\n"
		"                         [--state-dir DIR] [--config-path FILE] [--docker]\n"
		"                         [--no-start] [--root DIR]\n"
		"       csf-agent uninstall [--purge] [--state-dir DIR] [--config-path FILE] [--root DIR]\n"
		"\n"
		"--token is the same as --api-key: the enrollment token of `csf-server token create`\n"
		"(or CSF_TOKEN in the environment, which keeps it out of `ps`).\n"
		"--root DIR installs into a throwaway root (as systemctl --root does): nothing is started.\n");
}

/* Values that go into the config file and unit drop-ins: no blanks, quotes,
 * comment or specifier characters that would change their meaning there. */
static int plain_value(const char *what, const char *v)
{
	const char *p;

	for (p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("\"'\\#%;$`", *p)) {
			fprintf(stderr, "csf-agent: %s '%s' must not contain blanks, quotes or any of # %% ; $ `\n",
				what, v);
			return -1;
		}
	return 0;
}

static int parse_args(int argc, char **argv, install_opts *o, int uninstall)
{
	int i;

	o->state_dir = AGENT_DEFAULT_STATE_DIR;
	o->config_path = AGENT_DEFAULT_CONFIG;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return usage(stdout), -1;
		if (!strcmp(a, "--purge") && uninstall) {
			o->purge = 1;
			continue;
		}
		if (!strcmp(a, "--no-start") && !uninstall) {
			o->no_start = 1;
			continue;
		}
		if (!strcmp(a, "--docker") && !uninstall) {
			o->docker = 1;
			continue;
		}
		if (!strcmp(a, "--root"))
			slot = &o->root;
		else if (!strcmp(a, "--state-dir"))
			slot = &o->state_dir;
		else if (!strcmp(a, "--config-path"))
			slot = &o->config_path;
		else if (!uninstall && !strcmp(a, "--server-url"))
			slot = &o->server_url;
		else if (!uninstall && (!strcmp(a, "--api-key") || !strcmp(a, "--token")))
			slot = &o->token;
		else if (!uninstall && !strcmp(a, "--name"))
			slot = &o->name;
		else if (!uninstall && !strcmp(a, "--tags"))
			slot = &o->tags;
		if (!slot) {
			fprintf(stderr, "csf-agent %s: unknown option '%s'\n", argv[0], a);
			return usage(stderr), AGENT_EXIT_USAGE;
		}
		if (!v || !*v) {
			fprintf(stderr, "csf-agent %s: %s needs a value\n", argv[0], a);
			return AGENT_EXIT_USAGE;
		}
		*slot = v; /* the last one wins: install.sh puts the server's URL first */
		i++;
	}
	if (!uninstall && !o->token)
		o->token = getenv("CSF_TOKEN") && *getenv("CSF_TOKEN") ? getenv("CSF_TOKEN") : getenv("CSF_API_KEY");
	if (!uninstall && !o->server_url)
		o->server_url = getenv("CSF_SERVER_URL");
	if (!uninstall && (!o->server_url || !o->token || !*o->server_url || !*o->token)) {
		fprintf(stderr, "csf-agent install: --server-url and --api-key (or --token) are required\n");
		return AGENT_EXIT_USAGE;
	}
	if (o->state_dir[0] != '/' || o->config_path[0] != '/' || (o->root && o->root[0] != '/')) {
		fprintf(stderr, "csf-agent %s: --state-dir, --config-path and --root must be absolute paths\n", argv[0]);
		return AGENT_EXIT_USAGE;
	}
	if (plain_value("--state-dir", o->state_dir) || plain_value("--config-path", o->config_path) ||
	    (o->server_url && plain_value("--server-url", o->server_url)))
		return AGENT_EXIT_USAGE;
	if (o->root)
		o->no_start = 1;
	return 0;
}

static int resolve_paths(const install_opts *o, install_paths *p)
{
	char *slash;
	ssize_t n;
	size_t rl = o->root ? strlen(o->root) : 0;

	if (install_path(p->state, sizeof(p->state), o->root, o->state_dir) ||
	    install_path(p->config, sizeof(p->config), o->root, o->config_path) ||
	    install_path(p->unit, sizeof(p->unit), o->root, AGENT_UNIT_DIR "/" AGENT_UNIT) ||
	    install_path(p->dropin_dir, sizeof(p->dropin_dir), o->root, AGENT_UNIT_DIR "/" AGENT_UNIT ".d"))
		return -1;
	if (install_path(p->identity, sizeof(p->identity), p->state, "/identity.conf") ||
	    install_path(p->dropin_install, sizeof(p->dropin_install), p->dropin_dir, "/10-install.conf") ||
	    install_path(p->dropin_docker, sizeof(p->dropin_docker), p->dropin_dir, "/20-docker.conf"))
		return -1;
	memcpy(p->config_dir, p->config, sizeof(p->config_dir));
	slash = strrchr(p->config_dir, '/');
	*slash = '\0';
	n = readlink("/proc/self/exe", p->exe, sizeof(p->exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(p->exe) - 1) {
		fprintf(stderr, "csf-agent: cannot find this program's path: %s\n", strerror(errno));
		return -1;
	}
	p->exe[n] = '\0';
	/* a binary placed inside the root (install.sh does that) runs from
	 * there once the root is the system's */
	while (rl > 1 && o->root[rl - 1] == '/')
		rl--;
	if (rl > 1 && strncmp(p->exe, o->root, rl) == 0 && p->exe[rl] == '/')
		memmove(p->exe, p->exe + rl, strlen(p->exe + rl) + 1);
	return 0;
}

static int need_root(const char *cmd)
{
	if (geteuid() == 0)
		return 0;
	fprintf(stderr, "csf-agent %s: must run as root (it manages a system user and a system service)\n", cmd);
	return AGENT_EXIT_NOT_ROOT;
}

/* ------------------------------------------------------- service manager */

#ifdef __APPLE__
#define PLIST_PATH "/Library/LaunchDaemons/dev.csf.agent.plist"

static int service_check(const install_opts *o)
{
	(void)o;
	if (install_have("launchctl"))
		return 0;
	fprintf(stderr, "csf-agent: launchctl is missing: cannot install a launchd service\n");
	return AGENT_EXIT_NO_SERVICE_MANAGER;
}

/* macOS: the plist as shipped (it names the default paths), loaded into the
 * system domain. Not testable on Linux: docs/csf-agent.md says so. */
static int service_install(const install_opts *o, const install_paths *p, install_undo *u)
{
	const char *boot[] = { "launchctl", "bootstrap", "system", PLIST_PATH, NULL };

	(void)p;
	if (install_write_file(PLIST_PATH, agent_plist_text, 0644, 0, 0) != 0)
		return AGENT_EXIT_FAILURE;
	u->unit = 1;
	if (!o->no_start && install_run(boot) != 0)
		return fprintf(stderr, "csf-agent: launchctl bootstrap failed\n"), AGENT_EXIT_FAILURE;
	return 0;
}

static int service_remove(const install_opts *o, const install_paths *p)
{
	const char *out[] = { "launchctl", "bootout", "system/dev.csf.agent", NULL };

	(void)o;
	(void)p;
	if (access(PLIST_PATH, F_OK) == 0)
		install_run(out);
	return install_remove_file(PLIST_PATH) ? AGENT_EXIT_FAILURE : 0;
}
#else
static int systemd_running(void)
{
	struct stat st;

	return stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

static int service_check(const install_opts *o)
{
	if (!install_have("systemctl")) {
		fprintf(stderr, "csf-agent: systemctl is missing: this host does not use systemd "
				"(run `csf-agent run` under your service manager instead)\n");
		return AGENT_EXIT_NO_SERVICE_MANAGER;
	}
	if (!o->no_start && !systemd_running()) {
		fprintf(stderr, "csf-agent: systemd is not running here (no /run/systemd/system): "
				"use --no-start to install the service without starting it\n");
		return AGENT_EXIT_NO_SERVICE_MANAGER;
	}
	return 0;
}

/* systemctl, with --root=DIR under a root; with a live systemd, it is told
 * to reload first. */
static int systemctl(const install_opts *o, const char *verb, const char *flag)
{
	char root_arg[4200];
	const char *argv[6];
	int n = 0, rc;

	argv[n++] = "systemctl";
	if (o->root) {
		snprintf(root_arg, sizeof(root_arg), "--root=%s", o->root);
		argv[n++] = root_arg;
	} else if (systemd_running()) {
		const char *reload[] = { "systemctl", "daemon-reload", NULL };

		if (install_run(reload) != 0)
			return fprintf(stderr, "csf-agent: systemctl daemon-reload failed\n"), -1;
	}
	argv[n++] = verb;
	if (flag)
		argv[n++] = flag;
	argv[n++] = AGENT_UNIT;
	argv[n] = NULL;
	rc = install_run(argv);
	if (rc != 0)
		fprintf(stderr, "csf-agent: systemctl %s%s%s %s failed\n", verb, flag ? " " : "", flag ? flag : "",
			AGENT_UNIT);
	return rc;
}

/* The host's differences from the shipped unit, as a drop-in ("" when there
 * are none). */
static void install_dropin(const install_opts *o, const install_paths *p, char *out, size_t cap)
{
	char exec[8400] = "", rw[4200] = "";

	if (strcmp(p->exe, AGENT_DEFAULT_BIN) != 0 || strcmp(o->config_path, AGENT_DEFAULT_CONFIG) != 0)
		snprintf(exec, sizeof(exec), "ExecStart=\nExecStart=%s run --config %s\n", p->exe, o->config_path);
	if (strcmp(o->state_dir, AGENT_DEFAULT_STATE_DIR) != 0)
		snprintf(rw, sizeof(rw), "ReadWritePaths=\nReadWritePaths=%s\n", o->state_dir);
	out[0] = '\0';
	if (*exec || *rw)
		snprintf(out, cap, "# Written by `csf-agent install`: this host's paths.\n[Service]\n%s%s", exec, rw);
}

static int service_install(const install_opts *o, const install_paths *p, install_undo *u)
{
	char dropin[16384];

	if (install_mkdirs(p->dropin_dir, 0755, u->dropin_dir, sizeof(u->dropin_dir)) != 0)
		return AGENT_EXIT_FAILURE;
	u->unit = access(p->unit, F_OK) != 0;
	if (install_write_file(p->unit, agent_unit_text, 0644, 0, 0) != 0)
		return AGENT_EXIT_FAILURE;
	install_dropin(o, p, dropin, sizeof(dropin));
	if (*dropin) {
		u->dropin_install = access(p->dropin_install, F_OK) != 0;
		if (install_write_file(p->dropin_install, dropin, 0644, 0, 0) != 0)
			return AGENT_EXIT_FAILURE;
	} else if (install_remove_file(p->dropin_install) != 0) {
		return AGENT_EXIT_FAILURE;
	}
	if (o->docker) {
		u->dropin_docker = access(p->dropin_docker, F_OK) != 0;
		if (install_write_file(p->dropin_docker,
				       "# Written by `csf-agent install --docker`: the Docker socket's group.\n"
				       "[Service]\nSupplementaryGroups=docker\n",
				       0644, 0, 0) != 0)
			return AGENT_EXIT_FAILURE;
	} else if (install_remove_file(p->dropin_docker) != 0) {
		return AGENT_EXIT_FAILURE;
	}
	if (systemctl(o, "enable", o->no_start ? NULL : "--now") != 0)
		return AGENT_EXIT_FAILURE;
	return 0;
}

static int service_remove(const install_opts *o, const install_paths *p)
{
	int rc = 0;

	if (access(p->unit, F_OK) == 0 && install_have("systemctl"))
		systemctl(o, "disable", !o->root && systemd_running() ? "--now" : NULL);
	if (install_remove_file(p->unit) || install_remove_file(p->dropin_install) ||
	    install_remove_file(p->dropin_docker))
		rc = AGENT_EXIT_FAILURE;
	if (rmdir(p->dropin_dir) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
		rc = AGENT_EXIT_FAILURE;
	if (!o->root && systemd_running()) {
		const char *reload[] = { "systemctl", "daemon-reload", NULL };

		install_run(reload);
	}
	return rc;
}
#endif

/* ------------------------------------------------------------- install */

static int create_user(const install_opts *o, install_undo *u, uid_t *uid, gid_t *gid)
{
	const char *argv[16];
	int n = 0;

	if (install_user_lookup(o->root, AGENT_USER, uid, gid) == 0)
		return 0;
	argv[n++] = "useradd";
	if (o->root) {
		argv[n++] = "--prefix";
		argv[n++] = o->root;
	}
	argv[n++] = "--system";
	argv[n++] = "--user-group";
	argv[n++] = "--no-create-home";
	argv[n++] = "--home-dir";
	argv[n++] = o->state_dir;
	argv[n++] = "--shell";
	argv[n++] = "/usr/sbin/nologin";
	argv[n++] = "--comment";
	argv[n++] = "CSF agent";
	argv[n++] = AGENT_USER;
	argv[n] = NULL;
	if (install_run(argv) != 0 || install_user_lookup(o->root, AGENT_USER, uid, gid) != 0) {
		fprintf(stderr, "csf-agent: cannot create the user %s (useradd failed)\n", AGENT_USER);
		return AGENT_EXIT_FAILURE;
	}
	u->user = 1;
	return 0;
}

/* userdel, then groupdel when the group outlives the user (userdel
 * removes it only where login.defs says USERGROUPS_ENAB, which a --prefix
 * root may not have). */
static int delete_user(const char *root)
{
	const char *argv[6];
	uid_t uid;
	gid_t gid;
	int n = 0;

	argv[n++] = "userdel";
	if (root) {
		argv[n++] = "--prefix";
		argv[n++] = root;
	}
	argv[n++] = AGENT_USER;
	argv[n] = NULL;
	if (install_user_lookup(root, AGENT_USER, &uid, &gid) == 0 && install_run(argv) != 0)
		return fprintf(stderr, "csf-agent: userdel %s failed\n", AGENT_USER), -1;
	argv[0] = "groupdel";
	if (install_group_lookup(root, AGENT_USER, &gid) == 0 && install_run(argv) != 0)
		return fprintf(stderr, "csf-agent: groupdel %s failed\n", AGENT_USER), -1;
	return 0;
}

/* Enrolled already? 0: no; 1: yes, with this server (keep it); or the
 * exit code for another identity. */
static int existing_identity(const install_opts *o, const install_paths *p)
{
	char url[1024], id[128];

	if (access(p->identity, F_OK) != 0)
		return 0;
	if (install_conf_get(p->identity, "server_url", url, sizeof(url)) != 0) {
		fprintf(stderr, "csf-agent install: %s exists but names no server_url: "
				"run `csf-agent uninstall --purge` first\n", p->identity);
		return AGENT_EXIT_OTHER_IDENTITY;
	}
	if (install_conf_get(p->identity, "agent_id", id, sizeof(id)) != 0)
		snprintf(id, sizeof(id), "?");
	if (strcmp(url, o->server_url) != 0) {
		fprintf(stderr, "csf-agent install: already enrolled as agent %s with %s, not %s: "
				"run `csf-agent uninstall --purge` first to enroll again\n", id, url, o->server_url);
		return AGENT_EXIT_OTHER_IDENTITY;
	}
	printf("csf-agent install: already enrolled as agent %s with %s: keeping that identity\n", id, url);
	return 1;
}

/* This binary's `enroll`, as a child. Its exit code (its own distinct codes
 * for a wrong pin, a bad token, an unreachable server). The token goes
 * through the environment (CSF_TOKEN), so `ps` never shows it. */
static int enroll(const install_opts *o, const install_paths *p)
{
	const char *argv[12];
	pid_t pid;
	int n = 0, status;

	argv[n++] = "csf-agent";
	argv[n++] = "enroll";
	argv[n++] = "--server-url";
	argv[n++] = o->server_url;
	argv[n++] = "--state-dir";
	argv[n++] = p->state;
	if (o->name) {
		argv[n++] = "--name";
		argv[n++] = o->name;
	}
	if (o->tags) {
		argv[n++] = "--tags";
		argv[n++] = o->tags;
	}
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return fprintf(stderr, "csf-agent: fork: %s\n", strerror(errno)), AGENT_EXIT_FAILURE;
	if (pid == 0) {
		if (setenv("CSF_TOKEN", o->token, 1) != 0)
			_exit(AGENT_EXIT_FAILURE);
		execv("/proc/self/exe", (char *const *)argv);
		fprintf(stderr, "csf-agent: cannot run enroll: %s\n", strerror(errno));
		_exit(AGENT_EXIT_FAILURE);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return AGENT_EXIT_FAILURE;
	return WIFEXITED(status) ? WEXITSTATUS(status) : AGENT_EXIT_FAILURE;
}

static int write_config(const install_opts *o, const install_paths *p, gid_t gid, install_undo *u)
{
	char text[4096];

	if (install_mkdirs(p->config_dir, 0755, u->config_dir, sizeof(u->config_dir)) != 0)
		return -1;
	if (access(p->config, F_OK) == 0) {
		/* an admin's edits survive a second install; only the owner and
		 * mode are put right */
		printf("csf-agent install: keeping %s\n", p->config);
		if (chown(p->config, 0, gid) != 0 || chmod(p->config, 0640) != 0)
			return fprintf(stderr, "csf-agent: cannot set the owner of %s: %s\n", p->config, strerror(errno)),
			       -1;
		return 0;
	}
	snprintf(text, sizeof(text),
		 "# csf-agent settings (docs/csf-agent.md). Written by `csf-agent install`.\n"
		 "server_url = %s\n"
		 "state_dir = %s\n",
		 o->server_url, o->state_dir);
	u->config = 1;
	return install_write_file(p->config, text, 0640, 0, gid);
}

static void undo(const install_opts *o, const install_paths *p, const install_undo *u)
{
	if (u->unit || u->dropin_install || u->dropin_docker) {
#ifndef __APPLE__
		if (u->unit && access(p->unit, F_OK) == 0)
			systemctl(o, "disable", NULL);
#endif
		if (u->unit)
			install_remove_file(p->unit);
		if (u->dropin_install)
			install_remove_file(p->dropin_install);
		if (u->dropin_docker)
			install_remove_file(p->dropin_docker);
	}
	if (u->config)
		install_remove_file(p->config);
	if (u->state_dir)
		install_remove_tree(p->state);
	/* what is left in them is ours: they did not exist before */
	install_remove_tree(u->dropin_dir);
	install_remove_tree(u->config_dir);
	install_remove_tree(u->state_parent);
	if (u->user)
		delete_user(o->root);
}

int agent_install_main(int argc, char **argv)
{
	install_opts o = { 0 };
	install_paths p;
	install_undo u = { 0 };
	uid_t uid = 0;
	gid_t gid = 0, docker_gid;
	int rc, enrolled;

	if ((rc = parse_args(argc, argv, &o, 0)) != 0)
		return rc < 0 ? 0 : rc;
	if ((rc = need_root("install")) != 0 || (rc = service_check(&o)) != 0)
		return rc;
	if (resolve_paths(&o, &p) != 0)
		return AGENT_EXIT_FAILURE;
	if (o.docker && install_group_lookup(o.root, "docker", &docker_gid) != 0) {
		fprintf(stderr, "csf-agent install: --docker: there is no group 'docker' (is Docker installed?)\n");
		return AGENT_EXIT_FAILURE;
	}
	enrolled = existing_identity(&o, &p);
	if (enrolled > 1)
		return enrolled;
	if ((rc = create_user(&o, &u, &uid, &gid)) != 0)
		goto fail;
	if (!enrolled) {
		char parent[4096], *slash;

		snprintf(parent, sizeof(parent), "%s", p.state);
		slash = strrchr(parent, '/');
		*slash = '\0';
		u.state_dir = access(p.state, F_OK) != 0;
		if (*parent && install_mkdirs(parent, 0755, u.state_parent, sizeof(u.state_parent)) != 0) {
			rc = AGENT_EXIT_FAILURE;
			goto fail;
		}
		if ((rc = enroll(&o, &p)) != 0) {
			fprintf(stderr, "csf-agent install: enrollment failed (exit %d): nothing was installed\n", rc);
			goto fail;
		}
	}
	rc = AGENT_EXIT_FAILURE;
	if (chmod(p.state, 0700) != 0 || install_chown_tree(p.state, uid, gid) != 0) {
		fprintf(stderr, "csf-agent install: cannot hand %s to %s\n", p.state, AGENT_USER);
		goto fail;
	}
	if (write_config(&o, &p, gid, &u) != 0 || (rc = service_install(&o, &p, &u)) != 0)
		goto fail;
	printf("csf-agent install: done: %s %s (config %s, state %s)\n", AGENT_UNIT,
	       o.no_start ? "installed and enabled, not started" : "enabled and started", p.config, p.state);
	return 0;
fail:
	undo(&o, &p, &u);
	return rc ? rc : AGENT_EXIT_FAILURE;
}

/* ----------------------------------------------------------- uninstall */

/* --purge removes the state dir recursively, so it must look like one: not
 * "/" or a top-level directory, and holding an identity or owned by the
 * agent's user (install hands it over). A missing one is fine. */
static int purge_state(const install_opts *o, const install_paths *p)
{
	struct stat st;
	uid_t uid;
	gid_t gid;
	const char *second = strchr(o->state_dir + 1, '/');

	if (lstat(p->state, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!second || !second[1] || !S_ISDIR(st.st_mode) ||
	    (access(p->identity, F_OK) != 0 &&
	     (install_user_lookup(o->root, AGENT_USER, &uid, &gid) != 0 || st.st_uid != uid))) {
		fprintf(stderr, "csf-agent uninstall: not removing %s: it does not look like a csf-agent state "
				"directory (no identity.conf, not owned by %s)\n", p->state, AGENT_USER);
		return -1;
	}
	return install_remove_tree(p->state);
}

int agent_uninstall_main(int argc, char **argv)
{
	install_opts o = { 0 };
	install_paths p;
	char state_dir[4096];
	int rc, explicit_state = 0, i;

	for (i = 1; i < argc; i++)
		explicit_state |= strcmp(argv[i], "--state-dir") == 0;
	if ((rc = parse_args(argc, argv, &o, 1)) != 0)
		return rc < 0 ? 0 : rc;
	if ((rc = need_root("uninstall")) != 0 || resolve_paths(&o, &p) != 0)
		return rc ? rc : AGENT_EXIT_FAILURE;
	/* the state dir the installed config names, unless told otherwise */
	if (!explicit_state && install_conf_get(p.config, "state_dir", state_dir, sizeof(state_dir)) == 0 &&
	    state_dir[0] == '/' && plain_value("state_dir", state_dir) == 0) {
		o.state_dir = state_dir;
		if (resolve_paths(&o, &p) != 0)
			return AGENT_EXIT_FAILURE;
	}
	rc = service_remove(&o, &p);
	if (install_remove_file(p.config) != 0)
		rc = AGENT_EXIT_FAILURE;
	if (rmdir(p.config_dir) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST && errno != EBUSY)
		rc = AGENT_EXIT_FAILURE;
	if (o.purge && (purge_state(&o, &p) != 0 || delete_user(o.root) != 0))
		rc = AGENT_EXIT_FAILURE;
	printf("csf-agent uninstall: %s%s\n", rc ? "finished with errors" : "done",
	       o.purge ? "" : rc ? "" : " (the identity in the state dir is kept: --purge removes it)");
	return rc;
}
