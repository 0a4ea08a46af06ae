/*
 * msgdump: print what the message model (rules/msg.h) gives each rule type
 * for the messages named on the command line, in the format of
 * tools/sa_msgdump.pl, so the two can be diffed to measure fidelity to
 * SpamAssassin.  A debugging aid; not installed.
 * Usage: msgdump [-h SPEC,...] FILE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "sbuf.h"
#include "xmalloc.h"

static const char *default_specs = "Subject,From,To,Cc,From:addr,From:name,"
    "Reply-To:addr,To:addr,Subject:raw,From:raw,Message-ID,MESSAGEID,ToCc,"
    "EnvelopeFrom,Received,Content-Type,X-Mailer,Date,ALL,ALL:raw";

static void
esc(const char *p, size_t n)
{
	size_t	i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (i == 0 && (c == '@' || c == '#'))
			printf("\\x%02x", c);
		else if (c == '\\')
			fputs("\\\\", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('\n');
}

int
main(int argc, char **argv)
{
	const char	*specs = default_specs;
	struct sbuf	 in = SBUF_INIT, out = SBUF_INIT;
	const struct msg_str *v;
	struct msg	*m;
	char		 buf[65536], *sp, *s, *save;
	size_t		 n, i, k;
	int		 a = 1, r;
	FILE		*f;

	if (argc > 2 && strcmp(argv[1], "-h") == 0) {
		specs = argv[2];
		a = 3;
	}
	for (; a < argc; a++) {
		if ((f = fopen(argv[a], "rb")) == NULL) {
			perror(argv[a]);
			return 1;
		}
		sbuf_reset(&in);
		while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
			sbuf_add(&in, buf, k);
		fclose(f);
		m = msg_parse(in.p ? in.p : "", in.len, NULL);
		printf("#MSG %s\n@body\n", argv[a]);
		v = msg_body(m, &n);
		for (i = 0; i < n; i++)
			esc(v[i].p, v[i].len);
		printf("@rawbody\n");
		v = msg_rawbody(m, &n);
		for (i = 0; i < n; i++)
			esc(v[i].p, v[i].len);
		printf("@full\n");
		{
			const char *full = msg_full(m, &n);

			esc(full, n);
		}
		printf("@parts\n");
		for (i = 0; i < msg_part_count(m); i++) {
			static const char *const ps[] = { "Content-Type",
			    "Content-Type:raw", "ALL", "ALL:raw" };

			for (k = 0; k < 4; k++) {
				if (msg_part_get(m, i, ps[k], &out) == 1)
					esc(out.p ? out.p : "", out.len);
				else
					printf("UNDEF\n");
			}
		}
		printf("@uri\n");
		v = msg_uris(m, &n);
		for (i = 0; i < n; i++)
			esc(v[i].p, v[i].len);
		sp = xstrdup(specs);
		for (s = strtok_r(sp, ",", &save); s != NULL;
		    s = strtok_r(NULL, ",", &save)) {
			printf("@hdr %s\n", s);
			r = msg_get(m, s, &out);
			if (r == 1)
				esc(out.p ? out.p : "", out.len);
			else if (r == 0)
				printf("UNDEF\n");
			else
				printf("UNSUPPORTED\n");
		}
		free(sp);
		msg_free(m);
	}
	sbuf_free(&in);
	sbuf_free(&out);
	return 0;
}
