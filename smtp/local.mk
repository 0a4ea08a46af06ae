# smtp/: libsmtp.a, the pure SMTP codecs and the session state machine
# table: lines, commands, replies, DATA and BDAT framing, ESMTP parameter
# values, the PROXY protocol header.  No sockets, no event loop.
noinst_LIBRARIES += libsmtp.a
libsmtp_a_SOURCES = smtp/smtp_line.c smtp/smtp_line.h \
	smtp/smtp_cmd.c smtp/smtp_cmd.h \
	smtp/smtp_reply.c smtp/smtp_reply.h \
	smtp/smtp_esmtp.c smtp/smtp_esmtp.h \
	smtp/smtp_data.c smtp/smtp_data.h \
	smtp/smtp_bdat.c smtp/smtp_bdat.h \
	smtp/smtp_fsm.c smtp/smtp_fsm.h \
	smtp/proxy_proto.c smtp/proxy_proto.h
