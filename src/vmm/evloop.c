/* epoll-based main loop of vireo-vmm (see evloop.h). Callbacks are kept in a
 * small table keyed by fd; an eventfd lets other threads interrupt the wait. */
#include "vmm/evloop.h"
#include "common/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct evloop_entry {
	int fd;
	evloop_fn fn;
	void *opaque;
};

struct evloop {
	int epfd;
	int wakefd;
	struct evloop_entry *entries;
	unsigned nentries, cap;
};

static struct evloop_entry *evloop_find(struct evloop *loop, int fd)
{
	for (unsigned i = 0; i < loop->nentries; i++)
		if (loop->entries[i].fd == fd)
			return &loop->entries[i];
	return NULL;
}

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = -1 };

	if (!loop) {
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->wakefd < 0 ||
	    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0) {
		err_set_errno(ERR_INTERNAL, errno, "cannot create event loop");
		evloop_free(loop);
		return NULL;
	}
	return loop;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	free(loop->entries);
	free(loop);
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (evloop_find(loop, fd))
		return err_set(ERR_EXISTS, "fd %d is already watched", fd);
	if (loop->nentries == loop->cap) {
		unsigned cap = loop->cap ? loop->cap * 2 : 16;
		struct evloop_entry *e = realloc(loop->entries, cap * sizeof(*e));

		if (!e)
			return err_set(ERR_NOMEM, "out of memory");
		loop->entries = e;
		loop->cap = cap;
	}
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "cannot watch fd %d", fd);
	loop->entries[loop->nentries++] = (struct evloop_entry){ fd, fn, opaque };
	return 0;
}

int evloop_modify(struct evloop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "cannot modify watch of fd %d", fd);
	return 0;
}

void evloop_remove(struct evloop *loop, int fd)
{
	struct evloop_entry *e = evloop_find(loop, fd);

	if (!e)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	*e = loop->entries[--loop->nentries];
}

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(loop->epfd, evs, 32, timeout_ms);
	int dispatched = 0;

	if (n < 0)
		return errno == EINTR ? 0 : err_set_errno(ERR_INTERNAL, errno, "epoll_wait");
	for (int i = 0; i < n; i++) {
		struct evloop_entry *e;

		if (evs[i].data.fd == -1) {
			uint64_t v;

			if (read(loop->wakefd, &v, sizeof(v)) < 0)
				continue;
			continue;
		}
		/* Look up each time: an earlier callback may have removed this fd. */
		e = evloop_find(loop, evs[i].data.fd);
		if (!e)
			continue;
		e->fn(e->opaque, evs[i].events);
		dispatched++;
	}
	return dispatched;
}

void evloop_wake(struct evloop *loop)
{
	uint64_t one = 1;

	if (write(loop->wakefd, &one, sizeof(one)) < 0)
		return;
}
