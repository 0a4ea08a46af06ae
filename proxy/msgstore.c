/*
 * msgstore.c: message buffer in memory, spilling to an unlinked temp file.
 *
 * The file is unlinked right after mkstemp(), so no crash, kill or
 * forgotten cleanup path can leave a message on disk: the kernel frees it
 * with the last descriptor.  It is created 0600 (mkstemp's mode) in the
 * spool directory.  It does not enforce the message size limit (the DATA
 * reader does) and does not know SMTP.
 * XXX (issue 2): file writes block the worker briefly; local disks make this
 * cheap, and only messages over message_memory_max ever touch the disk.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fdio.h"
#include "msgstore.h"
#include "xmalloc.h"

void
ms_init(struct msgstore *ms, size_t mem_max, const char *spool_dir)
{
	memset(ms, 0, sizeof(*ms));
	ms->fd = -1;
	ms->mem_max = mem_max;
	ms->spool_dir = spool_dir;
}

static int
ms_spill(struct msgstore *ms)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/moat.XXXXXX", ms->spool_dir);
	if ((fd = mkstemp(path)) == -1)
		return -1;
	unlink(path);
	if (fdio_write_all(fd, ms->mem.p, ms->mem.len) == -1) {
		close(fd);
		return -1;
	}
	sbuf_free(&ms->mem);
	ms->fd = fd;
	return 0;
}

int
ms_write(struct msgstore *ms, const void *p, size_t n)
{
	if (ms->err)
		return -1;
	if (ms->fd == -1 && ms->mem.len + n > ms->mem_max &&
	    ms_spill(ms) == -1) {
		ms->err = errno ? errno : EIO;
		return -1;
	}
	ms->size += n;
	if (ms->fd == -1) {
		sbuf_add(&ms->mem, p, n);
		return 0;
	}
	if (fdio_write_all(ms->fd, p, n) == -1) {
		ms->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

ssize_t
ms_read(struct msgstore *ms, unsigned long long off, void *buf, size_t n)
{
	ssize_t r;

	if (off >= ms->size)
		return 0;
	if (n > ms->size - off)
		n = (size_t)(ms->size - off);
	if (ms->fd == -1) {
		memcpy(buf, ms->mem.p + off, n);
		return (ssize_t)n;
	}
	do
		r = pread(ms->fd, buf, n, (off_t)off);
	while (r == -1 && errno == EINTR);
	return r;
}

const char *
ms_mem(const struct msgstore *ms)
{
	return ms->fd == -1 ? (ms->mem.p ? ms->mem.p : "") : NULL;
}

const char *
ms_map(struct msgstore *ms, size_t *len)
{
	void *p;

	*len = (size_t)ms->size;
	if (ms->fd == -1)
		return ms->mem.p ? ms->mem.p : "";
	if (ms->size == 0)
		return "";
	p = mmap(NULL, (size_t)ms->size, PROT_READ, MAP_PRIVATE, ms->fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

void
ms_unmap(struct msgstore *ms, const char *p, size_t len)
{
	if (ms->fd != -1 && len > 0 && p != NULL)
		munmap((void *)(uintptr_t)p, len);
}

void
ms_free(struct msgstore *ms)
{
	sbuf_free(&ms->mem);
	if (ms->fd != -1)
		close(ms->fd);
	ms->fd = -1;
	ms->size = 0;
}
