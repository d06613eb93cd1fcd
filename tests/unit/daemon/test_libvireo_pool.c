/* Unit tests of libvireo's volume streams against a scripted HTTP peer on a unix
 * socket (no vireod): a download lands byte for byte in the fd with progress, a
 * short or refused answer is an error that says so, an upload sends exactly
 * `length` bytes and a progress callback can abort it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "vireo/vireo.h"

#define POOL_ANSWER "{\"name\":\"p\",\"uuid\":\"3e3fce45-4f53-4fa7-bb32-11f34168b82b\",\"path\":\"/x\",\"active\":true}"
#define VOL_ANSWER "{\"name\":\"v\",\"path\":\"/x/v\",\"format\":\"raw\",\"capacity\":1}"

/* The peer: one connection per scripted answer; it reads each request (head and
 * Content-Length body), then writes the answer in pieces and closes. */
struct peer {
	int listen_fd;
	char path[108];
	const char *answers[4];
	size_t answer_len[4];     /* 0: strlen */
	int nanswers;
	uint64_t body_bytes[4];   /* request body bytes received */
	char first_line[4][256];
	pthread_t thread;
};

static void json_answer(struct peer *p, int i, const char *status, const char *json)
{
	char *s;

	assert_int_not_equal(asprintf(&s, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
				      status, strlen(json), json), -1);
	p->answers[i] = s;
	p->answer_len[i] = strlen(s);
}

static void *peer_run(void *arg)
{
	struct peer *p = arg;

	for (int i = 0; i < p->nanswers; i++) {
		int fd = accept(p->listen_fd, NULL, NULL);
		char head[4096];
		size_t have = 0;
		char *end = NULL, *cl;
		long long clen = 0;

		if (fd < 0)
			return NULL;
		while (!end && have < sizeof(head) - 1) {
			ssize_t n = read(fd, head + have, sizeof(head) - 1 - have);
			if (n <= 0)
				break;
			have += (size_t)n;
			head[have] = 0;
			end = strstr(head, "\r\n\r\n");
		}
		if (end) {
			snprintf(p->first_line[i], sizeof(p->first_line[i]), "%.*s", (int)strcspn(head, "\r"), head);
			if ((cl = strcasestr(head, "Content-Length:")) && cl < end)
				clen = atoll(cl + 15);
			p->body_bytes[i] = have - (size_t)(end + 4 - head);
			while ((long long)p->body_bytes[i] < clen) {
				char buf[65536];
				ssize_t n = read(fd, buf, sizeof(buf));
				if (n <= 0)
					break;
				p->body_bytes[i] += (uint64_t)n;
			}
		}
		/* the answer in small pieces, so the client reassembles it */
		for (size_t off = 0; off < p->answer_len[i];) {
			size_t n = p->answer_len[i] - off < 7000 ? p->answer_len[i] - off : 7000;
			ssize_t w = send(fd, p->answers[i] + off, n, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		close(fd);
	}
	return NULL;
}

static void peer_start(struct peer *p)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(p->path, sizeof(p->path), "/tmp/vireo-lvp-%d.sock", (int)getpid());
	unlink(p->path);
	strcpy(a.sun_path, p->path);
	p->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(p->listen_fd >= 0);
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(p->listen_fd, 8), 0);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_run, p), 0);
}

static void peer_stop(struct peer *p)
{
	shutdown(p->listen_fd, SHUT_RDWR);
	pthread_join(p->thread, NULL);
	close(p->listen_fd);
	unlink(p->path);
	for (int i = 0; i < p->nanswers; i++)
		free((char *)p->answers[i]);
}

/* Connect, look up pool p and volume v (the first two scripted answers). */
static vireo_vol *open_vol(struct peer *p, vireo_conn **conn, vireo_pool **pool)
{
	char uri[160];
	vireo_vol *v;

	snprintf(uri, sizeof(uri), "vireo:///system?socket=%s", p->path);
	*conn = vireo_connect(uri, 0);
	assert_non_null(*conn);
	*pool = vireo_pool_lookup_by_name(*conn, "p");
	assert_non_null(*pool);
	v = vireo_vol_lookup_by_name(*pool, "v");
	assert_non_null(v);
	return v;
}

static void close_vol(vireo_conn *conn, vireo_pool *pool, vireo_vol *v)
{
	vireo_vol_free(v);
	vireo_pool_free(pool);
	vireo_conn_close(conn);
}

struct progress {
	uint64_t last, total;
	int calls;
	uint64_t abort_after;   /* 0: never */
};

static int on_progress(uint64_t done, uint64_t total, void *opaque)
{
	struct progress *pr = opaque;

	assert_true(done >= pr->last);
	pr->last = done;
	pr->total = total;
	pr->calls++;
	return pr->abort_after && done >= pr->abort_after;
}

static void test_download_writes_every_byte_to_the_fd_with_progress(void **state)
{
	struct peer p = { .nanswers = 3 };
	const size_t len = 1000003;
	char *answer, *out;
	size_t hl;
	struct progress pr = { 0 };
	vireo_conn *conn;
	vireo_pool *pool;
	vireo_vol *v;
	FILE *tf = tmpfile();

	(void)state;
	json_answer(&p, 0, "200 OK", POOL_ANSWER);
	json_answer(&p, 1, "200 OK", VOL_ANSWER);
	answer = malloc(len + 128);
	hl = (size_t)sprintf(answer, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", len);
	for (size_t i = 0; i < len; i++)
		answer[hl + i] = (char)(i * 7 + i / 251);
	p.answers[2] = answer;
	p.answer_len[2] = hl + len;
	peer_start(&p);
	v = open_vol(&p, &conn, &pool);
	/* no file: refused before anything is sent */
	assert_int_equal(vireo_vol_download(v, -1, 0, 0, NULL, NULL, 0), -1);
	assert_int_equal(vireo_get_last_error()->code, VIREO_ERR_INVALID_ARG);
	assert_int_equal(vireo_vol_download(v, fileno(tf), 0, 0, on_progress, &pr, 0), 0);
	assert_int_equal(pr.last, len);
	assert_int_equal(pr.total, len);
	assert_true(pr.calls >= 1);
	rewind(tf);
	out = malloc(len + 1);
	assert_int_equal(fread(out, 1, len + 1, tf), len);
	assert_memory_equal(out, answer + hl, len);
	free(out);
	fclose(tf);
	assert_string_equal(p.first_line[2], "GET /v1/pools/p/volumes/v/data?offset=0&length=0 HTTP/1.1");
	close_vol(conn, pool, v);
	peer_stop(&p);
}

static void test_download_short_body_is_an_error_naming_the_bytes(void **state)
{
	struct peer p = { .nanswers = 3 };
	const char *short_answer = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
	vireo_conn *conn;
	vireo_pool *pool;
	vireo_vol *v;
	FILE *tf = tmpfile();

	(void)state;
	json_answer(&p, 0, "200 OK", POOL_ANSWER);
	json_answer(&p, 1, "200 OK", VOL_ANSWER);
	p.answers[2] = strdup(short_answer);
	p.answer_len[2] = strlen(short_answer);
	peer_start(&p);
	v = open_vol(&p, &conn, &pool);
	assert_int_equal(vireo_vol_download(v, fileno(tf), 5, 100, NULL, NULL, 0), -1);
	assert_non_null(strstr(vireo_get_last_error()->message, "ended after 10 of 100 bytes"));
	assert_string_equal(p.first_line[2], "GET /v1/pools/p/volumes/v/data?offset=5&length=100 HTTP/1.1");
	fclose(tf);
	close_vol(conn, pool, v);
	peer_stop(&p);
}

static void test_download_refused_sets_the_daemon_error(void **state)
{
	struct peer p = { .nanswers = 3 };
	vireo_conn *conn;
	vireo_pool *pool;
	vireo_vol *v;
	FILE *tf = tmpfile();

	(void)state;
	json_answer(&p, 0, "200 OK", POOL_ANSWER);
	json_answer(&p, 1, "200 OK", VOL_ANSWER);
	json_answer(&p, 2, "400 Bad Request",
		    "{\"error\":{\"code\":\"invalid-argument\",\"message\":\"offset is beyond the end of the volume\"}}");
	peer_start(&p);
	v = open_vol(&p, &conn, &pool);
	assert_int_equal(vireo_vol_download(v, fileno(tf), 1u << 30, 0, NULL, NULL, 0), -1);
	assert_int_equal(vireo_get_last_error()->code, VIREO_ERR_INVALID_ARG);
	assert_int_equal(vireo_get_last_error()->http_status, 400);
	assert_string_equal(vireo_get_last_error()->message, "offset is beyond the end of the volume");
	fclose(tf);
	close_vol(conn, pool, v);
	peer_stop(&p);
}

static void test_upload_sends_exactly_length_bytes_and_reads_the_answer(void **state)
{
	struct peer p = { .nanswers = 3 };
	struct progress pr = { 0 };
	const size_t len = 700001;
	vireo_conn *conn;
	vireo_pool *pool;
	vireo_vol *v;
	vireo_vol_info info;
	FILE *tf = tmpfile();

	(void)state;
	for (size_t i = 0; i < len + 5000; i++)
		fputc((int)(i & 0xff), tf);
	rewind(tf);
	json_answer(&p, 0, "200 OK", POOL_ANSWER);
	json_answer(&p, 1, "200 OK", VOL_ANSWER);
	json_answer(&p, 2, "200 OK", "{\"name\":\"v\",\"path\":\"/x/v\",\"format\":\"raw\",\"capacity\":700001}");
	peer_start(&p);
	v = open_vol(&p, &conn, &pool);
	assert_int_equal(vireo_vol_upload(v, fileno(tf), 4096, len, on_progress, &pr, 0), 0);
	assert_int_equal(pr.last, len);
	/* the handle took the answer's figures */
	assert_int_equal(vireo_vol_get_info(v, &info, VIREO_STATE_CACHED), 0);
	assert_int_equal(info.capacity, len);
	peer_stop(&p);
	assert_int_equal(p.body_bytes[2], len);
	assert_string_equal(p.first_line[2], "PUT /v1/pools/p/volumes/v/data?offset=4096&length=700001 HTTP/1.1");
	fclose(tf);
	close_vol(conn, pool, v);
}

static void test_upload_of_a_too_short_file_or_aborted_by_progress_fails(void **state)
{
	struct peer p = { .nanswers = 4 };
	struct progress pr = { .abort_after = 1 };
	vireo_conn *conn;
	vireo_pool *pool;
	vireo_vol *v;
	FILE *tf = tmpfile();

	(void)state;
	for (int i = 0; i < 600000; i++)
		fputc('x', tf);
	rewind(tf);
	json_answer(&p, 0, "200 OK", POOL_ANSWER);
	json_answer(&p, 1, "200 OK", VOL_ANSWER);
	json_answer(&p, 2, "200 OK", VOL_ANSWER);
	json_answer(&p, 3, "200 OK", VOL_ANSWER);
	peer_start(&p);
	v = open_vol(&p, &conn, &pool);
	assert_int_equal(vireo_vol_upload(v, fileno(tf), 0, 1000000, NULL, NULL, 0), -1);
	assert_non_null(strstr(vireo_get_last_error()->message, "ended after 600000 of 1000000 bytes"));
	rewind(tf);
	assert_int_equal(vireo_vol_upload(v, fileno(tf), 0, 600000, on_progress, &pr, 0), -1);
	assert_non_null(strstr(vireo_get_last_error()->message, "aborted"));
	assert_true(pr.last < 600000);
	fclose(tf);
	close_vol(conn, pool, v);
	peer_stop(&p);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_download_writes_every_byte_to_the_fd_with_progress),
		cmocka_unit_test(test_download_short_body_is_an_error_naming_the_bytes),
		cmocka_unit_test(test_download_refused_sets_the_daemon_error),
		cmocka_unit_test(test_upload_sends_exactly_length_bytes_and_reads_the_answer),
		cmocka_unit_test(test_upload_of_a_too_short_file_or_aborted_by_progress_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
