/*
 * test_filesrc.c: the file bundle the root parent sends on reload
 * (common/filesrc.c, issue 17): encode/decode round trip, every malformed
 * or truncated message refused, and the loaders' view: a passed file is
 * read from its bytes, a passed error comes back as errno, anything else
 * from the disk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filesrc.h"

static struct filesrc_file
mk(const char *path, int err, const char *data)
{
	struct filesrc_file f;

	f.path = (char *)path;
	f.err = err;
	f.data = (char *)data;
	f.len = data ? strlen(data) : 0;
	return f;
}

static void
free_files(struct filesrc_file *f, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].data);
	}
}

static void
test_round_trip(void **state)
{
	struct filesrc_file in[3], out[FILESRC_FILES_MAX];
	char *buf;
	size_t len;
	int n = -1;

	(void)state;
	in[0] = mk("/etc/moat/moat.conf", 0, "listen 0.0.0.0:25\n");
	in[1] = mk("/etc/moat/key.pem", EACCES, NULL);
	in[2] = mk("/etc/moat/empty", 0, "");
	assert_int_equal(filesrc_encode(in, 3, &buf, &len), 0);
	assert_int_equal(filesrc_decode(buf, len, out, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(out[0].path, "/etc/moat/moat.conf");
	assert_int_equal(out[0].len, 18);
	assert_memory_equal(out[0].data, "listen 0.0.0.0:25\n", 18);
	assert_int_equal(out[1].err, EACCES);
	assert_int_equal(out[1].len, 0);
	assert_int_equal(out[2].len, 0);
	free_files(out, n);
	free(buf);
}

/* Every proper prefix of a good message is refused, never over-read. */
static void
test_truncated(void **state)
{
	struct filesrc_file in[2], out[FILESRC_FILES_MAX];
	char *buf, *cut;
	size_t len, i;
	int n;

	(void)state;
	in[0] = mk("/a", 0, "one");
	in[1] = mk("/b", 0, "two");
	assert_int_equal(filesrc_encode(in, 2, &buf, &len), 0);
	for (i = 1; i < len; i++) {
		if (i == 12 + 2 + 3)	/* the first entry alone is whole */
			continue;
		cut = malloc(i);	/* exact size: ASan sees an over-read */
		memcpy(cut, buf, i);
		assert_int_equal(filesrc_decode(cut, i, out, &n), -1);
		free(cut);
	}
	free(buf);
}

static void
put(char *p, uint32_t pl, uint32_t err, uint32_t dl)
{
	memcpy(p, &pl, 4);
	memcpy(p + 4, &err, 4);
	memcpy(p + 8, &dl, 4);
}

static void
test_malformed(void **state)
{
	struct filesrc_file in[FILESRC_FILES_MAX + 1], out[FILESRC_FILES_MAX];
	char msg[64], *buf;
	size_t len;
	int n, i;

	(void)state;
	/* An empty path. */
	put(msg, 0, 0, 1);
	msg[12] = 'x';
	assert_int_equal(filesrc_decode(msg, 13, out, &n), -1);
	/* A NUL inside the path. */
	put(msg, 3, 0, 0);
	memcpy(msg + 12, "a\0b", 3);
	assert_int_equal(filesrc_decode(msg, 15, out, &n), -1);
	/* An error together with data. */
	put(msg, 1, EACCES, 1);
	memcpy(msg + 12, "ab", 2);
	assert_int_equal(filesrc_decode(msg, 14, out, &n), -1);
	/* A data length past the end, and a huge one. */
	put(msg, 1, 0, 5);
	memcpy(msg + 12, "abcd", 4);
	assert_int_equal(filesrc_decode(msg, 16, out, &n), -1);
	put(msg, 1, 0, UINT32_MAX);
	assert_int_equal(filesrc_decode(msg, 16, out, &n), -1);
	/* One file more than the bound, both ways. */
	for (i = 0; i <= FILESRC_FILES_MAX; i++)
		in[i] = mk("/f", 0, "x");
	assert_int_equal(filesrc_encode(in, FILESRC_FILES_MAX + 1, &buf, &len),
	    -1);
	assert_int_equal(filesrc_encode(in, FILESRC_FILES_MAX, &buf, &len), 0);
	buf = realloc(buf, len + 12 + 2 + 1);
	memcpy(buf + len, buf, 12 + 2 + 1);
	assert_int_equal(filesrc_decode(buf, len + 15, out, &n), -1);
	assert_int_equal(filesrc_decode(buf, len, out, &n), 0);
	assert_int_equal(n, FILESRC_FILES_MAX);
	free_files(out, n);
	free(buf);
}

static void
test_loaders_view(void **state)
{
	struct filesrc_file f[2];
	char path[] = "/tmp/moat-filesrc-XXXXXX", line[64], *data;
	size_t len;
	FILE *fp;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(write(fd, "disk\n", 5), 5);
	close(fd);
	f[0].path = strdup("/passed/moat.conf");
	f[0].err = 0;
	f[0].data = strdup("passed\n");
	f[0].len = 7;
	f[1].path = strdup(path);
	f[1].err = EACCES;
	f[1].data = NULL;
	f[1].len = 0;
	filesrc_install(f, 2);
	assert_non_null(fp = filesrc_fopen("/passed/moat.conf"));
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_string_equal(line, "passed\n");
	assert_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	/* The parent's error wins over a file the child could read. */
	errno = 0;
	assert_null(filesrc_fopen(path));
	assert_int_equal(errno, EACCES);
	assert_int_equal(filesrc_read(path, &data, &len), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(filesrc_read("/passed/moat.conf", &data, &len), 0);
	assert_string_equal(data, "passed\n");
	free(data);
	filesrc_clear();
	/* Nothing installed: the disk. */
	assert_int_equal(filesrc_read(path, &data, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "disk\n");
	free(data);
	assert_int_equal(filesrc_read("/tmp", &data, &len), -1);
	assert_int_equal(errno, EINVAL);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_loaders_view),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
