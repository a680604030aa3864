/*
 * The fixture's own plumbing that benchmarks lean on (linked with the
 * fixture's objects): server_write_now() puts queued reply bytes on the
 * socket before the loop turns again, so the send log's times are true.
 */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixtures/server.h"

struct pair {
	int sv[2];
	struct event_base *base;
	struct bufferevent *bev;
};

static void
pair_open(struct pair *p)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p->sv), 0);
	evutil_make_socket_nonblocking(p->sv[0]); /* as evhttp's sockets are */
	p->base = event_base_new();
	cr_assert_not_null(p->base);
	p->bev = bufferevent_socket_new(p->base, p->sv[0], BEV_OPT_CLOSE_ON_FREE);
	cr_assert_not_null(p->bev);
	bufferevent_enable(p->bev, EV_WRITE);
}

static void
pair_close(struct pair *p)
{
	bufferevent_free(p->bev);
	close(p->sv[1]);
	event_base_free(p->base);
}

/* bytes readable on the peer without waiting; -1 when none */
static ssize_t
peer_read(struct pair *p, char *buf, size_t cap)
{
	return recv(p->sv[1], buf, cap, MSG_DONTWAIT);
}

Test(write_now, bytes_leave_before_the_loop_turns)
{
	struct pair p;
	pair_open(&p);
	char buf[64];
	cr_assert_eq(bufferevent_write(p.bev, "data: one\n\n", 11), 0);
	/* a bufferevent alone writes on its next turn: nothing yet */
	cr_assert_eq(peer_read(&p, buf, sizeof buf), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(server_write_now(p.bev), 0, "all written");
	cr_assert_eq(peer_read(&p, buf, sizeof buf), 11);
	cr_assert_eq(memcmp(buf, "data: one\n\n", 11), 0);
	/* the bufferevent's own write, when the loop turns, sends nothing twice,
	 * and it still writes what is queued afterwards */
	event_base_loop(p.base, EVLOOP_NONBLOCK);
	cr_assert_eq(peer_read(&p, buf, sizeof buf), -1);
	cr_assert_eq(bufferevent_write(p.bev, "two", 3), 0);
	event_base_loop(p.base, EVLOOP_NONBLOCK);
	cr_assert_eq(peer_read(&p, buf, sizeof buf), 3);
	pair_close(&p);
}

Test(write_now, what_the_socket_cannot_take_stays_queued, .timeout = 20)
{
	struct pair p;
	pair_open(&p);
	int small = 4096;
	setsockopt(p.sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	static char big[1 << 20];
	memset(big, 'x', sizeof big);
	cr_assert_eq(bufferevent_write(p.bev, big, sizeof big), 0);
	size_t left = server_write_now(p.bev);
	cr_assert_gt(left, 0, "a full socket leaves bytes queued");
	cr_assert_lt(left, sizeof big, "but takes what it can");
	/* the rest goes out as the peer reads */
	static char sink[1 << 16];
	size_t got = 0;
	for (int turns = 0; got < sizeof big && turns < 100000; turns++) {
		ssize_t n = peer_read(&p, sink, sizeof sink);
		if (n > 0)
			got += (size_t)n;
		else
			event_base_loop(p.base, EVLOOP_ONCE);
	}
	cr_assert_eq(got, sizeof big, "every byte arrives once");
	pair_close(&p);
}
