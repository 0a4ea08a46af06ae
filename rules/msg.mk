# message model: MIME, RFC 2047, HTML to text, URIs
librules_a_SOURCES += rules/msg.h rules/msg_impl.h rules/msg.c \
	rules/msg_text.c rules/msg_html.c rules/msg_uri.c rules/msg_get.c
EXTRA_DIST += rules/msg_entities.inc rules/msg_colors.inc rules/msg_tlds.inc tools/sa_msgdump.pl \
	tools/msgcompare.py
noinst_PROGRAMS += msgdump
msgdump_SOURCES = tools/msgdump.c
msgdump_LDADD = $(RULES_LIBS)
