/*
 * filesrc.c: the file bytes a reload reads, under privilege separation
 * (issue 17).  The unprivileged daemon cannot open a key that only root
 * reads (certbot writes them 0600), so on SIGHUP the root parent reads the
 * config and the secret files and sends their bytes; the daemon installs
 * them here for the length of one reload, and the loaders (config, TLS,
 * passwd, sender map) read through filesrc_fopen/filesrc_read, which fall
 * back to the file system for anything not passed (rule and domain files,
 * which the daemon's user reads as before).  Without privilege separation
 * nothing is installed and every read goes to the file system.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filesrc.h"
#include "xmalloc.h"

static struct filesrc_file	files[FILESRC_FILES_MAX];
static int			nfiles;

void
filesrc_install(struct filesrc_file *f, int n)
{
	filesrc_clear();
	memcpy(files, f, (size_t)n * sizeof(*f));
	nfiles = n;
}

void
filesrc_clear(void)
{
	int i;

	for (i = 0; i < nfiles; i++) {
		free(files[i].path);
		free(files[i].data);
	}
	nfiles = 0;
}

static const struct filesrc_file *
find(const char *path)
{
	int i;

	for (i = 0; i < nfiles; i++)
		if (strcmp(files[i].path, path) == 0)
			return &files[i];
	return NULL;
}

FILE *
filesrc_fopen(const char *path)
{
	const struct filesrc_file *f;

	if ((f = find(path)) == NULL)
		return fopen(path, "re");
	if (f->err != 0) {
		errno = f->err;
		return NULL;
	}
	/* Read only: fmemopen does not write through "r". */
	return fmemopen(f->data, f->len, "r");
}

int
filesrc_read_disk(const char *path, char **data, size_t *len)
{
	struct stat st;
	size_t off = 0;
	ssize_t n;
	char *buf;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st.st_size > FILESRC_FILE_MAX) {
		errno = EFBIG;
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	/* The size may change under us: read at most what was stat'ed. */
	while (off < (size_t)st.st_size &&
	    (n = read(fd, buf + off, (size_t)st.st_size - off)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			free(buf);
			close(fd);
			errno = e;
			return -1;
		}
		off += (size_t)n;
	}
	buf[off] = '\0';
	close(fd);
	*data = buf;
	*len = off;
	return 0;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
filesrc_read(const char *path, char **data, size_t *len)
{
	const struct filesrc_file *f;

	if ((f = find(path)) == NULL)
		return filesrc_read_disk(path, data, len);
	if (f->err != 0) {
		errno = f->err;
		return -1;
	}
	*data = xmalloc(f->len + 1);
	memcpy(*data, f->data, f->len);
	(*data)[f->len] = '\0';
	*len = f->len;
	return 0;
}

static void
put32(char **p, uint32_t v)
{
	memcpy(*p, &v, 4);
	*p += 4;
}

int
filesrc_encode(const struct filesrc_file *f, int n, char **out,
    size_t *outlen)
{
	size_t total = 0, pl;
	char *buf, *p;
	int i;

	if (n < 0 || n > FILESRC_FILES_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		if (f[i].len > FILESRC_FILE_MAX ||
		    (pl = strlen(f[i].path)) > FILESRC_FILE_MAX)
			return -1;
		total += 12 + pl + f[i].len;
	}
	p = buf = xmalloc(total ? total : 1);
	for (i = 0; i < n; i++) {
		pl = strlen(f[i].path);
		put32(&p, (uint32_t)pl);
		put32(&p, (uint32_t)f[i].err);
		put32(&p, (uint32_t)f[i].len);
		memcpy(p, f[i].path, pl);
		p += pl;
		if (f[i].len)
			memcpy(p, f[i].data, f[i].len);
		p += f[i].len;
	}
	*out = buf;
	*outlen = total;
	return 0;
}

int
filesrc_decode(const char *buf, size_t len, struct filesrc_file *f, int *n)
{
	uint32_t pl, err, dl;
	size_t off = 0;
	int i = 0, j;

	while (off < len) {
		if (i == FILESRC_FILES_MAX || len - off < 12)
			goto fail;
		memcpy(&pl, buf + off, 4);
		memcpy(&err, buf + off + 4, 4);
		memcpy(&dl, buf + off + 8, 4);
		off += 12;
		if (pl == 0 || pl > len - off || dl > FILESRC_FILE_MAX ||
		    dl > len - off - pl || (err != 0 && dl != 0) ||
		    memchr(buf + off, '\0', pl) != NULL)
			goto fail;
		f[i].path = xmalloc(pl + 1);
		memcpy(f[i].path, buf + off, pl);
		f[i].path[pl] = '\0';
		off += pl;
		f[i].err = (int)err;
		f[i].data = xmalloc((size_t)dl + 1);
		memcpy(f[i].data, buf + off, dl);
		f[i].data[dl] = '\0';
		f[i].len = dl;
		off += dl;
		i++;
	}
	*n = i;
	return 0;
fail:
	for (j = 0; j < i; j++) {
		free(f[j].path);
		free(f[j].data);
	}
	return -1;
}
