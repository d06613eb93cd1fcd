/* A small AML (ACPI Machine Language) byte-code builder for the DSDT: names,
 * integers, strings, packages, methods, devices, scopes and resource templates.
 * Nested objects are opened with aml_*_begin() and closed with aml_end(), which
 * inserts the PkgLength once the body's size is known. */
#ifndef VIREO_VMM_ACPI_AML_H
#define VIREO_VMM_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16
/* A PkgLength holds at most 28 bits (ACPI 6.x, 20.2.4). */
#define AML_PKGLENGTH_MAX ((1u << 28) - 1)

enum aml_frame_kind {
	AML_FRAME_PKG,       /* Scope, Device, Method, Package: opcode PkgLength body */
	AML_FRAME_BUFFER,    /* Buffer: opcode PkgLength BufferSize bytes */
	AML_FRAME_RESOURCES, /* Buffer whose bytes are resource descriptors + EndTag */
};

struct aml {
	uint8_t *data;
	size_t len, cap;
	bool failed;          /* sticky: the first failure is kept in the error record */
	unsigned depth;
	struct {
		size_t start;     /* offset of the first body byte (where PkgLength goes) */
		enum aml_frame_kind kind;
	} stack[AML_MAX_DEPTH];
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* 0 if every call succeeded and every begin was closed; else -1 with the error set. */
int aml_check(struct aml *a);

/* Encode a PkgLength for a body of body_len bytes (the PkgLength counts itself).
 * Returns the number of bytes written to out (1-4), or 0 if body_len is too big. */
unsigned aml_pkglength_encode(uint8_t out[4], size_t body_len);

/* Raw bytes (for tests and for data this builder does not model). */
void aml_bytes(struct aml *a, const void *p, size_t n);
/* A NameString: "\\_SB.PCI0", "^FOO", "_HID"; segments of 1-4 of [A-Z0-9_],
 * padded with '_'. Invalid names mark the builder failed. */
void aml_name(struct aml *a, const char *name);
/* Integer with the shortest encoding: Zero, One, Ones, Byte/Word/DWord/QWord. */
void aml_integer(struct aml *a, uint64_t v);
/* String literal (ASCII 0x01-0x7F). */
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0A03") as a compressed DWord. */
void aml_eisaid(struct aml *a, const char *id);

/* Name(name, <object that the caller emits next>) */
void aml_name_decl(struct aml *a, const char *name);
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_string(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);
/* Arg0..Arg6 of the enclosing method. */
void aml_arg(struct aml *a, unsigned n);
/* Return(<object that the caller emits next>) */
void aml_return(struct aml *a);
/* Method(name, 0) { Return(v) } — the common shape of _STA and friends. */
void aml_method_return_integer(struct aml *a, const char *name, uint64_t v);

void aml_scope_begin(struct aml *a, const char *name);
void aml_device_begin(struct aml *a, const char *name);
void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized);
void aml_package_begin(struct aml *a, unsigned nelems);
void aml_buffer_begin(struct aml *a);
/* ResourceTemplate(): a Buffer; aml_end() appends the EndTag. */
void aml_resources_begin(struct aml *a);
void aml_end(struct aml *a);

/* Resource descriptors (ACPI 6.x, 6.4), for use inside aml_resources_begin(). */
enum aml_space { AML_SPACE_MEMORY = 0, AML_SPACE_IO = 1, AML_SPACE_BUS = 2 };
/* General flags for a bridge window: producer, min and max fixed, positive decode. */
#define AML_ADDR_WINDOW 0x0c
/* Type-specific flags. */
#define AML_IO_ENTIRE_RANGE 0x03
#define AML_MEM_RW 0x01
#define AML_MEM_CACHEABLE 0x02

void aml_word_space(struct aml *a, enum aml_space type, uint8_t gflags, uint8_t tflags,
		    uint16_t min, uint16_t max);
void aml_dword_space(struct aml *a, enum aml_space type, uint8_t gflags, uint8_t tflags,
		     uint32_t min, uint32_t max);
void aml_qword_space(struct aml *a, enum aml_space type, uint8_t gflags, uint8_t tflags,
		     uint64_t min, uint64_t max);
/* IO(Decode16, min, max, align, len) */
void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags(){irq}: edge, active high, exclusive; irq 0-15. */
void aml_irq_noflags(struct aml *a, unsigned irq);
/* Interrupt(ResourceConsumer, Level|Edge, ActiveHigh|ActiveLow, Shared|Exclusive){gsi}:
 * the extended descriptor, which names any GSI. */
#define AML_IRQ_EDGE 0x02
#define AML_IRQ_ACTIVE_LOW 0x04
#define AML_IRQ_SHARED 0x08
void aml_interrupt(struct aml *a, uint8_t flags, uint32_t gsi);
/* Memory32Fixed(ReadWrite|ReadOnly, base, len) */
void aml_memory32_fixed(struct aml *a, uint32_t base, uint32_t len, bool rw);

#endif
