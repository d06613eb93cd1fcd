/* Load client for vireod's tests: THREADS clients, each making REQUESTS calls
 * through libvireo (list, lookup, info, XML in turn) on its own connection.
 * Prints "requests=N errors=N seconds=S" and exits 1 on any error. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vireo/vireo.h"

static int requests;
static const char *domain;
static int errors_total;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *client(void *arg)
{
	vireo_conn *c = vireo_connect(NULL, 0);
	int errors = 0;

	(void)arg;
	for (int i = 0; c && i < requests; i++) {
		vireo_domain *d = NULL, **list = NULL;
		vireo_domain_info info;
		char *xml;
		int n;

		switch (i % 4) {
		case 0:
			n = vireo_conn_list_domains(c, &list, 0);
			if (n < 0)
				errors++;
			for (int k = 0; k < n; k++)
				vireo_domain_free(list[k]);
			free(list);
			break;
		case 1:
			d = vireo_domain_lookup_by_name(c, domain);
			errors += !d;
			break;
		case 2:
			d = vireo_domain_lookup_by_name(c, domain);
			if (!d || vireo_domain_get_info(d, &info, 0) < 0)
				errors++;
			break;
		case 3:
			d = vireo_domain_lookup_by_name(c, domain);
			xml = d ? vireo_domain_get_xml_desc(d, 0) : NULL;
			if (!xml || !strstr(xml, "<domain"))
				errors++;
			free(xml);
			break;
		}
		if (errors == 1 && vireo_get_last_error()->code)
			fprintf(stderr, "load: %s\n", vireo_get_last_error()->message);
		vireo_domain_free(d);
	}
	if (!c)
		errors = requests;
	vireo_conn_close(c);
	pthread_mutex_lock(&lock);
	errors_total += errors;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	int threads;
	pthread_t *tid;

	if (argc != 4) {
		fprintf(stderr, "usage: load THREADS REQUESTS DOMAIN (the daemon from VIREO_ROOT/VIREO_DEFAULT_URI)\n");
		return 2;
	}
	threads = atoi(argv[1]);
	requests = atoi(argv[2]);
	domain = argv[3];
	if (threads < 1 || threads > 1000 || requests < 1)
		return 2;
	tid = calloc((size_t)threads, sizeof(*tid));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, client, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("requests=%d errors=%d seconds=%.2f\n", threads * requests, errors_total,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(tid);
	return errors_total ? 1 : 0;
}
