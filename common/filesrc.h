/*
 * filesrc.h: where the loaders get a file's bytes during a reload under
 * privilege separation (issue 17): from what the root parent sent, or
 * from the file system as before.
 */
#ifndef MOAT_FILESRC_H
#define MOAT_FILESRC_H

#include <stddef.h>
#include <stdio.h>

/* Largest file the parent passes (a config, a key, a password file). */
#define FILESRC_FILE_MAX	(4 * 1024 * 1024)
/* Files in one bundle: config, cert, key, passwd, sender map, CA. */
#define FILESRC_FILES_MAX	8

struct filesrc_file {
	char	*path;
	int	 err;		/* errno the parent got reading it, or 0 */
	char	*data;
	size_t	 len;
};

/*
 * The set in force for one reload: filesrc_install takes ownership of
 * files[0..n), filesrc_clear frees them.  Main thread only.
 */
void	 filesrc_install(struct filesrc_file *, int);
void	 filesrc_clear(void);

/* fopen(path, "r") or a stream over the bytes passed for path. */
FILE	*filesrc_fopen(const char *);
/* The whole file (NUL-terminated, caller frees); 0, or -1 with errno. */
int	 filesrc_read(const char *, char **, size_t *);
/* Read a regular file of at most FILESRC_FILE_MAX bytes; as filesrc_read. */
int	 filesrc_read_disk(const char *, char **, size_t *);

/*
 * The bundle's wire form: for each file, u32 path length, u32 errno,
 * u32 data length, path, data (host order: both ends are one binary).
 * filesrc_decode checks every length against the message; 0, or -1.
 */
int	 filesrc_encode(const struct filesrc_file *, int, char **, size_t *);
int	 filesrc_decode(const char *, size_t, struct filesrc_file *, int *);

#endif
