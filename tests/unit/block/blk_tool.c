/* blk-tool: drives the block layer for the storage suite (tests/storage/run):
 * deterministic random workloads mirrored into a raw reference file, and the
 * writer/verifier pair of the crash test (SIGKILL at random instants). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "common/error.h"
#include "common/util.h"
#include "blk_ops.h"

static int apply_ref(int fd, const struct op *o, uint8_t *buf)
{
	if (o->kind == OP_WRITE)
		ops_fill(buf, o);
	else
		memset(buf, 0, o->len);
	return pwrite(fd, buf, o->len, (off_t)o->off) == (ssize_t)o->len ? 0 : -1;
}

static struct blk *open_img(const char *path, bool ro)
{
	struct blk_open_opts oo = { .read_only = ro };
	struct blk *b = blk_open(path, &oo);

	if (!b)
		fprintf(stderr, "blk-tool: %s\n", err_message());
	return b;
}

static uint64_t cluster_of(struct blk *b)
{
	struct blk_info in;

	blk_get_info(b, &in);
	return in.cluster_size ? in.cluster_size : 4096;
}

/* workload IMG REF SEED COUNT: same ops to IMG (block layer) and REF (raw file). */
static int cmd_workload(char **argv)
{
	struct blk *b = open_img(argv[0], false);
	int fd = open(argv[1], O_RDWR);
	uint64_t seed = strtoull(argv[2], NULL, 0), count = strtoull(argv[3], NULL, 0);
	uint8_t *buf;

	if (!b || fd < 0)
		return 2;
	uint64_t size = blk_size(b), cl = cluster_of(b);
	buf = malloc(ops_buf_size(cl));
	if (!buf)
		return 2;
	for (uint64_t n = 0; n < count; n++) {
		struct op o = ops_gen(seed, n, size, cl);
		if (!o.len)
			continue;
		if (ops_apply(b, &o, buf) < 0) {
			fprintf(stderr, "blk-tool: op %llu: %s\n", (unsigned long long)n, err_message());
			return 1;
		}
		apply_ref(fd, &o, buf);
	}
	free(buf);
	close(fd);
	if (blk_close(b) < 0) {
		fprintf(stderr, "blk-tool: close: %s\n", err_message());
		return 1;
	}
	return 0;
}

/* crash-writer IMG SEED: ops with a flush after each; prints "F n" once op n is durable. */
static int cmd_crash_writer(char **argv)
{
	struct blk *b = open_img(argv[0], false);
	uint64_t seed = strtoull(argv[1], NULL, 0);
	uint8_t *buf;

	if (!b)
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	uint64_t size = blk_size(b), cl = cluster_of(b);
	const char *stop = getenv("BLK_TOOL_STOP_AFTER");   /* debugging: end cleanly after n ops */
	buf = malloc(ops_buf_size(cl));
	if (!buf)
		return 2;
	for (uint64_t n = 0; !stop || n < strtoull(stop, NULL, 0); n++) {
		struct op o = ops_gen(seed, n, size, cl);
		if (o.len && ops_apply(b, &o, buf) < 0) {
			fprintf(stderr, "blk-tool: op %llu: %s\n", (unsigned long long)n, err_message());
			return 1;
		}
		if (blk_flush(b) < 0) {
			fprintf(stderr, "blk-tool: flush: %s\n", err_message());
			return 1;
		}
		printf("F %llu\n", (unsigned long long)n);
	}
	blk_close(b);
	return 0;
}

/* crash-verify IMG MODEL SEED LAST: apply ops 0..LAST to MODEL; op LAST+1 may or
 * may not have landed, so take its range from IMG; then IMG must equal MODEL. */
static int cmd_crash_verify(char **argv)
{
	struct blk *b = open_img(argv[0], true);
	int fd = open(argv[1], O_RDWR);
	uint64_t seed = strtoull(argv[2], NULL, 0);
	long long last = strtoll(argv[3], NULL, 0);
	uint8_t *buf, *a = malloc(1 << 20), *m = malloc(1 << 20);

	if (!b || fd < 0 || !a || !m)
		return 2;
	uint64_t size = blk_size(b), cl = cluster_of(b);
	buf = malloc(ops_buf_size(cl));
	if (!buf)
		return 2;
	for (long long n = 0; n <= last; n++) {
		struct op o = ops_gen(seed, (uint64_t)n, size, cl);
		if (o.len)
			apply_ref(fd, &o, buf);
	}
	struct op o = ops_gen(seed, (uint64_t)(last + 1), size, cl);
	if (o.len) {
		if (blk_pread(b, buf, o.len, o.off) < 0) {
			fprintf(stderr, "blk-tool: read: %s\n", err_message());
			return 1;
		}
		if (pwrite(fd, buf, o.len, (off_t)o.off) != (ssize_t)o.len)
			return 2;
	}
	for (uint64_t off = 0; off < size; off += 1 << 20) {
		size_t n = (size_t)MIN(1ull << 20, size - off);
		if (blk_pread(b, a, n, off) < 0) {
			fprintf(stderr, "blk-tool: read at %llu: %s\n", (unsigned long long)off, err_message());
			return 1;
		}
		if (pread(fd, m, n, (off_t)off) != (ssize_t)n)
			return 2;
		if (memcmp(a, m, n)) {
			for (size_t i = 0; i < n; i++)
				if (a[i] != m[i]) {
					fprintf(stderr, "blk-tool: flushed data lost: byte %llu differs after op %lld\n",
						(unsigned long long)(off + i), last);
					break;
				}
			return 1;
		}
	}
	blk_close(b);
	close(fd);
	free(buf);
	free(a);
	free(m);
	return 0;
}

/* read IMG: read the whole image (bad-input corpus: must fail cleanly or succeed). */
static int cmd_read(char **argv)
{
	struct blk *b = open_img(argv[0], true);
	uint8_t *a = malloc(1 << 20);

	if (!b || !a) {
		free(a);
		return 1;
	}
	uint64_t size = MIN(blk_size(b), 256ull << 20);
	for (uint64_t off = 0; off < size; off += 1 << 20) {
		if (blk_pread(b, a, (size_t)MIN(1ull << 20, size - off), off) < 0) {
			fprintf(stderr, "blk-tool: %s\n", err_message());
			free(a);
			blk_close(b);
			return 1;
		}
	}
	free(a);
	blk_close(b);
	return 0;
}

/* ops SEED COUNT SIZE CLUSTER: print the operations of a run (debugging). */
static int cmd_ops(char **argv)
{
	uint64_t seed = strtoull(argv[0], NULL, 0), count = strtoull(argv[1], NULL, 0);
	uint64_t size = strtoull(argv[2], NULL, 0), cl = strtoull(argv[3], NULL, 0);

	for (uint64_t n = 0; n < count; n++) {
		struct op o = ops_gen(seed, n, size, cl);
		printf("%llu %s %llu +%llu flags %llu\n", (unsigned long long)n,
		       o.kind == OP_WRITE ? "write" : o.kind == OP_ZERO ? "zero" : "discard",
		       (unsigned long long)o.off, (unsigned long long)o.len, (unsigned long long)(o.seed & 1));
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "ops"))
		return cmd_ops(argv + 2);
	if (argc >= 6 && !strcmp(argv[1], "workload"))
		return cmd_workload(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "crash-writer"))
		return cmd_crash_writer(argv + 2);
	if (argc >= 6 && !strcmp(argv[1], "crash-verify"))
		return cmd_crash_verify(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "read"))
		return cmd_read(argv + 2);
	fprintf(stderr, "usage: blk-tool workload IMG REF SEED COUNT | crash-writer IMG SEED | crash-verify IMG MODEL SEED LAST | read IMG\n");
	return 2;
}
