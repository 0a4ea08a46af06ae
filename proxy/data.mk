# smtp_data, proxy_proto
libproxy_a_SOURCES += proxy/smtp_data.h proxy/proxy_proto.h
libproxy_a_SOURCES += proxy/smtp_data.c proxy/proxy_proto.c
