/*
 * arrival: stamps for what the engine reads, and the loop's own lateness.
 *
 * A chunk's stamp, best first:
 *
 *   kernel    the receive time of the socket curl is reading (SO_TIMESTAMPNS,
 *             one byte peeked before curl reads), when that socket is the
 *             transfer's own: a chunk that waited while the loop was busy
 *             keeps the time it arrived;
 *   loop      on a precise base, the time the loop's turn woke
 *             (arrival_clock_stamp): every chunk of one batch of ready
 *             sockets shares it;
 *   read      now_us() when curl hands the bytes over.
 *
 * Several chunks read at once mark the stream's timing as disturbed when
 * they may have waited more than WAITED_STALL_US: the newest waited that
 * long since its stamp, or the loop was busy that long before the read (the
 * kernel merges segments that pile up unread and keeps the newest one's
 * stamp, so the older ones' times are lost, and only the loop's own
 * lateness bounds them).
 *
 * The loop's lateness, two ways: turns (the first engine callback of a turn
 * opens it and activates turn_end, which runs after the callbacks already
 * due in that turn, so a turn's length is known once it ends), and the lag
 * timer (every LAG_TICK_US while transfers are in flight; later than
 * LAG_STALL_US is a stall, whose end goes into a ring of the last
 * STALL_RING).
 */
#include "probes/arrival.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "probes/engine_test.h" /* defines arrival_clock_stamp, kernel_arrival_us */

/* Several stream chunks that waited longer than this in the socket before
 * we read them mark the observation's timing as disturbed. */
#define WAITED_STALL_US 4000

/*
 * While transfers are in flight a LAG_TICK_US timer checks how late the
 * loop runs it. A loop more than LAG_STALL_US late (a busy machine, heavy
 * scoring) has left bytes waiting in sockets: the chunks of a stream in
 * flight then arrive bunched, and their times say nothing about the relay.
 */
#define LAG_TICK_US 2000
#define LAG_STALL_US 4000

/* The ends of the last STALL_RING stalls are kept: a transfer that saw more
 * stalls than that is only checked against the latest ones. */
#define STALL_RING 64

/* A first chunk read within STALL_END_WINDOW_US either side of a stall's
 * end had waited in the socket through the stall. */
#define STALL_END_WINDOW_US 2000

/* A kernel stamp older than this (or from the future) is not believed: the
 * wall clock stepped between the receive and our reading of it. */
#define KERNEL_STAMP_MAX_AGE_US 60000000

struct arrival {
	struct event_base *base;
	int precise; /* stamp arrivals per loop turn (arrival_stamp) */
	struct arrival_clock clock;
	/* curl's runs */
	int read_fd;            /* the socket curl is reading now, and when the */
	int64_t read_stamp_us;  /* kernel received its oldest unread byte (0: unknown) */
	unsigned long read_seq; /* counts curl's runs: one socket action, one read */
	/* the loop's turns, as the engine sees them */
	struct event *turn_end;
	int turn_open;
	int64_t turn_start_us, last_turn_us;
	/* the lag timer */
	struct event *lag; /* measures the loop's own lateness while busy */
	int64_t lag_due_us;
	size_t in_flight;                 /* transfers started and not stopped */
	unsigned long stalls;             /* loop stalls seen so far (see lag_cb) */
	int64_t stall_end_us[STALL_RING]; /* when recent stalls ended (a ring) */
	int64_t stall_len_us[STALL_RING]; /* and how long each was */
	int64_t last_stall_us;            /* how long the latest one was */
	int stamp_fd;                     /* keeps the kernel's receive stamping on (arrival_new) */
};

static int64_t
timespec_us(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

/*
 * When did the kernel receive the bytes waiting on fd? Sockets get
 * SO_TIMESTAMPNS (arrival_socket_opened), so a one-byte MSG_PEEK returns the
 * receive time of the first unread segment, however long the loop took to
 * get to it. Segments that pile up unread are merged by the kernel, which
 * keeps the newest one's time: after a stall the stamp is that of the last
 * bytes to arrive, still never later than the read (and
 * arrival_read_disturbed flags the bunching). The stamp is wall clock; it is
 * moved to the monotonic clock with one reading of each. 0 when unknown
 * (nothing to peek, no stamp, a clock step).
 */
/* One byte of fd received (flags: MSG_PEEK and the like) with its kernel
 * receive stamp into *rx: 1, or 0 when nothing came or it had no stamp. */
static int
recv_stamped(int fd, int flags, struct timespec *rx)
{
	char byte;
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = {&byte, 1};
	struct msghdr m = {.msg_iov = &iov,
	                   .msg_iovlen = 1,
	                   .msg_control = ctrl.buf,
	                   .msg_controllen = sizeof ctrl.buf};
	if (recvmsg(fd, &m, flags) <= 0)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		memcpy(rx, CMSG_DATA(c), sizeof *rx);
		return rx->tv_sec != 0;
	}
	return 0;
}

int64_t
kernel_arrival_us(int fd)
{
	struct timespec rx, wall, mono;
	if (!recv_stamped(fd, MSG_PEEK | MSG_DONTWAIT, &rx))
		return 0;
	clock_gettime(CLOCK_REALTIME, &wall);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	int64_t age = timespec_us(&wall) - timespec_us(&rx);
	if (age < 0 || age > KERNEL_STAMP_MAX_AGE_US)
		return 0; /* the wall clock stepped */
	return timespec_us(&mono) - age;
}

/*
 * Arrival times when the kernel gave no stamp (a transfer sharing an HTTP/2
 * connection, data curl read outside its socket's event). When many sockets
 * are ready at once, the last is read only after all the others were
 * processed: stamped when read, a chunk would look late by the time spent on
 * the rest of the batch. With a precise base, libevent caches per turn of
 * the loop the time its wait returned: a new cached time is a new batch,
 * whose first read takes one now_us() that every chunk read in that turn
 * shares. A coarse base (the default: the clock's tick, ~4 ms) could give
 * two turns the same cached time, so there each chunk is stamped when read.
 */
int64_t
arrival_clock_stamp(struct arrival_clock *c, const struct timeval *loop_time, int64_t now)
{
	if (loop_time->tv_sec != c->loop_time.tv_sec ||
	    loop_time->tv_usec != c->loop_time.tv_usec) {
		c->loop_time = *loop_time;
		c->stamp_us = now;
	}
	return c->stamp_us;
}

static void
turn_end_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct arrival *a = arg;
	a->last_turn_us = now_us() - a->turn_start_us;
	a->turn_open = 0;
}

static void
lag_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct arrival *a = arg;
	int64_t now = now_us();
	if (now - a->lag_due_us > LAG_STALL_US) {
		a->last_stall_us = now - a->lag_due_us;
		a->stall_len_us[a->stalls % STALL_RING] = a->last_stall_us;
		a->stall_end_us[a->stalls++ % STALL_RING] = now;
	}
	a->lag_due_us = now + LAG_TICK_US;
	if (a->in_flight > 0) {
		struct timeval tv = {0, LAG_TICK_US};
		evtimer_add(a->lag, &tv);
	}
}

static void
lag_arm(struct arrival *a)
{
	if (evtimer_pending(a->lag, NULL))
		return;
	a->lag_due_us = now_us() + LAG_TICK_US;
	struct timeval tv = {0, LAG_TICK_US};
	evtimer_add(a->lag, &tv);
}

/* Did a datagram sent to fd itself come back with a receive stamp? */
static int
stamped_echo(int fd, const struct sockaddr_in *self)
{
	char byte = 0;
	struct timespec rx;
	if (sendto(fd, &byte, 1, 0, (const struct sockaddr *)self, sizeof *self) != 1)
		return 0;
	return recv_stamped(fd, 0, &rx);
}

/*
 * The kernel stamps received packets only while some socket asks for it,
 * and turns stamping on after the first one asks, asynchronously: a
 * transfer's first segments, come right after its socket asked, could
 * arrive unstamped (and be timed when read). A loopback datagram socket of
 * our own asks as the engine starts, stays open, and is echoed to until a
 * datagram comes back stamped (for at most STAMPING_WAIT_US, each echo
 * waiting at most 20 ms for its datagram;
 * at once when another engine already holds it on).
 */
#define STAMPING_WAIT_US 100000
static int
stamping_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int on = 1;
	struct sockaddr_in self = {.sin_family = AF_INET};
	self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof self;
	struct timeval tv = {0, 20000}; /* a lost datagram cannot block us */
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
	    bind(fd, (struct sockaddr *)&self, sizeof self) != 0 ||
	    getsockname(fd, (struct sockaddr *)&self, &len) != 0)
		return fd; /* stamping asked for, at least */
	int64_t deadline = now_us() + STAMPING_WAIT_US;
	while (!stamped_echo(fd, &self) && now_us() < deadline)
		usleep(500);
	return fd;
}

struct arrival *
arrival_new(struct event_base *base, int precise)
{
	struct arrival *a = xcalloc(1, sizeof *a);
	a->stamp_fd = stamping_socket();
	a->base = base;
	a->precise = precise;
	a->lag = evtimer_new(base, lag_cb, a);
	a->turn_end = event_new(base, -1, 0, turn_end_cb, a);
	return a;
}

void
arrival_free(struct arrival *a)
{
	if (a == NULL)
		return;
	event_free(a->lag);
	event_free(a->turn_end);
	if (a->stamp_fd >= 0)
		close(a->stamp_fd);
	free(a);
}

void
arrival_socket_opened(int fd)
{
	int on = 1;
	/* without it (other kernels) arrivals are stamped when read */
	(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
}

void
arrival_run_begin(struct arrival *a, int read_fd)
{
	a->read_seq++;
	if (!a->turn_open) {
		a->turn_open = 1;
		a->turn_start_us = now_us();
		event_active(a->turn_end, EV_TIMEOUT, 0);
	}
	if (read_fd >= 0) {
		a->read_fd = read_fd;
		a->read_stamp_us = kernel_arrival_us(read_fd);
	}
}

void
arrival_run_end(struct arrival *a)
{
	a->read_stamp_us = 0;
}

void
arrival_transfer_init(struct arrival_transfer *t, int streamed)
{
	memset(t, 0, sizeof *t);
	t->sock = -1;
	t->streamed = streamed;
}

void
arrival_transfer_socket(struct arrival_transfer *t, int fd)
{
	t->sock = fd;
}

void
arrival_transfer_start(struct arrival *a, struct arrival_transfer *t)
{
	a->in_flight++;
	t->stalls_at_start = a->stalls;
	lag_arm(a);
}

void
arrival_transfer_stop(struct arrival *a, struct arrival_transfer *t)
{
	(void)t;
	a->in_flight--;
}

/*
 * Best: the kernel's receive time of the socket being read, when curl is
 * reading t's own socket; else the loop turn's wake time on a precise base;
 * else now.
 */
int64_t
arrival_stamp(struct arrival *a, const struct arrival_transfer *t, int64_t start_us, int64_t now)
{
	struct timeval tv;
	if (a->read_stamp_us != 0 && t->sock == a->read_fd && a->read_stamp_us <= now)
		now = a->read_stamp_us;
	else if (a->precise && event_base_gettimeofday_cached(a->base, &tv) == 0)
		now = arrival_clock_stamp(&a->clock, &tv, now);
	/* a transfer started in this very turn cannot have data from before */
	return now > start_us ? now : start_us;
}

/*
 * How long the oldest bytes read now may have waited, by the loop's own
 * account: they came after the previous turn began (else that turn would
 * have read them), so at most that turn's length plus this one's so far.
 * Turns are seen from the engine's callbacks; others' time on the loop
 * shows in the lag timer: overdue now, or a stall that just ended.
 */
static int64_t
loop_wait_bound(const struct arrival *a, int64_t now)
{
	int64_t bound = (a->turn_open ? now - a->turn_start_us : 0) + a->last_turn_us;
	if (evtimer_pending(a->lag, NULL) && now - a->lag_due_us > bound)
		bound = now - a->lag_due_us;
	if (a->stalls > 0 && now - a->stall_end_us[(a->stalls - 1) % STALL_RING] < LAG_TICK_US &&
	    a->last_stall_us > bound)
		bound = a->last_stall_us;
	return bound;
}

/* Events read at once (curl hands over each HTTP chunk apart, so they are
 * counted per curl run), a content chunk among them: every one bears the
 * run's stamp, so when they may have come far apart, a chunk's time may be
 * ours, not the relay's. A lone content chunk read with the events after it
 * (the last text with the finish, come a token later) counts as much as
 * two content chunks: the stamp may be the later bytes'. */
int64_t
arrival_read_disturbed(const struct arrival *a, struct arrival_transfer *t, size_t new_chunks,
                       size_t new_events, int64_t read_at, int64_t stamp)
{
	if (t->read_seq != a->read_seq) {
		t->read_seq = a->read_seq;
		t->chunks_in_read = 0;
		t->events_in_read = 0;
	}
	t->chunks_in_read += new_chunks;
	t->events_in_read += new_events;
	if (!t->streamed || t->chunks_in_read == 0 ||
	    (t->chunks_in_read < 2 && t->events_in_read < 2))
		return 0;
	/* Every chunk of this read bears stamp. The oldest bytes came after
	 * read_at - bound: a chunk may have arrived up to stamp - (read_at -
	 * bound) before its stamp. A kernel stamp is the receive time of the
	 * first segment unread: a later segment (not merged into it) came
	 * after it, by up to read_at - stamp. The slack is the larger. */
	int64_t bound = loop_wait_bound(a, read_at);
	int64_t after = read_at - stamp, before = stamp - (read_at - bound);
	int64_t waited = after > before ? after : before;
	return waited > WAITED_STALL_US ? waited : 0;
}

/* Chunks read right as the loop woke from a stall had waited in the
 * socket: their bunching is the machine's, not the relay's. */
int64_t
arrival_first_chunk_stalled(const struct arrival *a, const struct arrival_transfer *t,
                            int64_t first_chunk_at)
{
	if (a->stalls == t->stalls_at_start)
		return 0;
	unsigned long seen = a->stalls - t->stalls_at_start;
	for (unsigned long k = 0; k < seen && k < STALL_RING; k++) {
		size_t at = (a->stalls - 1 - k) % STALL_RING;
		int64_t end = a->stall_end_us[at];
		if (first_chunk_at >= end - STALL_END_WINDOW_US &&
		    first_chunk_at <= end + STALL_END_WINDOW_US)
			return a->stall_len_us[at] + STALL_END_WINDOW_US;
	}
	return 0;
}
