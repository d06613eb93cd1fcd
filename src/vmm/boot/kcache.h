/* On-disk cache of kernel images unpacked from bzImages (unpack.h), keyed by
 * the bzImage's content hash, so that repeated boots skip the decompression.
 * Entries are written atomically (temporary file + rename); an entry whose
 * header or content hash does not match is rebuilt. */
#ifndef VIREO_VMM_BOOT_KCACHE_H
#define VIREO_VMM_BOOT_KCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/boot/linux.h"

/* Bytes before the image in a cache file (header, then padding). */
#define KCACHE_HEADER_SIZE 4096

/* The default cache directory, $XDG_CACHE_HOME/vireo/kernels or
 * ~/.cache/vireo/kernels, written to buf; NULL when neither is known. */
const char *kcache_default_dir(char *buf, size_t size);

/* Open the cached image of bzImage bz in dir as a boot source (its fd is the
 * cache file, base past the header; its name is path, a buffer of the
 * caller's that must outlive it), building the entry when it is missing or
 * corrupt. *hit says whether a valid entry was there. The directory is
 * created (mode 0700) if needed. -1 with the error set. */
int kcache_open(const char *dir, const struct boot_source *bz, char *path, size_t path_size,
		struct boot_source *out, bool *hit);

#endif
