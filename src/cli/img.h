/* vireo-img internals: the commands (one function each, qemu-img's argument
 * shapes) and the helpers they share. */
#ifndef VIREO_CLI_IMG_H
#define VIREO_CLI_IMG_H

#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"

/* Print "vireo-img: <message>" to stderr; returns 1 (the usual exit code). */
int img_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the current err_message() after an optional context. */
int img_fail_err(const char *ctx);
/* "1 GiB", "196 KiB", as qemu-img prints sizes. */
void img_size_str(uint64_t v, char *buf, size_t len);
struct blk *img_open(const char *path, const char *fmt, bool read_only, const char *cache, bool no_backing);
/* Parse qemu-img's -o "key=val,key=val" create options. */
int img_parse_create_opts(const char *text, struct blk_create_opts *o, char **backing, char **backing_fmt);
/* Progress line "    (xx.xx/100%)" on stdout. */
void img_progress(double pct);

int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_check(int argc, char **argv);
int img_map(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_snapshot(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_rebase(int argc, char **argv);
int img_bench(int argc, char **argv);

#endif
