/* Character backends for guest serial-like devices, in the shape of QEMU's
 * -serial/-chardev: "stdio", "file:PATH", "unix:PATH" (listening), "none".
 * Output comes from vCPU threads and never blocks; input arrives on the main
 * thread (event loop) and is delivered to one device callback with flow control.
 *
 * Threads: chardev_write() and chardev_accept_input() may be called from any
 * thread; chardev_open/close/set_input and the input callback run on the main
 * thread (the one running the evloop).
 *
 * Output buffering: a write first tries the fd without blocking; what does not
 * fit goes into a ring of CHARDEV_OUT_BUF bytes flushed by the main loop when
 * the fd becomes writable. When the ring is full the OLDEST bytes are dropped
 * (counted in chardev_dropped()), so a guest printing to a stalled reader never
 * blocks a vCPU. A unix backend with no client connected discards output. */
#ifndef VIREO_VMM_DEVICES_CHARDEV_H
#define VIREO_VMM_DEVICES_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/evloop.h"

#define CHARDEV_OUT_BUF (64 * 1024)

struct chardev;

/* Called on the main thread with bytes typed/sent to the guest. Returns how
 * many it took (0..len); the rest stay queued in the chardev and are offered
 * again after the device calls chardev_accept_input(cd, true). */
typedef size_t (*chardev_input_fn)(void *opaque, const uint8_t *buf, size_t len);

/* Open a backend. `loop` may be NULL only for output-only use ("file:", "none",
 * or tests); "unix:" needs a loop. Returns NULL with the error set naming the
 * spec on a bad spec or a failing open/bind. "stdio" puts a tty stdin into raw
 * mode (ISIG kept, so Ctrl-C still stops the VMM) and restores it at close and
 * at exit. */
struct chardev *chardev_open(const char *spec, struct evloop *loop);
/* Flush what it can (up to 100 ms), stop watching its fds, restore the tty. */
void chardev_close(struct chardev *cd);

/* Queue guest output; never blocks (see the buffering note above). */
void chardev_write(struct chardev *cd, const void *buf, size_t len);
/* Try to write the buffered output for up to timeout_ms (for shutdown). */
void chardev_flush(struct chardev *cd, int timeout_ms);
/* Bytes dropped because the output ring was full. */
uint64_t chardev_dropped(struct chardev *cd);

void chardev_set_input(struct chardev *cd, chardev_input_fn fn, void *opaque);
/* false: stop delivering input (the fd is left unread, so the peer sees
 * back-pressure); true: resume, re-offering queued bytes from the main loop. */
void chardev_accept_input(struct chardev *cd, bool accept);

/* The backend kind, e.g. "stdio", "unix", for messages and tests. */
const char *chardev_kind(const struct chardev *cd);
/* unix backend: true while a client is connected. */
bool chardev_connected(struct chardev *cd);

#endif
