/*
 * tmpdir.h: a scratch directory per unit test program, made by the group
 * setup and removed with everything in it by the group teardown (the
 * tests leave databases, lock files and indexes behind whose names they
 * do not all know).  nftw(), not system("rm -rf"): no shell, and a
 * failure is the teardown's, not a child's exit status.
 */
#ifndef TESTS_UNIT_TMPDIR_H
#define TESTS_UNIT_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static int
tmpdir_rm_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* 0 when dir and all below it are gone. */
static inline int
tmpdir_remove(const char *dir)
{
	return nftw(dir, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
