/* The VMM's main-thread event loop: epoll over file descriptors with one
 * callback each. Only the main thread adds, removes and runs; other threads
 * wake it with evloop_wake(). */
#ifndef VIREO_VMM_EVLOOP_H
#define VIREO_VMM_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct evloop;
typedef void (*evloop_fn)(void *opaque, uint32_t events);

struct evloop *evloop_new(void);
void evloop_free(struct evloop *loop);
/* events: EPOLLIN/EPOLLOUT/...; -1 with error set on failure. */
int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn fn, void *opaque);
int evloop_modify(struct evloop *loop, int fd, uint32_t events);
void evloop_remove(struct evloop *loop, int fd);
/* Run one round: wait up to timeout_ms (-1 forever), dispatch ready callbacks.
 * Returns the number dispatched, or -1 on error. */
int evloop_run_once(struct evloop *loop, int timeout_ms);
/* Make a blocked evloop_run_once() return; safe from any thread. */
void evloop_wake(struct evloop *loop);

#endif
