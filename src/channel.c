/*
 * channel.c: the master<->worker IPC transport. A UNIX stream socket
 * carrying lines (Node's "json" serialization; what they say is ipc.c's),
 * with at most one fd per message passed by SCM_RIGHTS no later than the
 * message's first byte. To Node, each fd rides alone on its message's first
 * byte. Between porter and its built-in workers (channel_batch), messages
 * with fds wait for the end of the event that sent them, and up to
 * CHANNEL_BATCH_FDS of them go in one sendmsg: a burst of handed-off
 * clients costs one sendmsg and one recvmsg, not one each, and so do
 * their acknowledgements.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "porter.h"

struct chan_fd {
	uint64_t	 off;		/* stream offset of the message */
	int		 fd;
};

struct channel {
	int			 ch_fd;
	struct event		*ch_rev;
	struct event		*ch_wev;
	struct evbuffer		*ch_in;
	struct evbuffer		*ch_out;
	uint64_t		 ch_sent;	/* stream offset of ch_out's head */
	uint64_t		 ch_queued;	/* stream offset of its tail */
	struct chan_fd		*ch_ofds;	/* fds to send, by offset */
	int			 ch_nofds;
	int			 ch_ofdsz;
	int			 ch_ifds[CHANNEL_MAX_FDS]; /* received, FIFO */
	int			 ch_nifds;
	channel_msg_fn		 ch_msg;
	channel_close_fn	 ch_close;
	void			*ch_arg;
	int			 ch_busy;	/* inside a callback */
	int			 ch_dead;	/* freed while busy */
	int			 ch_failed;	/* close already reported */
	int			 ch_batch;	/* peer takes several fds a read */
	struct log_limit	 ch_lim;	/* the peer's fd floods */
};

static void	channel_read_cb(evutil_socket_t, short, void *);
static void	channel_write_cb(evutil_socket_t, short, void *);
static int	channel_flush(struct channel *);
static void	channel_fail(struct channel *, const char *);
static void	channel_destroy(struct channel *);

/*
 * Wrap one end of a socketpair. The channel owns fd from now on; it must be
 * non-blocking. msg is called once per received line (without its '\n');
 * close once, on EOF, error or protocol breakage.
 */
struct channel *
channel_new(struct event_base *base, int fd, channel_msg_fn msg,
    channel_close_fn close_fn, void *arg)
{
	struct channel	*ch;

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return NULL;
	ch->ch_fd = fd;
	ch->ch_msg = msg;
	ch->ch_close = close_fn;
	ch->ch_arg = arg;
	ch->ch_in = evbuffer_new();
	ch->ch_out = evbuffer_new();
	ch->ch_rev = event_new(base, fd, EV_READ | EV_PERSIST,
	    channel_read_cb, ch);
	ch->ch_wev = event_new(base, fd, EV_WRITE | EV_PERSIST,
	    channel_write_cb, ch);
	if (ch->ch_in == NULL || ch->ch_out == NULL || ch->ch_rev == NULL ||
	    ch->ch_wev == NULL || event_add(ch->ch_rev, NULL) == -1) {
		ch->ch_fd = -1;		/* the caller still owns it */
		channel_destroy(ch);
		return NULL;
	}
	return ch;
}

static void
channel_destroy(struct channel *ch)
{
	int	i;

	if (ch->ch_rev != NULL)
		event_free(ch->ch_rev);
	if (ch->ch_wev != NULL)
		event_free(ch->ch_wev);
	if (ch->ch_in != NULL)
		evbuffer_free(ch->ch_in);
	if (ch->ch_out != NULL)
		evbuffer_free(ch->ch_out);
	for (i = 0; i < ch->ch_nifds; i++)
		close(ch->ch_ifds[i]);
	free(ch->ch_ofds);
	if (ch->ch_fd != -1)
		close(ch->ch_fd);
	free(ch);
}

/*
 * Close the channel. Received fds nobody took are closed; fds queued for
 * sending are not (they belong to the caller).
 */
void
channel_free(struct channel *ch)
{
	if (ch == NULL)
		return;
	if (ch->ch_batch && !ch->ch_failed)
		(void)channel_flush(ch);	/* what waits for the event end */
	if (ch->ch_busy) {
		ch->ch_dead = 1;
		event_del(ch->ch_rev);
		event_del(ch->ch_wev);
		return;
	}
	channel_destroy(ch);
}

/*
 * The peer is porter's own: it reads up to CHANNEL_BATCH_FDS fds at a
 * time, pairing them in order with the messages that take one.
 */
void
channel_batch(struct channel *ch, int on)
{
	ch->ch_batch = on;
}

/* Bytes queued and not yet written. */
size_t
channel_pending(const struct channel *ch)
{
	return evbuffer_get_length(ch->ch_out);
}

/*
 * Queue one message (len bytes of JSON, no newline) with an optional fd.
 * The fd stays the caller's: keep it open until the peer has it.
 */
int
channel_send(struct channel *ch, const char *msg, size_t len, int fd)
{
	struct chan_fd	*nfds;
	int		 nsz;

	if (ch->ch_failed || ch->ch_dead)
		return -1;
	if (len == 0 || len > CHANNEL_MAX_LINE || memchr(msg, '\n', len)) {
		log_warnx("%s: refusing a malformed message", __func__);
		return -1;
	}
	if (fd != -1) {
		if (ch->ch_nofds == ch->ch_ofdsz) {
			nsz = ch->ch_ofdsz ? ch->ch_ofdsz * 2 : 8;
			nfds = reallocarray(ch->ch_ofds, (size_t)nsz,
			    sizeof(*nfds));
			if (nfds == NULL)
				return -1;
			ch->ch_ofds = nfds;
			ch->ch_ofdsz = nsz;
		}
		ch->ch_ofds[ch->ch_nofds].off = ch->ch_queued;
		ch->ch_ofds[ch->ch_nofds].fd = fd;
		ch->ch_nofds++;
	}
	if (evbuffer_add(ch->ch_out, msg, len) == -1 ||
	    evbuffer_add(ch->ch_out, "\n", 1) == -1)
		return -1;
	ch->ch_queued += len + 1;
	if (ch->ch_batch && (ch->ch_busy || fd != -1)) {
		/* Written with the others at the end of this event. */
		if (!ch->ch_busy)
			event_active(ch->ch_wev, EV_WRITE, 1);
		return 0;
	}
	return channel_flush(ch);
}

int
channel_sendf(struct channel *ch, int fd, const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return channel_send(ch, buf, (size_t)n, fd);
}

/*
 * Write what we can. Each sendmsg stops short of the next fd-carrying
 * message, so that an fd always rides on its own message's first byte;
 * with ch_batch, short of the message after CHANNEL_BATCH_FDS of them, all
 * of whose fds ride on the first byte. Those messages begin in the first
 * CHANNEL_BATCH_BYTES, less than the smallest skb a unix socket sends
 * (half of SOCK_MIN_SNDBUF), so the peer's read that gets the fds gets a
 * part of each of their messages too: it never takes them for strays.
 */
static int
channel_flush(struct channel *ch)
{
	struct evbuffer_iovec	 vec[16];
	struct iovec		 iov[16];
	struct msghdr		 mh;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) *
				     CHANNEL_BATCH_FDS)];
	} cm;
	struct cmsghdr		*cmsg;
	size_t			 limit, total;
	ssize_t			 n;
	int			 i, nvec, nfd, max;

	max = ch->ch_batch ? CHANNEL_BATCH_FDS : 1;
	while ((total = evbuffer_get_length(ch->ch_out)) > 0) {
		nfd = 0;
		limit = total;
		if (ch->ch_nofds > 0) {
			if (ch->ch_ofds[0].off == ch->ch_sent) {
				/* These fds, with their messages. */
				while (nfd < ch->ch_nofds && nfd < max &&
				    ch->ch_ofds[nfd].off - ch->ch_sent <
				    CHANNEL_BATCH_BYTES)
					nfd++;
				if (nfd < ch->ch_nofds)
					limit = ch->ch_ofds[nfd].off -
					    ch->ch_sent;
			} else
				limit = ch->ch_ofds[0].off - ch->ch_sent;
		}
		nvec = evbuffer_peek(ch->ch_out, (ev_ssize_t)limit, NULL, vec,
		    nitems(vec));
		if (nvec > (int)nitems(vec))
			nvec = (int)nitems(vec);
		for (i = 0, total = 0; i < nvec && total < limit; i++) {
			iov[i].iov_base = vec[i].iov_base;
			iov[i].iov_len = vec[i].iov_len;
			if (iov[i].iov_len > limit - total)
				iov[i].iov_len = limit - total;
			total += iov[i].iov_len;
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)i;
		if (nfd > 0) {
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) *
			    (size_t)nfd);
			cmsg = CMSG_FIRSTHDR(&mh);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfd);
			for (i = 0; i < nfd; i++)
				memcpy(CMSG_DATA(cmsg) + sizeof(int) *
				    (size_t)i, &ch->ch_ofds[i].fd, sizeof(int));
		}
		n = sendmsg(ch->ch_fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (event_add(ch->ch_wev, NULL) == -1)
					return -1;
				return 0;
			}
			log_debug("%s: sendmsg: %s", __func__, strerror(errno));
			return -1;
		}
		if (nfd > 0) {
			/* The fds went with the first byte. */
			ch->ch_nofds -= nfd;
			memmove(ch->ch_ofds, ch->ch_ofds + nfd,
			    (size_t)ch->ch_nofds * sizeof(*ch->ch_ofds));
		}
		evbuffer_drain(ch->ch_out, (size_t)n);
		ch->ch_sent += (uint64_t)n;
	}
	event_del(ch->ch_wev);
	return 0;
}

static void
channel_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct channel	*ch = arg;

	(void)fd;
	(void)what;
	if (channel_flush(ch) == -1)
		channel_fail(ch, "write failed");
}

/* Report the end of the channel, once. ch may be gone on return. */
static void
channel_fail(struct channel *ch, const char *why)
{
	if (ch->ch_failed)
		return;
	ch->ch_failed = 1;
	event_del(ch->ch_rev);
	event_del(ch->ch_wev);
	ch->ch_busy++;
	ch->ch_close(ch, why, ch->ch_arg);
	if (--ch->ch_busy == 0 && ch->ch_dead)
		channel_destroy(ch);
}

/*
 * Take the oldest received fd not yet taken, or -1. A handle message calls
 * this for its fd: the fd arrived no later than the message's first byte.
 */
int
channel_take_fd(struct channel *ch)
{
	int	fd;

	if (ch->ch_nifds == 0)
		return -1;
	fd = ch->ch_ifds[0];
	ch->ch_nifds--;
	memmove(ch->ch_ifds, ch->ch_ifds + 1,
	    (size_t)ch->ch_nifds * sizeof(int));
	return fd;
}

static void
channel_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct channel		*ch = arg;
	struct msghdr		 mh;
	struct iovec		 iov;
	struct cmsghdr		*cmsg;
	struct evbuffer_ptr	 eol;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) *
				     CHANNEL_BATCH_FDS)];
	} cm;
	char			 buf[16384], *line;
	const char		*why = NULL;
	ssize_t			 n;
	size_t			 eollen, i, nfd;
	int			*fds;

	(void)what;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		channel_fail(ch, strerror(errno));
		return;
	}
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)(void *)CMSG_DATA(cmsg);
		nfd = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			if (ch->ch_nifds == CHANNEL_MAX_FDS) {
				log_warnx_limit(&ch->ch_lim, "%s: too many fds "
				    "in flight, closing one", __func__);
				close(fds[i]);
			} else
				ch->ch_ifds[ch->ch_nifds++] = fds[i];
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		log_warnx_limit(&ch->ch_lim, "%s: control data truncated: "
		    "fds lost", __func__);
	if (n == 0) {
		channel_fail(ch, "end of file");
		return;
	}
	evbuffer_add(ch->ch_in, buf, (size_t)n);

	ch->ch_busy++;
	while (!ch->ch_dead && !ch->ch_failed) {
		eol = evbuffer_search_eol(ch->ch_in, NULL, &eollen,
		    EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			if (evbuffer_get_length(ch->ch_in) > CHANNEL_MAX_LINE)
				why = "message too long";
			break;
		}
		if ((size_t)eol.pos > CHANNEL_MAX_LINE) {
			why = "message too long";
			break;
		}
		line = (char *)evbuffer_pullup(ch->ch_in, eol.pos + 1);
		line[eol.pos] = '\0';
		ch->ch_msg(ch, line, (size_t)eol.pos, ch->ch_arg);
		if (!ch->ch_dead)
			evbuffer_drain(ch->ch_in, (size_t)eol.pos + 1);
	}
	/*
	 * Every message we have seen began after its fd arrived, so with no
	 * partial message left, an fd still here belongs to nobody.
	 */
	if (!ch->ch_dead && evbuffer_get_length(ch->ch_in) == 0) {
		while (ch->ch_nifds > 0) {
			log_warnx_limit(&ch->ch_lim, "%s: closing an fd no "
			    "message claimed", __func__);
			close(channel_take_fd(ch));
		}
	}
	ch->ch_busy--;
	if (ch->ch_dead)
		channel_destroy(ch);
	else if (why != NULL)
		channel_fail(ch, why);
	else if (ch->ch_batch && !ch->ch_failed && channel_flush(ch) == -1)
		channel_fail(ch, "write failed");	/* the answers */
}
