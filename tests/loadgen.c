/*
 * loadgen: the load scripts/bench needs that wrk does not give: requests
 * at a fixed rate whatever the server does (open loop), and an exact
 * number of new connections (for syscall counts per connection).
 *
 *   loadgen rate PORT RATE SECONDS [CONNS] [PATH]
 *	Open loop: request i is due at start + i / RATE, whether or not the
 *	answers before it came back. Requests go out on CONNS keep-alive
 *	connections (default 64); a due request that finds none idle waits
 *	for one. Its latency runs from when it was due, not from when it was
 *	sent, so a stalled server is charged for every request it held up
 *	(no coordinated omission). A request not answered within 2 s of
 *	the end counts as answered then (its latency is a lower bound).
 *	Prints one "name value" line each: due, done, errors, late (those
 *	not answered), rate_s
 *	(answers/s), p50_ms, p90_ms, p99_ms, p999_ms, max_ms, send_lag_p99_ms
 *	(how late the client itself took a request up, before any wait for
 *	a free connection: a figure that says whether it kept up).
 *   loadgen conns PORT N CONC [PATH]
 *	N requests, each on a new connection ("Connection: close"), CONC at
 *	a time. Prints done, errors and secs.
 *
 * Answers must carry Content-Length (the built-in worker's and Node's do);
 * after one that says "Connection: close", the connection is made anew.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define LG_BUF		16384
#define LG_GRACE_MS	2000		/* after the last due request */

struct lg_conn {
	int		 fd;
	struct event	*ev;
	char		 buf[LG_BUF];
	size_t		 have;
	long		 body;		/* -1: in the head */
	size_t		 need;		/* head + body */
	int		 busy;
	uint64_t	 due_ns;	/* of the request in flight */
	int		 connecting;
	int		 answered;	/* answers it brought */
	int		 last;		/* the server said Connection: close */
	struct lg_conn	*next_idle;
	struct lg_conn	*all_next, **all_prev;
};

static struct event_base *base;
static struct sockaddr_in sin_to;
static char		 req[256];
static size_t		 reqlen;
static int		 closemode;

/* rate mode */
static double		 rate;
static uint64_t		 start_ns, end_ns;
static uint64_t		 ndue, ndone, nerr, nsent;
static uint32_t		*lat_us, *lag_us;
static size_t		 nlat, nlag, caplat, caplag;
static uint64_t		*waiting;	/* due times of queued requests */
static size_t		 wq_head, wq_tail, wq_cap;
static struct lg_conn	*idle_list;
static struct lg_conn	*all_list;	/* every open connection */
static struct event	*tick;

/* conns mode */
static long		 c_total, c_started, c_done, c_err;

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
push(uint32_t **a, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 65536;
		if ((*a = realloc(*a, *cap * sizeof(**a))) == NULL) {
			perror("loadgen");
			exit(1);
		}
	}
	(*a)[(*n)++] = v;
}

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_start(void);

static struct lg_conn *
conn_open(void)
{
	struct lg_conn	*c;
	int		 on = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		free(c);
		return NULL;
	}
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (connect(c->fd, (struct sockaddr *)&sin_to, sizeof(sin_to)) == -1 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		free(c);
		return NULL;
	}
	c->connecting = 1;
	c->body = -1;
	if ((c->all_next = all_list) != NULL)
		all_list->all_prev = &c->all_next;
	c->all_prev = &all_list;
	all_list = c;
	c->ev = event_new(base, c->fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	event_add(c->ev, NULL);
	return c;
}

static void
conn_free(struct lg_conn *c)
{
	struct lg_conn	**p;

	for (p = &idle_list; *p != NULL; p = &(*p)->next_idle)
		if (*p == c) {
			*p = c->next_idle;
			break;
		}
	if (c->all_next != NULL)
		c->all_next->all_prev = c->all_prev;
	*c->all_prev = c->all_next;
	event_free(c->ev);
	close(c->fd);
	free(c);
}

static void
record(uint64_t due, uint64_t t)
{
	push(&lat_us, &nlat, &caplat, (uint32_t)((t - due) / 1000));
}

/* The request on fd, once it is connected (at most 1 s from now). */
static int
send_req(int fd)
{
	struct pollfd	pfd = { fd, POLLOUT, 0 };

	if (send(fd, req, reqlen, MSG_NOSIGNAL) == (ssize_t)reqlen)
		return 0;
	if (errno != EAGAIN && errno != ENOTCONN && errno != EINPROGRESS)
		return -1;
	if (poll(&pfd, 1, 1000) != 1)
		return -1;
	return send(fd, req, reqlen, MSG_NOSIGNAL) == (ssize_t)reqlen ? 0 : -1;
}

/* Send the request due at due on c (rate mode). */
static int
conn_send(struct lg_conn *c, uint64_t due)
{
	c->busy = 1;
	c->due_ns = due;
	c->have = 0;
	c->body = -1;
	nsent++;
	return send_req(c->fd);
}

static void
wq_push(uint64_t due)
{
	if (wq_tail - wq_head == wq_cap) {
		size_t		 ncap = wq_cap ? wq_cap * 2 : 1024, i;
		uint64_t	*n = malloc(ncap * sizeof(*n));

		if (n == NULL) {
			perror("loadgen");
			exit(1);
		}
		for (i = wq_head; i < wq_tail; i++)
			n[i - wq_head] = waiting[i % wq_cap];
		free(waiting);
		waiting = n;
		wq_tail -= wq_head;
		wq_head = 0;
		wq_cap = ncap;
	}
	waiting[wq_tail++ % wq_cap] = due;
}

/* c is free: the oldest waiting request, or the idle list. */
static void
conn_idle(struct lg_conn *c)
{
	c->busy = 0;
	if (wq_head < wq_tail) {
		if (conn_send(c, waiting[wq_head++ % wq_cap]) == -1) {
			nerr++;
			conn_free(c);	/* XXX the pool shrinks by one */
		}
		return;
	}
	c->next_idle = idle_list;
	idle_list = c;
}

/* A whole answer in c->buf? 1 yes, 0 not yet, -1 malformed. */
static int
conn_parse(struct lg_conn *c)
{
	char	*end, *cl;

	if (c->body == -1) {
		c->buf[c->have < LG_BUF ? c->have : LG_BUF - 1] = '\0';
		if ((end = strstr(c->buf, "\r\n\r\n")) == NULL)
			return c->have >= LG_BUF - 1 ? -1 : 0;
		*end = '\0';
		c->last = strcasestr(c->buf, "\nconnection: close") != NULL;
		cl = strcasestr(c->buf, "\ncontent-length:");
		c->body = cl == NULL ? 0 : strtol(cl + 16, NULL, 10);
		c->need = (size_t)(end + 4 - c->buf) + (size_t)c->body;
	}
	return c->have >= c->need;
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg_conn	*c = arg;
	ssize_t		 n;
	int		 done;
	char		 sink[LG_BUF];

	(void)what;
	if (c->body != -1 && c->have >= LG_BUF / 2) {
		/* a big body: count it, keep nothing */
		n = read(fd, sink, sizeof(sink));
		if (n > 0) {
			c->have += (size_t)n;
			goto check;
		}
	} else
		n = read(fd, c->buf + c->have, LG_BUF - 1 - c->have);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* closed or failed */
		if (closemode) {
			if (c->busy)
				c_err++;
			c_done++;
			conn_free(c);
			conn_start();
			return;
		}
		if (c->busy) {
			nerr++;
			ndone++;
		}
		done = c->answered;
		conn_free(c);
		/* Another in its place, unless it never worked at all. */
		if (done > 0 && (c = conn_open()) != NULL)
			conn_idle(c);
		return;
	}
	c->have += (size_t)n;
 check:
	if ((done = conn_parse(c)) == 0)
		return;
	if (closemode) {
		if (done == -1)
			c_err++;
		c->busy = 0;
		c_done++;
		conn_free(c);
		conn_start();
		return;
	}
	ndone++;
	if (done == -1) {
		nerr++;
		conn_free(c);
		if ((c = conn_open()) != NULL)
			conn_idle(c);
		return;
	}
	record(c->due_ns, now_ns());
	c->answered++;
	if (c->last) {
		/* Its last answer (nginx after keepalive_requests): anew. */
		conn_free(c);
		if ((c = conn_open()) == NULL) {
			nerr++;
			return;
		}
	}
	conn_idle(c);
}

/* Rate mode: issue what is due, then sleep until the next one. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	 t = now_ns(), due, next;
	struct lg_conn	*c;
	struct timeval	 tv;

	(void)fd;
	(void)what;
	(void)arg;
	for (;;) {
		due = start_ns + (uint64_t)((double)ndue * 1e9 / rate);
		if (due > t || due >= end_ns)
			break;
		ndue++;
		/* How late the client itself is: its timer, its CPU. */
		push(&lag_us, &nlag, &caplag, (uint32_t)((t - due) / 1000));
		if ((c = idle_list) != NULL) {
			idle_list = c->next_idle;
			if (conn_send(c, due) == -1) {
				nerr++;
				conn_free(c);
			}
		} else
			wq_push(due);
	}
	if (due >= end_ns) {
		if (t >= end_ns + LG_GRACE_MS * 1000000ULL ||
		    ndone + (wq_tail - wq_head) >= ndue) {
			if (ndone >= ndue || t >= end_ns +
			    LG_GRACE_MS * 1000000ULL) {
				event_base_loopbreak(base);
				return;
			}
		}
		next = t + 10000000ULL;		/* wait for the last answers */
	} else
		next = due;
	tv.tv_sec = (time_t)((next - t) / 1000000000ULL);
	tv.tv_usec = (suseconds_t)((next - t) % 1000000000ULL / 1000);
	evtimer_add(tick, &tv);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(uint32_t *a, size_t n, double p)
{
	size_t	i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)n);
	if (i >= n)
		i = n - 1;
	return a[i] / 1000.0;
}

static int
run_rate(int conns, int secs)
{
	struct lg_conn	*c;
	uint64_t	 t1;
	double		 busy_s;
	int		 i;

	closemode = 0;
	for (i = 0; i < conns; i++) {
		if ((c = conn_open()) == NULL) {
			perror("loadgen: connect");
			return 1;
		}
		c->next_idle = idle_list;
		idle_list = c;
	}
	start_ns = now_ns() + 100000000ULL;	/* the connections settle */
	end_ns = start_ns + (uint64_t)(unsigned int)secs * 1000000000ULL;
	tick = evtimer_new(base, tick_cb, NULL);
	{
		struct timeval tv = { 0, 100000 };
		evtimer_add(tick, &tv);
	}
	event_base_dispatch(base);
	t1 = now_ns();
	/* What never came back counts, as answered now: a lower bound. */
	for (c = all_list; c != NULL; c = c->all_next)
		if (c->busy)
			record(c->due_ns, t1);
	while (wq_head < wq_tail)
		record(waiting[wq_head++ % wq_cap], t1);
	busy_s = (double)(end_ns - start_ns) / 1e9;
	qsort(lat_us, nlat, sizeof(*lat_us), cmp_u32);
	qsort(lag_us, nlag, sizeof(*lag_us), cmp_u32);
	printf("due %llu\ndone %llu\nerrors %llu\nlate %llu\n",
	    (unsigned long long)ndue, (unsigned long long)ndone,
	    (unsigned long long)nerr,
	    (unsigned long long)(ndue - ndone));
	printf("rate_s %.1f\n", (double)ndone / busy_s);
	printf("p50_ms %.3f\np90_ms %.3f\np99_ms %.3f\np999_ms %.3f\n",
	    pct(lat_us, nlat, 50), pct(lat_us, nlat, 90),
	    pct(lat_us, nlat, 99), pct(lat_us, nlat, 99.9));
	printf("max_ms %.3f\n", nlat ? lat_us[nlat - 1] / 1000.0 : 0.0);
	printf("send_lag_p99_ms %.3f\n", pct(lag_us, nlag, 99));
	return nerr > 0 || ndone < ndue;
}

/* Conns mode: one more connection, while any are left to start. */
static void
conn_start(void)
{
	struct lg_conn	*c;

	if (c_done >= c_total) {
		event_base_loopbreak(base);
		return;
	}
	if (c_started >= c_total)
		return;
	c_started++;
	if ((c = conn_open()) == NULL) {
		c_err++;
		c_done++;
		conn_start();
		return;
	}
	c->busy = 1;
	if (send_req(c->fd) == -1) {
		c_err++;
		c_done++;
		conn_free(c);
		conn_start();
		return;
	}
}

static int
run_conns(long n, int conc)
{
	uint64_t	t0 = now_ns();
	int		i;

	closemode = 1;
	c_total = n;
	for (i = 0; i < conc && i < n; i++)
		conn_start();
	if (c_done < c_total)
		event_base_dispatch(base);
	printf("done %ld\nerrors %ld\nsecs %.3f\n", c_done, c_err,
	    (double)(now_ns() - t0) / 1e9);
	return c_err > 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen rate PORT RATE SECONDS [CONNS] "
	    "[PATH]\n       loadgen conns PORT N CONC [PATH]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct event_config	*cfg;
	const char		*path = "/";
	int			 port;

	if (argc < 5)
		usage();
	port = atoi(argv[2]);
	memset(&sin_to, 0, sizeof(sin_to));
	sin_to.sin_family = AF_INET;
	sin_to.sin_port = htons((unsigned short)port);
	sin_to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Precise timers (timerfd): a request is sent when due, not at the
	 * next millisecond. */
	if ((cfg = event_config_new()) == NULL)
		return 1;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	if ((base = event_base_new_with_config(cfg)) == NULL)
		return 1;
	event_config_free(cfg);
	if (strcmp(argv[1], "rate") == 0) {
		if (argc > 6)
			path = argv[6];
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: b\r\n\r\n",
		    path);
		reqlen = strlen(req);
		rate = atof(argv[3]);
		if (rate <= 0)
			usage();
		return run_rate(argc > 5 ? atoi(argv[5]) : 64, atoi(argv[4]));
	}
	if (strcmp(argv[1], "conns") == 0) {
		if (argc > 5)
			path = argv[5];
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: b\r\n"
		    "Connection: close\r\n\r\n", path);
		reqlen = strlen(req);
		return run_conns(atol(argv[3]), atoi(argv[4]));
	}
	usage();
	return 1;
}
