/* sockpath.c: owns the search for hpoold's socket, and the hint when
 * connecting to it fails. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"

#define SOCK_SYSTEM	"/run/hpool/hpoold.sock"
#define SOCK_USER_SUB	"/hpool/hpoold.sock"

/*
 * The order: the caller's setting, $HPOOL_SOCKET, the system socket when
 * it exists, the user's socket under $XDG_RUNTIME_DIR. When nothing is
 * found the system path is returned so that the error names it.
 * Returns a malloc'd path, NULL on ENOMEM.
 */
char *
sockpath_find(const char *explicit_path)
{
	const char *env;
	struct stat st;
	char *p;
	size_t n;

	if (explicit_path != NULL && explicit_path[0] != '\0')
		return strdup(explicit_path);
	if ((env = getenv("HPOOL_SOCKET")) != NULL && env[0] != '\0')
		return strdup(env);
	if (stat(SOCK_SYSTEM, &st) == 0)
		return strdup(SOCK_SYSTEM);
	if ((env = getenv("XDG_RUNTIME_DIR")) != NULL && env[0] != '\0') {
		n = strlen(env) + sizeof(SOCK_USER_SUB);
		if ((p = malloc(n)) == NULL)
			return NULL;
		snprintf(p, n, "%s%s", env, SOCK_USER_SUB);
		return p;
	}
	return strdup(SOCK_SYSTEM);
}

/* Is this process in group gid (effective or supplementary)? */
static int
in_group(gid_t gid)
{
	gid_t *list;
	int i, n, found = 0;

	if (getegid() == gid)
		return 1;
	if ((n = getgroups(0, NULL)) <= 0 || n > 65536 ||
	    (list = calloc((size_t)n, sizeof(*list))) == NULL)
		return 0;
	n = getgroups(n, list);
	for (i = 0; i < n && !found; i++)
		found = list[i] == gid;
	free(list);
	return found;
}

/* The name of group gid, or its number. */
static void
group_name(gid_t gid, char *out, size_t outlen)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, outlen, "'%s'", gr.gr_name);
	else
		snprintf(out, outlen, "%u", (unsigned)gid);
}

void
sockpath_hint(const char *path, int errnum, char *out, size_t outlen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *env = getenv("HPOOL_SOCKET");
	char grp[96];
	struct stat st;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (errnum == EACCES || errnum == EPERM) {
		if (stat(path, &st) == -1)
			snprintf(out, outlen, "; a directory above the socket "
			    "is closed to this user (no search permission)");
		else if (!S_ISSOCK(st.st_mode))
			snprintf(out, outlen, "; it is not a socket");
		else if ((st.st_mode & 020) && !in_group(st.st_gid) &&
		    st.st_uid != geteuid()) {
			group_name(st.st_gid, grp, sizeof(grp));
			snprintf(out, outlen, "; the socket is for group %s "
			    "(mode %04o) and this process is not in it: join "
			    "that group (usermod -aG GROUP USER, then log in "
			    "again)", grp, (unsigned)(st.st_mode & 07777));
		} else {
			group_name(st.st_gid, grp, sizeof(grp));
			snprintf(out, outlen, "; the socket's mode is %04o "
			    "(owner uid %u, group %s): hpoold's socket_mode "
			    "sets who may connect", (unsigned)(st.st_mode &
			    07777), (unsigned)st.st_uid, grp);
		}
		return;
	}
	if (errnum != ENOENT && errnum != ECONNREFUSED)
		return;
	if (strcmp(path, SOCK_SYSTEM) == 0 && geteuid() != 0 &&
	    (xdg == NULL || xdg[0] == '\0') && (env == NULL ||
	    env[0] == '\0'))
		snprintf(out, outlen, "; hpoold is not running there, and "
		    "XDG_RUNTIME_DIR is not set, so a user's hpoold was not "
		    "looked for: pass its socket (hpool --socket PATH, or "
		    "HPOOL_SOCKET=PATH)");
	else if (errnum == ENOENT)
		snprintf(out, outlen, "; hpoold is not running there (no "
		    "socket at that path): start it, or pass the socket it "
		    "listens on (hpool --socket PATH, or HPOOL_SOCKET=PATH)");
	else
		snprintf(out, outlen, "; hpoold is not running there (the "
		    "socket is left from one that stopped): start it");
}
