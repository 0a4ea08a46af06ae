# tools: moatctl, the offline scanner and rule checker (tools/moatctl.c).
bin_PROGRAMS += moatctl
moatctl_SOURCES = tools/moatctl.c
moatctl_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS)
moatctl_LDADD = libscoring.a $(RULES_LIBS) $(PTHREAD_LIBS)
