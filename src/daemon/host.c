/* Host facts for /v1/host (CPUs, memory, NUMA cells, KSM, KVM) and the /proc
 * readings the supervisor needs: a process's start time (to tell a re-adopted
 * VMM from a stranger that reused its pid) and its CPU time. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/util.h"
#include "daemon/daemon.h"

/* Fields after the command name in /proc/PID/stat; NULL if gone. */
static char *proc_stat_fields(pid_t pid, char *buf, size_t size)
{
	char path[64];
	FILE *f;
	size_t n;
	char *paren;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = 0;
	paren = strrchr(buf, ')');   /* the name may hold spaces and parentheses */
	return paren && paren[1] ? paren + 2 : NULL;
}

unsigned long long host_proc_start_time(pid_t pid)
{
	char buf[1024], state;
	char *p = pid > 0 ? proc_stat_fields(pid, buf, sizeof(buf)) : NULL;
	unsigned long long start = 0;

	if (!p)
		return 0;
	state = p[0];
	if (state == 'Z' || state == 'X')
		return 0;
	/* p starts at field 3 (state); starttime is field 22. */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start) != 1)
		return 0;
	return start;
}

bool host_proc_cpu_ns(pid_t pid, uint64_t *ns)
{
	char buf[1024];
	char *p = pid > 0 ? proc_stat_fields(pid, buf, sizeof(buf)) : NULL;
	unsigned long long ut, st;
	long hz = sysconf(_SC_CLK_TCK);

	if (!p)
		return false;
	for (int field = 3; field < 14 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu %llu", &ut, &st) != 2 || hz <= 0)
		return false;
	*ns = (uint64_t)(ut + st) * (1000000000ull / (uint64_t)hz);
	return true;
}

static long long read_ll(const char *path, long long dflt)
{
	FILE *f = fopen(path, "re");
	long long v;

	if (!f)
		return dflt;
	if (fscanf(f, "%lld", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

static long long meminfo_kib(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	size_t klen = strlen(key);
	long long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			sscanf(line + klen + 1, "%lld", &v);
			break;
		}
	}
	fclose(f);
	return v;
}

static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t pl = strlen(prefix);
		if (!strncmp(e->d_name, prefix, pl) && e->d_name[pl] >= '0' && e->d_name[pl] <= '9')
			n++;
	}
	closedir(d);
	return n;
}

json_object *host_info_json(void)
{
	json_object *o = json_object_new_object(), *ksm = json_object_new_object();
	json_object *kvm = json_object_new_object();
	struct utsname u;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int cells = count_prefixed("/sys/devices/system/node", "node");
	long long mhz = 0, sockets = 0, threads_per_core = 1;
	char line[512];
	FILE *f;

	uname(&u);
	f = fopen("/proc/cpuinfo", "re");
	if (f) {
		long long max_pkg = -1;
		while (fgets(line, sizeof(line), f)) {
			double d;
			long long v;
			if (!mhz && sscanf(line, "cpu MHz : %lf", &d) == 1)
				mhz = (long long)d;
			if (sscanf(line, "physical id : %lld", &v) == 1 && v > max_pkg)
				max_pkg = v;
		}
		fclose(f);
		sockets = max_pkg + 1;
	}
	if (sockets <= 0)
		sockets = 1;
	{
		/* Siblings of cpu0 give threads per core. */
		char *s = NULL;
		size_t n = 0;
		FILE *t = fopen("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list", "re");
		if (t && getline(&s, &n, t) > 0) {
			int a, b;
			if (sscanf(s, "%d-%d", &a, &b) == 2 && b >= a)
				threads_per_core = b - a + 1;
			else if (strchr(s, ','))
				threads_per_core = 2;
		}
		free(s);
		if (t)
			fclose(t);
	}
	if (cells <= 0)
		cells = 1;
	json_object_object_add(o, "cpu_model", json_object_new_string(u.machine));
	json_object_object_add(o, "cpus", json_object_new_int64(cpus));
	json_object_object_add(o, "mhz", json_object_new_int64(mhz));
	json_object_object_add(o, "sockets", json_object_new_int64(sockets));
	json_object_object_add(o, "cores_per_socket",
		json_object_new_int64(MAX(1, cpus / sockets / threads_per_core)));
	json_object_object_add(o, "threads_per_core", json_object_new_int64(threads_per_core));
	json_object_object_add(o, "numa_cells", json_object_new_int64(cells));
	json_object_object_add(o, "memory_kib", json_object_new_int64(meminfo_kib("MemTotal")));
	json_object_object_add(o, "free_memory_kib", json_object_new_int64(meminfo_kib("MemAvailable")));
	json_object_object_add(ksm, "run", json_object_new_int64(read_ll("/sys/kernel/mm/ksm/run", -1)));
	json_object_object_add(ksm, "pages_shared",
		json_object_new_int64(read_ll("/sys/kernel/mm/ksm/pages_shared", -1)));
	json_object_object_add(ksm, "pages_sharing",
		json_object_new_int64(read_ll("/sys/kernel/mm/ksm/pages_sharing", -1)));
	json_object_object_add(o, "ksm", ksm);
	json_object_object_add(kvm, "present", json_object_new_boolean(access("/dev/kvm", F_OK) == 0));
	json_object_object_add(kvm, "usable", json_object_new_boolean(access("/dev/kvm", R_OK | W_OK) == 0));
	/* PVM is a software hypervisor module: tiny payloads run, Linux guests do not. */
	json_object_object_add(kvm, "pvm", json_object_new_boolean(access("/sys/module/kvm_pvm", F_OK) == 0));
	json_object_object_add(kvm, "nested_svm",
		json_object_new_boolean(read_ll("/sys/module/kvm_amd/parameters/nested", 0) == 1));
	json_object_object_add(o, "kvm", kvm);
	json_object_object_add(o, "hypervisor", json_object_new_string("vireo-vmm"));
	json_object_object_add(o, "version", json_object_new_string(VD_VERSION));
	json_object_object_add(o, "kernel", json_object_new_string(u.release));
	return o;
}
