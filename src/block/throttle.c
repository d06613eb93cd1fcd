/* Leaky-bucket I/O throttling (see throttle.h). Each limit is a bucket that
 * fills with every request's units and leaks at the average rate; a request
 * waits while a bucket holds more than its allowance: avg/10 without bursts,
 * max * max_length with them (the burst level itself leaks at max). */
#include "block/throttle.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/util.h"

#define THROTTLE_VALUE_MAX 1000000000000000ull
#define NS 1000000000.0

struct bucket {
	double level, burst_level;
};

/* The buckets and limits: one per named group (shared by its members) or one
 * private to a disk. */
struct throttle_group {
	pthread_mutex_t lock;
	struct throttle_config cfg;
	struct bucket b[THROTTLE_KINDS];
	uint64_t last_ns;
	char *group;
	unsigned refs;
	struct throttle_group *next;
};

/* One disk's handle: which group it charges. The handle's lock is held while
 * the group is used, so moving the disk to another group (and dropping the
 * old one) never races with a request being charged. */
struct throttle {
	pthread_mutex_t lock;
	struct throttle_group *g;
};

static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER;
static struct throttle_group *groups;

static const char *const kind_names[THROTTLE_KINDS] = {
	"bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr",
};
/* libvirt <iotune> element names in the same order */
static const char *const libvirt_names[THROTTLE_KINDS] = {
	"total_bytes_sec", "read_bytes_sec", "write_bytes_sec",
	"total_iops_sec", "read_iops_sec", "write_iops_sec",
};
/* -drive / --disk spellings with _total */
static const char *const long_names[THROTTLE_KINDS] = {
	"bps_total", "bps_read", "bps_write", "iops_total", "iops_read", "iops_write",
};

const char *throttle_kind_name(enum throttle_kind k)
{
	return k < THROTTLE_KINDS ? kind_names[k] : "?";
}

unsigned throttle_config_fields(const struct throttle_config *cfg, struct throttle_field *out, unsigned max)
{
	static const char *const suffix[3] = { "", "_max", "_max_length" };
	unsigned n = 0;

	for (int f = 0; f < 3; f++) {
		for (int k = 0; k < THROTTLE_KINDS; k++, n++) {
			const struct throttle_limit *l = &cfg->l[k];
			if (n >= max)
				continue;
			snprintf(out[n].name, sizeof(out[n].name), "%s%s", kind_names[k], suffix[f]);
			out[n].value = f == 0 ? l->avg : f == 1 ? l->max : (l->max_length ? l->max_length : 1);
		}
	}
	if (n < max) {
		snprintf(out[n].name, sizeof(out[n].name), "iops_size");
		out[n].value = cfg->iops_size;
	}
	return n + 1;
}

bool throttle_config_enabled(const struct throttle_config *cfg)
{
	for (int i = 0; i < THROTTLE_KINDS; i++)
		if (cfg->l[i].avg)
			return true;
	return false;
}

void throttle_config_init(struct throttle_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (int i = 0; i < THROTTLE_KINDS; i++)
		cfg->l[i].max_length = 1;
}

int throttle_config_validate(const struct throttle_config *cfg)
{
	for (int base = 0; base < THROTTLE_KINDS; base += 3) {
		const struct throttle_limit *l = cfg->l + base;
		if (l[0].avg && (l[1].avg || l[2].avg))
			return err_set(ERR_INVALID, "%s and %s/%s cannot be used at the same time",
				       kind_names[base], kind_names[base + 1], kind_names[base + 2]);
		if (l[0].max && (l[1].max || l[2].max))
			return err_set(ERR_INVALID, "%s_max and %s_max/%s_max cannot be used at the same time",
				       kind_names[base], kind_names[base + 1], kind_names[base + 2]);
	}
	for (int i = 0; i < THROTTLE_KINDS; i++) {
		const struct throttle_limit *l = &cfg->l[i];
		if (l->avg > THROTTLE_VALUE_MAX || l->max > THROTTLE_VALUE_MAX)
			return err_set(ERR_INVALID, "%s values must be within [0, %llu]", kind_names[i],
				       THROTTLE_VALUE_MAX);
		if (l->max_length == 0)
			return err_set(ERR_INVALID, "%s_max_length cannot be 0", kind_names[i]);
		if (l->max_length > 1 && !l->max)
			return err_set(ERR_INVALID, "%s_max_length > 1 requires %s_max", kind_names[i],
				       kind_names[i]);
		if (l->max && !l->avg)
			return err_set(ERR_INVALID, "%s_max requires %s", kind_names[i], kind_names[i]);
		if (l->max && l->max < l->avg)
			return err_set(ERR_INVALID, "%s_max cannot be lower than %s", kind_names[i],
				       kind_names[i]);
		if (l->max_length > THROTTLE_VALUE_MAX)
			return err_set(ERR_INVALID, "%s_max_length is too large", kind_names[i]);
	}
	return 0;
}

static int match_kind(const char *key, size_t len)
{
	for (int i = 0; i < THROTTLE_KINDS; i++) {
		if ((strlen(kind_names[i]) == len && strncmp(key, kind_names[i], len) == 0) ||
		    (strlen(long_names[i]) == len && strncmp(key, long_names[i], len) == 0) ||
		    (strlen(libvirt_names[i]) == len && strncmp(key, libvirt_names[i], len) == 0))
			return i;
	}
	return -1;
}

int throttle_config_set(struct throttle_config *cfg, const char *key, const char *value)
{
	uint64_t v;
	size_t len = strlen(key);
	int field = 0, k;   /* 0 avg, 1 max, 2 max_length */

	if (parse_uint(value, 0, THROTTLE_VALUE_MAX, &v) < 0)
		return err_prefix("throttle limit '%s'", key);
	if (strcmp(key, "iops_size") == 0 || strcmp(key, "size_iops_sec") == 0) {
		cfg->iops_size = v;
		return 0;
	}
	if (len > 11 && strcmp(key + len - 11, "_max_length") == 0) {
		field = 2;
		len -= 11;
	} else if (len > 4 && strcmp(key + len - 4, "_max") == 0) {
		field = 1;
		len -= 4;
	}
	k = match_kind(key, len);
	if (k < 0)
		return err_set(ERR_INVALID, "throttle limit '%s' is unknown", key);
	if (field == 0)
		cfg->l[k].avg = v;
	else if (field == 1)
		cfg->l[k].max = v;
	else
		cfg->l[k].max_length = v;
	return 0;
}

static void normalise(struct throttle_config *cfg)
{
	for (int i = 0; i < THROTTLE_KINDS; i++)
		if (cfg->l[i].max_length == 0)
			cfg->l[i].max_length = 1;
}

/* A reference to the named group (found or created with c), or a new private
 * group when name is NULL or empty. */
static struct throttle_group *group_get(const char *name, const struct throttle_config *c)
{
	struct throttle_group *g;

	pthread_mutex_lock(&groups_lock);
	if (name && *name) {
		for (g = groups; g; g = g->next) {
			if (strcmp(g->group, name) == 0) {
				g->refs++;
				pthread_mutex_unlock(&groups_lock);
				return g;
			}
		}
	}
	g = calloc(1, sizeof(*g));
	if (!g || (name && *name && !(g->group = strdup(name)))) {
		free(g);
		pthread_mutex_unlock(&groups_lock);
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&g->lock, NULL);
	g->cfg = *c;
	g->refs = 1;
	if (g->group) {
		g->next = groups;
		groups = g;
	}
	pthread_mutex_unlock(&groups_lock);
	return g;
}

static void group_put(struct throttle_group *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&groups_lock);
	if (--g->refs) {
		pthread_mutex_unlock(&groups_lock);
		return;
	}
	for (struct throttle_group **p = &groups; *p; p = &(*p)->next) {
		if (*p == g) {
			*p = g->next;
			break;
		}
	}
	pthread_mutex_unlock(&groups_lock);
	pthread_mutex_destroy(&g->lock);
	free(g->group);
	free(g);
}

struct throttle *throttle_get(const char *group, const struct throttle_config *cfg)
{
	struct throttle_config c = cfg ? *cfg : (struct throttle_config){ 0 };
	struct throttle *t;

	normalise(&c);
	if (throttle_config_validate(&c) < 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	t->g = group_get(group, &c);
	if (!t->g) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void throttle_put(struct throttle *t)
{
	if (!t)
		return;
	group_put(t->g);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

const char *throttle_group_name(const struct throttle *t)
{
	return t->g->group ? t->g->group : "";
}

int throttle_set_group(struct throttle *t, const char *group, const struct throttle_config *cfg)
{
	struct throttle_config c = cfg ? *cfg : (struct throttle_config){ 0 };
	struct throttle_group *g, *old;

	normalise(&c);
	if (throttle_config_validate(&c) < 0)
		return -1;
	pthread_mutex_lock(&t->lock);
	old = t->g;
	if ((group && *group && old->group && !strcmp(old->group, group)) ||
	    (!(group && *group) && !old->group)) {
		pthread_mutex_unlock(&t->lock);
		return 0;   /* already there: keep the buckets */
	}
	g = group_get(group, &c);
	if (!g) {
		pthread_mutex_unlock(&t->lock);
		return -1;
	}
	t->g = g;
	pthread_mutex_unlock(&t->lock);
	group_put(old);
	return 0;
}

int throttle_set_config(struct throttle *t, const struct throttle_config *cfg)
{
	struct throttle_config c = *cfg;

	normalise(&c);
	if (throttle_config_validate(&c) < 0)
		return -1;
	pthread_mutex_lock(&t->lock);
	pthread_mutex_lock(&t->g->lock);
	t->g->cfg = c;
	memset(t->g->b, 0, sizeof(t->g->b));
	pthread_mutex_unlock(&t->g->lock);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void throttle_get_config(struct throttle *t, struct throttle_config *cfg)
{
	pthread_mutex_lock(&t->lock);
	pthread_mutex_lock(&t->g->lock);
	*cfg = t->g->cfg;
	pthread_mutex_unlock(&t->g->lock);
	pthread_mutex_unlock(&t->lock);
}

static void leak(struct throttle_group *t, uint64_t now)
{
	double delta = now > t->last_ns ? (double)(now - t->last_ns) : 0;

	if (t->last_ns == 0)
		delta = 0;
	t->last_ns = MAX(now, t->last_ns);
	for (int i = 0; i < THROTTLE_KINDS; i++) {
		const struct throttle_limit *l = &t->cfg.l[i];
		struct bucket *bk = &t->b[i];
		bk->level = MAX(bk->level - l->avg * delta / NS, 0.0);
		if (l->max_length > 1)
			bk->burst_level = MAX(bk->burst_level - l->max * delta / NS, 0.0);
	}
}

static uint64_t bucket_wait(const struct throttle_limit *l, const struct bucket *bk)
{
	double size, burst_size, extra;

	if (!l->avg)
		return 0;
	if (!l->max) {
		/* Without a burst limit still allow a tenth of a second's worth at once,
		 * or every other request would wait. */
		size = (double)l->avg / 10;
		burst_size = 0;
	} else {
		size = (double)l->max * (double)l->max_length;
		burst_size = (double)l->max / 10;
	}
	extra = bk->level - size;
	if (extra > 0)
		return (uint64_t)(extra * NS / (double)l->avg);
	if (l->max_length > 1) {
		extra = bk->burst_level - burst_size;
		if (extra > 0)
			return (uint64_t)(extra * NS / (double)l->max);
	}
	return 0;
}

uint64_t throttle_delay(struct throttle *t, bool is_write, uint64_t now_ns)
{
	int kinds[4] = { THROTTLE_BPS_TOTAL, is_write ? THROTTLE_BPS_WRITE : THROTTLE_BPS_READ,
			 THROTTLE_OPS_TOTAL, is_write ? THROTTLE_OPS_WRITE : THROTTLE_OPS_READ };
	uint64_t wait = 0;

	pthread_mutex_lock(&t->lock);
	struct throttle_group *g = t->g;
	pthread_mutex_lock(&g->lock);
	leak(g, now_ns);
	for (int i = 0; i < 4; i++)
		wait = MAX(wait, bucket_wait(&g->cfg.l[kinds[i]], &g->b[kinds[i]]));
	pthread_mutex_unlock(&g->lock);
	pthread_mutex_unlock(&t->lock);
	return wait;
}

void throttle_account(struct throttle *t, bool is_write, uint64_t bytes, uint64_t now_ns)
{
	double units = 1.0;

	pthread_mutex_lock(&t->lock);
	struct throttle_group *g = t->g;
	pthread_mutex_lock(&g->lock);
	leak(g, now_ns);
	if (g->cfg.iops_size && bytes > g->cfg.iops_size)
		units = (double)bytes / (double)g->cfg.iops_size;
	int kinds[4] = { THROTTLE_BPS_TOTAL, is_write ? THROTTLE_BPS_WRITE : THROTTLE_BPS_READ,
			 THROTTLE_OPS_TOTAL, is_write ? THROTTLE_OPS_WRITE : THROTTLE_OPS_READ };
	for (int i = 0; i < 4; i++) {
		double amount = i < 2 ? (double)bytes : units;
		const struct throttle_limit *l = &g->cfg.l[kinds[i]];
		struct bucket *bk = &g->b[kinds[i]];
		if (!l->avg)
			continue;
		bk->level += amount;
		if (l->max_length > 1)
			bk->burst_level += amount;
	}
	pthread_mutex_unlock(&g->lock);
	pthread_mutex_unlock(&t->lock);
}

void throttle_wait(struct throttle *t, bool is_write, uint64_t bytes)
{
	for (;;) {
		uint64_t d = throttle_delay(t, is_write, clock_ns());
		if (d == 0)
			break;
		struct timespec ts = { (time_t)(d / 1000000000u), (long)(d % 1000000000u) };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	throttle_account(t, is_write, bytes, clock_ns());
}
