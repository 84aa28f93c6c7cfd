/*
 * control.c: owns the typed messages between the supervisor and a worker:
 * their numbers, their layout, encoding, decoding and sending. No event
 * loop here: each side reads from its own.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "proto.h"

/* The settings a worker takes live (a reload sends them all). Keys are
 * wire values: bump CTL_VERSION to change one. */
static const struct {
	uint16_t	 key;
	size_t		 offset;
	const char	*name;
} live[] = {
#define LIVE(k, f)	{ k, offsetof(struct config, f), #f }
	LIVE(1, max_per_host),
	LIVE(2, max_idle_per_host),
	LIVE(3, max_queue),
	LIVE(4, max_sessions),
	LIVE(5, max_sessions_per_uid),
	LIVE(6, max_connections),
	LIVE(7, max_connections_per_uid),
	LIVE(8, max_idle),
	LIVE(9, max_session_buffer),
	LIVE(10, partition_by_uid),
	LIVE(11, idle_timeout_ms),
	LIVE(12, connect_timeout_ms),
	LIVE(13, io_timeout_ms),
	LIVE(14, session_idle_timeout_ms),
	LIVE(15, client_write_timeout_ms),
	LIVE(16, log_level),
	LIVE(17, access_log),
	LIVE(18, max_conn_age_ms),
	LIVE(19, max_requests_per_conn),
#undef LIVE
};
#define NLIVE	(sizeof(live) / sizeof(live[0]))

/* struct stats on the wire, in this order. */
static const size_t stats_fields[] = {
	offsetof(struct stats, sessions),
	offsetof(struct stats, requests),
	offsetof(struct stats, upstream_connects),
	offsetof(struct stats, upstream_reuses),
	offsetof(struct stats, retries),
	offsetof(struct stats, tls_full),
	offsetof(struct stats, tls_resumed),
	offsetof(struct stats, live_sessions),
	offsetof(struct stats, idle_conns),
	offsetof(struct stats, busy_conns),
};
#define NSTATS	(sizeof(stats_fields) / sizeof(stats_fields[0]))

static const char *const type_names[] = {
	NULL, "READY", "CONFIG", "DRAIN", "STOP", "PING", "PONG", "STATS_REQ",
	"STATS", "POLICY", "GATHER", "DUMP_REQ", "DUMP", "GATHERED",
};

/* The messages that carry a text (a large one): m->text */
static int
has_text(uint8_t type)
{
	return type == CTL_POLICY || type == CTL_DUMP || type == CTL_GATHERED;
}

const char *
ctl_type_name(uint8_t t)
{
	if (t < sizeof(type_names) / sizeof(type_names[0]) &&
	    type_names[t] != NULL)
		return type_names[t];
	return "UNKNOWN";
}

static unsigned *
field(struct config *c, size_t off)
{
	return (unsigned *)(void *)((char *)c + off);
}

static unsigned
cfield(const struct config *c, size_t off)
{
	return *(const unsigned *)(const void *)((const char *)c + off);
}

void
ctl_config_apply(struct config *to, const struct config *from)
{
	size_t i;

	for (i = 0; i < NLIVE; i++)
		*field(to, live[i].offset) = cfield(from, live[i].offset);
}

int
ctl_encode(struct proto_wbuf *w, const struct ctl_msg *m)
{
	size_t i, start = w->len;

	proto_begin(w, (enum proto_type)m->type);
	switch (m->type) {
	case CTL_READY:
		proto_put_u16(w, m->version);
		proto_put_u32(w, m->worker);
		proto_put_u32(w, m->pid);
		break;
	case CTL_CONFIG:
		proto_put_u16(w, (uint16_t)NLIVE);
		for (i = 0; i < NLIVE; i++) {
			proto_put_u16(w, live[i].key);
			proto_put_u32(w, cfield(&m->cfg, live[i].offset));
		}
		break;
	case CTL_DRAIN:
	case CTL_STOP:
		break;
	case CTL_DUMP:
	case CTL_GATHERED:
		proto_put_u64(w, m->seq);
		/* FALLTHROUGH */
	case CTL_POLICY:
		if (m->text == NULL || strlen(m->text) > CTL_MAX_POLICY) {
			w->len = w->frame = start;
			return -1;
		}
		proto_put_str(w, m->text, strlen(m->text));
		break;
	case CTL_GATHER:
		proto_put_u64(w, m->seq);
		proto_put_u8(w, m->format);
		break;
	case CTL_PING:
	case CTL_PONG:
	case CTL_STATS_REQ:
	case CTL_DUMP_REQ:
		proto_put_u64(w, m->seq);
		break;
	case CTL_STATS:
		proto_put_u64(w, m->seq);
		proto_put_u16(w, (uint16_t)NSTATS);
		for (i = 0; i < NSTATS; i++)
			proto_put_u64(w, *(const uint64_t *)(const void *)
			    ((const char *)&m->stats + stats_fields[i]));
		break;
	default:
		w->len = w->frame = start;	/* nothing of it stays */
		return -1;
	}
	return proto_end(w);
}

static int
dec_config(struct proto_rbuf *r, struct config *c, char *err, size_t errlen)
{
	uint32_t seen = 0, v;
	uint16_t n, key;
	size_t i, j;

	if (proto_get_u16(r, &n) == -1 || n != NLIVE) {
		snprintf(err, errlen, "CONFIG with %u settings, want %zu",
		    (unsigned)n, NLIVE);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (proto_get_u16(r, &key) == -1 || proto_get_u32(r, &v) == -1)
			break;
		for (j = 0; j < NLIVE && live[j].key != key; j++)
			;
		if (j == NLIVE || seen & (1u << j)) {
			snprintf(err, errlen, "CONFIG: unknown or repeated "
			    "setting key %u", (unsigned)key);
			return -1;
		}
		seen |= 1u << j;
		*field(c, live[j].offset) = v;
	}
	return 0;
}

int
ctl_decode(const uint8_t *p, size_t len, struct ctl_msg *m, char *err,
    size_t errlen)
{
	struct proto_rbuf r;
	struct proto_str str;
	uint32_t plen;
	uint16_t n;
	size_t i;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = proto_frame_peek(p, len, &m->type, &plen);
	if (rc != 1 || len != PROTO_FRAME_HDR + (size_t)plen ||
	    len > (has_text(m->type) ? PROTO_FRAME_HDR + 12 +
	    CTL_MAX_POLICY : CTL_MAX_MSG)) {
		snprintf(err, errlen, "a control message of %zu bytes whose "
		    "header says %u", len, (unsigned)plen);
		return -1;
	}
	proto_rbuf_init(&r, p + PROTO_FRAME_HDR, plen);
	switch (m->type) {
	case CTL_READY:
		proto_get_u16(&r, &m->version);
		proto_get_u32(&r, &m->worker);
		proto_get_u32(&r, &m->pid);
		break;
	case CTL_CONFIG:
		if (dec_config(&r, &m->cfg, err, errlen) == -1)
			return -1;
		break;
	case CTL_DRAIN:
	case CTL_STOP:
		break;
	case CTL_DUMP:
	case CTL_GATHERED:
		proto_get_u64(&r, &m->seq);
		/* FALLTHROUGH */
	case CTL_POLICY:
		if (proto_get_str(&r, &str) == 0 && proto_get_end(&r) == 0) {
			if (memchr(str.p, '\0', str.len) != NULL) {
				snprintf(err, errlen, "%s text holds a NUL",
				    ctl_type_name(m->type));
				return -1;
			}
			if ((m->text = proto_strdup(&str)) == NULL) {
				snprintf(err, errlen, "%s: out of memory",
				    ctl_type_name(m->type));
				return -1;
			}
			return 0;
		}
		break;
	case CTL_GATHER:
		proto_get_u64(&r, &m->seq);
		proto_get_u8(&r, &m->format);
		break;
	case CTL_PING:
	case CTL_PONG:
	case CTL_STATS_REQ:
	case CTL_DUMP_REQ:
		proto_get_u64(&r, &m->seq);
		break;
	case CTL_STATS:
		proto_get_u64(&r, &m->seq);
		if (proto_get_u16(&r, &n) == 0 && n != NSTATS) {
			snprintf(err, errlen, "STATS with %u counters, want "
			    "%zu", (unsigned)n, NSTATS);
			return -1;
		}
		for (i = 0; i < NSTATS; i++)
			proto_get_u64(&r, (uint64_t *)(void *)
			    ((char *)&m->stats + stats_fields[i]));
		break;
	default:
		snprintf(err, errlen, "unknown control message type %u",
		    (unsigned)m->type);
		return -1;
	}
	if (proto_get_end(&r) == -1) {
		snprintf(err, errlen, "malformed %s message (%u bytes)",
		    ctl_type_name(m->type), (unsigned)plen);
		return -1;
	}
	if (m->type == CTL_READY && m->version != CTL_VERSION) {
		snprintf(err, errlen, "worker speaks control version %u, the "
		    "supervisor %u", (unsigned)m->version, CTL_VERSION);
		return -1;
	}
	return 0;
}

void
ctl_msg_clear(struct ctl_msg *m)
{
	free(m->text);
	m->text = NULL;
}

int
ctl_send(int fd, const struct ctl_msg *m)
{
	struct proto_wbuf w;
	ssize_t n;
	int rc = -1;

	proto_wbuf_init(&w);
	if (ctl_encode(&w, m) == -1) {
		errno = EINVAL;
		goto out;
	}
	/* Messages are small and rare: a full socket buffer means the peer
	 * stopped reading, which the ping notices. */
	n = send(fd, w.data, w.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == (ssize_t)w.len)
		rc = 0;
	else if (n >= 0)
		errno = EMSGSIZE;
out:
	proto_wbuf_free(&w);
	return rc;
}

int
ctl_recv(int fd, struct ctl_msg *m, char *err, size_t errlen)
{
	uint8_t small[CTL_MAX_MSG + 1], *buf = small;
	size_t cap = sizeof(small);
	ssize_t n;
	int rc;

	/* POLICY, DUMP, GATHERED are larger than the others: a buffer of
	 * their own */
	n = recv(fd, small, 1, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
	if (n > (ssize_t)sizeof(small)) {
		cap = (size_t)n > PROTO_FRAME_HDR + 12 + CTL_MAX_POLICY ?
		    PROTO_FRAME_HDR + 12 + CTL_MAX_POLICY + 1 : (size_t)n;
		if ((buf = malloc(cap)) == NULL) {
			snprintf(err, errlen, "control socket: out of memory");
			return -1;
		}
	}
	n = recv(fd, buf, cap, MSG_DONTWAIT);
	if (n == -1) {
		rc = errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR ? 0 : -1;
		if (rc == -1)
			snprintf(err, errlen, "control socket: %s",
			    strerror(errno));
		if (buf != small)
			free(buf);
		return rc;
	}
	if (n == 0) {
		snprintf(err, errlen, "control socket closed");
		if (buf != small)
			free(buf);
		return -1;
	}
	rc = ctl_decode(buf, (size_t)n, m, err, errlen) == 0 ? 1 : -1;
	if (buf != small)
		free(buf);
	return rc;
}
