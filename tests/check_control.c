/* check_control.c: unit tests for daemon/control.c, the supervisor <->
 * worker messages: round trips of each, and every malformed case refused. */
#include <sys/socket.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "proto.h"
#include "check_run.h"

static struct proto_wbuf w;
static char err[256];
static char buf_err[64];
/* the live settings a CONFIG carries (control.c: keys 1 to this) */
#define NLIVE_KEYS	19

static void
setup(void)
{
	proto_wbuf_init(&w);
	err[0] = '\0';
}

static void
teardown(void)
{
	proto_wbuf_free(&w);
}

static struct ctl_msg
round_trip(const struct ctl_msg *in)
{
	struct ctl_msg out, scratch;

	proto_wbuf_reset(&w);
	ck_assert_int_eq(ctl_encode(&w, in), 0);
	ck_assert_int_eq(ctl_decode(w.data, w.len, &out, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(out.type, in->type);
	/* a byte short and a byte over are both refused */
	ck_assert_int_eq(ctl_decode(w.data, w.len - 1, &scratch, err,
	    sizeof(err)), -1);
	return out;
}

START_TEST(every_type_round_trips)
{
	struct ctl_msg m, o;

	memset(&m, 0, sizeof(m));
	m.type = CTL_READY;
	m.version = CTL_VERSION;
	m.worker = 3;
	m.pid = 4242;
	o = round_trip(&m);
	ck_assert_uint_eq(o.worker, 3);
	ck_assert_uint_eq(o.pid, 4242);
	m.type = CTL_DRAIN;
	round_trip(&m);
	m.type = CTL_STOP;
	round_trip(&m);
	m.type = CTL_PING;
	m.seq = 0x0102030405060708ULL;
	ck_assert_uint_eq(round_trip(&m).seq, m.seq);
	m.type = CTL_PONG;
	ck_assert_uint_eq(round_trip(&m).seq, m.seq);
	m.type = CTL_STATS_REQ;
	ck_assert_uint_eq(round_trip(&m).seq, m.seq);
	m.type = CTL_STATS;
	m.stats.sessions = 1;
	m.stats.requests = 2;
	m.stats.upstream_connects = 3;
	m.stats.upstream_reuses = 4;
	m.stats.retries = 5;
	m.stats.tls_full = 6;
	m.stats.tls_resumed = 7;
	m.stats.live_sessions = 8;
	m.stats.idle_conns = 9;
	m.stats.busy_conns = 10;
	o = round_trip(&m);
	ck_assert_mem_eq(&o.stats, &m.stats, sizeof(m.stats));
}
END_TEST

/* The stats messages: GATHER's format, DUMP's and GATHERED's text with
 * the round's seq, a NUL in a text refused. */
START_TEST(stats_messages_round_trip)
{
	struct ctl_msg m, o;
	uint8_t fmt;

	memset(&m, 0, sizeof(m));
	m.type = CTL_GATHER;
	m.seq = 77;
	m.format = 2;
	o = round_trip(&m);
	ck_assert_uint_eq(o.seq, 77);
	ck_assert_uint_eq(o.format, 2);
	m.type = CTL_DUMP_REQ;
	o = round_trip(&m);
	ck_assert_uint_eq(o.seq, 77);
	for (fmt = CTL_DUMP; fmt <= CTL_GATHERED; fmt++) {
		m.type = fmt;
		m.seq = 1ULL << 40;
		m.text = "W\t1\t2\n";
		o = round_trip(&m);
		ck_assert_uint_eq(o.seq, 1ULL << 40);
		ck_assert_str_eq(o.text, "W\t1\t2\n");
		ctl_msg_clear(&o);
	}
	/* the text of DUMP may be as long as a POLICY's, no longer */
	m.type = CTL_DUMP;
	m.text = malloc(CTL_MAX_POLICY + 2);
	memset(m.text, 'x', CTL_MAX_POLICY + 1);
	m.text[CTL_MAX_POLICY + 1] = '\0';
	proto_wbuf_reset(&w);
	ck_assert_int_eq(ctl_encode(&w, &m), -1);
	m.text[CTL_MAX_POLICY] = '\0';
	o = round_trip(&m);
	ck_assert_uint_eq(strlen(o.text), CTL_MAX_POLICY);
	ctl_msg_clear(&o);
	free(m.text);
}
END_TEST

START_TEST(config_carries_the_live_settings_only)
{
	struct ctl_msg m, o;
	struct config mine;

	memset(&m, 0, sizeof(m));
	m.type = CTL_CONFIG;
	config_defaults(&m.cfg);
	m.cfg.max_per_host = 7;
	m.cfg.io_timeout_ms = 1234000;
	m.cfg.partition_by_uid = 1;
	m.cfg.log_level = 3;
	m.cfg.workers = 9;
	snprintf(m.cfg.socket_path, sizeof(m.cfg.socket_path), "/x/y");
	o = round_trip(&m);
	config_defaults(&mine);
	snprintf(mine.socket_path, sizeof(mine.socket_path), "/keep");
	mine.workers = 2;
	ctl_config_apply(&mine, &o.cfg);
	ck_assert_uint_eq(mine.max_per_host, 7);
	ck_assert_uint_eq(mine.io_timeout_ms, 1234000);
	ck_assert_uint_eq(mine.partition_by_uid, 1);
	ck_assert_int_eq(mine.log_level, 3);
	/* a restart's settings never travel */
	ck_assert_uint_eq(mine.workers, 2);
	ck_assert_str_eq(mine.socket_path, "/keep");
}
END_TEST

/* A CONFIG payload by hand: n, then (key, value) pairs. */
static size_t
raw_config(uint8_t *buf, uint16_t n, const uint16_t *keys, size_t nkeys)
{
	size_t i, off = 5;

	buf[off++] = (uint8_t)(n >> 8);
	buf[off++] = (uint8_t)n;
	for (i = 0; i < nkeys; i++) {
		buf[off++] = (uint8_t)(keys[i] >> 8);
		buf[off++] = (uint8_t)keys[i];
		memset(buf + off, 0, 4);
		buf[off + 3] = 1;
		off += 4;
	}
	proto_frame_hdr(buf, (enum proto_type)CTL_CONFIG,
	    (uint32_t)(off - 5));
	return off;
}

START_TEST(config_malformed)
{
	uint8_t buf[512];
	uint16_t keys[NLIVE_KEYS];
	struct ctl_msg o;
	size_t i, n;

	for (i = 0; i < NLIVE_KEYS; i++)
		keys[i] = (uint16_t)(i + 1);
	n = raw_config(buf, NLIVE_KEYS, keys, NLIVE_KEYS);
	ck_assert_int_eq(ctl_decode(buf, n, &o, err, sizeof(err)), 0);
	/* a key twice */
	keys[NLIVE_KEYS - 1] = 1;
	n = raw_config(buf, NLIVE_KEYS, keys, NLIVE_KEYS);
	ck_assert_int_eq(ctl_decode(buf, n, &o, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "repeated"));
	/* an unknown key */
	keys[NLIVE_KEYS - 1] = 99;
	n = raw_config(buf, NLIVE_KEYS, keys, NLIVE_KEYS);
	ck_assert_int_eq(ctl_decode(buf, n, &o, err, sizeof(err)), -1);
	/* one missing */
	keys[NLIVE_KEYS - 1] = NLIVE_KEYS;
	n = raw_config(buf, NLIVE_KEYS - 1, keys, NLIVE_KEYS - 1);
	ck_assert_int_eq(ctl_decode(buf, n, &o, err, sizeof(err)), -1);
	snprintf(buf_err, sizeof(buf_err), "%d settings", NLIVE_KEYS - 1);
	ck_assert_ptr_nonnull(strstr(err, buf_err));
}
END_TEST

START_TEST(garbage_refused)
{
	uint8_t buf[64];
	struct ctl_msg o;

	memset(buf, 0, sizeof(buf));
	/* unknown type */
	proto_frame_hdr(buf, (enum proto_type)99, 0);
	ck_assert_int_eq(ctl_decode(buf, 5, &o, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown"));
	/* a header that lies about the length */
	proto_frame_hdr(buf, (enum proto_type)CTL_PING, 8);
	ck_assert_int_eq(ctl_decode(buf, 12, &o, err, sizeof(err)), -1);
	ck_assert_int_eq(ctl_decode(buf, 14, &o, err, sizeof(err)), -1);
	ck_assert_int_eq(ctl_decode(buf, 13, &o, err, sizeof(err)), 0);
	/* a byte left over */
	proto_frame_hdr(buf, (enum proto_type)CTL_DRAIN, 1);
	ck_assert_int_eq(ctl_decode(buf, 6, &o, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "malformed DRAIN"));
	/* READY of another version */
	proto_frame_hdr(buf, (enum proto_type)CTL_READY, 10);
	buf[6] = CTL_VERSION + 1;
	ck_assert_int_eq(ctl_decode(buf, 15, &o, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "version"));
	/* STATS with a count that does not match */
	memset(buf, 0, sizeof(buf));
	proto_frame_hdr(buf, (enum proto_type)CTL_STATS, 10);
	buf[5 + 9] = 1;
	ck_assert_int_eq(ctl_decode(buf, 15, &o, err, sizeof(err)), -1);
	/* an empty datagram */
	ck_assert_int_eq(ctl_decode(buf, 0, &o, err, sizeof(err)), -1);
	/* an unknown type is not encoded either */
	o.type = 77;
	ck_assert_int_eq(ctl_encode(&w, &o), -1);
	ck_assert_uint_eq(w.len, 0);
}
END_TEST

START_TEST(over_a_socketpair)
{
	struct ctl_msg m, o;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ck_assert_int_eq(ctl_recv(sv[1], &o, err, sizeof(err)), 0);
	memset(&m, 0, sizeof(m));
	m.type = CTL_PING;
	m.seq = 5;
	ck_assert_int_eq(ctl_send(sv[0], &m), 0);
	m.seq = 6;
	ck_assert_int_eq(ctl_send(sv[0], &m), 0);
	/* datagrams: two messages stay two */
	ck_assert_int_eq(ctl_recv(sv[1], &o, err, sizeof(err)), 1);
	ck_assert_uint_eq(o.seq, 5);
	ck_assert_int_eq(ctl_recv(sv[1], &o, err, sizeof(err)), 1);
	ck_assert_uint_eq(o.seq, 6);
	/* a malformed datagram is an error, not a message */
	ck_assert_int_eq(send(sv[0], "\0\0\0\1\5x", 6, 0), 6);
	ck_assert_int_eq(ctl_recv(sv[1], &o, err, sizeof(err)), -1);
	close(sv[0]);
	ck_assert_int_eq(ctl_recv(sv[1], &o, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "closed"));
	close(sv[1]);
}
END_TEST

static Suite *
control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("messages");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_type_round_trips);
	tcase_add_test(tc, stats_messages_round_trip);
	tcase_add_test(tc, config_carries_the_live_settings_only);
	tcase_add_test(tc, config_malformed);
	tcase_add_test(tc, garbage_refused);
	tcase_add_test(tc, over_a_socketpair);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(control_suite());
}
