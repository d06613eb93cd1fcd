/* Extracting the kernel ELF image (vmlinux) that a bzImage carries compressed
 * (its setup header's payload_offset/payload_length), so that vireo-vmm can
 * boot it through the PVH entry without the in-guest decompressor. */
#ifndef VIREO_VMM_BOOT_UNPACK_H
#define VIREO_VMM_BOOT_UNPACK_H

#include <stdint.h>

#include "vmm/boot/linux.h"

/* Largest kernel image vireo unpacks (the cloud kernel is 51 MiB). */
#define UNPACK_MAX_SIZE (512u << 20)

/* The compression of a bzImage's payload, from its first bytes: "lz4",
 * "xz", "gzip", "zstd", or NULL (unknown, or not supported by this build). */
const char *unpack_format(const uint8_t *payload, uint64_t len);

/* Locate the payload of a bzImage whose LINUX_HEADER_BYTES header was
 * checked by linux_check_image: offset in the file and length. -1 with
 * ERR_INVALID when the header has no usable payload fields. */
int unpack_locate(const uint8_t *header, const struct linux_image_info *info, uint64_t file_size,
		  uint64_t *offset, uint64_t *len);

/* Decompress a payload; on success *out is a malloc'd buffer of *out_len
 * bytes, the size the payload's trailer announces. -1 with ERR_INVALID
 * naming the cause for a corrupt or unsupported payload. */
int unpack_payload(const uint8_t *payload, uint64_t len, uint8_t **out, uint64_t *out_len);

/* Read a bzImage's payload and decompress it (unpack_locate + unpack_payload). */
int unpack_bzimage(const struct boot_source *bz, uint8_t **out, uint64_t *out_len);

#endif
