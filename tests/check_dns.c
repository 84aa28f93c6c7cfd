/* check_dns.c: unit tests of daemon/dns.c's /etc/hosts reader and of its
 * answers for IP literals (no query goes out for either). */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "dns.h"
#include "check_run.h"

static const char *
addr_at(const struct dns_answer *a, unsigned i, char *buf, size_t len)
{
	const struct sockaddr_storage *ss = &a->addr[i];

	if (ss->ss_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->
		    sin_addr, buf, (socklen_t)len);
	return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->
	    sin6_addr, buf, (socklen_t)len);
}

static const char hosts[] =
    "# comment 10.0.0.1 commented\n"
    "127.0.0.1\tlocalhost\n"
    "::1     localhost ip6-localhost ip6-loopback\n"
    "127.0.1.1 box.example box # a trailing comment names gone\n"
    "\n"
    "   127.0.0.5   Spaced.Example\r\n"
    "notanaddress  broken.example\n"
    "127.0.0.9 gone   # gone2\n"
    "127.0.0.7 last.example";

START_TEST(hosts_lines)
{
	struct dns_answer a;
	char b[64];

	ck_assert_int_eq(dns_hosts_parse(hosts, strlen(hosts), "localhost",
	    &a), 1);
	ck_assert_uint_eq(a.n, 2);	/* both lines, in file order */
	ck_assert_str_eq(addr_at(&a, 0, b, sizeof(b)), "127.0.0.1");
	ck_assert_str_eq(addr_at(&a, 1, b, sizeof(b)), "::1");
	ck_assert_int_eq(dns_hosts_parse(hosts, strlen(hosts), "BOX", &a), 1);
	ck_assert_str_eq(addr_at(&a, 0, b, sizeof(b)), "127.0.1.1");
	ck_assert_int_eq(dns_hosts_parse(hosts, strlen(hosts),
	    "spaced.example", &a), 1);
	ck_assert_str_eq(addr_at(&a, 0, b, sizeof(b)), "127.0.0.5");
	ck_assert_int_eq(dns_hosts_parse(hosts, strlen(hosts),
	    "last.example", &a), 1);	/* no final newline */
	ck_assert_str_eq(addr_at(&a, 0, b, sizeof(b)), "127.0.0.7");
	ck_assert_int_eq(dns_hosts_parse(hosts, strlen(hosts), "gone", &a), 1);
	ck_assert_str_eq(addr_at(&a, 0, b, sizeof(b)), "127.0.0.9");
}
END_TEST

START_TEST(hosts_misses)
{
	struct dns_answer a;

	/* in a comment, after '#', a bad address, a prefix of a name */
	ck_assert_int_eq(dns_hosts_parse(hosts, strlen(hosts), "commented",
	    &a), 0);
	ck_assert_int_eq(dns_hosts_parse(hosts, strlen(hosts), "names", &a),
	    0);
	ck_assert_int_eq(dns_hosts_parse(hosts, strlen(hosts), "gone2", &a),
	    0);
	ck_assert_int_eq(dns_hosts_parse(hosts, strlen(hosts),
	    "broken.example", &a), 0);
	ck_assert_int_eq(dns_hosts_parse(hosts, strlen(hosts), "local", &a),
	    0);
	ck_assert_int_eq(dns_hosts_parse(hosts, strlen(hosts), "127.0.0.1",
	    &a), 0);
	ck_assert_int_eq(dns_hosts_parse("", 0, "localhost", &a), 0);
}
END_TEST

START_TEST(hosts_capped)
{
	static char big[64 * 40];
	struct dns_answer a;
	size_t i, len = 0;

	for (i = 0; i < 40; i++)
		len += (size_t)snprintf(big + len, sizeof(big) - len,
		    "127.0.%zu.1 many\n", i);
	ck_assert_int_eq(dns_hosts_parse(big, len, "many", &a), 1);
	ck_assert_uint_eq(a.n, DNS_MAX_ADDRS);
}
END_TEST

static void
never(int err, const struct dns_answer *a, void *arg)
{
	(void)err;
	(void)a;
	(void)arg;
	ck_abort_msg("a literal went to the resolver");
}

START_TEST(literals_answer_at_once)
{
	struct event_base *base = event_base_new();
	struct evdns_base *ev = evdns_base_new(base, 0);
	struct dns *d = dns_new(base, ev);
	struct dns_query *q;
	struct dns_answer a;
	struct dns_counts c;
	char b[64];
	int err = 0;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(dns_lookup(d, "192.0.2.7", &a, &err, never, NULL, &q),
	    DNS_ANSWERED);
	ck_assert_ptr_null(q);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_str_eq(addr_at(&a, 0, b, sizeof(b)), "192.0.2.7");
	ck_assert_int_eq(dns_lookup(d, "2001:db8::7", &a, &err, never, NULL,
	    &q), DNS_ANSWERED);
	ck_assert_str_eq(addr_at(&a, 0, b, sizeof(b)), "2001:db8::7");
	/* nothing is kept of literals, and no name over 253 bytes is
	 * asked for */
	{
		char longname[300];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		ck_assert_int_eq(dns_lookup(d, longname, &a, &err, never, NULL,
		    &q), DNS_FAILED);
		ck_assert_int_eq(err, EVUTIL_EAI_NONAME);
	}
	dns_counts(d, &c);
	ck_assert_uint_eq(c.lookups, 0);
	ck_assert_uint_eq(c.names, 0);
	/* a literal is always current: nothing is known of it */
	ck_assert_int_eq(dns_still_current(d, "192.0.2.7",
	    (struct sockaddr *)&a.addr[0]), 1);
	dns_free(d);
	evdns_base_free(ev, 0);
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("dns");

	tcase_add_test(tc, hosts_lines);
	tcase_add_test(tc, hosts_misses);
	tcase_add_test(tc, hosts_capped);
	tcase_add_test(tc, literals_answer_at_once);
	suite_add_tcase(s, tc);
	return check_run(s);
}
