/*
 * fuzz_greylist.c: scoring/greylist.c's parsers on arbitrary bytes: sender
 * and recipient normalisation, FCrDNS name reduction, key split.  Checks
 * the invariants keys rely on: outputs bounded, NUL-terminated, free of
 * spaces and control bytes, and a triplet key splits back into the same
 * triplet.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "greylist.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
clean(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		abort();
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char v4[4] = { 192, 0, 2, 77 };
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34 };
	char *s = malloc(size + 1);
	char key[GREY_KEY_MAX];
	char name[GREY_CLIENT_MAX + 1];
	struct grey_triplet t, u;

	memcpy(s, data, size);
	s[size] = '\0';
	memset(&t, 0, sizeof(t));
	grey_normalize_sender(t.sender, s);
	clean(t.sender, GREY_ADDR_MAX);
	if (t.sender[0] == '\0')
		abort();
	grey_normalize_rcpt(t.rcpt, s);
	clean(t.rcpt, GREY_ADDR_MAX);
	if (grey_client_name(name, sizeof(name), s, v4, 0) == 0) {
		clean(name, GREY_CLIENT_MAX);
		if (strchr(name, '.') == NULL)
			abort();
	}
	if (grey_client_name(name, sizeof(name), s, v6, 1) == 0)
		clean(name, GREY_CLIENT_MAX);
	memcpy(t.client, "192.0.2.0/24", 13);
	if (t.rcpt[0] != '\0') {
		if (grey_key_triplet(key, sizeof(key), "moat:", &t) < 0)
			abort();
		if (grey_key_split(&u, key + 5) != 0 ||
		    memcmp(&t, &u, sizeof(t)) != 0)
			abort();
	}
	(void)grey_key_split(&u, s);
	free(s);
	return 0;
}
