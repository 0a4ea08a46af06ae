/*
 * proxy-tls-hash.c: the password hashes bench/proxy-tls.py needs, made with
 * libcrypt exactly as a new passwd file gets them: crypt_gensalt_rn("$y$",
 * 0, ...) is yescrypt at libcrypt's default cost, the hash `mkpasswd`
 * writes on Debian 12.  Python's crypt module cannot make one (it knows no
 * METHOD for yescrypt, and is gone in Python 3.13).
 *
 *   proxy-tls-hash hash PASSWORD         print one new hash of PASSWORD
 *   proxy-tls-hash rate SECONDS HASH PW  hash PW against HASH for SECONDS on
 *                                        this thread; print "N SECONDS"
 *   proxy-tls-hash burn HASH PW          hash until killed: the same CPU and
 *                                        memory traffic as one of moatd's
 *                                        hashing threads, outside moatd
 *
 * What it deliberately does not do: it is a bench tool, built by the bench
 * script into its temp dir (cc ... -lcrypt); it is not installed, not part
 * of moatd, and it never compares the result (crypt_rn's work is what is
 * measured, as auth/passwd.c's check_hash spends it).
 *
 * Invariants: every crypt call uses its own struct crypt_data, as moatd's
 * hashing threads do; a failed crypt is exit status 1, never a silent 0.
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
usage(void)
{
	fprintf(stderr, "usage: proxy-tls-hash hash PASSWORD\n"
	    "       proxy-tls-hash rate SECONDS HASH PASSWORD\n"
	    "       proxy-tls-hash burn HASH PASSWORD\n");
	return 2;
}

/* One crypt_rn of pw with the settings in hash; -1 if libcrypt refused. */
static int
hash_once(struct crypt_data *cd, const char *pw, const char *hash)
{
	const char *out;

	out = crypt_rn(pw, hash, cd, sizeof(*cd));
	/* libcrypt reports failure as NULL or as a hash starting with '*'. */
	if (out == NULL || out[0] == '*')
		return -1;
	return 0;
}

static int
cmd_hash(const char *pw)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *out;

	/* count 0: libcrypt's default cost, what a new passwd line gets. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting,
	    sizeof(setting)) == NULL) {
		fprintf(stderr, "crypt_gensalt_rn: %s\n", strerror(errno));
		return 1;
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 1;
	out = crypt_rn(pw, setting, cd, sizeof(*cd));
	if (out == NULL || out[0] == '*') {
		fprintf(stderr, "crypt_rn failed\n");
		free(cd);
		return 1;
	}
	printf("%s\n", out);
	free(cd);
	return 0;
}

static int
cmd_rate(const char *secs, const char *hash, const char *pw)
{
	struct crypt_data *cd;
	double t0, t, limit;
	long n = 0;

	limit = strtod(secs, NULL);
	if (!(limit > 0 && limit < 600))
		return usage();
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 1;
	t0 = now();
	do {
		if (hash_once(cd, pw, hash) == -1) {
			fprintf(stderr, "crypt_rn failed\n");
			free(cd);
			return 1;
		}
		n++;
		t = now();
	} while (t - t0 < limit);
	printf("%ld %.6f\n", n, t - t0);
	free(cd);
	return 0;
}

static int
cmd_burn(const char *hash, const char *pw)
{
	struct crypt_data *cd;

	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 1;
	/* Until SIGTERM from the bench, which stops it by its pid. */
	for (;;) {
		if (hash_once(cd, pw, hash) == -1) {
			fprintf(stderr, "crypt_rn failed\n");
			free(cd);
			return 1;
		}
	}
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "hash") == 0)
		return cmd_hash(argv[2]);
	if (argc == 5 && strcmp(argv[1], "rate") == 0)
		return cmd_rate(argv[2], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "burn") == 0)
		return cmd_burn(argv[2], argv[3]);
	return usage();
}
