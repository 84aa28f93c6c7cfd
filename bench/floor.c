/*
 * floor.c: owns the benchmark's floor: the least a process can do to get
 * an answer from hpoold. It starts, connects to hpoold's Unix socket,
 * sends HELLO, reads HELLO_OK and exits: one process start plus one
 * local IPC round trip, with the real daemon (its accept, its session
 * set-up, its event loop) on the other end. No libhpool, no TLS context,
 * no HTTP: what is left when every cost hpool could remove is removed.
 *
 *   floor SOCKET        exit 0 when hpoold answered HELLO_OK (version 1)
 *
 * The frames are written out by hand (proto/PROTOCOL.md) so the program
 * links nothing but libc.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	/* length 4, type 1 (HELLO), min_version 1, max_version 1 */
	static const unsigned char hello[] = { 0, 0, 0, 4, 1, 0, 1, 0, 1 };
	/* length 2, type 64 (HELLO_OK), version 1 */
	static const unsigned char want[] = { 0, 0, 0, 2, 64, 0, 1 };
	unsigned char got[sizeof(want)];
	struct sockaddr_un sun;
	size_t off = 0;
	ssize_t n;
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: floor SOCKET\n");
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "floor: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (write(fd, hello, sizeof(hello)) != (ssize_t)sizeof(hello)) {
		fprintf(stderr, "floor: write: %s\n", strerror(errno));
		return 1;
	}
	while (off < sizeof(got)) {
		n = read(fd, got + off, sizeof(got) - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "floor: read: %s\n",
			    n == 0 ? "closed" : strerror(errno));
			return 1;
		}
		off += (size_t)n;
	}
	close(fd);
	if (memcmp(got, want, sizeof(want)) != 0) {
		fprintf(stderr, "floor: unexpected answer from hpoold\n");
		return 1;
	}
	return 0;
}
