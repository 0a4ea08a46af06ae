# smtp_line, smtp_cmd, smtp_reply
libproxy_a_SOURCES += proxy/smtp_line.h proxy/smtp_cmd.h proxy/smtp_reply.h
libproxy_a_SOURCES += proxy/smtp_line.c proxy/smtp_cmd.c proxy/smtp_reply.c
# smtp_esmtp: DSN and AUTH= parameter values (issue 12)
libproxy_a_SOURCES += proxy/smtp_esmtp.h proxy/smtp_esmtp.c
