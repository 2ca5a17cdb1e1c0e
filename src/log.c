/*
 * log.c: messages to stderr, relayd style. log_warn appends strerror(errno);
 * fatal and fatalx log and exit. Lines are text, or JSON objects
 * (log_format json); stderr may be the error_log file (log_open).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "porter.h"

enum log_level {
	LOG_LDEBUG = 0,
	LOG_LINFO,
	LOG_LWARN,
	LOG_LFATAL,
};

static int	 log_verbose;
static char	 log_name[64] = "porter";
static atomic_int log_json;	/* relay threads may log (debug) */
static char	*log_path;	/* error_log, or NULL: stderr as started */
static int	 log_stderr = -1; /* the original stderr, once replaced */

static void	 log_vwrite(enum log_level, const char *, va_list, int)
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

/* log_format: 1 json, 0 text. */
void
log_setformat(int json)
{
	atomic_store_explicit(&log_json, json, memory_order_relaxed);
}

int
log_getformat(void)
{
	return atomic_load_explicit(&log_json, memory_order_relaxed);
}

/* error_log: open path for appending, 0640 if it is made. */
static int
log_openfile(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/*
 * Send stderr to path (error_log), or back to the stderr porter started
 * with (NULL). The file goes onto fd 2 itself, so that every child
 * inherits it. Returns 0, or -1 with stderr as it was.
 */
int
log_open(const char *path)
{
	char	*copy = NULL;
	int	 fd;

	if (path == NULL) {
		if (log_stderr != -1 && dup2(log_stderr, STDERR_FILENO) == -1)
			return -1;
		free(log_path);
		log_path = NULL;
		return 0;
	}
	if ((copy = strdup(path)) == NULL)
		return -1;
	if (log_stderr == -1 && (log_stderr = fcntl(STDERR_FILENO,
	    F_DUPFD_CLOEXEC, 3)) == -1)
		goto fail;
	if ((fd = log_openfile(path)) == -1)
		goto fail;
	if (dup2(fd, STDERR_FILENO) == -1) {
		close(fd);
		goto fail;
	}
	close(fd);
	free(log_path);
	log_path = copy;
	return 0;
 fail:
	free(copy);
	return -1;
}

/* SIGUSR1: the error_log again, by its name (logrotate renamed it).
 * 0 if there is none; -1 if it cannot be opened (stderr stays). */
int
log_reopen(void)
{
	int	fd;

	if (log_path == NULL)
		return 0;
	if ((fd = log_openfile(log_path)) == -1)
		return -1;
	if (dup2(fd, STDERR_FILENO) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

const char *
log_file(void)
{
	return log_path;
}

/*
 * The UTF-8 sequence at s (n bytes left): its length, or 0 if it is not
 * valid (overlong, a surrogate, past U+10FFFF, or cut short).
 */
static size_t
log_utf8_len(const unsigned char *s, size_t n)
{
	size_t		len, i;
	unsigned int	cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * Write src (len bytes) into dst as the inside of a JSON string: quote,
 * backslash and control characters escaped, bytes that are not UTF-8
 * replaced by U+FFFD. Stops before an escape or a character that would
 * not fit, and NUL-terminates (size > 0). Returns the length written.
 */
size_t
log_json_escape(char *dst, size_t size, const char *src, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*s = (const unsigned char *)src;
	char			 esc[8];
	const char		*piece;
	size_t			 i = 0, o = 0, n;

	if (size == 0)
		return 0;
	while (i < len) {
		piece = esc;
		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\', esc[1] = (char)s[i], n = 2;
			i++;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			switch (s[i]) {
			case '\n':	memcpy(esc, "\\n", 2); n = 2; break;
			case '\r':	memcpy(esc, "\\r", 2); n = 2; break;
			case '\t':	memcpy(esc, "\\t", 2); n = 2; break;
			default:
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[s[i] >> 4];
				esc[5] = hex[s[i] & 0xf];
				n = 6;
				break;
			}
			i++;
		} else if ((n = log_utf8_len(s + i, len - i)) == 0) {
			piece = "\xef\xbf\xbd";	/* U+FFFD */
			n = 3;
			i++;
		} else {
			piece = src + i;
			i += n;
		}
		if (o + n >= size)
			break;
		memcpy(dst + o, piece, n);
		o += n;
	}
	dst[o] = '\0';
	return o;
}

/*
 * RFC 3339 in UTC with milliseconds: "2026-11-24T12:34:56.789Z", into buf
 * (at least LOG_TIME_LEN). Computed here, not by gmtime_r, which takes
 * glibc's time zone lock: relay threads call this, and the master forks.
 * Returns the length.
 */
size_t
log_time_rfc3339(char *buf, size_t size, const struct timespec *ts)
{
	long long	days, secs, era, doe, yoe, doy, mp, y, m, d;
	int		n;

	days = ts->tv_sec / 86400;
	secs = ts->tv_sec % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	/* Civil date from days since 1970-01-01 (H. Hinnant's algorithm). */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	n = snprintf(buf, size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld."
	    "%03ldZ", y, m, d, secs / 3600, secs / 60 % 60, secs % 60,
	    (long)(ts->tv_nsec / 1000000));
	return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

/*
 * The subsystem of a line: a worker's, or the master's; in the master, a
 * message that starts with a subsystem's function or name ("relay_close:",
 * "status: ...", "reload: ...") is that subsystem's.
 */
static const char *
log_subsystem(const char *msg, int *worker)
{
	static const char *const subs[] = { "channel", "conf", "control",
	    "handoff", "health", "http", "ipc", "listener", "master", "proc",
	    "relay", "reload", "resolve", "status", "upstream" };
	size_t	len, i;

	*worker = -1;
	if (sscanf(log_name, "porter worker %d", worker) == 1)
		return "worker";
	len = strspn(msg, "abcdefghijklmnopqrstuvwxyz");
	if (len == 0 || (msg[len] != ':' && msg[len] != '_'))
		return "master";
	if (msg[len] == '_' && msg[len + strcspn(msg + len, ": ")] != ':')
		return "master";
	for (i = 0; i < nitems(subs); i++)
		if (strlen(subs[i]) == len && strncmp(msg, subs[i], len) == 0)
			return subs[i];
	return "master";
}

/* One JSON object for the message msg (mlen bytes) into line. */
static size_t
log_json_line(char *line, size_t size, enum log_level level,
    const char *msg, size_t mlen)
{
	static const char *const levels[] = { "debug", "info", "warning",
	    "error" };
	struct timespec	 ts;
	char		 when[LOG_TIME_LEN], wid[32] = "";
	const char	*sub;
	size_t		 n;
	int		 worker, m;

	clock_gettime(CLOCK_REALTIME, &ts);
	log_time_rfc3339(when, sizeof(when), &ts);
	sub = log_subsystem(msg, &worker);
	if (worker != -1)
		snprintf(wid, sizeof(wid), ",\"worker\":%d", worker);
	m = snprintf(line, size, "{\"time\":\"%s\",\"level\":\"%s\","
	    "\"pid\":%ld,\"subsystem\":\"%s\"%s,\"msg\":\"", when,
	    levels[level], (long)getpid(), sub, wid);
	if (m < 0 || (size_t)m >= size - 4)
		return 0;
	n = (size_t)m;
	n += log_json_escape(line + n, size - n - 3, msg, mlen);
	memcpy(line + n, "\"}\n", 3);
	return n + 3;
}

/* One write(2) per message so that lines from workers do not interleave. */
static void
log_vwrite(enum log_level level, const char *fmt, va_list ap, int with_errno)
{
	static const char *const prefix[] = { "debug: ", "", "", "fatal: " };
	char		 line[1024], json[LOG_JSON_MAX];
	int		 saved = errno, n, m, start;
	struct timespec	 ts;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %s[%ld]: ",
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_name,
	    (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	start = n;	/* the message, for JSON: without the level's prefix */
	m = snprintf(line + n, sizeof(line) - (size_t)n, "%s", prefix[level]);
	if (m > 0)
		n += m;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m > 0)
		n += m;
	if ((size_t)n >= sizeof(line) - 2)
		n = (int)sizeof(line) - 64;
	if (with_errno)
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s",
		    strerror(saved));
	if (log_getformat()) {
		start += (int)strlen(prefix[level]);
		m = (int)log_json_line(json, sizeof(json), level, line + start,
		    (size_t)(n - start));
		(void)write(STDERR_FILENO, json, (size_t)m);
	} else {
		line[n++] = '\n';
		(void)write(STDERR_FILENO, line, (size_t)n);
	}
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LWARN, fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LWARN, fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 0)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_LINFO, fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_LDEBUG, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LFATAL, fmt, ap, 1);
	va_end(ap);
	exit(EXIT_START);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LFATAL, fmt, ap, 0);
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
