/*
 * control.h: the messages between hpoold's supervisor and its workers.
 * One message is one datagram on the worker's SOCK_SEQPACKET socketpair,
 * framed as proto/ frames are (u32 length, u8 type, payload) and decoded
 * with the same bounds checks: a short field or a byte left over is an
 * error, and the peer that sent it is treated as broken.
 */
#ifndef HPOOL_CONTROL_H
#define HPOOL_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "server.h"

/* Bump CTL_VERSION when any number below or any layout changes. A worker
 * is always the supervisor's own binary (fork, no exec), so a mismatch
 * means memory corruption, and the worker is stopped. */
#define CTL_VERSION	2
#define CTL_MAX_MSG	4096	/* any message but POLICY, header included */
#define CTL_MAX_POLICY	(160 * 1024)	/* POLICY: the config file's text;
					 * DUMP and GATHERED too */

/* Message types. Numbers are wire values. */
enum ctl_type {
	CTL_READY	= 1,	/* w->s: u16 version, u32 worker, u32 pid:
				 * accepting on the socket */
	CTL_CONFIG	= 2,	/* s->w: u16 n, n x (u16 key, u32 value): every
				 * live setting, each once */
	CTL_DRAIN	= 3,	/* s->w: stop accepting, finish, exit */
	CTL_STOP	= 4,	/* s->w: exit now */
	CTL_PING	= 5,	/* s->w: u64 seq */
	CTL_PONG	= 6,	/* w->s: u64 seq */
	CTL_STATS_REQ	= 7,	/* s->w: u64 seq */
	CTL_STATS	= 8,	/* w->s: u64 seq, u16 n, n x u64 (struct stats,
				 * in the order of ctl_stats_fields) */
	CTL_POLICY	= 9,	/* s->w: string: the config file's text, for
				 * its rules and proxies (a reload) */
	CTL_GATHER	= 10,	/* w->s: u64 seq, u8 format (enum
				 * stats_format): a client asks for the
				 * daemon-wide stats */
	CTL_DUMP_REQ	= 11,	/* s->w: u64 seq */
	CTL_DUMP	= 12,	/* w->s: u64 seq, string: the worker's rows
				 * (stats_dump) */
	CTL_GATHERED	= 13,	/* s->w: u64 seq (the GATHER's), string: the
				 * answer, rendered; "": none (too many
				 * requests at once, or out of memory) */
};

struct ctl_msg {
	uint8_t		 type;		/* enum ctl_type */
	uint16_t	 version;	/* READY */
	uint32_t	 worker;	/* READY */
	uint32_t	 pid;		/* READY */
	uint64_t	 seq;		/* PING, PONG, STATS_REQ, STATS, GATHER,
					 * DUMP_REQ, DUMP, GATHERED */
	uint8_t		 format;	/* GATHER */
	struct config	 cfg;		/* CONFIG: the live settings; the rest
					 * is left zero */
	struct stats	 stats;		/* STATS */
	char		*text;		/* POLICY, DUMP, GATHERED:
					 * NUL-terminated, malloc'd by
					 * ctl_decode: ctl_msg_clear() */
};

void	 ctl_msg_clear(struct ctl_msg *);

/* Append one whole message to w: 0, or -1 (an unknown type). */
int	 ctl_encode(struct proto_wbuf *, const struct ctl_msg *);
/* One message from one datagram: 0, or -1 with err saying what was
 * wrong with it. */
int	 ctl_decode(const uint8_t *, size_t, struct ctl_msg *, char *err,
	    size_t errlen);
/* Copy the live settings of from into to (the rest of to stays). */
void	 ctl_config_apply(struct config *to, const struct config *from);
const char *ctl_type_name(uint8_t);

/* Send one message without blocking: 0, or -1 with errno. */
int	 ctl_send(int fd, const struct ctl_msg *);
/* Receive one: 1 with *m, 0 when none is waiting, -1 at EOF or on an
 * error or a malformed message (err says which). */
int	 ctl_recv(int fd, struct ctl_msg *, char *err, size_t errlen);

#endif
