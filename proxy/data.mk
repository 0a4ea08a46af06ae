# smtp_data, proxy_proto
libproxy_a_SOURCES += proxy/smtp_data.h proxy/proxy_proto.h
libproxy_a_SOURCES += proxy/smtp_data.c proxy/proxy_proto.c
# smtp_bdat (issue 12: CHUNKING)
libproxy_a_SOURCES += proxy/smtp_bdat.h proxy/smtp_bdat.c
