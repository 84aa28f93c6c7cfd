/* sockpath.c: owns the search for hpoold's socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
