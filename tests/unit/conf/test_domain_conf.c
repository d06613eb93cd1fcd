/* Unit tests of src/conf: domain XML parse/validate/format over the corpus in
 * data/good (round trip stable, accepted by libvirt's virt-xml-validate) and
 * data/bad (each refused with the error its first-line comment names), plus
 * units, uuid/mac/cpuset helpers, runtime fields and XML bombs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "corpus.h"
#include "conf/domain_conf.h"
#include "conf/xml_util.h"

#include <libxml/parser.h>

static const char *data_dir = "data";

static struct dom_def *parse_str(const char *xml, unsigned int flags)
{
	return dom_parse_xml(xml, strlen(xml), flags);
}

#define DOC(body) "<domain type='kvm'>\n  <name>t</name>\n  <memory>1024</memory>\n" \
	"  <os><type>hvm</type></os>\n" body "</domain>\n"

/* ---- corpus ---- */

static void test_good_document_round_trip_is_stable(void **state)
{
	const char *path = *state;
	autofree char *xml = corpus_load(path);
	autofree char *out1 = NULL, *out2 = NULL;
	struct dom_def *def, *again;

	def = parse_str(xml, DOM_PARSE_VALIDATE);
	if (!def)
		fail_msg("%s: %s", path, err_message());
	out1 = dom_format_xml(def, DOM_FORMAT_INACTIVE);
	assert_non_null(out1);
	again = parse_str(out1, DOM_PARSE_VALIDATE);
	if (!again)
		fail_msg("%s: formatted output does not parse: %s\n%s", path, err_message(), out1);
	out2 = dom_format_xml(again, DOM_FORMAT_INACTIVE);
	assert_non_null(out2);
	/* define -> dumpxml -> define -> dumpxml gives the same text, uuid and MACs included */
	assert_string_equal(out1, out2);
	assert_memory_equal(def->uuid, again->uuid, DOM_UUID_LEN);
	dom_def_free(def);
	dom_def_free(again);
}

static void test_good_document_dumpxml_passes_virt_xml_validate(void **state)
{
	const char *path = *state;
	autofree char *xml = corpus_load(path);
	autofree char *out = NULL, *why = NULL;
	struct dom_def *def;
	int rc;

	def = parse_str(xml, DOM_PARSE_VALIDATE);
	if (!def)
		fail_msg("%s: %s", path, err_message());
	out = dom_format_xml(def, DOM_FORMAT_INACTIVE);
	dom_def_free(def);
	assert_non_null(out);
	rc = corpus_virt_xml_validate(out, "domain", &why);
	if (rc < 0)
		skip(); /* libvirt-clients is in scripts/deps.sh; only a bare machine lacks it */
	if (rc > 0)
		fail_msg("%s: virt-xml-validate refused the dumpxml:\n%s\n%s", path, why, out);
}

/* Drop what libvirt's test driver adds that vireo does not model: implicit
 * controllers, the tap names it invents, and its i686 default arch when the
 * `raw` document named none. Returns a malloc'd document. */
static char *strip_libvirt_additions(const char *xml, const char *raw)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
	xmlNodePtr devices = NULL;
	xmlChar *mem = NULL;
	int size = 0;
	char *out;

	assert_non_null(doc);
	for (xmlNodePtr c = xmlDocGetRootElement(doc)->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, "devices"))
			devices = c;
		/* the test host's default guest arch is i686; vireo's (and the qemu
		 * driver's on this host) is x86_64 */
		if (raw && !strstr(raw, "arch=") && c->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)c->name, "os"))
			for (xmlNodePtr t = c->children; t; t = t->next)
				if (t->type == XML_ELEMENT_NODE && !strcmp((const char *)t->name, "type"))
					xmlSetProp(t, (const xmlChar *)"arch", (const xmlChar *)"x86_64");
	}
	for (xmlNodePtr c = devices ? devices->children : NULL, next; c; c = next) {
		next = c->next;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!strcmp((const char *)c->name, "controller")) {
			xmlUnlinkNode(c);
			xmlFreeNode(c);
			continue;
		}
		if (strcmp((const char *)c->name, "interface"))
			continue;
		for (xmlNodePtr t = c->children, tn; t; t = tn) {
			xmlChar *dev;

			tn = t->next;
			if (t->type != XML_ELEMENT_NODE || strcmp((const char *)t->name, "target"))
				continue;
			dev = xmlGetProp(t, (const xmlChar *)"dev");
			if (dev && !strncmp((const char *)dev, "testnet", 7)) {
				xmlUnlinkNode(t);
				xmlFreeNode(t);
			}
			xmlFree(dev);
		}
	}
	xmlDocDumpMemory(doc, &mem, &size);
	out = strdup((const char *)mem);
	xmlFree(mem);
	xmlFreeDoc(doc);
	return out;
}

/* libvirt's own parser (the test driver runs inside virsh, no daemon needed)
 * must take our inactive dumpxml (or, given `raw`, the document vireo read),
 * and what it prints back must mean the same to vireo as `def`. Only what each
 * side generates at random (a missing uuid, missing MACs) is carried over.
 * 1 when virsh is missing, 0 when it agrees; fails the test if not. */
static int check_libvirt_agrees(const char *label, const struct dom_def *def, const char *raw)
{
	autofree char *ours = dom_format_xml(def, DOM_FORMAT_INACTIVE);
	autofree char *theirs = NULL, *stripped = NULL, *again = NULL;
	char tmp[] = "/tmp/vireo-conf-XXXXXX", log[] = "/tmp/vireo-conf-log-XXXXXX";
	char node[] = "/tmp/vireo-conf-node-XXXXXX", cmd[512], uuid[DOM_UUID_STRLEN + 1];
	struct dom_def *back;
	int fd, logfd, nodefd, rc;
	FILE *f;

	if (system("command -v virsh >/dev/null 2>&1") != 0)
		return 1;
	assert_non_null(ours);
	fd = mkstemp(tmp);
	logfd = mkstemp(log);
	nodefd = mkstemp(node);
	assert_true(fd >= 0 && logfd >= 0 && nodefd >= 0);
	close(logfd);
	/* an empty test host: test:///default has a domain named "test" already */
	assert_int_equal(write(nodefd, "<node/>\n", 8), 8);
	close(nodefd);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(raw ? raw : ours, f) >= 0);
	fclose(f);
	dom_uuid_format(def->uuid, uuid);
	/* virsh goes on after a failed command: dump by uuid (or, for a raw
	 * document that may lack one, by name on the empty host) so that a
	 * refused define shows; names are [A-Za-z0-9._+-] (dom_validate) */
	snprintf(cmd, sizeof(cmd), "virsh -q -c test://%s 'define %s; dumpxml --inactive %s' >%s 2>&1",
		 node, tmp, raw ? def->name : uuid, log);
	rc = system(cmd);
	theirs = corpus_load(log);
	unlink(tmp);
	unlink(log);
	unlink(node);
	if (rc != 0)
		fail_msg("%s: libvirt refused the document (%d):\n%s\n%s", label, rc, theirs,
			 raw ? raw : ours);
	stripped = strip_libvirt_additions(theirs, raw);
	back = parse_str(stripped, DOM_PARSE_VALIDATE);
	if (!back)
		fail_msg("%s: vireo refuses libvirt's dumpxml: %s\n%s", label, err_message(), stripped);
	if (raw && !strstr(raw, "<uuid>"))
		memcpy(back->uuid, def->uuid, DOM_UUID_LEN);
	for (size_t i = 0; raw && i < back->nnets && i < def->nnets; i++) {
		char mac[18];

		dom_mac_format(def->nets[i].mac, mac);
		if (!strstr(raw, mac))
			memcpy(back->nets[i].mac, def->nets[i].mac, DOM_MAC_LEN);
	}
	again = dom_format_xml(back, DOM_FORMAT_INACTIVE);
	dom_def_free(back);
	assert_non_null(again);
	if (strcmp(ours, again))
		fail_msg("%s: libvirt's reading differs from ours:\n--- ours\n%s--- via libvirt\n%s",
			 label, ours, again);
	return 0;
}

static void test_good_document_libvirt_parser_agrees(void **state)
{
	const char *path = *state;
	autofree char *xml = corpus_load(path);
	struct dom_def *def = parse_str(xml, DOM_PARSE_VALIDATE);
	int rc;

	if (!def)
		fail_msg("%s: %s", path, err_message());
	rc = check_libvirt_agrees(path, def, NULL);
	dom_def_free(def);
	if (rc)
		skip(); /* virsh is in libvirt-clients, installed by scripts/deps.sh */
}

static void test_good_document_libvirt_reads_it_as_vireo_does(void **state)
{
	const char *path = *state;
	autofree char *xml = corpus_load(path);
	struct dom_def *def = parse_str(xml, DOM_PARSE_VALIDATE);
	int rc;

	if (!def)
		fail_msg("%s: %s", path, err_message());
	rc = check_libvirt_agrees(path, def, xml);
	dom_def_free(def);
	if (rc)
		skip();
}

static void test_bad_document_is_refused_naming_its_problem(void **state)
{
	const char *path = *state;
	autofree char *xml = corpus_load(path);
	char expect[512];
	struct dom_def *def;

	corpus_expected_error(path, xml, expect, sizeof(expect));
	err_clear();
	def = parse_str(xml, DOM_PARSE_VALIDATE);
	if (def) {
		dom_def_free(def);
		fail_msg("%s: accepted, expected error containing '%s'", path, expect);
	}
	assert_int_equal(err_code(), ERR_INVALID);
	if (!strstr(err_message(), expect))
		fail_msg("%s: error '%s' does not contain '%s'", path, err_message(), expect);
}

/* ---- units, uuid, mac, cpuset ---- */

static void test_scale_follows_libvirt_units(void **state)
{
	static const struct {
		const char *unit;
		uint64_t bytes_for_3;
	} cases[] = {
		{ "b", 3 }, { "bytes", 3 }, { "KB", 3000 }, { "k", 3072 }, { "KiB", 3072 },
		{ "MB", 3000000 }, { "M", 3 << 20 }, { "MiB", 3 << 20 }, { "GB", 3000000000ULL },
		{ "G", 3ULL << 30 }, { "GiB", 3ULL << 30 }, { "TB", 3000000000000ULL },
		{ "T", 3ULL << 40 }, { "TiB", 3ULL << 40 }, { NULL, 3072 }, { "", 3072 },
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(xmlu_scale("3", cases[i].unit, 1024, UINT64_MAX, &v), 0);
		if (v != cases[i].bytes_for_3)
			fail_msg("unit '%s': %llu", cases[i].unit ? cases[i].unit : "(none)",
				 (unsigned long long)v);
	}
	assert_int_equal(xmlu_scale("3", "KiBB", 1024, UINT64_MAX, &v), -1);
	assert_non_null(strstr(err_message(), "unknown unit 'KiBB'"));
	assert_int_equal(xmlu_scale("-3", "KiB", 1024, UINT64_MAX, &v), -1);
	assert_int_equal(xmlu_scale("20000000", "EiB", 1024, UINT64_MAX, &v), -1);
	assert_non_null(strstr(err_message(), "too large"));
}

static void test_memory_is_stored_in_kib_rounded_up(void **state)
{
	struct dom_def *def;

	(void)state;
	def = parse_str("<domain type='kvm'><name>m</name><memory unit='b'>1025</memory>"
			"<currentMemory unit='KB'>1</currentMemory><os><type>hvm</type></os></domain>", 0);
	assert_non_null(def);
	assert_int_equal(def->memory_kib, 2);
	assert_int_equal(def->current_memory_kib, 1);
	dom_def_free(def);
	def = parse_str(DOC(""), 0);
	assert_non_null(def);
	assert_int_equal(def->memory_kib, 1024);        /* no unit: KiB */
	assert_int_equal(def->current_memory_kib, 1024); /* defaults to memory */
	assert_int_equal(def->vcpus_max, 1);
	assert_int_equal(def->vcpus_current, 1);
	dom_def_free(def);
}

static void test_uuid_parse_and_format_round_trip(void **state)
{
	uint8_t u[DOM_UUID_LEN];
	char s[DOM_UUID_STRLEN + 1];

	(void)state;
	assert_int_equal(dom_uuid_parse("C7A5FDBD-cdaf-4f5c-9b5f-1e8a5b0c3a11", u), 0);
	assert_int_equal(u[0], 0xc7);
	assert_int_equal(u[15], 0x11);
	dom_uuid_format(u, s);
	assert_string_equal(s, "c7a5fdbd-cdaf-4f5c-9b5f-1e8a5b0c3a11");
	assert_int_equal(dom_uuid_parse("c7a5fdbdcdaf4f5c9b5f1e8a5b0c3a11", u), 0);
	dom_uuid_format(u, s);
	assert_string_equal(s, "c7a5fdbd-cdaf-4f5c-9b5f-1e8a5b0c3a11");
	assert_int_equal(dom_uuid_parse("c7a5fdbd-cdaf-4f5c-9b5f-1e8a5b0c3a1", u), -1);
	assert_int_equal(dom_uuid_parse("c7a5fdbd-cdaf-4f5c-9b5f-1e8a5b0c3a1g", u), -1);
	assert_int_equal(dom_uuid_parse("c7a5fdbd-cdaf-4f5c-9b5f+1e8a5b0c3a11", u), -1);
	assert_int_equal(dom_uuid_parse("", u), -1);
	assert_non_null(strstr(err_message(), "is not a UUID"));
}

static void test_missing_uuid_is_generated_as_random_v4(void **state)
{
	struct dom_def *a = parse_str(DOC(""), 0), *b = parse_str(DOC(""), 0);

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->uuid[6] >> 4, 4);
	assert_int_equal(a->uuid[8] & 0xc0, 0x80);
	assert_memory_not_equal(a->uuid, b->uuid, DOM_UUID_LEN);
	dom_def_free(a);
	dom_def_free(b);
}

static void test_mac_parse_format_and_generate(void **state)
{
	uint8_t m[DOM_MAC_LEN];
	char s[18];
	struct dom_def *def;

	(void)state;
	assert_int_equal(dom_mac_parse("52:54:00:AB:cd:0f", m), 0);
	dom_mac_format(m, s);
	assert_string_equal(s, "52:54:00:ab:cd:0f");
	assert_int_equal(dom_mac_parse("52:54:00:ab:cd", m), -1);
	assert_int_equal(dom_mac_parse("52-54-00-ab-cd-0f", m), -1);
	assert_int_equal(dom_mac_parse("52:54:00:ab:cd:0g", m), -1);
	assert_int_equal(dom_mac_generate(m), 0);
	assert_int_equal(m[0], 0x52);
	assert_int_equal(m[1], 0x54);
	assert_int_equal(m[2], 0x00);
	def = parse_str(DOC("<devices><interface type='network'><source network='default'/>"
			    "</interface><interface type='network'><source network='default'/>"
			    "</interface></devices>"), DOM_PARSE_VALIDATE);
	assert_non_null(def);
	assert_int_equal(def->nnets, 2);
	assert_memory_equal(def->nets[0].mac, "\x52\x54\x00", 3);
	assert_memory_not_equal(def->nets[0].mac, def->nets[1].mac, DOM_MAC_LEN);
	dom_def_free(def);
}

static void test_cpuset_parse_and_normalised_format(void **state)
{
	struct dom_bitmap map;
	autofree char *s = NULL;

	(void)state;
	assert_int_equal(dom_bitmap_parse("6,0-3,^2,4", 16, &map), 0);
	assert_true(dom_bitmap_test(&map, 0));
	assert_false(dom_bitmap_test(&map, 2));
	assert_true(dom_bitmap_test(&map, 6));
	assert_false(dom_bitmap_test(&map, 5));
	s = dom_bitmap_format(&map);
	assert_string_equal(s, "0-1,3-4,6");
	assert_int_equal(dom_bitmap_parse("0-16", 16, &map), -1);
	assert_int_equal(dom_bitmap_parse("3-1", 16, &map), -1);
	assert_int_equal(dom_bitmap_parse("1,,2", 16, &map), -1);
	assert_int_equal(dom_bitmap_parse("99999999999999999999", 16, &map), -1);
	assert_int_equal(dom_bitmap_parse("", 16, &map), -1);
}

/* ---- field values ---- */

static void test_full_document_fills_every_field(void **state)
{
	char path[512];
	autofree char *xml = NULL;
	struct dom_def *d;
	char uuid[DOM_UUID_STRLEN + 1];

	(void)state;
	snprintf(path, sizeof(path), "%s/good/full.xml", data_dir);
	xml = corpus_load(path);
	d = parse_str(xml, DOM_PARSE_VALIDATE);
	if (!d)
		fail_msg("%s", err_message());
	assert_int_equal(d->virt_type, DOM_VIRT_KVM);
	assert_string_equal(d->name, "web-01");
	dom_uuid_format(d->uuid, uuid);
	assert_string_equal(uuid, "c7a5fdbd-cdaf-4f5c-9b5f-1e8a5b0c3a11");
	assert_string_equal(d->description, "Serves www; owner: ops & web team");
	assert_int_equal(d->memory_kib, 2 * 1024 * 1024);
	assert_int_equal(d->current_memory_kib, 1536 * 1024);
	assert_int_equal(d->vcpus_max, 4);
	assert_int_equal(d->vcpus_current, 2);
	assert_true(d->has_numatune);
	assert_true(dom_bitmap_test(&d->numatune_nodeset, 0));
	assert_string_equal(d->os.machine, "q35");
	assert_string_equal(d->os.kernel, "/var/lib/vireo/boot/vmlinuz");
	assert_string_equal(d->os.cmdline, "console=ttyS0 root=/dev/vda1 quiet");
	assert_int_equal(d->os.nboot, 1);
	assert_true(d->features.acpi && d->features.apic && !d->features.hyperv);
	assert_int_equal(d->cpu.mode, DOM_CPU_HOST_PASSTHROUGH);
	assert_int_equal(d->cpu.cores, 2);
	assert_int_equal(d->clock.timers[DOM_TIMER_RTC].tickpolicy, DOM_TICK_CATCHUP);
	assert_int_equal(d->clock.timers[DOM_TIMER_HPET].present, DOM_TRISTATE_OFF);
	assert_false(d->clock.timers[DOM_TIMER_TSC].present_set);
	assert_int_equal(d->on_crash, DOM_ACTION_COREDUMP_DESTROY);
	assert_int_equal(d->ndisks, 2);
	assert_int_equal(d->disks[0].format, DOM_DISK_FORMAT_QCOW2);
	assert_int_equal(d->disks[0].cache, DOM_CACHE_NONE);
	assert_int_equal(d->disks[0].io, DOM_IO_NATIVE);
	assert_string_equal(d->disks[0].path, "/var/lib/vireo/images/web-01.qcow2");
	assert_string_equal(d->disks[0].serial, "WEB01-ROOT");
	assert_int_equal(d->disks[0].iotune.total_bytes_sec, 104857600);
	assert_int_equal(d->disks[0].iotune.total_iops_sec_max_length, 10);
	assert_true(d->disks[1].readonly);
	assert_int_equal(d->nnets, 1);
	assert_memory_equal(d->nets[0].mac, "\x52\x54\x00\x12\x34\x56", 6);
	assert_string_equal(d->nets[0].source, "default");
	assert_int_equal(d->nserials, 1);
	assert_int_equal(d->nconsoles, 1);
	assert_string_equal(d->channels[0].name, "org.qemu.guest_agent.0");
	assert_string_equal(d->channels[0].path, "/run/vireo/web-01/agent.sock");
	assert_true(d->balloon.present);
	assert_int_equal(d->balloon.stats_period, 10);
	assert_string_equal(d->rngs[0].backend, "/dev/urandom");
	dom_def_free(d);
}

static void test_format_escapes_markup_in_text_and_attributes(void **state)
{
	struct dom_def *def, *again;
	autofree char *out = NULL;

	(void)state;
	def = parse_str("<domain type='kvm'><name>esc</name><description>a &lt;b&gt; &amp; 'c' \"d\""
			"</description><memory>1024</memory><os><type>hvm</type><kernel>/k</kernel>"
			"<cmdline>x=\"1\" &amp;&amp; y='2'</cmdline></os><devices><disk type='file'>"
			"<source file=\"/img/it's&amp;&lt;.img\"/><target dev='vda'/></disk></devices>"
			"</domain>", DOM_PARSE_VALIDATE);
	assert_non_null(def);
	out = dom_format_xml(def, 0);
	assert_non_null(out);
	assert_non_null(strstr(out, "<description>a &lt;b&gt; &amp; &apos;c&apos; &quot;d&quot;</description>"));
	assert_non_null(strstr(out, "<source file='/img/it&apos;s&amp;&lt;.img'/>"));
	again = parse_str(out, DOM_PARSE_VALIDATE);
	assert_non_null(again);
	assert_string_equal(again->os.cmdline, "x=\"1\" && y='2'");
	assert_string_equal(again->disks[0].path, "/img/it's&<.img");
	dom_def_free(def);
	dom_def_free(again);
}

static void test_runtime_fields_kept_only_for_status_and_active_format(void **state)
{
	const char *xml = "<domain type='kvm' id='7'><name>r</name><memory>1024</memory>"
			  "<os><type>hvm</type></os><devices><interface type='bridge'>"
			  "<source bridge='br0'/><target dev='vnet3'/></interface>"
			  "<serial type='pty'><source path='/dev/pts/4'/><target port='0'/></serial>"
			  "</devices></domain>";
	struct dom_def *def;
	autofree char *active = NULL, *inactive = NULL;

	(void)state;
	def = parse_str(xml, 0);
	assert_non_null(def);
	assert_int_equal(def->id, -1); /* a define ignores the runtime id, like libvirt */
	assert_null(def->nets[0].target_dev);
	assert_null(def->serials[0].pty_path);
	dom_def_free(def);

	def = parse_str(xml, DOM_PARSE_STATUS);
	assert_non_null(def);
	assert_int_equal(def->id, 7);
	assert_string_equal(def->nets[0].target_dev, "vnet3");
	assert_string_equal(def->serials[0].pty_path, "/dev/pts/4");
	active = dom_format_xml(def, 0);
	inactive = dom_format_xml(def, DOM_FORMAT_INACTIVE);
	assert_non_null(strstr(active, "<domain type='kvm' id='7'>"));
	assert_non_null(strstr(active, "<target dev='vnet3'/>"));
	assert_non_null(strstr(active, "<source path='/dev/pts/4'/>"));
	assert_non_null(strstr(inactive, "<domain type='kvm'>"));
	assert_null(strstr(inactive, "vnet3"));
	assert_null(strstr(inactive, "/dev/pts/4"));
	dom_def_free(def);
}

static void test_copy_formats_identically_to_original(void **state)
{
	char path[512];
	autofree char *xml = NULL, *a = NULL, *b = NULL;
	struct dom_def *def, *copy;

	(void)state;
	snprintf(path, sizeof(path), "%s/good/full.xml", data_dir);
	xml = corpus_load(path);
	def = parse_str(xml, 0);
	assert_non_null(def);
	def->id = 12;
	copy = dom_def_copy(def);
	assert_non_null(copy);
	assert_ptr_not_equal(copy->disks, def->disks);
	a = dom_format_xml(def, 0);
	b = dom_format_xml(copy, 0);
	assert_string_equal(a, b);
	assert_int_equal(copy->id, 12);
	dom_def_free(def);
	dom_def_free(copy);
}

static void test_validate_checks_a_def_built_in_code(void **state)
{
	struct dom_def *def = parse_str(DOC(""), 0);

	(void)state;
	assert_non_null(def);
	assert_int_equal(dom_validate(def), 0);
	def->vcpus_current = def->vcpus_max + 1;
	assert_int_equal(dom_validate(def), -1);
	def->vcpus_current = 1;
	free(def->name);
	def->name = strdup(".hidden");
	assert_int_equal(dom_validate(def), -1);
	assert_non_null(strstr(err_message(), "'.hidden'"));
	dom_def_free(def);
}

static void test_parse_leaves_semantic_checks_to_validate_flag(void **state)
{
	const char *xml = DOC("  <vcpu current='3'>2</vcpu>\n");
	struct dom_def *def;

	(void)state;
	def = parse_str(xml, 0);
	assert_non_null(def); /* grammar is fine: the daemon may still inspect it */
	assert_int_equal(dom_validate(def), -1);
	assert_non_null(strstr(err_message(), "current vcpus 3"));
	dom_def_free(def);
	assert_null(parse_str(xml, DOM_PARSE_VALIDATE));
	assert_non_null(strstr(err_message(), "current vcpus 3"));
}

static void test_defaults_match_libvirt_dumpxml(void **state)
{
	struct dom_def *def = parse_str(DOC(""), DOM_PARSE_VALIDATE);
	autofree char *out = NULL;

	(void)state;
	assert_non_null(def);
	assert_int_equal(def->on_poweroff, DOM_ACTION_DESTROY);
	assert_int_equal(def->on_reboot, DOM_ACTION_RESTART);
	assert_int_equal(def->on_crash, DOM_ACTION_DESTROY);
	out = dom_format_xml(def, DOM_FORMAT_INACTIVE);
	assert_non_null(strstr(out, "  <memory unit='KiB'>1024</memory>\n"
				    "  <currentMemory unit='KiB'>1024</currentMemory>\n"
				    "  <vcpu placement='static'>1</vcpu>\n"
				    "  <os>\n    <type arch='x86_64'>hvm</type>\n    <boot dev='hd'/>\n  </os>\n"
				    "  <clock offset='utc'/>\n"
				    "  <on_poweroff>destroy</on_poweroff>\n"
				    "  <on_reboot>restart</on_reboot>\n"
				    "  <on_crash>destroy</on_crash>\n"
				    "  <devices>\n  </devices>\n</domain>\n"));
	dom_def_free(def);
}

static void test_format_of_corrupt_enum_in_code_built_def_does_not_overrun(void **state)
{
	struct dom_def *def = parse_str(DOC("<devices><disk type='file'><source file='/a'/>"
					    "<target dev='vda'/></disk></devices>"), 0);
	autofree char *out = NULL;

	(void)state;
	assert_non_null(def);
	def->disks[0].cache = (enum dom_disk_cache)77;
	def->virt_type = (enum dom_virt_type)-3;
	out = dom_format_xml(def, 0);
	assert_non_null(out);
	assert_non_null(strstr(out, "cache='invalid'"));
	assert_non_null(strstr(out, "<domain type='invalid'>"));
	assert_null(parse_str(out, 0)); /* and it does not sneak back in */
	dom_def_free(def);
}

static void test_parse_file_names_path_and_lookups_find_devices(void **state)
{
	char path[512];
	struct dom_def *def;
	static const uint8_t mac[DOM_MAC_LEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static const uint8_t other[DOM_MAC_LEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };

	(void)state;
	snprintf(path, sizeof(path), "%s/good/full.xml", data_dir);
	def = dom_parse_file(path, DOM_PARSE_VALIDATE);
	assert_non_null(def);
	assert_ptr_equal(dom_disk_by_target(def, "vdb"), &def->disks[1]);
	assert_null(dom_disk_by_target(def, "vdz"));
	assert_ptr_equal(dom_net_by_mac(def, mac), &def->nets[0]);
	assert_null(dom_net_by_mac(def, other));
	dom_def_free(def);
	snprintf(path, sizeof(path), "%s/bad/unknown-element.xml", data_dir);
	assert_null(dom_parse_file(path, 0));
	assert_non_null(strstr(err_message(), "unknown-element.xml: line 8"));
	assert_null(dom_parse_file("/nonexistent/vireo.xml", 0));
	assert_int_equal(err_code(), ERR_NOT_FOUND);
}

static void test_empty_text_elements_count_as_absent_like_libvirt(void **state)
{
	struct dom_def *def = parse_str(DOC("<title></title><description/>"), DOM_PARSE_VALIDATE);
	autofree char *out = NULL;

	(void)state;
	assert_non_null(def);
	assert_null(def->title);
	assert_null(def->description);
	out = dom_format_xml(def, 0);
	assert_null(strstr(out, "<title"));
	dom_def_free(def);
	assert_null(parse_str("<domain type='kvm'><name></name><memory>1</memory>"
			      "<os><type>hvm</type></os></domain>", 0));
	assert_non_null(strstr(err_message(), "missing <name>"));
}

static struct dom_def *load_full(void)
{
	char path[512];
	struct dom_def *def;

	snprintf(path, sizeof(path), "%s/good/full.xml", data_dir);
	def = dom_parse_file(path, DOM_PARSE_VALIDATE);
	if (!def)
		fail_msg("%s", err_message());
	return def;
}

static int attach(struct dom_def *def, const char *xml)
{
	return dom_device_attach_xml(def, xml, strlen(xml), 0);
}

static int detach(struct dom_def *def, const char *xml)
{
	return dom_device_detach_xml(def, xml, strlen(xml), 0);
}

static void test_attach_device_adds_in_order_or_leaves_def_unchanged(void **state)
{
	struct dom_def *def = load_full();
	autofree char *before = NULL, *after = NULL, *why = NULL;

	(void)state;
	assert_int_equal(attach(def, "<disk type='file'><driver name='qemu' type='qcow2'/>"
				"<source file='/img/extra.qcow2'/><target dev='vdc' bus='virtio'/></disk>"), 0);
	assert_int_equal(def->ndisks, 3);
	assert_string_equal(def->disks[2].target_dev, "vdc");
	assert_int_equal(attach(def, "<disk type='file'><source file='/img/a0.img'/><target dev='vdaa'/></disk>"), 0);
	assert_string_equal(def->disks[3].target_dev, "vdaa"); /* after vdz-and-below, like libvirt */
	assert_int_equal(attach(def, "<interface type='bridge'><source bridge='br1'/></interface>"), 0);
	assert_int_equal(def->nnets, 2);
	assert_memory_equal(def->nets[1].mac, "\x52\x54\x00", 3);

	before = dom_format_xml(def, 0);
	assert_int_equal(attach(def, "<disk type='file'><source file='/img/b.img'/><target dev='vdc'/></disk>"), -1);
	assert_non_null(strstr(err_message(), "disk target 'vdc' is used twice"));
	assert_int_equal(attach(def, "<memballoon model='virtio'/>"), -1);
	assert_int_equal(err_code(), ERR_EXISTS);
	assert_int_equal(attach(def, "<graphics type='vnc'/>"), -1);
	assert_non_null(strstr(err_message(), "<graphics> is not a device"));
	assert_int_equal(attach(def, "<disk type='file' snapshot='no'><target dev='vdq'/></disk>"), -1);
	assert_non_null(strstr(err_message(), "line 1: <disk>: unknown attribute 'snapshot'"));
	after = dom_format_xml(def, 0);
	assert_string_equal(before, after);
	if (corpus_virt_xml_validate(after, "domain", &why) > 0)
		fail_msg("after attach: %s\n%s", why, after);
	dom_def_free(def);
}

static void test_detach_device_finds_it_by_its_key(void **state)
{
	struct dom_def *def = load_full();

	(void)state;
	assert_int_equal(detach(def, "<disk type='file'><target dev='vdb'/></disk>"), 0);
	assert_int_equal(def->ndisks, 1);
	assert_string_equal(def->disks[0].target_dev, "vda");
	assert_int_equal(detach(def, "<disk type='file'><target dev='vdb'/></disk>"), -1);
	assert_int_equal(err_code(), ERR_NOT_FOUND);
	assert_int_equal(detach(def, "<interface type='network'><source network='default'/></interface>"), -1);
	assert_non_null(strstr(err_message(), "give its <mac address>"));
	assert_int_equal(detach(def, "<interface type='network'><mac address='52:54:00:12:34:57'/>"
				"<source network='default'/></interface>"), -1);
	assert_int_equal(err_code(), ERR_NOT_FOUND);
	assert_int_equal(detach(def, "<interface type='network'><mac address='52:54:00:12:34:56'/>"
				"<source network='default'/></interface>"), 0);
	assert_int_equal(def->nnets, 0);
	assert_int_equal(detach(def, "<channel type='unix'><target type='virtio' "
				"name='org.qemu.guest_agent.0'/></channel>"), 0);
	assert_int_equal(def->nchannels, 0);
	assert_int_equal(detach(def, "<rng model='virtio'><backend model='random'>/dev/urandom"
				"</backend></rng>"), 0);
	assert_int_equal(def->nrngs, 0);
	assert_int_equal(detach(def, "<serial type='pty'><target port='0'/></serial>"), -1);
	assert_int_equal(err_code(), ERR_UNSUPPORTED);
	assert_int_equal(dom_validate(def), 0);
	dom_def_free(def);
}

struct thread_job {
	const char *xml;
	const char *expect;
	int failures;
};

static void *parse_repeatedly(void *arg)
{
	struct thread_job *job = arg;

	for (int i = 0; i < 100; i++) {
		struct dom_def *def = parse_str(job->xml, DOM_PARSE_VALIDATE);
		char *out = def ? dom_format_xml(def, DOM_FORMAT_INACTIVE) : NULL;

		if (!out || strcmp(out, job->expect))
			job->failures++;
		free(out);
		dom_def_free(def);
	}
	return NULL;
}

static void test_threads_parse_in_parallel_with_identical_results(void **state)
{
	char path[512];
	autofree char *xml = NULL, *expect = NULL;
	struct dom_def *def;
	pthread_t threads[4];
	struct thread_job jobs[4];

	(void)state;
	snprintf(path, sizeof(path), "%s/good/full.xml", data_dir);
	xml = corpus_load(path);
	def = parse_str(xml, DOM_PARSE_VALIDATE);
	assert_non_null(def);
	expect = dom_format_xml(def, DOM_FORMAT_INACTIVE);
	dom_def_free(def);
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct thread_job){ xml, expect, 0 };
		assert_int_equal(pthread_create(&threads[i], NULL, parse_repeatedly, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(jobs[i].failures, 0);
	}
}

/* ---- hostile input ---- */

static void test_oversized_document_is_refused_before_parsing(void **state)
{
	size_t len = XMLU_MAX_INPUT + 1;
	char *xml = malloc(len);

	(void)state;
	assert_non_null(xml);
	memset(xml, ' ', len);
	memcpy(xml, "<domain type='kvm'>", 19);
	assert_null(dom_parse_xml(xml, len, 0));
	assert_non_null(strstr(err_message(), "too large"));
	free(xml);
}

static void test_entity_expansion_bomb_is_refused_quickly(void **state)
{
	/* "quadratic blowup" has no DOCTYPE keyword in a comment trick: it must
	 * still be refused because it declares an entity */
	const char *xml = "<?xml version='1.0'?>\n<!DOCTYPE d [<!ENTITY a "
			  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">]>\n"
			  "<domain type='kvm'><name>&a;&a;&a;&a;&a;&a;&a;&a;</name></domain>";
	uint64_t t0 = clock_ns();

	(void)state;
	assert_null(parse_str(xml, 0));
	assert_non_null(strstr(err_message(), "not allowed"));
	assert_true(clock_ns() - t0 < 100000000ULL);
}

static void test_external_entity_is_never_loaded(void **state)
{
	/* no DOCTYPE keyword: an XInclude-style or undeclared entity reference */
	const char *xml = "<domain type='kvm'><name>&passwd;</name><memory>1</memory>"
			  "<os><type>hvm</type></os></domain>";
	const char *xinc = "<domain type='kvm' xmlns:xi='http://www.w3.org/2001/XInclude'>"
			   "<name>x</name><memory>1</memory><os><type>hvm</type></os>"
			   "<xi:include href='file:///etc/passwd' parse='text'/></domain>";

	(void)state;
	assert_null(parse_str(xml, 0));
	assert_non_null(strstr(err_message(), "XML syntax error"));
	assert_null(parse_str(xinc, 0));
	assert_non_null(strstr(err_message(), "unknown element <xi:include>"));
}

static void test_only_utf8_is_accepted_so_declarations_cannot_hide(void **state)
{
	/* "<!DOCTYPE" in UTF-16 has NULs between the letters: a byte scan alone
	 * would miss it */
	static const char utf16[] = "<\0!\0D\0O\0C\0T\0Y\0P\0E\0 \0d\0>\0";
	const char *latin1 = "<domain type='kvm'><name>caf\xe9</name><memory>1</memory>"
			     "<os><type>hvm</type></os></domain>";
	const char *declared = "<?xml version='1.0' encoding='ISO-8859-1'?>\n"
			       "<domain type='kvm'><name>ok</name><memory>1</memory>"
			       "<os><type>hvm</type></os></domain>";
	struct dom_def *def;

	(void)state;
	assert_null(dom_parse_xml(utf16, sizeof(utf16) - 1, 0));
	assert_non_null(strstr(err_message(), "NUL byte"));
	assert_null(parse_str(latin1, 0));
	assert_non_null(strstr(err_message(), "XML syntax error"));
	def = parse_str(declared, 0); /* ASCII content: the declaration is ignored */
	assert_non_null(def);
	dom_def_free(def);
}

static void test_too_many_devices_are_refused(void **state)
{
	struct xmlu_buf b = { 0 };
	autofree char *xml = NULL;

	(void)state;
	xmlu_buf_printf(&b, "<domain type='kvm'><name>n</name><memory>1024</memory>"
			"<os><type>hvm</type></os><devices>");
	for (int i = 0; i <= DOM_MAX_DEVICES; i++)
		xmlu_buf_printf(&b, "<rng model='virtio'><backend model='random'>/dev/urandom"
				"</backend></rng>\n");
	xmlu_buf_printf(&b, "</devices></domain>");
	xml = xmlu_buf_finish(&b);
	assert_non_null(xml);
	assert_null(parse_str(xml, 0));
	assert_non_null(strstr(err_message(), "more than 256 devices"));
}

static void test_truncated_and_binary_input_is_refused(void **state)
{
	static const char junk[] = "<domain type='kvm'>\0\x01\xff<name>";

	(void)state;
	assert_null(dom_parse_xml(junk, sizeof(junk) - 1, 0));
	assert_int_equal(err_code(), ERR_INVALID);
	assert_null(dom_parse_xml("", 0, 0));
	assert_null(dom_parse_xml(NULL, 10, 0));
	for (size_t cut = 1; cut < 40; cut++) {
		const char *xml = DOC("");

		assert_null(dom_parse_xml(xml, cut, 0));
	}
}

/* Deterministic mutations of every good document: whatever the parser accepts
 * must format to a document that parses again and formats identically, and
 * nothing may crash (the suite runs under ASan+UBSan). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void mutate(char *buf, size_t *len, size_t cap)
{
	static const char interesting[] = "<>'\"&0179xX-/ ;:a\n";
	size_t at = *len ? next_rand() % *len : 0, span = 1 + next_rand() % 12;

	static const char *const words[] = {
		"on", "off", "yes", "no", "0", "1", "2", "3", "4", "7", "31", "4095", "8191", "0x1f",
		"virtio", "none", "pty", "unix", "file", "volume", "network", "bridge", "ethernet",
		"qcow2", "raw", "hd", "cdrom", "auto", "static", "strict", "interleave", "utc",
		"localtime", "catchup", "delay", "merge", "discard", "rtc", "pit", "hpet", "tsc",
		"kvmclock", "hypervclock", "host-model", "maximum", "host-passthrough", "custom",
		"passthrough", "destroy", "restart", "preserve", "rename-restart", "coredump-destroy",
		"vda", "vdb", "/dev/random", "52:54:00:00:00:01", "0-3", "0,^1", "KiB", "GB", "b",
		"serial", "bind", "connect", "io_uring", "unmap", "writeback", "qemu", "kvm", "",
	};

	if (next_rand() % 2 == 0) {
		/* replace a quoted attribute value or an element's text with a word
		 * users might write, to reach combinations byte flips rarely do */
		size_t start = at, end;
		char open;
		const char *w = words[next_rand() % ARRAY_SIZE(words)];
		size_t wl = strlen(w);

		while (start < *len && buf[start] != '\'' && buf[start] != '>')
			start++;
		if (start >= *len)
			return;
		open = buf[start] == '>' ? '<' : '\'';
		start++;
		for (end = start; end < *len && buf[end] != open; end++)
			;
		if (end >= *len || *len - (end - start) + wl > cap)
			return;
		memmove(buf + start + wl, buf + end, *len - end);
		memcpy(buf + start, w, wl);
		*len = *len - (end - start) + wl;
		return;
	}
	switch (next_rand() % 4) {
	case 0: /* replace a byte */
		if (*len)
			buf[at] = interesting[next_rand() % (sizeof(interesting) - 1)];
		break;
	case 1: /* delete a span */
		if (at + span > *len)
			span = *len - at;
		memmove(buf + at, buf + at + span, *len - at - span);
		*len -= span;
		break;
	case 2: /* duplicate a span */
		if (at + span > *len)
			span = *len - at;
		if (*len + span <= cap) {
			memmove(buf + at + span, buf + at, *len - at);
			*len += span;
		}
		break;
	default: /* set a digit run to a huge number */
		for (size_t i = at; i < *len && i < at + 40; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				buf[i] = '9';
				if (*len + 1 <= cap) {
					memmove(buf + i + 1, buf + i, *len - i);
					(*len)++;
				}
				break;
			}
		}
	}
}

static void test_mutated_documents_never_crash_and_accepted_ones_round_trip(void **state)
{
	static const char *const files[] = { "full.xml", "hyperv.xml", "numa.xml", "qemu-type.xml",
					     "hostdev.xml", "networks.xml" };
	unsigned int accepted = 0, total = 0;
	/* VIREO_CONF_MUTATIONS raises the count for a longer hunt */
	const char *env = getenv("VIREO_CONF_MUTATIONS");
	int rounds = env ? atoi(env) : 400;
	unsigned int schema_checks = env ? (unsigned int)rounds : 150;
	const char *seed = getenv("VIREO_CONF_SEED");

	if (seed && strtoull(seed, NULL, 0))
		rng_state = strtoull(seed, NULL, 0);

	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
		char path[512];
		autofree char *orig = NULL;
		size_t olen;

		snprintf(path, sizeof(path), "%s/good/%s", data_dir, files[f]);
		orig = corpus_load(path);
		olen = strlen(orig);
		for (int round = 0; round < rounds; round++) {
			size_t cap = olen + 256, len = olen;
			char *buf = malloc(cap);
			struct dom_def *def;

			assert_non_null(buf);
			memcpy(buf, orig, olen);
			for (int m = 0, n = 1 + (int)(next_rand() % 3); m < n; m++)
				mutate(buf, &len, cap);
			total++;
			def = dom_parse_xml(buf, len, DOM_PARSE_VALIDATE | DOM_PARSE_STATUS);
			if (def) {
				autofree char *a = dom_format_xml(def, 0), *b = NULL;
				struct dom_def *again;

				accepted++;
				assert_non_null(a);
				again = dom_parse_xml(a, strlen(a), DOM_PARSE_VALIDATE | DOM_PARSE_STATUS);
				if (!again)
					fail_msg("%s round %d: accepted input formats to a refused document: %s\n%s",
						 files[f], round, err_message(), a);
				b = dom_format_xml(again, 0);
				assert_string_equal(a, b);
				/* libvirt's schema and parser on a sample of accepted mutants */
				if (accepted <= schema_checks) {
					autofree char *why = NULL;
					char label[128];

					if (corpus_virt_xml_validate(a, "domain", &why) > 0)
						fail_msg("%s round %d: virt-xml-validate refused:\n%s\n%s",
							 files[f], round, why, a);
					snprintf(label, sizeof(label), "%s round %d", files[f], round);
					if (accepted <= schema_checks / 4) {
						char *raw = strndup(buf, len);

						assert_non_null(raw);
						check_libvirt_agrees(label, again, NULL);
						/* and libvirt reads the mutant itself the same way */
						check_libvirt_agrees(label, def, raw);
						free(raw);
					}
				}
				dom_def_free(again);
				dom_def_free(def);
			} else {
				assert_true(err_code() == ERR_INVALID);
				assert_true(strlen(err_message()) > 0);
			}
			free(buf);
		}
	}
	/* both outcomes must be exercised, or the mutations test nothing */
	print_message("mutations: %u of %u accepted\n", accepted, total);
	assert_true(accepted > 0 && accepted < total);
}

/* ---- corpus walking ---- */

int main(int argc, char **argv)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_scale_follows_libvirt_units),
		cmocka_unit_test(test_memory_is_stored_in_kib_rounded_up),
		cmocka_unit_test(test_uuid_parse_and_format_round_trip),
		cmocka_unit_test(test_missing_uuid_is_generated_as_random_v4),
		cmocka_unit_test(test_mac_parse_format_and_generate),
		cmocka_unit_test(test_cpuset_parse_and_normalised_format),
		cmocka_unit_test(test_full_document_fills_every_field),
		cmocka_unit_test(test_format_escapes_markup_in_text_and_attributes),
		cmocka_unit_test(test_runtime_fields_kept_only_for_status_and_active_format),
		cmocka_unit_test(test_copy_formats_identically_to_original),
		cmocka_unit_test(test_validate_checks_a_def_built_in_code),
		cmocka_unit_test(test_parse_leaves_semantic_checks_to_validate_flag),
		cmocka_unit_test(test_defaults_match_libvirt_dumpxml),
		cmocka_unit_test(test_empty_text_elements_count_as_absent_like_libvirt),
		cmocka_unit_test(test_parse_file_names_path_and_lookups_find_devices),
		cmocka_unit_test(test_attach_device_adds_in_order_or_leaves_def_unchanged),
		cmocka_unit_test(test_detach_device_finds_it_by_its_key),
		cmocka_unit_test(test_threads_parse_in_parallel_with_identical_results),
		cmocka_unit_test(test_format_of_corrupt_enum_in_code_built_def_does_not_overrun),
		cmocka_unit_test(test_oversized_document_is_refused_before_parsing),
		cmocka_unit_test(test_entity_expansion_bomb_is_refused_quickly),
		cmocka_unit_test(test_external_entity_is_never_loaded),
		cmocka_unit_test(test_only_utf8_is_accepted_so_declarations_cannot_hide),
		cmocka_unit_test(test_too_many_devices_are_refused),
		cmocka_unit_test(test_truncated_and_binary_input_is_refused),
		cmocka_unit_test(test_mutated_documents_never_crash_and_accepted_ones_round_trip),
	};
	static const char *const good_labels[] = {
		"round trip is stable", "virt-xml-validate accepts dumpxml",
		"libvirt's parser agrees with dumpxml", "libvirt reads the document as vireo does",
	};
	static const CMUnitTestFunction good_fns[] = {
		test_good_document_round_trip_is_stable,
		test_good_document_dumpxml_passes_virt_xml_validate,
		test_good_document_libvirt_parser_agrees,
		test_good_document_libvirt_reads_it_as_vireo_does,
	};
	static const char *const bad_labels[] = { "refused naming its problem" };
	static const CMUnitTestFunction bad_fns[] = { test_bad_document_is_refused_naming_its_problem };
	struct corpus c = { 0 };
	int ngood, nbad, rc;

	if (argc > 1)
		data_dir = argv[1];
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (corpus_add_case(&c, fixed[i].name, fixed[i].test_func, NULL) < 0)
			return 1;
	ngood = corpus_add_dir(&c, data_dir, "good", good_labels, good_fns, ARRAY_SIZE(good_fns));
	nbad = corpus_add_dir(&c, data_dir, "bad", bad_labels, bad_fns, ARRAY_SIZE(bad_fns));
	/* an empty or missing corpus must fail, not pass vacuously */
	if (ngood < 5 || nbad < 20) {
		fprintf(stderr, "corpus too small or missing in %s (good %d, bad %d)\n", data_dir, ngood, nbad);
		return 1;
	}
	rc = _cmocka_run_group_tests("conf-domain", c.tests, c.n, NULL, NULL);
	for (size_t i = ARRAY_SIZE(fixed); i < c.n; i++) {
		free((void *)c.tests[i].name);
		free(c.tests[i].initial_state);
	}
	free(c.tests);
	return rc;
}
