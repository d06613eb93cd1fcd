/* Internal interface between the domain core (domain_conf.c) and the device
 * part (domain_devices.c): parse, validate, format and free of <devices>. */
#ifndef VIREO_CONF_DOMAIN_DEVICES_H
#define VIREO_CONF_DOMAIN_DEVICES_H

#include "conf/domain_conf.h"
#include "conf/xml_util.h"

int dom_devices_parse(xmlNode *devices, void *def, unsigned int flags);
int dom_devices_validate(const struct dom_def *def);
void dom_devices_format(struct xmlu_buf *b, const struct dom_def *def, unsigned int flags);
void dom_devices_free(struct dom_def *def);
/* What libvirt adds after parsing: the serial/console pairing. */
int dom_devices_post_parse(struct dom_def *def);
/* An absolute path without control characters (libvirt's schema refuses
 * newlines in paths, and they would corrupt our own status files and logs). */
bool dom_path_ok(const char *path);

#endif
