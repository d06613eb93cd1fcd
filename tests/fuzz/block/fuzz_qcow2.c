/* libFuzzer target: qcow2 open + read + map + check on arbitrary bytes.
 * Every input must end in success or a clean error (err_set), never a crash,
 * a sanitizer report or a write to the file (opened read-only). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static uint8_t buf[1 << 16];
	struct blk_extent e;
	struct blk_check_result r;
	int fd;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/vireo-fuzz-qcow2.%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	close(fd);
	struct blk *b = blk_open(path, &(struct blk_open_opts){ .format = "qcow2", .read_only = true,
								.no_backing = true });
	if (!b)
		return 0;
	uint64_t vsize = blk_size(b);
	/* A few reads spread over the image, and the first extents of the map. */
	for (int i = 0; i < 8 && vsize; i++) {
		uint64_t off = (vsize / 8) * (uint64_t)i;
		size_t n = (size_t)(vsize - off < sizeof(buf) ? vsize - off : sizeof(buf));
		(void)blk_pread(b, buf, n, off);
	}
	for (uint64_t off = 0, i = 0; off < vsize && i < 64; i++) {
		if (blk_map(b, off, vsize - off, &e) < 0)
			break;
		off += e.length;
	}
	(void)blk_check(b, 0, &r, NULL, NULL);
	blk_close(b);
	return 0;
}
