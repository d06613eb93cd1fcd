/* vireo-img: the disk image tool, in qemu-img's shape (commands, options,
 * output and exit codes), over src/block. This file has the entry point, the
 * shared helpers and create/info/check/map/resize/snapshot; img-convert.c has
 * the commands that copy data. */
#include "cli/img.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/util.h"

int img_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("vireo-img: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int img_fail_err(const char *ctx)
{
	if (ctx)
		return img_fail("%s: %s", ctx, err_message());
	return img_fail("%s", err_message());
}

void img_size_str(uint64_t v, char *buf, size_t len)
{
	static const char *const suffix[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int e;

	/* Switch to the next unit once the number would reach 1000. */
	frexp((double)v / (1000.0 / 1024.0), &e);
	int i = (e - 1) / 10;
	if (i < 0)
		i = 0;
	if (i >= (int)ARRAY_SIZE(suffix))
		i = ARRAY_SIZE(suffix) - 1;
	snprintf(buf, len, "%0.3g %s", (double)v / (double)(1ull << (i * 10)), suffix[i]);
}

struct blk *img_open(const char *path, const char *fmt, bool read_only, const char *cache, bool no_backing)
{
	struct blk_open_opts o = { .format = fmt, .read_only = read_only, .no_backing = no_backing };

	if (cache && blk_cache_parse(cache, &o.cache) < 0)
		return NULL;
	return blk_open(path, &o);
}

void img_progress(double pct)
{
	printf("    (%3.2f/100%%)\r", pct);
	fflush(stdout);
}

static bool opt_bool(const char *key, const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
		*out = false;
		return true;
	}
	err_set(ERR_INVALID, "option '%s' expects on or off, not '%s'", key, v);
	return false;
}

int img_parse_create_opts(const char *text, struct blk_create_opts *o, char **backing, char **backing_fmt)
{
	char *copy = strdup(text), *save = NULL;

	if (!copy)
		return err_set(ERR_NOMEM, "out of memory");
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		uint64_t n;
		if (!v) {
			err_set(ERR_INVALID, "invalid option '%s' (expected key=value)", kv);
			goto fail;
		}
		*v++ = 0;
		if (!strcmp(kv, "cluster_size")) {
			if (parse_size(v, 1, &n) < 0 || n > UINT32_MAX)
				goto fail;
			o->cluster_size = (uint32_t)n;
		} else if (!strcmp(kv, "compat")) {
			if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
				o->compat_version = 2;
			else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
				o->compat_version = 3;
			else {
				err_set(ERR_INVALID, "invalid compatibility version '%s' (0.10 or 1.1)", v);
				goto fail;
			}
		} else if (!strcmp(kv, "lazy_refcounts")) {
			if (!opt_bool(kv, v, &o->lazy_refcounts))
				goto fail;
		} else if (!strcmp(kv, "preallocation")) {
			if (!strcmp(v, "off"))
				o->prealloc = BLK_PREALLOC_OFF;
			else if (!strcmp(v, "metadata"))
				o->prealloc = BLK_PREALLOC_METADATA;
			else if (!strcmp(v, "falloc"))
				o->prealloc = BLK_PREALLOC_FALLOC;
			else if (!strcmp(v, "full"))
				o->prealloc = BLK_PREALLOC_FULL;
			else {
				err_set(ERR_INVALID, "invalid preallocation mode '%s' (off, metadata, falloc, full)", v);
				goto fail;
			}
		} else if (!strcmp(kv, "refcount_bits")) {
			if (parse_uint(v, 1, 64, &n) < 0)
				goto fail;
			o->refcount_bits = (int)n;
		} else if (!strcmp(kv, "compression_type")) {
			if (!strcmp(v, "zstd"))
				o->zstd = true;
			else if (strcmp(v, "zlib")) {
				err_set(ERR_INVALID, "invalid compression type '%s' (zlib, zstd)", v);
				goto fail;
			}
		} else if (!strcmp(kv, "backing_file")) {
			free(*backing);
			*backing = strdup(v);
		} else if (!strcmp(kv, "backing_fmt")) {
			free(*backing_fmt);
			*backing_fmt = strdup(v);
		} else if (!strcmp(kv, "extended_l2")) {
			bool on;
			if (!opt_bool(kv, v, &on))
				goto fail;
			if (on) {
				err_set(ERR_UNSUPPORTED, "extended_l2=on is not supported");
				goto fail;
			}
		} else {
			err_set(ERR_INVALID, "invalid parameter '%s'", kv);
			goto fail;
		}
	}
	free(copy);
	return 0;
fail:
	free(copy);
	return -1;
}

/* ---- create ---- */

int img_create(int argc, char **argv)
{
	const char *fmt = "raw";
	char *backing = NULL, *backing_fmt = NULL;
	struct blk_create_opts o = { 0 };
	bool quiet = false, unsafe = false;
	uint64_t size = 0;
	bool have_size = false;
	int c, rc = 1;
	static const struct option lo[] = { { "object", required_argument, 0, 'O' }, { 0 } };

	while ((c = getopt_long(argc, argv, "hf:b:F:o:qu", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'b': free(backing); backing = strdup(optarg); break;
		case 'F': free(backing_fmt); backing_fmt = strdup(optarg); break;
		case 'o':
			if (img_parse_create_opts(optarg, &o, &backing, &backing_fmt) < 0) {
				img_fail_err(NULL);
				goto out;
			}
			break;
		case 'q': quiet = true; break;
		case 'u': unsafe = true; break;
		default:
			img_fail("usage: create [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]");
			goto out;
		}
	}
	if (optind >= argc) {
		img_fail("Expecting image file name");
		goto out;
	}
	const char *path = argv[optind];
	if (optind + 1 < argc) {
		const char *s = argv[optind + 1];
		if (parse_size(s, 1, &size) < 0) {
			img_fail("Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
			fprintf(stderr, "vireo-img: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.\n");
			goto out;
		}
		have_size = true;
	}
	if (backing && !backing_fmt) {
		img_fail("%s: Backing file specified without backing format (use -F)", path);
		goto out;
	}
	if (backing && !unsafe) {
		/* The backing file must exist and be readable, and gives the size. */
		char full[4096];
		const char *slash = strrchr(path, '/');
		if (backing[0] != '/' && slash)
			snprintf(full, sizeof(full), "%.*s%s", (int)(slash - path) + 1, path, backing);
		else
			snprintf(full, sizeof(full), "%s", backing);
		struct blk *bk = img_open(full, backing_fmt, true, NULL, false);
		if (!bk) {
			img_fail("%s: Could not open backing image: %s", path, err_message());
			goto out;
		}
		if (!have_size)
			size = blk_size(bk);
		have_size = true;
		blk_close(bk);
	}
	if (!have_size) {
		img_fail("%s: Image creation needs a size parameter", path);
		goto out;
	}
	o.backing_file = backing;
	o.backing_format = backing_fmt;
	if (!quiet) {
		if (!strcmp(fmt, "qcow2")) {
			printf("Formatting '%s', fmt=qcow2 cluster_size=%u extended_l2=off compression_type=%s size=%llu",
			       path, o.cluster_size ? o.cluster_size : 65536, o.zstd ? "zstd" : "zlib",
			       (unsigned long long)size);
			if (backing)
				printf(" backing_file=%s backing_fmt=%s", backing, backing_fmt);
			if (o.compat_version == 2)
				printf(" compat=0.10");
			if (o.prealloc)
				printf(" preallocation=%s", (const char *[]){ "off", "metadata", "falloc", "full" }[o.prealloc]);
			printf(" lazy_refcounts=%s refcount_bits=%d\n", o.lazy_refcounts ? "on" : "off",
			       o.refcount_bits ? o.refcount_bits : 16);
		} else {
			printf("Formatting '%s', fmt=%s size=%llu\n", path, fmt, (unsigned long long)size);
		}
		fflush(stdout);
	}
	if (blk_create(path, fmt, size, &o) < 0) {
		img_fail_err(path);
		goto out;
	}
	rc = 0;
out:
	free(backing);
	free(backing_fmt);
	return rc;
}

/* ---- info ---- */

static json_object *info_json(struct blk *b, struct blk_info *in)
{
	json_object *o = json_object_new_object();

	if (in->backing_format)
		json_object_object_add(o, "backing-filename-format", json_object_new_string(in->backing_format));
	json_object_object_add(o, "virtual-size", json_object_new_int64((int64_t)in->virtual_size));
	json_object_object_add(o, "filename", json_object_new_string(in->filename));
	if (in->cluster_size)
		json_object_object_add(o, "cluster-size", json_object_new_int64(in->cluster_size));
	json_object_object_add(o, "format", json_object_new_string(in->format));
	json_object_object_add(o, "actual-size", json_object_new_int64((int64_t)in->actual_size));
	if (!strcmp(in->format, "qcow2")) {
		json_object *fs = json_object_new_object(), *d = json_object_new_object();
		json_object_object_add(fs, "type", json_object_new_string("qcow2"));
		json_object_object_add(d, "compat", json_object_new_string(in->compat_version >= 3 ? "1.1" : "0.10"));
		json_object_object_add(d, "compression-type", json_object_new_string(in->compression_type));
		if (in->compat_version >= 3)
			json_object_object_add(d, "lazy-refcounts", json_object_new_boolean(in->lazy_refcounts));
		json_object_object_add(d, "refcount-bits", json_object_new_int(in->refcount_bits));
		if (in->compat_version >= 3) {
			json_object_object_add(d, "corrupt", json_object_new_boolean(in->corrupt));
			json_object_object_add(d, "extended-l2", json_object_new_boolean(false));
		}
		json_object_object_add(fs, "data", d);
		json_object_object_add(o, "format-specific", fs);
	}
	if (in->backing_file) {
		char full[4096];
		const char *slash = strrchr(in->filename, '/');
		if (in->backing_file[0] != '/' && slash)
			snprintf(full, sizeof(full), "%.*s%s", (int)(slash - in->filename) + 1, in->filename,
				 in->backing_file);
		else
			snprintf(full, sizeof(full), "%s", in->backing_file);
		json_object_object_add(o, "full-backing-filename", json_object_new_string(full));
		json_object_object_add(o, "backing-filename", json_object_new_string(in->backing_file));
	}
	if (in->nb_snapshots) {
		struct blk_snapshot *sn;
		unsigned n;
		if (blk_snapshot_list(b, &sn, &n) == 0) {
			json_object *a = json_object_new_array();
			for (unsigned i = 0; i < n; i++) {
				json_object *s = json_object_new_object();
				json_object_object_add(s, "id", json_object_new_string(sn[i].id));
				json_object_object_add(s, "name", json_object_new_string(sn[i].name));
				json_object_object_add(s, "vm-state-size", json_object_new_int64((int64_t)sn[i].vm_state_size));
				json_object_object_add(s, "date-sec", json_object_new_int64(sn[i].date_sec));
				json_object_object_add(s, "date-nsec", json_object_new_int64(sn[i].date_nsec));
				json_object_object_add(s, "vm-clock-sec", json_object_new_int64((int64_t)(sn[i].vm_clock_nsec / 1000000000)));
				json_object_object_add(s, "vm-clock-nsec", json_object_new_int64((int64_t)(sn[i].vm_clock_nsec % 1000000000)));
				json_object_array_add(a, s);
			}
			free(sn);
			json_object_object_add(o, "snapshots", a);
		}
	}
	json_object_object_add(o, "dirty-flag", json_object_new_boolean(in->dirty));
	return o;
}

static void print_snapshots(struct blk_snapshot *sn, unsigned n)
{
	printf("Snapshot list:\n");
	printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
	for (unsigned i = 0; i < n; i++) {
		char size[32], date[32], clk[32], ic[32] = "";
		time_t t = sn[i].date_sec;
		struct tm tm;
		uint64_t secs = sn[i].vm_clock_nsec / 1000000000ull;
		img_size_str(sn[i].vm_state_size, size, sizeof(size));
		localtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(clk, sizeof(clk), "%02llu:%02llu:%02llu.%03llu", (unsigned long long)(secs / 3600),
			 (unsigned long long)(secs / 60 % 60), (unsigned long long)(secs % 60),
			 (unsigned long long)(sn[i].vm_clock_nsec / 1000000 % 1000));
		if (sn[i].icount != UINT64_MAX)
			snprintf(ic, sizeof(ic), "%llu", (unsigned long long)sn[i].icount);
		printf("%-9s %-16s %8s %19s %12s %10s\n", sn[i].id, sn[i].name, size, date, clk, ic);
	}
}

static void info_human(struct blk *b, struct blk_info *in)
{
	char vs[32], ds[32];

	img_size_str(in->virtual_size, vs, sizeof(vs));
	img_size_str(in->actual_size, ds, sizeof(ds));
	printf("image: %s\nfile format: %s\nvirtual size: %s (%llu bytes)\ndisk size: %s\n", in->filename,
	       in->format, vs, (unsigned long long)in->virtual_size, ds);
	if (in->cluster_size)
		printf("cluster_size: %u\n", in->cluster_size);
	if (in->backing_file) {
		printf("backing file: %s\n", in->backing_file);
		if (in->backing_format)
			printf("backing file format: %s\n", in->backing_format);
	}
	if (in->dirty)
		printf("cleanly shut down: no\n");
	if (in->nb_snapshots) {
		struct blk_snapshot *sn;
		unsigned n;
		if (blk_snapshot_list(b, &sn, &n) == 0) {
			print_snapshots(sn, n);
			free(sn);
		}
	}
	if (!strcmp(in->format, "qcow2")) {
		printf("Format specific information:\n    compat: %s\n", in->compat_version >= 3 ? "1.1" : "0.10");
		printf("    compression type: %s\n", in->compression_type);
		if (in->compat_version >= 3)
			printf("    lazy refcounts: %s\n", in->lazy_refcounts ? "true" : "false");
		printf("    refcount bits: %d\n", in->refcount_bits);
		if (in->compat_version >= 3)
			printf("    corrupt: %s\n    extended l2: false\n", in->corrupt ? "true" : "false");
	}
}

int img_info(int argc, char **argv)
{
	const char *fmt = NULL, *output = "human";
	bool chain = false;
	int c;
	static const struct option lo[] = {
		{ "output", required_argument, 0, 'o' }, { "backing-chain", no_argument, 0, 'c' },
		{ "force-share", no_argument, 0, 'U' }, { 0 },
	};

	while ((c = getopt_long(argc, argv, "hf:U", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'o': output = optarg; break;
		case 'c': chain = true; break;
		case 'U': break;
		default: return img_fail("usage: info [-f fmt] [--output=human|json] [--backing-chain] filename");
		}
	}
	if (optind >= argc)
		return img_fail("Expecting one image file name");
	if (strcmp(output, "human") && strcmp(output, "json"))
		return img_fail("--output must be used with human or json as argument.");
	/* Open the chain only when it is to be shown; info works without backing files. */
	struct blk *top = img_open(argv[optind], fmt, true, NULL, !chain);
	if (!top)
		return img_fail_err(NULL);
	json_object *arr = chain ? json_object_new_array() : NULL;
	int rc = 0;
	for (struct blk *b = top; b; b = chain ? blk_backing(b) : NULL) {
		struct blk_info in;
		if (blk_get_info(b, &in) < 0) {
			rc = img_fail_err(NULL);
			break;
		}
		if (!strcmp(output, "json")) {
			json_object *o = info_json(b, &in);
			if (arr)
				json_object_array_add(arr, o);
			else {
				printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
				json_object_put(o);
			}
		} else {
			if (b != top)
				printf("\n");
			info_human(b, &in);
		}
	}
	if (arr) {
		if (!strcmp(output, "json"))
			printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	}
	blk_close(top);
	return rc;
}

/* ---- check ---- */

static void check_report(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

static int check_exit(const struct blk_check_result *r)
{
	if (r->check_errors)
		return 1;
	if (r->corruptions > r->corruptions_fixed)
		return 2;
	if (r->leaks > r->leaks_fixed)
		return 3;
	return 0;
}

static void check_print_human(const char *name, const struct blk_check_result *r, bool quiet)
{
	uint64_t corr = r->corruptions - r->corruptions_fixed, leaks = r->leaks - r->leaks_fixed;

	if (quiet)
		return;
	if (!corr && !leaks && !r->check_errors)
		printf("No errors were found on the image.\n");
	else {
		if (corr)
			printf("\n%llu errors were found on the image.\nData may be corrupted, or further writes to the image may corrupt it.\n",
			       (unsigned long long)corr);
		if (leaks)
			printf("\n%llu leaked clusters were found on the image.\nThis means waste of disk space, but no harm to data.\n",
			       (unsigned long long)leaks);
		if (r->check_errors)
			printf("\n%llu internal errors have occurred during the check.\n",
			       (unsigned long long)r->check_errors);
	}
	if (r->total_clusters && r->allocated_clusters)
		printf("%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed clusters\n",
		       (unsigned long long)r->allocated_clusters, (unsigned long long)r->total_clusters,
		       r->allocated_clusters * 100.0 / r->total_clusters,
		       r->fragmented_clusters * 100.0 / r->allocated_clusters,
		       r->compressed_clusters * 100.0 / r->allocated_clusters);
	printf("Image end offset: %llu\n", (unsigned long long)r->image_end_offset);
	(void)name;
}

int img_check(int argc, char **argv)
{
	const char *fmt = NULL, *output = "human", *repair = NULL;
	bool quiet = false;
	int c;
	unsigned fix = 0;
	static const struct option lo[] = {
		{ "output", required_argument, 0, 'o' }, { "force-share", no_argument, 0, 'U' }, { 0 },
	};

	while ((c = getopt_long(argc, argv, "hf:r:T:qU", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'o': output = optarg; break;
		case 'r': repair = optarg; break;
		case 'q': quiet = true; break;
		case 'T': case 'U': break;
		default: return img_fail("usage: check [-f fmt] [--output=human|json] [-r leaks|all] filename");
		}
	}
	if (optind >= argc)
		return img_fail("Expecting one image file name");
	if (repair) {
		if (!strcmp(repair, "leaks"))
			fix = BLK_CHECK_FIX_LEAKS;
		else if (!strcmp(repair, "all"))
			fix = BLK_CHECK_FIX_LEAKS | BLK_CHECK_FIX_ERRORS;
		else
			return img_fail("Unknown option value for -r (expecting 'leaks' or 'all'): %s", repair);
	}
	if (strcmp(output, "human") && strcmp(output, "json"))
		return img_fail("--output must be used with human or json as argument.");
	const char *path = argv[optind];
	struct blk_open_opts oo = { .format = fmt, .read_only = !fix, .no_backing = true, .for_repair = !!fix };
	struct blk *b = blk_open(path, &oo);
	if (!b) {
		img_fail("Could not open '%s': %s", path, err_message());
		return 1;
	}
	if (!strcmp(blk_format(b), "raw")) {
		blk_close(b);
		img_fail("This image format does not support checks");
		return 63;
	}
	struct blk_check_result r;
	if (blk_check(b, fix, &r, quiet || !strcmp(output, "json") ? NULL : check_report, NULL) < 0) {
		img_fail("Check failed: %s", err_message());
		blk_close(b);
		return 1;
	}
	if (fix && (r.leaks_fixed || r.corruptions_fixed)) {
		struct blk_check_result r2;
		if (!quiet && strcmp(output, "json"))
			printf("The following inconsistencies were found and repaired:\n\n    %llu leaked clusters\n    %llu corruptions\n\nDouble checking the fixed image now...\n",
			       (unsigned long long)r.leaks_fixed, (unsigned long long)r.corruptions_fixed);
		if (blk_check(b, 0, &r2, NULL, NULL) < 0) {
			img_fail("Check failed: %s", err_message());
			blk_close(b);
			return 1;
		}
		r2.leaks_fixed = r.leaks_fixed;
		r2.corruptions_fixed = r.corruptions_fixed;
		r2.leaks += r.leaks_fixed;
		r2.corruptions += r.corruptions_fixed;
		r = r2;
	}
	if (!strcmp(output, "json")) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "image-end-offset", json_object_new_int64((int64_t)r.image_end_offset));
		json_object_object_add(o, "total-clusters", json_object_new_int64((int64_t)r.total_clusters));
		json_object_object_add(o, "check-errors", json_object_new_int64((int64_t)r.check_errors));
		if (r.leaks)
			json_object_object_add(o, "leaks", json_object_new_int64((int64_t)r.leaks));
		if (r.corruptions)
			json_object_object_add(o, "corruptions", json_object_new_int64((int64_t)r.corruptions));
		if (r.leaks_fixed)
			json_object_object_add(o, "leaks-fixed", json_object_new_int64((int64_t)r.leaks_fixed));
		if (r.corruptions_fixed)
			json_object_object_add(o, "corruptions-fixed", json_object_new_int64((int64_t)r.corruptions_fixed));
		if (r.allocated_clusters)
			json_object_object_add(o, "allocated-clusters", json_object_new_int64((int64_t)r.allocated_clusters));
		if (r.fragmented_clusters)
			json_object_object_add(o, "fragmented-clusters", json_object_new_int64((int64_t)r.fragmented_clusters));
		if (r.compressed_clusters)
			json_object_object_add(o, "compressed-clusters", json_object_new_int64((int64_t)r.compressed_clusters));
		json_object_object_add(o, "filename", json_object_new_string(path));
		json_object_object_add(o, "format", json_object_new_string(blk_format(b)));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		check_print_human(path, &r, quiet);
	}
	if (blk_close(b) < 0)
		return img_fail_err(path);
	return check_exit(&r);
}

/* ---- map ---- */

struct map_run {
	bool valid;
	uint64_t start, length, offset;
	int depth;
	bool present, zero, data, has_offset;
	const char *file;
};

static void map_print(const struct map_run *m, bool json, bool *first)
{
	if (json) {
		printf("%s{ \"start\": %llu, \"length\": %llu, \"depth\": %d, \"present\": %s, \"zero\": %s, \"data\": %s",
		       *first ? "[" : ",\n", (unsigned long long)m->start, (unsigned long long)m->length, m->depth,
		       m->present ? "true" : "false", m->zero ? "true" : "false", m->data ? "true" : "false");
		if (m->has_offset)
			printf(", \"offset\": %llu", (unsigned long long)m->offset);
		printf("}");
	} else if (m->data && m->has_offset) {
		if (*first)
			printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
		printf("%#-16llx%#-16llx%#-16llx%s\n", (unsigned long long)m->start, (unsigned long long)m->length,
		       (unsigned long long)m->offset, m->file);
	} else {
		return;
	}
	*first = false;
}

int img_map(int argc, char **argv)
{
	const char *fmt = NULL, *output = "human";
	int c;
	static const struct option lo[] = {
		{ "output", required_argument, 0, 'o' }, { "force-share", no_argument, 0, 'U' }, { 0 },
	};

	while ((c = getopt_long(argc, argv, "hf:U", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'o': output = optarg; break;
		case 'U': break;
		default: return img_fail("usage: map [-f fmt] [--output=human|json] filename");
		}
	}
	if (optind >= argc)
		return img_fail("Expecting one image file name");
	bool json = !strcmp(output, "json");
	if (!json && strcmp(output, "human"))
		return img_fail("--output must be used with human or json as argument.");
	struct blk *b = img_open(argv[optind], fmt, true, NULL, false);
	if (!b)
		return img_fail_err(NULL);
	uint64_t size = blk_size(b), off = 0;
	struct map_run cur = { 0 };
	bool first = true;
	if (!json)
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File"), first = false;
	while (off < size) {
		struct blk_extent e;
		if (blk_map(b, off, MIN(size - off, 1ull << 30), &e) < 0) {
			blk_close(b);
			return img_fail_err(NULL);
		}
		struct map_run m = {
			.valid = true, .start = off, .length = e.length, .depth = e.depth,
			.present = !!(e.flags & BLK_EXT_ALLOCATED),
			.zero = !!(e.flags & BLK_EXT_ZERO) || !(e.flags & (BLK_EXT_ALLOCATED | BLK_EXT_DATA)),
			.data = !!(e.flags & BLK_EXT_DATA), .has_offset = !!(e.flags & BLK_EXT_OFFSET),
			.offset = e.host_offset, .file = blk_filename(e.layer),
		};
		if (cur.valid && cur.depth == m.depth && cur.present == m.present && cur.zero == m.zero &&
		    cur.data == m.data && cur.has_offset == m.has_offset && cur.file == m.file &&
		    (!m.has_offset || cur.offset + cur.length == m.offset)) {
			cur.length += m.length;
		} else {
			if (cur.valid)
				map_print(&cur, json, &first);
			cur = m;
		}
		off += e.length;
	}
	if (cur.valid)
		map_print(&cur, json, &first);
	if (json)
		printf(first ? "[]\n" : "]\n");
	blk_close(b);
	return 0;
}

/* ---- resize ---- */

int img_resize(int argc, char **argv)
{
	const char *fmt = NULL;
	bool shrink = false, quiet = false;
	int c;
	static const struct option lo[] = {
		{ "shrink", no_argument, 0, 's' }, { "preallocation", required_argument, 0, 'P' }, { 0 },
	};

	/* A size like "-1G" must not be taken as an option: stop at the file name. */
	while ((c = getopt_long(argc, argv, "+hf:q", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 's': shrink = true; break;
		case 'q': quiet = true; break;
		case 'P':
			if (strcmp(optarg, "off"))
				return img_fail("preallocation mode '%s' is not supported by resize", optarg);
			break;
		default: return img_fail("usage: resize [--shrink] [-f fmt] filename [+|-]size");
		}
	}
	if (optind + 2 != argc)
		return img_fail("Expecting image file name and size");
	const char *path = argv[optind], *s = argv[optind + 1];
	int sign = 0;
	uint64_t n, size;
	if (*s == '+' || *s == '-')
		sign = *s++ == '+' ? 1 : -1;
	if (parse_size(s, 1, &n) < 0)
		return img_fail("Invalid image size specified: '%s'", argv[optind + 1]);
	struct blk *b = img_open(path, fmt, false, NULL, true);
	if (!b)
		return img_fail_err(NULL);
	size = blk_size(b);
	if (sign > 0)
		size += n;
	else if (sign < 0) {
		if (n > size) {
			blk_close(b);
			return img_fail("New image size must be positive");
		}
		size -= n;
	} else
		size = n;
	if (size < blk_size(b) && !shrink) {
		blk_close(b);
		return img_fail("Use the --shrink option to perform a shrink operation.");
	}
	if (blk_truncate(b, size, shrink) < 0) {
		int rc = img_fail_err(NULL);
		blk_close(b);
		return rc;
	}
	if (blk_close(b) < 0)
		return img_fail_err(path);
	if (!quiet)
		printf("Image resized.\n");
	return 0;
}

/* ---- snapshot ---- */

int img_snapshot(int argc, char **argv)
{
	const char *fmt = NULL;
	bool list = false;
	int c;

	while ((c = getopt(argc, argv, "hf:la:c:d:qU")) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'l': list = true; break;
		case 'q': case 'U': break;
		case 'a': case 'c': case 'd':
			return img_fail("snapshot -%c: creating, applying and deleting internal snapshots is not supported", c);
		default: return img_fail("usage: snapshot -l [-f fmt] filename");
		}
	}
	if (!list || optind >= argc)
		return img_fail("usage: snapshot -l [-f fmt] filename");
	struct blk *b = img_open(argv[optind], fmt, true, NULL, true);
	if (!b)
		return img_fail_err(NULL);
	struct blk_snapshot *sn;
	unsigned n;
	if (blk_snapshot_list(b, &sn, &n) < 0) {
		int rc = img_fail_err(NULL);
		blk_close(b);
		return rc;
	}
	if (n)
		print_snapshots(sn, n);
	free(sn);
	blk_close(b);
	return 0;
}

static const struct { const char *name; int (*fn)(int, char **); } commands[] = {
	{ "create", img_create }, { "info", img_info }, { "check", img_check }, { "map", img_map },
	{ "convert", img_convert }, { "resize", img_resize }, { "commit", img_commit },
	{ "rebase", img_rebase }, { "compare", img_compare }, { "snapshot", img_snapshot },
	{ "bench", img_bench },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vireo-img COMMAND [options]\n"
		"commands (as qemu-img's):\n"
		"  create [-f fmt] [-b backing_file -F backing_fmt] [-o options] filename [size]\n"
		"  info [-f fmt] [--output=human|json] [--backing-chain] filename\n"
		"  check [-f fmt] [--output=human|json] [-r leaks|all] filename\n"
		"  map [-f fmt] [--output=human|json] filename\n"
		"  convert [-c] [-p] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt] [-o options] [-S sparse_size] filename output_filename\n"
		"  resize [--shrink] [-f fmt] filename [+|-]size\n"
		"  commit [-f fmt] [-t cache] [-d] [-p] filename\n"
		"  rebase [-f fmt] [-t cache] [-p] [-u] -b backing_file [-F backing_fmt] filename\n"
		"  compare [-f fmt] [-F fmt] [-p] [-q] [-s] filename1 filename2\n"
		"  snapshot -l [-f fmt] filename\n"
		"  bench [-c count] [-d depth] [-f fmt] [-n] [-o offset] [-s buffer_size] [-S step_size] [-t cache] [-w] [--pattern=N] filename\n"
		"See vireo-img(1).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("vireo-img version 0.1.0\n");
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	img_fail("Command not found: %s", argv[1]);
	return 1;
}
