/*
 * csf-agent install / uninstall: the host side of setting the agent up as a
 * service (install_cmd.c runs the steps, install_sys.c holds the small
 * system helpers they share). docs/csf-agent.md, "Install as a service".
 */
#ifndef CSF_AGENT_INSTALL_H
#define CSF_AGENT_INSTALL_H

#include <stddef.h>
#include <sys/types.h>

#include <csf/csf.h>

/* Exit codes of install and uninstall besides 0, 1 and 2 (enroll's own
 * codes pass through unchanged when enrollment fails). */
#define AGENT_EXIT_NOT_ROOT 20
#define AGENT_EXIT_NO_SERVICE_MANAGER 21
#define AGENT_EXIT_OTHER_IDENTITY 22

#define AGENT_USER "csf-agent"
#define AGENT_UNIT "csf-agent.service"
#define AGENT_UNIT_DIR "/etc/systemd/system"
#define AGENT_DEFAULT_CONFIG "/etc/csf/agent.conf"
#define AGENT_DEFAULT_STATE_DIR CSF_AGENT_DEFAULT_STATE_DIR
#define AGENT_DEFAULT_BIN "/usr/local/bin/csf-agent"

/* The unit and (on macOS) the launchd plist, embedded at build time. */
extern const char agent_unit_text[];
extern const char agent_plist_text[];

/* root + path into out ("" or NULL root: path itself); -1 if too long. */
int install_path(char *out, size_t cap, const char *root, const char *path);

/* Run argv[0] (searched in PATH) and wait: its exit status, or -1 when it
 * could not run (with a line on stderr). Its output goes to ours. */
int install_run(const char *const *argv);

/* Whether a program is in PATH. */
int install_have(const char *prog);

/* The uid and gid of `user` in ROOT/etc/passwd: 0 found, -1 not there. */
int install_user_lookup(const char *root, const char *user, uid_t *uid, gid_t *gid);
/* The gid of `group` in ROOT/etc/group: 0 found, -1 not there. */
int install_group_lookup(const char *root, const char *group, gid_t *gid);

/* Write `text` to `path` through a temporary file and rename, with `mode`,
 * `uid` and `gid`; 0 or -1 with a line on stderr. */
int install_write_file(const char *path, const char *text, mode_t mode, uid_t uid, gid_t gid);

/* mkdir -p with `mode` for the directories it makes; `made` (if not NULL)
 * receives the topmost directory it made, or "" (to undo it). 0 or -1. */
int install_mkdirs(const char *path, mode_t mode, char *made, size_t cap);

/* chown -R (without following symlinks); 0 or -1 (stderr). */
int install_chown_tree(const char *path, uid_t uid, gid_t gid);

/* rm -rf; a missing path is fine. 0 or -1 (stderr). */
int install_remove_tree(const char *path);

/* unlink(), a missing file is fine; 0 or -1 (stderr). */
int install_remove_file(const char *path);

/* The value of `key` in a `key = value` file into out: 0 found, -1 absent
 * (or the file is missing or unreadable). */
int install_conf_get(const char *path, const char *key, char *out, size_t cap);

#endif
