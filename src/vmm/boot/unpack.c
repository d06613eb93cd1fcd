/* Extracting a bzImage's compressed vmlinux on the host (see unpack.h). The
 * formats are the ones Debian's kernels use (LZ4 for cloud, XZ for the regular
 * flavour) plus gzip and zstd; each goes through its own library. */
#include "vmm/boot/unpack.h"
#include "common/error.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef HAVE_LZ4
#include <lz4.h>
#endif
#ifdef HAVE_LZMA
#include <lzma.h>
#endif
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#define PAYLOAD_OFFSET_FIELD 0x248
#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

const char *unpack_format(const uint8_t *p, uint64_t len)
{
	if (len < 6)
		return NULL;
#ifdef HAVE_LZ4
	if (le32(p) == LZ4_LEGACY_MAGIC)
		return "lz4";
#endif
#ifdef HAVE_LZMA
	if (!memcmp(p, "\xfd" "7zXZ\0", 6))
		return "xz";
#endif
#ifdef HAVE_ZSTD
	if (le32(p) == 0xfd2fb528u)
		return "zstd";
#endif
	if (p[0] == 0x1f && p[1] == 0x8b)
		return "gzip";
	return NULL;
}

int unpack_locate(const uint8_t *header, const struct linux_image_info *info, uint64_t file_size,
		  uint64_t *offset, uint64_t *len)
{
	uint32_t off = le32(header + PAYLOAD_OFFSET_FIELD), plen = le32(header + PAYLOAD_OFFSET_FIELD + 4);

	if (info->protocol < 0x0208)
		return err_set(ERR_INVALID, "boot protocol %u.%02u has no payload fields (2.08 or later)",
			       info->protocol >> 8, info->protocol & 0xff);
	/* The payload ends with the 4-byte decompressed size. */
	if (plen < 8 || (uint64_t)info->setup_size + off > file_size ||
	    plen > file_size - info->setup_size - off)
		return err_set(ERR_INVALID, "the bzImage's payload (%u bytes at %u) is not inside the file", plen, off);
	*offset = info->setup_size + (uint64_t)off;
	*len = plen;
	return 0;
}

#ifdef HAVE_LZ4
/* LZ4 legacy frames: magic, then blocks of [le32 size][data], each up to 8 MiB
 * decompressed; the magic may repeat between blocks (concatenated frames). */
static int unpack_lz4(const uint8_t *in, uint64_t len, uint8_t *out, uint64_t out_len)
{
	uint64_t pos = 4, done = 0;

	while (pos + 4 <= len) {
		uint32_t csize = le32(in + pos);
		int n;

		pos += 4;
		if (csize == LZ4_LEGACY_MAGIC)
			continue;
		if (csize == 0 || csize > len - pos || csize > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			return err_set(ERR_INVALID, "corrupt LZ4 payload: a block of %u bytes at %llu", csize,
				       (unsigned long long)pos);
		n = LZ4_decompress_safe((const char *)in + pos, (char *)out + done, (int)csize,
					(int)MIN(out_len - done, (uint64_t)LZ4_LEGACY_BLOCK));
		if (n < 0)
			return err_set(ERR_INVALID, "corrupt LZ4 payload: block at %llu does not decompress",
				       (unsigned long long)pos);
		done += (uint64_t)n;
		pos += csize;
	}
	if (done != out_len)
		return err_set(ERR_INVALID, "corrupt LZ4 payload: %llu bytes decompressed, %llu announced",
			       (unsigned long long)done, (unsigned long long)out_len);
	return 0;
}
#endif

#ifdef HAVE_LZMA
static int unpack_xz(const uint8_t *in, uint64_t len, uint8_t *out, uint64_t out_len)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret rc = lzma_stream_decoder(&s, 256u << 20, 0);

	if (rc != LZMA_OK)
		return err_set(ERR_NOMEM, "cannot start the XZ decoder (%d)", (int)rc);
	s.next_in = in;
	s.avail_in = len;
	s.next_out = out;
	s.avail_out = out_len;
	rc = lzma_code(&s, LZMA_FINISH);
	lzma_end(&s);
	if (rc != LZMA_STREAM_END || s.total_out != out_len)
		return err_set(ERR_INVALID, "corrupt XZ payload (liblzma status %d, %llu of %llu bytes)", (int)rc,
			       (unsigned long long)s.total_out, (unsigned long long)out_len);
	return 0;
}
#endif

#ifdef HAVE_ZSTD
static int unpack_zstd(const uint8_t *in, uint64_t len, uint8_t *out, uint64_t out_len)
{
	size_t n = ZSTD_decompress(out, out_len, in, len);

	if (ZSTD_isError(n) || n != out_len)
		return err_set(ERR_INVALID, "corrupt zstd payload (%s)",
			       ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size differs from the announced one");
	return 0;
}
#endif

static int unpack_gzip(const uint8_t *in, uint64_t len, uint8_t *out, uint64_t out_len)
{
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (len > UINT32_MAX || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return err_set(ERR_INVALID, "cannot start the gzip decoder");
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)out_len;
	rc = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (rc != Z_STREAM_END || z.total_out != out_len)
		return err_set(ERR_INVALID, "corrupt gzip payload (zlib status %d)", rc);
	return 0;
}

int unpack_payload(const uint8_t *payload, uint64_t len, uint8_t **out, uint64_t *out_len)
{
	const char *fmt = unpack_format(payload, len);
	uint64_t size;
	uint8_t *buf;
	int rc = -1;

	if (!fmt)
		return err_set(ERR_INVALID, "the bzImage's payload is compressed in a format vireo cannot unpack "
			       "(magic %02x %02x %02x %02x)", payload[0], payload[1], payload[2], payload[3]);
	size = le32(payload + len - 4);
	if (size < 64 || size > UNPACK_MAX_SIZE)
		return err_set(ERR_INVALID, "the bzImage's payload announces %llu bytes decompressed",
			       (unsigned long long)size);
	buf = malloc(size);
	if (!buf)
		return err_set(ERR_NOMEM, "out of memory for the %llu-byte kernel image", (unsigned long long)size);
	len -= 4;
#ifdef HAVE_LZ4
	if (!strcmp(fmt, "lz4"))
		rc = unpack_lz4(payload, len, buf, size);
#endif
#ifdef HAVE_LZMA
	if (!strcmp(fmt, "xz"))
		rc = unpack_xz(payload, len, buf, size);
#endif
#ifdef HAVE_ZSTD
	if (!strcmp(fmt, "zstd"))
		rc = unpack_zstd(payload, len, buf, size);
#endif
	if (!strcmp(fmt, "gzip"))
		rc = unpack_gzip(payload, len, buf, size);
	if (rc < 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = size;
	return 0;
}

int unpack_bzimage(const struct boot_source *bz, uint8_t **out, uint64_t *out_len)
{
	uint8_t header[LINUX_HEADER_BYTES];
	struct linux_image_info info;
	autofree uint8_t *payload = NULL;
	uint64_t off, len;

	if (linux_check_source(bz, header, &info) < 0 || unpack_locate(header, &info, bz->size, &off, &len) < 0)
		return -1;
	payload = malloc(len);
	if (!payload)
		return err_set(ERR_NOMEM, "out of memory");
	if (boot_source_read(bz, off, payload, len) < 0)
		return -1;
	return unpack_payload(payload, len, out, out_len);
}
