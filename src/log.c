/*
 * log.c: messages to stderr, relayd style. log_warn appends strerror(errno);
 * fatal and fatalx log and exit.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "porter.h"

static int	 log_verbose;
static char	 log_name[64] = "porter";

static void	 log_vwrite(const char *, const char *, va_list, int)
		    __attribute__((__format__(__printf__, 2, 0)));

void
log_init(int verbose, const char *name)
{
	log_verbose = verbose;
	log_setname(name);
}

void
log_setname(const char *name)
{
	snprintf(log_name, sizeof(log_name), "%s", name);
}

int
log_getverbose(void)
{
	return log_verbose;
}

/* One write(2) per message so that lines from workers do not interleave. */
static void
log_vwrite(const char *level, const char *fmt, va_list ap, int with_errno)
{
	char		 line[1024];
	int		 saved = errno, n, m;
	struct timespec	 ts;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %s[%ld]: %s",
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_name,
	    (long)getpid(), level);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m > 0)
		n += m;
	if ((size_t)n >= sizeof(line) - 2)
		n = (int)sizeof(line) - 64;
	if (with_errno)
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s",
		    strerror(saved));
	line[n++] = '\n';
	(void)write(STDERR_FILENO, line, (size_t)n);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite("", fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite("", fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 0)
		return;
	va_start(ap, fmt);
	log_vwrite("", fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_vwrite("debug: ", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite("fatal: ", fmt, ap, 1);
	va_end(ap);
	exit(EXIT_START);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite("fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(EXIT_START);
}

/*
 * A warning an outsider can cause at will (a worker's garbage, a flood of
 * fds) goes through its own struct log_limit: per window, the first
 * LOG_BURST are logged and the rest counted; the count is told with the
 * first one of a later window.
 */
void
log_warnx_limit(struct log_limit *ll, const char *fmt, ...)
{
	char		 msg[768];
	uint64_t	 now = clock_ms(), secs;
	va_list		 ap;

	if (ll->ll_since != 0 && now - ll->ll_since < LOG_WINDOW &&
	    ll->ll_logged >= LOG_BURST) {
		ll->ll_dropped++;
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ll->ll_since == 0 || now - ll->ll_since >= LOG_WINDOW) {
		secs = ll->ll_since == 0 ? 0 : (now - ll->ll_since + 999) / 1000;
		if (ll->ll_dropped > 0)
			log_warnx("%s (and %llu more in the last %llu s)", msg,
			    (unsigned long long)ll->ll_dropped,
			    (unsigned long long)secs);
		else
			log_warnx("%s", msg);
		ll->ll_since = now;
		ll->ll_logged = 1;
		ll->ll_dropped = 0;
		return;
	}
	ll->ll_logged++;
	log_warnx("%s", msg);
}
