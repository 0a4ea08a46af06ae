# config, log, netaddr
libproxy_a_SOURCES += proxy/config.h proxy/log.h proxy/netaddr.h
libproxy_a_SOURCES += proxy/config.c proxy/log.c proxy/netaddr.c \
	proxy/filesrc.c proxy/filesrc.h
