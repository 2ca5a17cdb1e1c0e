/*
 * ring.c: an io_uring that lives in a libevent loop (relay_io io_uring).
 *
 * The ring's fd is an event of the loop like any other: the kernel runs
 * the ring's work when the loop's thread next makes a syscall (its
 * epoll_wait, most often: COOP_TASKRUN, no interrupt), and the fd turns
 * readable once completions are posted. The callback hands each one to
 * the owner's function, then tells the owner the batch is over.
 *
 * What the owner queues (ring_sqe) is submitted once per pass of the
 * loop: the first queued entry makes an event active, and that event's
 * callback, which libevent runs before it waits again, submits them all
 * in one syscall.
 *
 * Received bytes land in a ring of provided buffers (group RING_BGID);
 * the owner gives each back with ring_buf_put once it is done with it.
 *
 * A ring that waits with the task (DEFER_TASKRUN) measured no faster and
 * cannot be waited on with epoll: its deferred work does not wake a
 * poller (docs/bench/notes.md).
 */
#include "config.h"

#include <sys/mman.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <liburing.h>

#include "porter.h"

#define RING_ENTRIES	1024		/* submission queue */
#define RING_BATCH	512		/* completions per callback */

struct ring {
	struct io_uring		 g_ring;
	struct event		 g_ev;		/* the ring's fd */
	struct event		 g_flush;	/* submit at the end of a pass */
	int			 g_queued;	/* g_flush is active */
	struct io_uring_buf_ring *g_br;
	char			*g_bufs;
	int			 g_free;	/* buffers in the ring */
	ring_cqe_fn		 g_cqe;
	ring_pass_fn		 g_pass;
	void			*g_arg;
};

static void
ring_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ring	*g = arg;

	(void)fd;
	(void)what;
	g->g_queued = 0;
	(void)io_uring_submit(&g->g_ring);
}

/* Hand out up to RING_BATCH completions; 1 if more may be there. */
static int
ring_reap(struct ring *g)
{
	struct io_uring_cqe	*cqe;
	uint64_t		 ud;
	unsigned int		 flags;
	int			 res, n;

	for (n = 0; n < RING_BATCH; n++) {
		if (io_uring_peek_cqe(&g->g_ring, &cqe) != 0)
			break;
		ud = io_uring_cqe_get_data64(cqe);
		res = cqe->res;
		flags = cqe->flags;
		io_uring_cqe_seen(&g->g_ring, cqe);
		if (flags & IORING_CQE_F_BUFFER)
			g->g_free--;	/* the owner puts it back */
		if (ud != 0)		/* 0: a cancel's own answer */
			g->g_cqe(ud, res, flags, g->g_arg);
	}
	if (n > 0 && g->g_pass != NULL)
		g->g_pass(g, g->g_arg);
	return n == RING_BATCH;
}

static void
ring_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ring	*g = arg;

	(void)fd;
	(void)what;
	if (ring_reap(g))		/* let the loop breathe, then more */
		event_active(&g->g_ev, EV_READ, 0);
}

/*
 * A ring in base, or NULL with *cause (the kernel or a seccomp policy
 * may refuse io_uring).
 */
struct ring *
ring_new(struct event_base *base, ring_cqe_fn cqe, ring_pass_fn pass,
    void *arg, const char **cause)
{
	struct io_uring_params	 p;
	struct io_uring_buf_reg	 reg;
	struct ring		*g;
	size_t			 brlen;
	int			 rc, i;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		*cause = "out of memory";
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	if ((rc = io_uring_queue_init_params(RING_ENTRIES, &g->g_ring,
	    &p)) < 0) {
		*cause = strerror(-rc);
		free(g);
		return NULL;
	}
	brlen = RING_BUFS * sizeof(struct io_uring_buf);
	g->g_br = mmap(NULL, brlen, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->g_br == MAP_FAILED) {
		g->g_br = NULL;
		*cause = strerror(errno);
		goto fail;
	}
	io_uring_buf_ring_init(g->g_br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)g->g_br;
	reg.ring_entries = RING_BUFS;
	reg.bgid = RING_BGID;
	if ((rc = io_uring_register_buf_ring(&g->g_ring, &reg, 0)) < 0) {
		*cause = strerror(-rc);
		goto fail;
	}
	/* Not touched here: a page becomes resident when a read first lands
	 * in it. Small requests use the first page of each buffer (256 KiB
	 * in all); large answers fill them, 4 MiB. */
	if ((g->g_bufs = malloc((size_t)RING_BUFS * RING_BUFSZ)) == NULL) {
		*cause = "out of memory";
		goto fail;
	}
	for (i = 0; i < RING_BUFS; i++)
		io_uring_buf_ring_add(g->g_br, g->g_bufs + (size_t)i *
		    RING_BUFSZ, RING_BUFSZ, (unsigned short)i,
		    io_uring_buf_ring_mask(RING_BUFS), i);
	io_uring_buf_ring_advance(g->g_br, RING_BUFS);
	g->g_free = RING_BUFS;
	g->g_cqe = cqe;
	g->g_pass = pass;
	g->g_arg = arg;
	event_assign(&g->g_ev, base, g->g_ring.ring_fd, EV_READ | EV_PERSIST,
	    ring_cb, g);
	event_assign(&g->g_flush, base, -1, 0, ring_flush_cb, g);
	if (event_add(&g->g_ev, NULL) == -1) {
		*cause = "event_add failed";
		goto fail;
	}
	return g;

 fail:
	io_uring_queue_exit(&g->g_ring);
	if (g->g_br != NULL)
		munmap(g->g_br, brlen);
	free(g->g_bufs);
	free(g);
	return NULL;
}

/* Its operations must be over (their owners gone). */
void
ring_free(struct ring *g)
{
	if (g == NULL)
		return;
	event_del(&g->g_ev);
	event_del(&g->g_flush);
	io_uring_queue_exit(&g->g_ring);
	munmap(g->g_br, RING_BUFS * sizeof(struct io_uring_buf));
	free(g->g_bufs);
	free(g);
}

/* An entry to fill in, submitted at the end of this pass of the loop. */
struct io_uring_sqe *
ring_sqe(struct ring *g)
{
	struct io_uring_sqe	*sqe;

	while ((sqe = io_uring_get_sqe(&g->g_ring)) == NULL)
		(void)io_uring_submit(&g->g_ring);	/* full: now */
	if (!g->g_queued) {
		g->g_queued = 1;
		event_active(&g->g_flush, 0, 0);
	}
	return sqe;
}

char *
ring_buf(struct ring *g, unsigned int bid)
{
	return g->g_bufs + (size_t)bid * RING_BUFSZ;
}

void
ring_buf_put(struct ring *g, unsigned int bid)
{
	io_uring_buf_ring_add(g->g_br, ring_buf(g, bid), RING_BUFSZ,
	    (unsigned short)bid, io_uring_buf_ring_mask(RING_BUFS), 0);
	io_uring_buf_ring_advance(g->g_br, 1);
	g->g_free++;
}

/* Buffers the kernel can fill now. */
int
ring_bufs_free(const struct ring *g)
{
	return g->g_free;
}

/* Outside the loop (stopping): submit, wait for a completion, reap. */
void
ring_wait(struct ring *g)
{
	struct io_uring_cqe	*cqe;

	g->g_queued = 0;
	event_del(&g->g_flush);
	if (io_uring_submit_and_wait(&g->g_ring, 1) < 0 &&
	    io_uring_wait_cqe(&g->g_ring, &cqe) < 0)
		return;
	(void)ring_reap(g);
}
