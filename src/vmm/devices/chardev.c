/* Character backends (see chardev.h): stdio, file, listening unix socket, none.
 * vCPU threads write under one mutex into a non-blocking fd or a bounded ring;
 * the main loop flushes the ring, accepts unix clients and reads input. */
#include "vmm/devices/chardev.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

enum chardev_type { CHARDEV_NONE, CHARDEV_STDIO, CHARDEV_FILE, CHARDEV_UNIX };

static const char *const chardev_kind_names[] = { "none", "stdio", "file", "unix" };

/* A watched fd's registered epoll mask; -1 when not in the loop. */
#define CHARDEV_UNWATCHED (-1)

struct chardev {
	enum chardev_type type;
	struct evloop *loop;

	/* Main thread only. */
	int in_fd;             /* stdin or the unix client; -1 if none */
	int64_t in_mask;       /* events registered for in_fd */
	int64_t out_mask;      /* events registered for out_fd when it differs from in_fd */
	bool in_eof;
	int listen_fd;
	int kick_fd;           /* eventfd: other threads ask the main loop to flush/resume */
	char *path;            /* unix socket to unlink at close */
	chardev_input_fn input_fn;
	void *input_opaque;
	uint8_t inbuf[512];    /* read but not yet taken by the device */
	size_t in_off, in_len;
	atomic_bool accept;
	atomic_bool kicked;

	/* Output, under lock. out_fd is the unix client, stdout or the file. */
	pthread_mutex_t lock;
	int out_fd;
	bool out_is_socket;
	bool out_pollable;     /* regular files never return EAGAIN and cannot be epolled */
	bool own_out_fd;       /* close out_fd at close (not fd 1 itself) */
	uint8_t *ring;
	size_t ring_head, ring_count;
	uint64_t dropped;
};

/* stdio raw mode is process-wide: one saved termios, restored at exit. */
static struct termios chardev_saved_termios;
static atomic_bool chardev_tty_raw;
static atomic_bool chardev_stdio_open;
static atomic_bool chardev_atexit_done;

static void chardev_restore_tty(void)
{
	if (atomic_exchange(&chardev_tty_raw, false))
		tcsetattr(STDIN_FILENO, TCSADRAIN, &chardev_saved_termios);
}

static int chardev_make_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO))
		return 0;
	if (tcgetattr(STDIN_FILENO, &chardev_saved_termios) < 0)
		return err_set_errno(ERR_IO, errno, "chardev stdio: cannot read terminal settings");
	t = chardev_saved_termios;
	/* Raw input so the guest sees every key, but keep ISIG (Ctrl-C stops the
	 * VMM, as QEMU's default signal=on) and OPOST (host terminal newlines). */
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0)
		return err_set_errno(ERR_IO, errno, "chardev stdio: cannot set raw mode");
	atomic_store(&chardev_tty_raw, true);
	if (!atomic_exchange(&chardev_atexit_done, true))
		atexit(chardev_restore_tty);
	return 0;
}

/* ---- output (any thread, cd->lock held) ---- */

/* Bytes written (0 when the fd is full); -1 when the fd is broken. */
static ssize_t chardev_raw_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	do {
		if (cd->out_is_socket)
			n = send(cd->out_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			n = write(cd->out_fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
}

static void chardev_ring_flush(struct chardev *cd)
{
	while (cd->ring_count > 0 && cd->out_fd >= 0) {
		size_t chunk = MIN(cd->ring_count, CHARDEV_OUT_BUF - cd->ring_head);
		ssize_t n = chardev_raw_write(cd, cd->ring + cd->ring_head, chunk);

		if (n < 0) {
			/* Broken output (client gone, disk full): drop what is queued;
			 * the main loop notices a hung-up client by itself. */
			cd->dropped += cd->ring_count;
			cd->ring_count = 0;
			break;
		}
		if (n == 0)
			break;
		cd->ring_head = (cd->ring_head + (size_t)n) % CHARDEV_OUT_BUF;
		cd->ring_count -= (size_t)n;
	}
	if (cd->ring_count == 0)
		cd->ring_head = 0;
}

static void chardev_ring_append(struct chardev *cd, const uint8_t *buf, size_t len)
{
	if (len > CHARDEV_OUT_BUF) {
		/* Only the newest CHARDEV_OUT_BUF bytes can survive anyway. */
		cd->dropped += len - CHARDEV_OUT_BUF;
		buf += len - CHARDEV_OUT_BUF;
		len = CHARDEV_OUT_BUF;
	}
	if (cd->ring_count + len > CHARDEV_OUT_BUF) {
		size_t drop = cd->ring_count + len - CHARDEV_OUT_BUF;

		cd->ring_head = (cd->ring_head + drop) % CHARDEV_OUT_BUF;
		cd->ring_count -= drop;
		cd->dropped += drop;
	}
	for (size_t i = 0; i < len; i++)
		cd->ring[(cd->ring_head + cd->ring_count + i) % CHARDEV_OUT_BUF] = buf[i];
	cd->ring_count += len;
}

static void chardev_kick(struct chardev *cd)
{
	uint64_t one = 1;

	if (cd->kick_fd < 0 || atomic_exchange(&cd->kicked, true))
		return;
	if (write(cd->kick_fd, &one, sizeof(one)) < 0)
		atomic_store(&cd->kicked, false);
}

void chardev_write(struct chardev *cd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!cd || len == 0)
		return;
	pthread_mutex_lock(&cd->lock);
	if (cd->out_fd < 0) {
		/* "none", or unix with no client: output is discarded by design. */
		pthread_mutex_unlock(&cd->lock);
		return;
	}
	chardev_ring_flush(cd);
	if (cd->ring_count == 0) {
		ssize_t n = chardev_raw_write(cd, p, len);

		if (n < 0) {
			cd->dropped += len;
			len = 0;
		} else {
			p += n;
			len -= (size_t)n;
		}
	}
	if (len > 0)
		chardev_ring_append(cd, p, len);
	if (cd->ring_count > 0 && cd->out_pollable)
		chardev_kick(cd);
	pthread_mutex_unlock(&cd->lock);
}

uint64_t chardev_dropped(struct chardev *cd)
{
	uint64_t d;

	pthread_mutex_lock(&cd->lock);
	d = cd->dropped;
	pthread_mutex_unlock(&cd->lock);
	return d;
}

void chardev_flush(struct chardev *cd, int timeout_ms)
{
	uint64_t deadline = clock_ns() + (uint64_t)MAX(timeout_ms, 0) * 1000000ULL;

	for (;;) {
		struct pollfd pfd;
		size_t left;
		uint64_t now;

		pthread_mutex_lock(&cd->lock);
		chardev_ring_flush(cd);
		pfd.fd = cd->out_fd;
		pfd.events = POLLOUT;
		left = cd->ring_count;
		pthread_mutex_unlock(&cd->lock);
		if (left == 0 || pfd.fd < 0)
			return;
		now = clock_ns();
		if (now >= deadline)
			return;
		poll(&pfd, 1, (int)((deadline - now) / 1000000ULL) + 1);
	}
}

/* ---- main-thread side: watches, input, clients ---- */

static void chardev_fd_event(void *opaque, uint32_t events);

/* Make fd's registration in the loop equal to `mask` (-1: not registered). */
static void chardev_watch(struct chardev *cd, int fd, int64_t *registered, int64_t mask)
{
	if (!cd->loop || fd < 0 || *registered == mask)
		return;
	if (mask == CHARDEV_UNWATCHED) {
		evloop_remove(cd->loop, fd);
	} else if (*registered == CHARDEV_UNWATCHED) {
		if (evloop_add(cd->loop, fd, (uint32_t)mask, chardev_fd_event, cd) < 0) {
			/* e.g. stdin redirected from a regular file or /dev/null,
			 * which epoll refuses: there is simply no input. */
			log_debug("chardev %s: fd %d not watched: %s", chardev_kind_names[cd->type], fd,
				  err_message());
			err_clear();
			if (fd == cd->in_fd)
				cd->in_eof = true;
			return;
		}
	} else if (evloop_modify(cd->loop, fd, (uint32_t)mask) < 0) {
		log_warn("chardev %s: %s", chardev_kind_names[cd->type], err_message());
		err_clear();
	}
	*registered = mask;
}

/* Recompute which events the main loop must watch on in_fd and out_fd. */
static void chardev_update_watches(struct chardev *cd)
{
	bool want_in = cd->in_fd >= 0 && !cd->in_eof && cd->in_len == 0 && atomic_load(&cd->accept);
	bool want_out;
	int out_fd;

	pthread_mutex_lock(&cd->lock);
	want_out = cd->ring_count > 0 && cd->out_pollable;
	out_fd = cd->out_fd;
	pthread_mutex_unlock(&cd->lock);

	if (cd->in_fd >= 0 && out_fd == cd->in_fd) {
		/* unix client: one registration for both directions. A client that
		 * hung up while input is paused stays unregistered (no HUP storm). */
		int64_t mask = (want_in ? EPOLLIN : 0) | (want_out ? EPOLLOUT : 0);

		if (cd->in_eof && !want_out)
			mask = CHARDEV_UNWATCHED;
		chardev_watch(cd, cd->in_fd, &cd->in_mask, mask);
		return;
	}
	if (cd->in_fd >= 0)
		chardev_watch(cd, cd->in_fd, &cd->in_mask, want_in ? EPOLLIN : CHARDEV_UNWATCHED);
	if (out_fd >= 0 && cd->out_pollable)
		chardev_watch(cd, out_fd, &cd->out_mask, want_out ? EPOLLOUT : CHARDEV_UNWATCHED);
}

static void chardev_deliver(struct chardev *cd)
{
	if (cd->in_len > cd->in_off && atomic_exchange(&cd->accept, false)) {
		/* accept is cleared before the device sees the bytes: a device that
		 * takes part of them and frees room at once (a vCPU reading the FIFO
		 * on another thread) then finds it false, and its
		 * chardev_accept_input(cd, true) kicks us. Cleared after the call, that
		 * resume could be lost and input would stall for good. */
		size_t n = cd->input_fn ? cd->input_fn(cd->input_opaque, cd->inbuf + cd->in_off,
						       cd->in_len - cd->in_off)
					: cd->in_len - cd->in_off; /* nobody listens: drop */

		cd->in_off += MIN(n, cd->in_len - cd->in_off);
		/* All taken: nobody will resume us, so accept again. A partial take
		 * means the device is full: it resumes us when it has room. */
		if (cd->in_off >= cd->in_len)
			atomic_store(&cd->accept, true);
	}
	if (cd->in_off >= cd->in_len)
		cd->in_off = cd->in_len = 0;
}

static void chardev_drop_client(struct chardev *cd)
{
	int fd = cd->in_fd;

	if (fd < 0)
		return;
	chardev_watch(cd, fd, &cd->in_mask, CHARDEV_UNWATCHED);
	pthread_mutex_lock(&cd->lock);
	cd->out_fd = -1;
	cd->ring_count = cd->ring_head = 0;
	pthread_mutex_unlock(&cd->lock);
	close(fd);
	cd->in_fd = -1;
	cd->in_off = cd->in_len = 0;
	cd->in_eof = false;
}

static void chardev_read_input(struct chardev *cd)
{
	ssize_t n;

	if (cd->in_fd < 0 || cd->in_len > 0)
		return;
	/* One read per readiness event: stdin stays blocking (its file
	 * description is shared with the terminal's stdout/stderr). */
	n = read(cd->in_fd, cd->inbuf, sizeof(cd->inbuf));
	if (n > 0) {
		cd->in_off = 0;
		cd->in_len = (size_t)n;
		chardev_deliver(cd);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	/* EOF or error: a unix client left; stdin ran out. */
	if (cd->type == CHARDEV_UNIX)
		chardev_drop_client(cd);
	else
		cd->in_eof = true;
}

static void chardev_fd_event(void *opaque, uint32_t events)
{
	struct chardev *cd = opaque;

	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
		/* Also on hang-up: the failing send drops what was queued. */
		pthread_mutex_lock(&cd->lock);
		chardev_ring_flush(cd);
		pthread_mutex_unlock(&cd->lock);
	}
	if (events & EPOLLIN)
		chardev_read_input(cd);
	else if ((events & (EPOLLHUP | EPOLLERR)) && cd->in_fd >= 0) {
		if (cd->type == CHARDEV_UNIX && atomic_load(&cd->accept))
			chardev_read_input(cd);    /* reads the EOF and drops the client */
		else
			cd->in_eof = true;         /* paused: stop watching, resume reads later */
	}
	chardev_update_watches(cd);
}

static void chardev_kick_event(void *opaque, uint32_t events)
{
	struct chardev *cd = opaque;
	uint64_t v;

	(void)events;
	if (read(cd->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("chardev: kick read: %s", strerror(errno));
	atomic_store(&cd->kicked, false);
	pthread_mutex_lock(&cd->lock);
	chardev_ring_flush(cd);
	pthread_mutex_unlock(&cd->lock);
	chardev_deliver(cd);
	/* A paused unix client that hung up: read what it left, then its EOF. */
	if (cd->type == CHARDEV_UNIX && cd->in_eof && cd->in_len == 0 && atomic_load(&cd->accept)) {
		cd->in_eof = false;
		chardev_read_input(cd);
	}
	chardev_update_watches(cd);
}

static void chardev_accept_event(void *opaque, uint32_t events)
{
	struct chardev *cd = opaque;
	int fd;

	(void)events;
	fd = accept4(cd->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("chardev unix:%s: accept: %s", cd->path, strerror(errno));
		return;
	}
	/* One client at a time: a new one replaces the old (as a reconnecting
	 * console would), and output queued for the old one is not replayed. */
	chardev_drop_client(cd);
	pthread_mutex_lock(&cd->lock);
	cd->out_fd = fd;
	cd->ring_count = cd->ring_head = 0;
	pthread_mutex_unlock(&cd->lock);
	cd->in_fd = fd;
	cd->in_mask = CHARDEV_UNWATCHED;
	chardev_update_watches(cd);
}

void chardev_set_input(struct chardev *cd, chardev_input_fn fn, void *opaque)
{
	cd->input_fn = fn;
	cd->input_opaque = opaque;
}

void chardev_accept_input(struct chardev *cd, bool accept)
{
	if (!cd)
		return;
	if (accept && !atomic_exchange(&cd->accept, true))
		chardev_kick(cd);
	else if (!accept)
		atomic_store(&cd->accept, false);
}

const char *chardev_kind(const struct chardev *cd)
{
	return chardev_kind_names[cd->type];
}

bool chardev_connected(struct chardev *cd)
{
	bool c;

	pthread_mutex_lock(&cd->lock);
	c = cd->out_fd >= 0;
	pthread_mutex_unlock(&cd->lock);
	return c;
}

/* ---- opening ---- */

static int chardev_open_stdio(struct chardev *cd)
{
	struct stat st;
	int fd;

	if (atomic_exchange(&chardev_stdio_open, true))
		return err_set(ERR_BUSY, "chardev stdio: stdio is already used by another backend");
	if (fstat(STDOUT_FILENO, &st) < 0) {
		atomic_store(&chardev_stdio_open, false);
		return err_set_errno(ERR_IO, errno, "chardev stdio: stdout");
	}
	cd->out_fd = STDOUT_FILENO;
	if (S_ISSOCK(st.st_mode)) {
		cd->out_is_socket = cd->out_pollable = true;
	} else if (!S_ISREG(st.st_mode)) {
		/* A private non-blocking description of the same tty/pipe, so
		 * O_NONBLOCK does not leak into stderr or the shell. */
		fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0) {
			cd->out_fd = fd;
			cd->own_out_fd = true;
			cd->out_pollable = true;
		} else {
			log_debug("chardev stdio: stdout stays blocking: %s", strerror(errno));
		}
	}
	if (chardev_make_raw() < 0) {
		atomic_store(&chardev_stdio_open, false);
		return -1;
	}
	cd->in_fd = STDIN_FILENO;
	return 0;
}

static int chardev_open_file(struct chardev *cd, const char *path)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);

	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "chardev file:%s: cannot open", path);
	cd->out_fd = fd;
	cd->own_out_fd = true;
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A fifo or device: do not let a stalled reader block a vCPU. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		cd->out_pollable = true;
	}
	return 0;
}

static int chardev_open_unix(struct chardev *cd, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (!cd->loop)
		return err_set(ERR_INTERNAL, "chardev unix:%s: needs an event loop", path);
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(ERR_INVALID, "chardev unix:%s: path longer than %zu bytes", path,
			       sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A stale socket from an earlier run would make bind fail; only
	 * sockets are removed, never other files. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "chardev unix:%s: socket", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		err_set_errno(ERR_IO, errno, "chardev unix:%s: cannot listen", path);
		close(fd);
		return -1;
	}
	cd->listen_fd = fd;
	cd->path = strdup(path);
	if (!cd->path)
		return err_set(ERR_NOMEM, "out of memory");
	if (evloop_add(cd->loop, fd, EPOLLIN, chardev_accept_event, cd) < 0)
		return err_prefix("chardev unix:%s", path);
	cd->out_is_socket = cd->out_pollable = true;
	return 0;
}

/* QEMU-style options after the path ("unix:/p,server,nowait") are accepted
 * when they describe what we do anyway; anything else is an error. */
static int chardev_check_unix_options(const char *spec, char *opts)
{
	char *save = NULL;

	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (strcmp(o, "server") && strcmp(o, "server=on") && strcmp(o, "nowait") &&
		    strcmp(o, "wait=off"))
			return err_set(ERR_INVALID, "chardev '%s': unsupported option '%s'", spec, o);
	}
	return 0;
}

struct chardev *chardev_open(const char *spec, struct evloop *loop)
{
	struct chardev *cd;
	int rc = 0;

	if (!spec || !*spec) {
		err_set(ERR_INVALID, "chardev: empty backend spec (want stdio, file:PATH, unix:PATH or none)");
		return NULL;
	}
	cd = calloc(1, sizeof(*cd));
	if (!cd) {
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	cd->loop = loop;
	cd->in_fd = cd->out_fd = cd->listen_fd = cd->kick_fd = -1;
	cd->in_mask = cd->out_mask = CHARDEV_UNWATCHED;
	atomic_init(&cd->accept, true);
	atomic_init(&cd->kicked, false);
	pthread_mutex_init(&cd->lock, NULL);

	if (!strcmp(spec, "none")) {
		cd->type = CHARDEV_NONE;
	} else if (!strcmp(spec, "stdio")) {
		cd->type = CHARDEV_STDIO;
		rc = chardev_open_stdio(cd);
	} else if (!strncmp(spec, "file:", 5) && spec[5]) {
		cd->type = CHARDEV_FILE;
		rc = chardev_open_file(cd, spec + 5);
	} else if (!strncmp(spec, "unix:", 5) && spec[5] && spec[5] != ',') {
		char *path = strdup(spec + 5), *comma;

		cd->type = CHARDEV_UNIX;
		if (!path) {
			rc = err_set(ERR_NOMEM, "out of memory");
		} else {
			comma = strchr(path, ',');
			if (comma)
				*comma = '\0';
			rc = comma ? chardev_check_unix_options(spec, comma + 1) : 0;
			if (rc == 0)
				rc = chardev_open_unix(cd, path);
			free(path);
		}
	} else {
		err_set(ERR_INVALID, "chardev '%s': unknown backend (want stdio, file:PATH, unix:PATH or none)",
			spec);
		rc = -1;
	}
	if (rc == 0 && (cd->ring = malloc(CHARDEV_OUT_BUF)) == NULL)
		rc = err_set(ERR_NOMEM, "out of memory");
	if (rc == 0 && loop) {
		cd->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (cd->kick_fd < 0)
			rc = err_set_errno(ERR_INTERNAL, errno, "chardev '%s': eventfd", spec);
		else if (evloop_add(loop, cd->kick_fd, EPOLLIN, chardev_kick_event, cd) < 0)
			rc = err_prefix("chardev '%s'", spec);
		if (rc < 0 && cd->kick_fd >= 0) {
			close(cd->kick_fd);
			cd->kick_fd = -1;
		}
	}
	if (rc < 0) {
		chardev_close(cd);
		return NULL;
	}
	chardev_update_watches(cd);
	return cd;
}

void chardev_close(struct chardev *cd)
{
	if (!cd)
		return;
	if (cd->ring)
		chardev_flush(cd, 100);
	if (cd->type == CHARDEV_UNIX) {
		chardev_drop_client(cd);
	} else {
		chardev_watch(cd, cd->in_fd, &cd->in_mask, CHARDEV_UNWATCHED);
		chardev_watch(cd, cd->out_fd, &cd->out_mask, CHARDEV_UNWATCHED);
	}
	if (cd->listen_fd >= 0) {
		if (cd->loop)
			evloop_remove(cd->loop, cd->listen_fd);
		close(cd->listen_fd);
		if (cd->path)
			unlink(cd->path);
	}
	if (cd->kick_fd >= 0) {
		if (cd->loop)
			evloop_remove(cd->loop, cd->kick_fd);
		close(cd->kick_fd);
	}
	if (cd->own_out_fd && cd->out_fd >= 0)
		close(cd->out_fd);
	if (cd->type == CHARDEV_STDIO && cd->in_fd == STDIN_FILENO) {
		chardev_restore_tty();
		atomic_store(&chardev_stdio_open, false);
	}
	pthread_mutex_destroy(&cd->lock);
	free(cd->path);
	free(cd->ring);
	free(cd);
}
